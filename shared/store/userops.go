package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxTransact is DynamoDB's limit of items in one transaction.
const maxTransact = 100

// UserCredentials returns every credential and session indexed under a user
// (gsi1 = USER#<user>). The index is eventually consistent: a credential
// made a moment ago may be missing.
func (s *Store) UserCredentials(ctx context.Context, user string) ([]Credential, []Session, error) {
	var creds []Credential
	var sessions []Session
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("gsi1"),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("USER#" + user)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("user credentials: %w", err)
		}
		c, ss, err := indexItems(page.Items)
		if err != nil {
			return nil, nil, fmt.Errorf("user credentials: %w", err)
		}
		creds, sessions = append(creds, c...), append(sessions, ss...)
	}
	return creds, sessions, nil
}

// indexItems sorts items of a user's index into credentials and sessions.
func indexItems(items []map[string]types.AttributeValue) ([]Credential, []Session, error) {
	var creds []Credential
	var sessions []Session
	for _, item := range items {
		var k key
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			return nil, nil, err
		}
		switch {
		case strings.HasPrefix(k.PK, "CRED#"):
			var c Credential
			if err := attributevalue.UnmarshalMap(item, &c); err != nil {
				return nil, nil, err
			}
			creds = append(creds, c)
		case strings.HasPrefix(k.PK, "SESSION#"):
			var ss Session
			if err := attributevalue.UnmarshalMap(item, &ss); err != nil {
				return nil, nil, err
			}
			sessions = append(sessions, ss)
		}
	}
	return creds, sessions, nil
}

// UserChange is one change of a user, written with its side effects.
type UserChange struct {
	// Old is the user as read; the write is conditional on its version.
	Old User
	// New is the user to write; nil deletes the user and its login guard.
	New *User
	// Revoke lists credentials and sessions to delete with the change.
	Revoke []key
	// Grant rewrites the role and permissions of these credentials.
	Grant []Credential
	// RoleVersion, when set, is the version of New's custom role that its
	// permissions (and Grant's) were read at: the change is written only
	// while the role is still at it (RoleChanged), so that a user moved
	// into a role as it changes is not left behind by its regrant.
	RoleVersion *int
	// Audit is the event of the change.
	Audit Audit
	// Consume, when set, is the hash of the one-time link token the change
	// uses: it is marked used in the same transaction, on the condition
	// that it was not used yet (LinkUsed).
	Consume string
	// At is when Consume is used.
	At time.Time
	// Invitations are pending invitations the user made, revoked with the
	// change (deactivation, deletion): each must still be pending
	// (InvitationChanged).
	Invitations []Invitation
	// Job, when set, is written with the user: the work that finishes the
	// change's ending if its later transactions fail (EndingJobOf). With
	// a job, the change itself ends at most endNow credentials; the job
	// ends the rest.
	Job *Job
	// Reach, when set, is what a unit-limited caller's check of the change
	// read (scope.Of): the change is written only while the caller's user
	// and the unit tree are still as read (else a Conflict on UserChanged
	// or TreeChanged), so that a narrowing of the caller's units, or a move
	// of a unit, in the same instant never lets the write land outside.
	Reach *Reach
	// Alone refuses the change (ErrShared) when it touches the person of a
	// user who has other memberships: what an administrator of one
	// organization may not do to the others'.
	Alone bool
	// person is Old's person as read before the change, when the change
	// touches it (preparePerson).
	person *personRead
}

// Ending says which of a user's credentials a change of the user ends: the
// one rule that deactivation, deletion, setting, resetting or changing a
// password, resetting two-step verification and confirming an e-mail
// change share. Every ending ends the user's outstanding links (reset,
// set-password, e-mail change) and login challenges: a link mailed before
// the change must not undo it.
type Ending struct {
	// Keys ends everything indexed under the user, API keys included;
	// otherwise sessions (their tokens and families) and links end.
	Keys bool
	// Keep is a session that stays: the caller's own, on a password change.
	Keep string
	// LinksOnly ends the links and challenges alone: an e-mail change.
	LinksOnly bool
	// Before, when set, spares what was created at or after it: an ending
	// job ends what its user held before its change, never the session
	// the user opens with its new password.
	Before time.Time
}

var (
	// EndAll ends every credential: deactivation and deletion.
	EndAll = Ending{Keys: true}
	// EndSessions ends every session and link: a password set or reset.
	EndSessions = Ending{}
	// EndLinks ends every link and challenge: an e-mail change.
	EndLinks = Ending{LinksOnly: true}
)

// isLink reports whether a credential kind is a link or a challenge of
// the user's: what a change of the user's login or password ends.
func isLink(kind string) bool {
	switch kind {
	case ResetToken, EmailChangeToken, PasswordChallenge, MFAChallenge, MFAEnrollmentChallenge:
		return true
	}
	return false
}

// EndSessionsBut ends every session but the one named.
func EndSessionsBut(session string) Ending { return Ending{Keep: session} }

// Ended reads the user's credentials and returns the keys of those e ends,
// for UserChange.Revoke. An API key's entry in its organization's list goes
// with its credential.
func (s *Store) Ended(ctx context.Context, user string, e Ending) ([]key, error) {
	creds, sessions, err := s.UserCredentials(ctx, user)
	if err != nil {
		return nil, err
	}
	return ended(creds, sessions, e), nil
}

// Kinds of the jobs that end what a change of a user left of its
// credentials: their target is the user. The change writes its job in
// its first transaction, so that it is there whatever part of the ending
// fails. Each ending has its own kind, so that a change never replaces
// the job of another that ends more: EndingJob ends everything
// (deactivation, deletion, a reset revoking API keys), SessionsEndingJob
// sessions and links but the kept session (a password set, reset or
// change, an MFA reset), LinksEndingJob links (an e-mail change).
const (
	EndingJob         = "ending"
	SessionsEndingJob = "ending_sessions"
	LinksEndingJob    = "ending_links"
)

// EndingJobOf returns the job that finishes ending e for a change of user
// in org at now.
func EndingJobOf(org, user string, e Ending, now time.Time) *Job {
	kind := SessionsEndingJob
	switch {
	case e.Keys:
		kind = EndingJob
	case e.LinksOnly:
		kind = LinksEndingJob
	}
	j := NewJob(kind, org, user, 0, now)
	j.Keep = e.Keep
	return &j
}

// EndingOf returns what an ending job ends: what its kind ends, created
// before its change.
func EndingOf(j Job) Ending {
	e := Ending{Keep: j.Keep, Before: j.Created}
	switch j.Kind {
	case EndingJob:
		e.Keys = true
	case LinksEndingJob:
		e.LinksOnly = true
	}
	return e
}

// endBatchItems bounds the index items one EndBatch reads: with an API
// key's entry deleted beside its credential, at most two transactions.
const endBatchItems = maxTransact

// EndBatch deletes what e ends among the credentials and sessions indexed
// under user after cursor (one Query of at most 100 index items, then at
// most two transactions of deletes), and reports whether the index goes
// on past them (more) and where the next batch starts: after the last
// item the batch kept, or at the start when it kept none. The cursor
// names an item still there, since the embedded DynamoDB finds nothing
// after a start key of no item. Deletes are unconditional, so running a
// batch again (it failed, or its end was not recorded) changes nothing
// more.
func (s *Store) EndBatch(ctx context.Context, user string, e Ending, cursor string) (next string, more bool, err error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("gsi1"),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("USER#" + user)},
		Limit:                     aws.Int32(endBatchItems),
	}
	if cursor != "" {
		if in.ExclusiveStartKey, err = indexStart(user, cursor); err != nil {
			return "", false, fmt.Errorf("end batch: %w", err)
		}
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return "", false, fmt.Errorf("end batch: %w", err)
	}
	creds, sessions, err := indexItems(res.Items)
	if err != nil {
		return "", false, fmt.Errorf("end batch: %w", err)
	}
	gone := ended(creds, sessions, e)
	for chunk := range slices.Chunk(gone, maxTransact) {
		if err := s.transact(ctx, s.tx().del(chunk...)); err != nil {
			return "", false, fmt.Errorf("end batch: %w", err)
		}
	}
	next = cursor
	for _, item := range res.Items {
		if c := indexCursor(item); c != "" && !slices.Contains(gone, itemKey(item)) {
			next = c
		}
	}
	return next, len(res.LastEvaluatedKey) > 0, nil
}

// itemKey returns an item's table key.
func itemKey(item map[string]types.AttributeValue) key {
	var k key
	_ = attributevalue.UnmarshalMap(item, &k)
	return k
}

// indexCursor returns the cursor after an item of a user's index: its
// index sort key and its partition key (the sort key follows from the
// latter); "" for none.
func indexCursor(last map[string]types.AttributeValue) string {
	var k struct {
		PK     string `dynamodbav:"pk"`
		GSI1SK string `dynamodbav:"gsi1sk"`
	}
	if len(last) == 0 || attributevalue.UnmarshalMap(last, &k) != nil || k.PK == "" {
		return ""
	}
	return k.GSI1SK + " " + k.PK
}

// indexStart is the ExclusiveStartKey of a user index Query from cursor.
func indexStart(user, cursor string) (map[string]types.AttributeValue, error) {
	gsk, pk, ok := strings.Cut(cursor, " ")
	var sk string
	switch {
	case strings.HasPrefix(pk, "CRED#"):
		sk = "CRED"
	case strings.HasPrefix(pk, "SESSION#"):
		sk = "SESSION"
	}
	if !ok || sk == "" || gsk == "" {
		return nil, fmt.Errorf("invalid cursor %q", cursor)
	}
	return map[string]types.AttributeValue{
		"pk": str(pk), "sk": str(sk), "gsi1pk": str("USER#" + user), "gsi1sk": str(gsk),
	}, nil
}

// ended returns the keys of what e ends among creds and sessions.
func ended(creds []Credential, sessions []Session, e Ending) []key {
	var out []key
	spared := func(created time.Time) bool { return !e.Before.IsZero() && !created.Before(e.Before) }
	for _, c := range creds {
		switch {
		case spared(c.Created):
		case e.Keys:
			out = append(out, c.key)
			if c.Kind == APIKey && c.KeyID != "" {
				out = append(out, keyEntryKey(c.Org, c.KeyID))
			}
		case isLink(c.Kind):
			// A used link stays until it expires, so that its reuse is
			// answered link_used; it cannot be used again.
			if c.Used == 0 {
				out = append(out, c.key)
			}
		case e.LinksOnly:
		case c.Session != "" && c.Session != e.Keep:
			out = append(out, c.key)
		}
	}
	for _, ss := range sessions {
		if ss.ID != e.Keep && !e.LinksOnly && !spared(ss.Created) {
			out = append(out, ss.key)
		}
	}
	return out
}

// endNow bounds the deletes a change with a job makes itself (ten
// transactions after its first), so that the request's time does not grow
// with the user's credentials; its job ends the rest.
const endNow = 10 * maxTransact

// ChangeUser writes a change of a user: the user (or its deletion with its
// login guard), the reference counts of units and roles it gains or
// loses, its filter entries of the values that changed (those it gains
// with the user; those it loses may follow), the credentials it revokes
// or regrants, its job, and the audit event. The first transaction holds
// the user, its job and its audit event and is conditional on the user's
// version: a concurrent change makes it fail with a Conflict on
// VersionChanged, and then nothing is written. Credentials beyond one
// transaction's size follow in further transactions.
func (s *Store) ChangeUser(ctx context.Context, c UserChange) error {
	if err := s.preparePerson(ctx, &c); err != nil {
		return fmt.Errorf("change user: %w", err)
	}
	first, rest := s.changeItems(c)
	if c.Job != nil && len(rest.items) > endNow {
		rest.items = rest.items[:endNow]
	}
	return s.commit(ctx, first, rest)
}

// changeItems returns the items that must be written together (the user,
// its references, its new filter entries, the audit event, the job) and
// those that may follow (entries it lost, credentials).
func (s *Store) changeItems(c UserChange) (first, rest *tx) {
	old := c.Old
	version := map[string]types.AttributeValue{":v": num(int64(old.Version))}
	first, rest = s.tx(), s.tx()
	if c.Consume != "" {
		first.add(LinkUsed, s.consume(c.Consume, c.At))
	}
	if c.New == nil {
		first.add(VersionChanged, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: userKey(old.Org, old.ID).av(),
			ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: version,
		}})
		if old.Person == "" {
			first.del(loginGuardFor(old).key)
		} else {
			s.personItems(first, c)
		}
		first.refs(old.Org, old.Role, old.Units, -1)
		// An entry left behind matches nothing (lists check the users
		// they read), so the entries may follow the user's deletion.
		rest.del(entryKeys(old)...)
	} else {
		u := *c.New
		if u.Person == "" {
			u.Person = old.Person // a membership's person never changes
		}
		u.Members = old.Members // the count is the person's transactions'
		if old.Unproved && !u.Unproved {
			u = withPerson(u) // proved: the user becomes its person's first membership
		}
		u.key = userKey(u.Org, u.ID)
		u.Search = u.searchText()
		u.Version = old.Version + 1
		item, err := marshal(u)
		if err != nil {
			first.fail(fmt.Errorf("change user: %w", err))
		}
		first.add(VersionChanged, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: item,
			ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: version,
		}})
		s.refDiff(first, old, u)
		added, gone := entryDiff(old, u)
		for _, k := range added {
			first.set(filterEntry{k})
		}
		rest.del(gone...)
		if c.RoleVersion != nil {
			first.roleAt(u.Org, u.Role, *c.RoleVersion)
		}
		if !u.Unproved {
			s.proveItems(first, old, u)
		}
		if needsPerson(c) {
			c.New = &u
			s.personItems(first, c)
		}
	}
	if r := c.Reach; r != nil {
		first.reach(*r, old.ID)
	}
	first.audit(c.Audit)
	if c.Job != nil {
		first.job(*c.Job)
	}
	s.revokeItems(rest, c.Invitations)
	for _, k := range c.Revoke {
		// The link the change uses is marked used above, not deleted.
		if c.Consume == "" || k != credKey(c.Consume) {
			rest.del(k)
		}
	}
	// A change of the units alone leaves the credentials' role, its
	// version and permissions as they are.
	unitsOnly := c.New != nil && c.New.Role == old.Role && slices.Equal(c.New.Permissions, old.Permissions)
	for _, cr := range c.Grant {
		if unitsOnly {
			rest.grantUnits(cr, *c.New)
		} else {
			rest.grant(cr, roleVersion(c), c.New)
		}
	}
	return first, rest
}

// grant appends the rewrite of credential c's role and permissions (as
// set on c) at the role's version, and when u is set (the user written in
// the same transaction) of its units; c must still exist (CredentialGone).
// A regrant, which writes credentials apart from their user, leaves the
// units alone: it must not undo a change of them made meanwhile.
func (t *tx) grant(c Credential, version int, u *User) *tx {
	set := "SET #r = :r, #p = :p, role_version = :v"
	values := map[string]types.AttributeValue{
		":r": str(c.Role), ":p": str(strings.Join(c.Permissions, " ")), ":v": num(int64(version)),
	}
	if u != nil {
		set += ", " + unitsSet
		maps.Copy(values, unitsValues(*u))
	}
	return t.add(CredentialGone, types.TransactWriteItem{Update: &types.Update{
		TableName: &t.s.table, Key: c.key.av(),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String(set),
		ExpressionAttributeNames:  map[string]string{"#r": "role", "#p": "permissions"},
		ExpressionAttributeValues: values,
	}})
}

// grantUnits appends the rewrite of credential c's units to u's.
func (t *tx) grantUnits(c Credential, u User) *tx {
	return t.add(CredentialGone, types.TransactWriteItem{Update: &types.Update{
		TableName: &t.s.table, Key: c.key.av(),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET " + unitsSet),
		ExpressionAttributeValues: unitsValues(u),
	}})
}

// unitsSet sets a credential's units to unitsValues'.
const unitsSet = "units = :u, unit_kinds = :k, all_units = :a, default_unit = :d"

func unitsValues(u User) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		":u": str(strings.Join(u.Units, " ")), ":k": str(strings.Join(u.UnitKinds, " ")), ":d": str(u.DefaultUnit),
		":a": &types.AttributeValueMemberBOOL{Value: u.AllUnits},
	}
}

// roleVersion is the version of the role a change's credentials get.
func roleVersion(c UserChange) int {
	if c.RoleVersion == nil {
		return 0
	}
	return *c.RoleVersion
}

// commit writes first and as much of rest as fits in one transaction, then
// the rest of rest in further ones.
func (s *Store) commit(ctx context.Context, first, rest *tx) error {
	if rest.err != nil {
		return rest.err
	}
	n := min(len(rest.items), maxTransact-len(first.items))
	if err := s.transact(ctx, first.join(&tx{items: rest.items[:n]})); err != nil {
		return fmt.Errorf("change user: %w", err)
	}
	for chunk := range slices.Chunk(rest.items[n:], maxTransact) {
		if err := s.transact(ctx, &tx{s: s, items: chunk}); err != nil {
			// A credential that vanished meanwhile (expired, logged out)
			// is no reason to fail: the user's change is written.
			if !errors.Is(err, ErrConflict) {
				return fmt.Errorf("change user: credentials: %w", err)
			}
		}
	}
	return nil
}

// TransferOwnership hands an organization from one owner to another: the
// organization's owner (conditional on the current one) and both users'
// changes, in one transaction.
func (s *Store) TransferOwnership(ctx context.Context, org Org, newOwner string, from, to UserChange) error {
	for _, c := range []*UserChange{&from, &to} {
		if err := s.preparePerson(ctx, c); err != nil {
			return fmt.Errorf("transfer ownership: %w", err)
		}
	}
	f1, r1 := s.changeItems(from)
	f2, r2 := s.changeItems(to)
	first := s.tx().add(OwnerChanged, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: orgKey(org.ID).av(),
		ConditionExpression: aws.String("owner_id = :from"),
		UpdateExpression:    aws.String("SET owner_id = :to, updated = :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":from": str(org.OwnerID), ":to": str(newOwner),
			":now": str(to.Audit.Time.UTC().Format(time.RFC3339Nano)),
		},
	}})
	return s.commit(ctx, first.join(f1).join(f2).mergeCounts(), r1.join(r2))
}

// refDiff adds to t the reference count changes between a user's old and
// new role and units.
func (s *Store) refDiff(t *tx, old, next User) {
	if old.Role != next.Role {
		t.refs(old.Org, old.Role, nil, -1)
		t.refs(old.Org, next.Role, nil, 1)
	}
	var gone, added []string
	for _, u := range old.Units {
		if !slices.Contains(next.Units, u) {
			gone = append(gone, u)
		}
	}
	for _, u := range next.Units {
		if !slices.Contains(old.Units, u) {
			added = append(added, u)
		}
	}
	t.refs(old.Org, "", gone, -1)
	t.refs(old.Org, "", added, 1)
}

// consume returns the item marking a one-time token used, on the condition
// that it exists and was not used.
func (s *Store) consume(hash string, at time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: credKey(hash).av(),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(used)"),
		UpdateExpression:          aws.String("SET used = :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(at.Unix())},
	}}
}

// Reach is what a unit-limited caller's reach was read from: its user at
// Version and the organization's unit tree at Tree (see UserAndTree).
type Reach struct {
	Org, User string
	Version   int
	Tree      int64
}

// reach appends the conditions that r still holds: the caller's user at
// its version (UserChanged; not when the change is of the caller itself,
// whose own version is the change's condition) and the unit tree at its
// version (TreeChanged; absent is version 0).
func (t *tx) reach(r Reach, target string) *tx {
	if r.User != target {
		t.add(UserChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &t.s.table, Key: userKey(r.Org, r.User).av(),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Version))},
		}})
	}
	cond := "version = :t"
	if r.Tree == 0 {
		cond = "attribute_not_exists(pk) OR version = :t"
	}
	return t.add(TreeChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &t.s.table, Key: unitTreeKey(r.Org).av(),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": num(r.Tree)},
	}})
}

// UserAndTree reads a user and its organization's unit tree version (0
// before the first move) in one BatchGetItem: what a unit-limited
// caller's reach is read from, with the units.
func (s *Store) UserAndTree(ctx context.Context, org, id string) (User, int64, error) {
	uk, tk := userKey(org, id), unitTreeKey(org)
	items, err := s.getMany(ctx, uk, tk)
	if err != nil {
		return User{}, 0, fmt.Errorf("user and tree: %w", err)
	}
	var u User
	it := items[uk]
	if it == nil {
		return u, 0, ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(it, &u); err != nil {
		return u, 0, fmt.Errorf("user and tree: %w", err)
	}
	var tr unitTree
	if it := items[tk]; it != nil {
		if err := attributevalue.UnmarshalMap(it, &tr); err != nil {
			return u, 0, fmt.Errorf("user and tree: %w", err)
		}
	}
	return u, tr.Version, nil
}
