package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A person is the human behind the memberships (users) of one e-mail
// login in several organizations. What belongs to the person (the login,
// the password, two-step verification, require_password_change) is kept
// on the person item and mirrored on every membership, so that a login
// still reads one user item; every change of it writes the person and all
// its memberships in one transaction, conditional on the person's version,
// so that the copies never differ. Role, units, default unit, status, names,
// language, settings and API keys belong to the membership. Username (PIN)
// and service users have no person.
//
// A person's id is the id of its first membership's user: existing users
// become persons without new ids, and recovery codes, salted with it, stay
// valid.

// ErrShared refuses a change of a person's things made from one of its
// organizations when the person has others (UserChange.Alone).
var ErrShared = errors.New("store: the person belongs to other organizations too")

// PersonRecord is the person item.
type PersonRecord struct {
	key
	ID                    string `dynamodbav:"id"`
	Email                 string `dynamodbav:"email"`
	PasswordHash          string `dynamodbav:"password_hash,omitempty"`
	RequirePasswordChange bool   `dynamodbav:"require_password_change,omitempty"`
	MFA
	Created time.Time `dynamodbav:"created"`
	Updated time.Time `dynamodbav:"updated"`
	// Members counts the person's memberships, so that a change of a
	// person of one organization reads the person alone.
	Members int `dynamodbav:"members"`
	// Version counts the changes of the person and of its set of
	// memberships; each is conditional on it.
	Version int `dynamodbav:"version"`
}

func personKey(id string) key { return key{"PERSON#" + id, "PERSON"} }

// Member is a person's membership in one organization, beside its login
// guard: (LOGIN#<login>, MEMBER#<org>) → the organization's user. A Query
// of the login's partition lists the person's organizations, and a
// condition on one key tells whether the login is a member of an
// organization, without a read.
type Member struct {
	key
	Org    string `dynamodbav:"org"`
	User   string `dynamodbav:"user"`
	Person string `dynamodbav:"person"`
}

func memberKey(login, org string) key { return key{"LOGIN#" + login, "MEMBER#" + org} }

// Subject is whom u's credentials belong to: its person, or u itself
// (two-step verification seals its secret and salts its recovery codes
// with it).
func (u User) Subject() string {
	if u.Person != "" {
		return u.Person
	}
	return u.ID
}

// personal reports whether u is (to become) a membership of a person: a
// person with a proved e-mail login.
func personal(u User) bool { return u.Kind == Person && u.Email != "" && !u.Unproved }

// withPerson returns u with its person set when it is personal: a new
// person's id is its first user's.
func withPerson(u User) User {
	if personal(u) && u.Person == "" {
		u.Person, u.Members = u.ID, 1
	}
	return u
}

// personOf returns the person item that mirrors u's credentials.
func personOf(u User, version int, created time.Time) PersonRecord {
	m := u.MFA
	m.MFAPending = "" // the membership's until confirmed
	return PersonRecord{key: personKey(u.Person), ID: u.Person, Email: u.Email, PasswordHash: u.PasswordHash,
		RequirePasswordChange: u.RequirePasswordChange, MFA: m, Members: 1, Created: created, Updated: u.Updated, Version: version}
}

// newPerson adds, for a personal user written as its person's first
// membership, the person item and the membership entry. The entry is lost
// on LoginTaken, as the login guard is: the organization holds the address
// already (DynamoDB names every failed condition of a cancelled
// transaction, so both come back as the one part).
func (t *tx) newPerson(u User) *tx {
	if !personal(u) {
		return t
	}
	return t.put(IDTaken, personOf(u, 1, u.Created)).put(LoginTaken, Member{memberKey(u.LoginKey(), u.Org), u.Org, u.ID, u.Person})
}

// sameCredentials reports whether a and b hold the same person's things.
// An enrollment not confirmed yet (MFAPending) is the membership's until
// its confirmation, which mirrors the authenticator.
func sameCredentials(a, b User) bool {
	return a.Email == b.Email && a.PasswordHash == b.PasswordHash && a.RequirePasswordChange == b.RequirePasswordChange &&
		a.MFASecret == b.MFASecret && a.MFAStep == b.MFAStep &&
		slices.Equal(a.MFACodes, b.MFACodes) && timeEqual(a.MFASince, b.MFASince)
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// mirror copies the person's things of from onto u.
func mirror(u, from User) User {
	pending := u.MFAPending
	u.Email, u.PasswordHash, u.RequirePasswordChange, u.MFA = from.Email, from.PasswordHash, from.RequirePasswordChange, from.MFA
	u.MFAPending = pending
	return u
}

// personRead is a person as read before a change of one of its
// memberships: the person item and the other memberships, whole.
type personRead struct {
	person PersonRecord
	guard  LoginGuard
	others []User
}

// Memberships returns the members of a login (at most 100): one Query of
// the login's partition.
func (s *Store) Memberships(ctx context.Context, login string) ([]Member, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(loginKey(login).PK), ":sk": str("MEMBER#"),
		},
		Limit:          aws.Int32(maxTransact),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	var out []Member
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	return out, nil
}

// readPerson reads u's person and, when it has other memberships, its
// login guard and those memberships: one GetItem for a person of one
// organization, then one Query and one BatchGetItem.
func (s *Store) readPerson(ctx context.Context, u User) (*personRead, error) {
	r := &personRead{}
	if err := s.get(ctx, personKey(u.Person), &r.person); err != nil {
		return nil, fmt.Errorf("read person %s: %w", u.Person, err)
	}
	if r.person.Members <= 1 {
		return r, nil
	}
	members, err := s.Memberships(ctx, u.LoginKey())
	if err != nil {
		return nil, err
	}
	keys := []key{loginKey(u.LoginKey())}
	for _, m := range members {
		if m.User != u.ID && m.Person == u.Person {
			keys = append(keys, userKey(m.Org, m.User))
		}
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("read person: %w", err)
	}
	if it := items[keys[0]]; it != nil {
		if err := attributevalue.UnmarshalMap(it, &r.guard); err != nil {
			return nil, fmt.Errorf("read person: %w", err)
		}
	}
	for _, k := range keys[1:] {
		if it := items[k]; it != nil {
			var o User
			if err := attributevalue.UnmarshalMap(it, &o); err != nil {
				return nil, fmt.Errorf("read person: %w", err)
			}
			r.others = append(r.others, o)
		}
	}
	return r, nil
}

// needsPerson reports whether change c of a person's membership touches
// the person: it deletes the membership, or changes the person's things.
func needsPerson(c UserChange) bool {
	if c.Old.Person == "" {
		return false
	}
	return c.New == nil || !sameCredentials(c.Old, *c.New)
}

// preparePerson reads, for a change that touches its person, the person and
// its other memberships onto c, and adds to c.Revoke the sessions and links
// of the other memberships when the change sets the password or two-step
// verification: a password or authenticator changed in one organization
// ends the person's sessions in every organization.
func (s *Store) preparePerson(ctx context.Context, c *UserChange) error {
	if !needsPerson(*c) {
		return nil
	}
	p, err := s.readPerson(ctx, c.Old)
	if err != nil {
		return err
	}
	c.person = p
	if c.Alone && p.person.Members > 1 {
		return ErrShared
	}
	if c.New == nil || (c.Old.PasswordHash == c.New.PasswordHash && c.Old.MFASecret == c.New.MFASecret) {
		return nil
	}
	for _, o := range p.others {
		ks, err := s.Ended(ctx, o.ID, EndSessions)
		if err != nil {
			return err
		}
		c.Revoke = append(c.Revoke, ks...)
	}
	return nil
}

// personItems adds to first, for change c of a person's membership
// (c.person read), the writes that keep the person whole: a change of the
// person's things is written to the person and every other membership; a
// deletion removes the membership entry, and with the last membership the
// person and its login guard.
func (s *Store) personItems(first *tx, c UserChange) {
	p := c.person
	if p == nil {
		first.fail(fmt.Errorf("change user %s: its person was not read", c.Old.ID))
		return
	}
	cond := map[string]types.AttributeValue{":v": num(int64(p.person.Version))}
	old := c.Old
	if c.New == nil {
		first.del(memberKey(old.LoginKey(), old.Org))
		if len(p.others) == 0 {
			first.add(PersonChanged, types.TransactWriteItem{Delete: &types.Delete{
				TableName: &s.table, Key: personKey(old.Person).av(),
				ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: cond,
			}}).del(loginKey(old.LoginKey()))
			return
		}
		next := p.person
		next.Version++
		next.Members = len(p.others)
		first.versioned(PersonChanged, next, p.person.Version)
		for _, o := range p.others {
			o.Members, o.Version = len(p.others), o.Version+1
			first.versioned(VersionChanged, o, o.Version-1)
		}
		if g := p.guard; g.PK != "" {
			g.Members = len(p.others)
			if g.User == old.ID {
				g.Org, g.User = p.others[0].Org, p.others[0].ID
			}
			first.set(g)
		}
		return
	}
	u := *c.New
	next := personOf(u, p.person.Version+1, p.person.Created)
	next.MFAStep, next.Members = max(next.MFAStep, p.person.MFAStep), p.person.Members
	first.versioned(PersonChanged, next, p.person.Version)
	moved := old.Email != u.Email
	for _, o := range p.others {
		n := mirror(o, u)
		n.MFAStep = next.MFAStep
		n.Search, n.Updated, n.Version = n.searchText(), u.Updated, o.Version+1
		first.versioned(VersionChanged, n, o.Version)
		if moved {
			first.del(memberKey(old.LoginKey(), o.Org)).put(LoginTaken, Member{memberKey(u.LoginKey(), o.Org), o.Org, o.ID, o.Person})
		}
	}
	if moved {
		first.del(memberKey(old.LoginKey(), old.Org)).put(LoginTaken, Member{memberKey(u.LoginKey(), u.Org), u.Org, u.ID, u.Person})
	}
}

// versioned appends the put of v (a user or a person, its key set) on the
// condition, which part names, that the stored item is at version.
func (t *tx) versioned(p Part, v any, version int) *tx {
	item, err := marshal(v)
	if err != nil {
		t.fail(fmt.Errorf("marshal %T: %w", v, err))
		return t
	}
	return t.add(p, types.TransactWriteItem{Put: &types.Put{
		TableName: &t.s.table, Item: item, ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(version))},
	}})
}

// ReplacePersonPasswordHash is ReplacePasswordHash for a person's
// membership u: the person and every membership get the new hash in one
// transaction, each on the condition that it still holds the old one
// (else a Conflict on PasswordChanged).
func (s *Store) ReplacePersonPasswordHash(ctx context.Context, u User, next string) error {
	members, err := s.Memberships(ctx, u.LoginKey())
	if err != nil {
		return err
	}
	keys := []key{personKey(u.Person)}
	for _, m := range members {
		if m.Person == u.Person {
			keys = append(keys, userKey(m.Org, m.User))
		}
	}
	t := s.tx()
	for _, k := range keys {
		t.add(PasswordChanged, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: k.av(),
			ConditionExpression:      aws.String("#h = :old"),
			UpdateExpression:         aws.String("SET #h = :new"),
			ExpressionAttributeNames: map[string]string{"#h": "password_hash"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":old": str(u.PasswordHash), ":new": str(next),
			},
		}})
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("replace password hash: %w", err)
	}
	return nil
}

// Membership is one of a person's memberships as a login reads it: the
// organization's user and the organization.
type Membership struct {
	User User
	Org  Org
}

// MembershipsOf returns person's memberships of a login, with their users
// and organizations: one Query, then one BatchGetItem.
func (s *Store) MembershipsOf(ctx context.Context, login, person string) ([]Membership, error) {
	members, err := s.Memberships(ctx, login)
	if err != nil {
		return nil, err
	}
	var keys []key
	for _, m := range members {
		if m.Person == person {
			keys = append(keys, userKey(m.Org, m.User), orgKey(m.Org))
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	var out []Membership
	for i := 0; i < len(keys); i += 2 {
		ui, oi := items[keys[i]], items[keys[i+1]]
		if ui == nil || oi == nil {
			continue
		}
		var m Membership
		if err := attributevalue.UnmarshalMap(ui, &m.User); err != nil {
			return nil, fmt.Errorf("memberships: %w", err)
		}
		if err := attributevalue.UnmarshalMap(oi, &m.Org); err != nil {
			return nil, fmt.Errorf("memberships: %w", err)
		}
		if m.User.Person == person {
			out = append(out, m)
		}
	}
	return out, nil
}

// TakeChallenge deletes a login challenge, on the condition that it is
// still there (else a Conflict on ChallengeGone): a challenge is answered
// once.
func (s *Store) TakeChallenge(ctx context.Context, hash string) error {
	t := s.tx().add(ChallengeGone, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
		Key: credKey(hash).av(), ConditionExpression: aws.String("attribute_exists(pk)")}})
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("take challenge: %w", err)
	}
	return nil
}

// Switched writes what a switch to another membership opens (its session,
// on the condition that the user is still active in its role, or its
// challenge, on the condition that it is still active) with the audit
// event a, in one transaction.
func (s *Store) Switched(ctx context.Context, n Next, a Audit) error {
	t := s.tx().next(n).audit(a)
	switch {
	case n.Session != nil:
		t.add(UserChanged, s.activeUser(n.Access.Org, n.Access.User, n.Access.Role))
	case n.Challenge != nil: // a code the target organization asks first
		t.add(UserChanged, s.userIn(n.Challenge.Org, n.Challenge.User, Active))
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	return nil
}

// OrganizationChallenge asks a person with several active memberships
// which organization to sign in to; Ref holds the login key.
const OrganizationChallenge = "organization"

// JoinInvitation is AcceptInvitation for an address that is a person's
// login already: the invitation becomes a new membership u of that
// person (its credentials copied from p, the person as read), in one
// transaction with the person's version moved (else a Conflict on
// PersonChanged), the login guard's count of memberships, and the
// membership entry (LoginTaken: the person is a member of the
// organization already, or the login changed hands).
//
// g is the login guard as read with p.
func (s *Store) JoinInvitation(ctx context.Context, inv Invitation, inviter *User, p PersonRecord, g LoginGuard, u User, then Next, a Audit) error {
	now := u.Created
	accept := s.pendingUpdate(inv, "SET #st = :accepted, accepted = :at, #u = :user", map[string]types.AttributeValue{
		":accepted": str(Accepted), ":at": str(now.UTC().Format(time.RFC3339Nano)), ":user": str(u.ID),
	})
	accept.Update.ExpressionAttributeNames["#u"] = "user"
	u.Person, u.Email, u.PasswordHash, u.RequirePasswordChange, u.MFA = p.ID, p.Email, p.PasswordHash, p.RequirePasswordChange, p.MFA
	u.key = userKey(u.Org, u.ID)
	u.Search = u.searchText()
	login := u.LoginKey()
	next := p
	next.Version++
	next.Members = max(p.Members, 1) + 1
	u.Members = next.Members
	// Read after p: the person's version, the transaction's condition,
	// moves with every membership added or removed, so these are all.
	members, err := s.Memberships(ctx, login)
	if err != nil {
		return fmt.Errorf("join invitation: %w", err)
	}
	t := s.tx().add(LinkUsed, s.consume(inv.TokenHash, now)).add(InvitationChanged, accept).
		del(inviteGuardKey(inv.Org, inv.Email)).put(IDTaken, u).
		put(LoginTaken, Member{memberKey(login, u.Org), u.Org, u.ID, p.ID}).
		versioned(PersonChanged, next, p.Version).
		add(LoginTaken, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: loginKey(login).av(),
			ConditionExpression:       aws.String("person = :p"),
			UpdateExpression:          aws.String("SET members = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(p.ID), ":n": num(int64(g.MemberCount() + 1))},
		}})
	for _, m := range members {
		if m.Person == p.ID && m.Org != u.Org {
			t.add(PersonChanged, s.memberCount(m.Org, m.User, p.ID, next.Members))
		}
	}
	if err := s.transact(ctx, t.joined(u, inviter, then, a)); err != nil {
		return fmt.Errorf("join invitation: %w", err)
	}
	return nil
}

// memberCount is the update of a membership's count of its person's
// memberships to n, on the condition that it is still the person's. Its
// version moves: a change of the user as read before is a conflict, not a
// write of the old count.
func (s *Store) memberCount(org, user, person string, n int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: userKey(org, user).av(),
		ConditionExpression: aws.String("person = :p"),
		UpdateExpression:    aws.String("SET members = :n, version = version + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": str(person), ":n": num(int64(n)), ":one": num(1),
		},
	}}
}

// GetPerson reads a person; ErrNotFound when absent.
func (s *Store) GetPerson(ctx context.Context, id string) (PersonRecord, error) {
	return getAs[PersonRecord](ctx, s, personKey(id), "get person")
}

// UserAndLogin reads a user (nil when absent) and a login's guard (found
// false when there is none) in one BatchGetItem.
func (s *Store) UserAndLogin(ctx context.Context, org, id, login string) (*User, LoginGuard, bool, error) {
	uk, lk := userKey(org, id), loginKey(login)
	keys := []key{lk}
	if id != "" {
		keys = append(keys, uk)
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return nil, LoginGuard{}, false, fmt.Errorf("user and login: %w", err)
	}
	var u *User
	if it := items[uk]; it != nil && id != "" {
		u = &User{}
		if err := attributevalue.UnmarshalMap(it, u); err != nil {
			return nil, LoginGuard{}, false, fmt.Errorf("user and login: %w", err)
		}
	}
	var g LoginGuard
	it := items[lk]
	if it != nil {
		if err := attributevalue.UnmarshalMap(it, &g); err != nil {
			return nil, LoginGuard{}, false, fmt.Errorf("user and login: %w", err)
		}
	}
	return u, g, it != nil, nil
}
