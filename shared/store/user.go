package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/permission"
)

// User kinds.
const (
	Person  = "person"
	Service = "service"
)

// User statuses. Only an active user may log in. A pending user was
// imported without a password: it becomes active when it completes a
// set-password link (a reset link), which an import may send.
const (
	Active      = "active"
	Inactive    = "inactive"
	UserPending = "pending"
)

// User is a person or a service user of an organization.
type User struct {
	key
	Org       string `dynamodbav:"org"`
	ID        string `dynamodbav:"id"`
	Kind      string `dynamodbav:"kind"`
	Email     string `dynamodbav:"email,omitempty"`
	Username  string `dynamodbav:"username,omitempty"`
	OrgCode   string `dynamodbav:"org_code,omitempty"`
	FirstName string `dynamodbav:"first_name"`
	LastName  string `dynamodbav:"last_name"`
	Language  string `dynamodbav:"language"`
	Role      string `dynamodbav:"role"`
	Status    string `dynamodbav:"status"`
	// Code is a service user's user code.
	Code string `dynamodbav:"code,omitempty"`
	// Client is the client application a service user belongs to.
	Client string `dynamodbav:"client,omitempty"`
	// Units the user may act on; AllUnits grants every unit, present and
	// future, and UnitKinds every unit of those kinds, present and future
	// (see ExpandUnits).
	Units       []string `dynamodbav:"units,omitempty"`
	AllUnits    bool     `dynamodbav:"all_units,omitempty"`
	UnitKinds   []string `dynamodbav:"unit_kinds,omitempty"`
	DefaultUnit string   `dynamodbav:"default_unit,omitempty"`
	// Permissions of the user's role, copied here so that a login reads
	// one item; kept in step by every role change.
	Permissions []string `dynamodbav:"permissions,omitempty"`
	// Search is the lower-cased names and login, for text search.
	Search string `dynamodbav:"search,omitempty"`
	// PasswordHash is a PHC string; never returned by the API.
	PasswordHash          string `dynamodbav:"password_hash,omitempty"`
	RequirePasswordChange bool   `dynamodbav:"require_password_change,omitempty"`
	// Prefs are the user's own settings (PATCH /v1/me).
	Prefs *Prefs `dynamodbav:"prefs,omitempty"`
	// Unproved marks an e-mail its holder has not proved yet (an admin
	// created or imported the person): the user holds a claim instead of
	// the login guard and cannot log in until it proves the address (see
	// Prove).
	Unproved bool `dynamodbav:"unproved,omitempty"`
	// Person is the person a membership with a proved e-mail login belongs
	// to (person.go); empty for username and service users and unproved
	// addresses.
	Person string `dynamodbav:"person,omitempty"`
	// Members counts the memberships of the user's person, on each of
	// them: the transactions that add or remove a membership write it on
	// all, so that an export tells a shared person without reading it.
	// 0 for a user without a person, and for a membership written before
	// the count (guichet migrate sets it).
	Members int `dynamodbav:"members,omitempty"`
	// MFA is the user's two-step verification, flat so that conditions
	// can name its attributes (see mfa.go).
	MFA
	Created time.Time `dynamodbav:"created"`
	Updated time.Time `dynamodbav:"updated"`
	// Version counts the user's changes; every update is conditional on it,
	// so of two concurrent changes one wins and the other is a conflict.
	Version int `dynamodbav:"version"`
}

// Shared reports whether u's person may be a member of other
// organizations too: its count says so, or it is not known (not
// migrated). What is the person's (its password hash) is then not one
// organization's to hand out.
func (u User) Shared() bool { return u.Person != "" && u.Members != 1 }

func userKey(org, id string) key { return key{"ORG#" + org, "USER#" + id} }

// LoginKey is the unique login name of a user: the normalized e-mail, or
// the organization code and the username or service user code.
func (u User) LoginKey() string {
	switch {
	case u.Email != "":
		return EmailLogin(u.Email)
	case u.Code != "":
		return UsernameLogin(u.OrgCode, u.Code)
	}
	return UsernameLogin(u.OrgCode, u.Username)
}

// ResetKey names the user's live reset link (its pointer): the login, or
// for an unproved address the organization's claim on it, so that links of
// one organization never replace another's.
func (u User) ResetKey() string {
	if u.Unproved && u.Email != "" {
		return u.LoginKey() + "#" + u.Org
	}
	return u.LoginKey()
}

// searchText is what text search looks in.
func (u User) searchText() string {
	return strings.ToLower(strings.Join([]string{u.FirstName, u.LastName, u.Email, u.Username, u.Code}, " "))
}

// CreateUser writes a user, its login guard (or its claim, when
// unproved), the reference counts of its units and role, its filter
// entries, and the audit event, in one transaction. It returns a Conflict on LoginTaken
// when the login is taken (for a claim: in the user's organization), on UnitGone
// or RoleGone when a unit or role is gone.
func (s *Store) CreateUser(ctx context.Context, u User, a Audit) error {
	return s.CreateUserLink(ctx, NewUser{User: u}, a)
}

// CreateUserLink is CreateUser for a user written with its set-password
// link (n.Link), as an import writes it, and the mail limits takes of
// the link's mail counted in the same transaction (LimitReached).
func (s *Store) CreateUserLink(ctx context.Context, n NewUser, a Audit, takes ...Take) error {
	u := withPerson(n.User)
	u.key = userKey(u.Org, u.ID)
	u.Search = u.searchText()
	t := s.tx().put(IDTaken, u).put(LoginTaken, loginGuardFor(u)).add(LoginTaken, s.ownLogin(u)...).newPerson(u)
	if n.Link != nil {
		t.set(resetPointer{resetPointerKey(u.ResetKey()), n.Link.Hash()}).put(IDTaken, *n.Link)
	}
	t.refs(u.Org, u.Role, u.Units, 1).entries(u)
	if err := s.transact(ctx, t.take(takes).audit(a)); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// refs adds the reference count changes for a user holding role and
// units.
func (t *tx) refs(org, role string, units []string, delta int) *tx {
	for _, k := range refKeys(org, role, units) {
		t.ref(k, delta)
	}
	return t
}

// ref adds delta to the reference count of a unit or custom role, which
// must exist (UnitGone, RoleGone), or to the holder count of a built-in
// role, made when missing.
func (t *tx) ref(k key, delta int) *tx {
	if strings.HasPrefix(k.SK, roleCountPrefix) {
		return t.add("", types.TransactWriteItem{Update: &types.Update{
			TableName: &t.s.table, Key: k.av(),
			UpdateExpression:          aws.String("ADD refs :d"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(delta))},
		}})
	}
	p := UnitGone
	if strings.HasPrefix(k.SK, "ROLE#") {
		p = RoleGone
	}
	return t.add(p, t.s.refs(k, delta))
}

// mergeCounts folds the built-in role count changes of t that touch one
// item into one (a transaction may not touch an item twice): an ownership
// transfer changes two users' roles at once.
func (t *tx) mergeCounts() *tx {
	sums := map[key]int64{}
	var order []key
	var kept []item
	for _, it := range t.items {
		u := it.w.Update
		if u == nil || u.ConditionExpression != nil {
			kept = append(kept, it)
			continue
		}
		var k key
		if err := attributevalue.UnmarshalMap(u.Key, &k); err != nil || !strings.HasPrefix(k.SK, roleCountPrefix) {
			kept = append(kept, it)
			continue
		}
		d, err := strconv.ParseInt(u.ExpressionAttributeValues[":d"].(*types.AttributeValueMemberN).Value, 10, 64)
		if err != nil {
			t.fail(fmt.Errorf("role count: %w", err))
		}
		if _, seen := sums[k]; !seen {
			order = append(order, k)
		}
		sums[k] += d
	}
	t.items = kept
	for _, k := range order {
		if sums[k] != 0 {
			t.ref(k, int(sums[k]))
		}
	}
	return t
}

// refKeys returns the keys of the items counting a user holding role and
// units: its custom role (or built-in role's count) and its units.
func refKeys(org, role string, units []string) []key {
	var out []key
	if permission.IsBuiltIn(role) {
		out = append(out, roleCountKey(org, role))
	} else if role != "" {
		out = append(out, roleKey(org, role))
	}
	for _, u := range units {
		out = append(out, unitKey(org, u))
	}
	return out
}

func roleKey(org, id string) key { return key{"ORG#" + org, "ROLE#" + id} }

// roleCountPrefix begins the sort key of a built-in role's holder count,
// an item (ORG#<org>, ROLECOUNT#<role>) with refs, kept by the
// transactions that keep custom roles' refs.
const roleCountPrefix = "ROLECOUNT#"

func roleCountKey(org, role string) key { return key{"ORG#" + org, roleCountPrefix + role} }

// BuiltInRoleCounts returns how many users of org hold each of the
// built-in roles: one BatchGetItem. A role no user ever held counts 0.
func (s *Store) BuiltInRoleCounts(ctx context.Context, org string, roles []string) (map[string]int, error) {
	keys := make([]key, len(roles))
	for i, r := range roles {
		keys[i] = roleCountKey(org, r)
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("built-in role counts: %w", err)
	}
	out := map[string]int{}
	for i, r := range roles {
		var c struct {
			Refs int `dynamodbav:"refs"`
		}
		if it := items[keys[i]]; it != nil {
			if err := attributevalue.UnmarshalMap(it, &c); err != nil {
				return nil, fmt.Errorf("built-in role counts: %w", err)
			}
		}
		out[r] = c.Refs
	}
	return out, nil
}

// EmailLogin is the login key of an e-mail address.
func EmailLogin(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// UsernameLogin is the login key of a username within an organization.
func UsernameLogin(orgCode, username string) string {
	return strings.ToLower(orgCode) + "#" + strings.ToLower(username)
}

// GetUser reads a user of an organization; ErrNotFound when absent.
func (s *Store) GetUser(ctx context.Context, org, id string) (User, error) {
	var u User
	if err := s.get(ctx, userKey(org, id), &u); err != nil {
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ReplacePasswordHash swaps a user's password hash for another hash of the
// same password (a re-hash at login): one UpdateItem, conditional on the
// hash being still old, so a concurrent password change wins (a Conflict
// on PasswordChanged). It leaves the version alone: the password does not
// change, and a concurrent admin
// change (conditional on the version) should not fail because of it.
func (s *Store) ReplacePasswordHash(ctx context.Context, org, id, old, next string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      userKey(org, id).av(),
		ConditionExpression:      aws.String("#h = :old"),
		UpdateExpression:         aws.String("SET #h = :new"),
		ExpressionAttributeNames: map[string]string{"#h": "password_hash"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":old": str(old), ":new": str(next),
		},
	})
	if err != nil {
		return fmt.Errorf("replace password hash: %w", lost(PasswordChanged, err))
	}
	return nil
}
