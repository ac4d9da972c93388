package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/permission"
)

// Role is a custom role (user group) of an organization. Built-in roles
// are not stored. Refs counts its holders; it is deleted only at 0.
//
// Version counts the changes of its permissions; Granted is the version
// every holder has. A change of the permissions bumps Version and leaves a
// "regrant" job in its transaction; the job's last batch sets Granted.
// Sessions read the role's permissions, so they never wait for the job.
type Role struct {
	key
	Org           string `dynamodbav:"org"`
	ID            string `dynamodbav:"id"`
	Name          string `dynamodbav:"name"`
	Permissions   Perms  `dynamodbav:"permissions"`
	RequiresEmail bool   `dynamodbav:"requires_email"`
	// OwnUnits limits the role's users:read and users:write to users
	// within its holder's units.
	OwnUnits bool `dynamodbav:"own_units,omitempty"`
	Refs     int  `dynamodbav:"refs"`
	// Version and Granted are 0 on roles written before versions.
	Version int       `dynamodbav:"version"`
	Granted int       `dynamodbav:"granted"`
	Created time.Time `dynamodbav:"created"`
	Updated time.Time `dynamodbav:"updated"`
}

// roleName reserves a role name within an organization.
type roleName struct {
	key
	Role string `dynamodbav:"role"`
}

func roleNameKey(org, name string) key {
	return key{"ORG#" + org, "ROLENAME#" + strings.ToLower(strings.TrimSpace(name))}
}

// GetRole reads a custom role.
func (s *Store) GetRole(ctx context.Context, org, id string) (Role, error) {
	return getAs[Role](ctx, s, roleKey(org, id), "get role")
}

// ListRoles returns an organization's custom roles.
func (s *Store) ListRoles(ctx context.Context, org string) ([]Role, error) {
	return queryAll[Role](ctx, s, "list roles", s.orgItems(org, "ROLE#"))
}

// CreateRole writes a custom role with its name guard and audit event.
// A Conflict on RoleNameTaken means the name is taken.
func (s *Store) CreateRole(ctx context.Context, r Role, a Audit) error {
	r.key = roleKey(r.Org, r.ID)
	t := s.tx().put(IDTaken, r).put(RoleNameTaken, roleName{roleNameKey(r.Org, r.Name), r.ID}).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	return nil
}

// RegrantJob is the kind of the job that gives a role's holders its
// permissions after a change of them.
const RegrantJob = "regrant"

// UpdateRole writes the fields of a custom role that an edit sets (name,
// permissions, requires_email, own_units, updated, version), on the condition that
// it is still as read (old; else a Conflict on RoleChanged), moving its
// name guard when the name changes (RoleNameTaken: the new name is
// taken). Its reference count and granted version are left as they are,
// for they move while the role is edited. When job is set (next.Version
// is newer than old's, or a regrant is left to finish) the job is written
// in the same transaction, replacing any older one.
func (s *Store) UpdateRole(ctx context.Context, old, next Role, a Audit, job *Job) error {
	t := s.tx().add(RoleChanged, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: roleKey(next.Org, next.ID).av(),
		ConditionExpression:      aws.String("updated = :u"),
		UpdateExpression:         aws.String("SET #n = :n, #p = :p, requires_email = :re, own_units = :ou, updated = :now, version = :v"),
		ExpressionAttributeNames: map[string]string{"#n": "name", "#p": "permissions"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(old.Updated.UTC().Format(time.RFC3339Nano)), ":n": str(next.Name),
			":p": str(strings.Join(next.Permissions, " ")), ":re": &types.AttributeValueMemberBOOL{Value: next.RequiresEmail},
			":ou":  &types.AttributeValueMemberBOOL{Value: next.OwnUnits},
			":now": str(next.Updated.UTC().Format(time.RFC3339Nano)), ":v": num(int64(next.Version)),
		},
	}})
	if !strings.EqualFold(strings.TrimSpace(old.Name), strings.TrimSpace(next.Name)) {
		t.put(RoleNameTaken, roleName{roleNameKey(next.Org, next.Name), next.ID}).del(roleNameKey(old.Org, old.Name))
	}
	if job != nil {
		t.job(*job)
	}
	if err := s.transact(ctx, t.audit(a)); err != nil {
		return fmt.Errorf("update role: %w", err)
	}
	return nil
}

// RearmRegrant writes j again (from its cursor) for a role whose regrant
// was left unfinished, on the condition that the role is still at the
// version j works toward (else a Conflict on RoleChanged: a newer change
// left its own job). The write reaches the stream, which runs its next
// batch.
func (s *Store) RearmRegrant(ctx context.Context, r Role, j Job) error {
	t := s.tx().roleAt(r.Org, r.ID, j.Version).job(j)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("rearm regrant: %w", err)
	}
	return nil
}

// SetGranted records that every holder of a role has its version v. A
// role that moved past v meanwhile is left as it is (its newer job sets
// it), and so is one granted v already.
func (s *Store) SetGranted(ctx context.Context, org, id string, v int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: roleKey(org, id).av(),
		ConditionExpression:       aws.String("version = :v AND (attribute_not_exists(granted) OR granted < :v)"),
		UpdateExpression:          aws.String("SET granted = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(v))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("set role granted: %w", err)
	}
	return nil
}

// roleAt appends the condition that the custom role (org, id) exists at
// version v (RoleChanged): a session or key whose permissions were read
// from the role is written only while they are still the role's. When the
// transaction already changes the role's item (an acceptance counting a
// new holder), the condition joins that item's, since a transaction may
// not name one item twice. Built-in roles are not stored: no condition.
func (t *tx) roleAt(org, id string, v int) *tx {
	if permission.IsBuiltIn(id) || id == "" {
		return t
	}
	k := roleKey(org, id)
	cond := "attribute_exists(pk) AND version = :rv"
	if v == 0 {
		cond = "attribute_exists(pk) AND (attribute_not_exists(version) OR version = :rv)"
	}
	for i, it := range t.items {
		if u := it.w.Update; u != nil && sameKey(u.Key, k) {
			if u.ConditionExpression != nil {
				cond = "(" + *u.ConditionExpression + ") AND " + cond
			}
			u.ConditionExpression = aws.String(cond)
			if u.ExpressionAttributeValues == nil {
				u.ExpressionAttributeValues = map[string]types.AttributeValue{}
			}
			u.ExpressionAttributeValues[":rv"] = num(int64(v))
			t.items[i].part = RoleChanged
			return t
		}
	}
	return t.add(RoleChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &t.s.table, Key: k.av(), ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":rv": num(int64(v))},
	}})
}

// sameKey reports whether an item key names k.
func sameKey(av map[string]types.AttributeValue, k key) bool {
	pk, ok1 := av["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := av["sk"].(*types.AttributeValueMemberS)
	return ok1 && ok2 && pk.Value == k.PK && sk.Value == k.SK
}

// DeleteRole deletes a custom role that nobody holds. A Conflict on
// RoleInUse means it is held (or gone).
func (s *Store) DeleteRole(ctx context.Context, r Role, a Audit) error {
	t := s.tx().add(RoleInUse, types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: roleKey(r.Org, r.ID).av(),
		ConditionExpression:       aws.String("refs = :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	}}).del(roleNameKey(r.Org, r.Name)).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	return nil
}
