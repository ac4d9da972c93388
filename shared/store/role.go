package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Role is a custom role (user group) of an organization. Built-in roles
// are not stored. Refs counts its holders; it is deleted only at 0.
type Role struct {
	key
	Org           string    `dynamodbav:"org"`
	ID            string    `dynamodbav:"id"`
	Name          string    `dynamodbav:"name"`
	Permissions   []string  `dynamodbav:"permissions"`
	RequiresEmail bool      `dynamodbav:"requires_email"`
	Refs          int       `dynamodbav:"refs"`
	Created       time.Time `dynamodbav:"created"`
	Updated       time.Time `dynamodbav:"updated"`
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

// UpdateRole replaces a custom role as read (old), moving its name guard
// when the name changes. A Conflict on RoleChanged means it changed
// meanwhile; on RoleNameTaken, that the new name is taken.
func (s *Store) UpdateRole(ctx context.Context, old, next Role, a Audit) error {
	next.key = roleKey(next.Org, next.ID)
	next.Refs = old.Refs
	item, err := marshal(next)
	if err != nil {
		return fmt.Errorf("update role: %w", err)
	}
	// Refs may move while the role is edited; the condition is on what the
	// edit replaces.
	t := s.tx().add(RoleChanged, types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("updated = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(old.Updated.UTC().Format(time.RFC3339Nano))},
	}})
	if !strings.EqualFold(strings.TrimSpace(old.Name), strings.TrimSpace(next.Name)) {
		t.put(RoleNameTaken, roleName{roleNameKey(next.Org, next.Name), next.ID}).del(roleNameKey(old.Org, old.Name))
	}
	if err := s.transact(ctx, t.audit(a)); err != nil {
		return fmt.Errorf("update role: %w", err)
	}
	return nil
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
