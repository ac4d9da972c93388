package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A user filter entry is an item ORG#<org>#USERS#<filter>#<value> /
// USER#<user>, one per filter value a user has: its status, kind, role,
// each of its units, unit "*" for an all_units user, and unit
// "kind:<kind>" for each of its unit kinds. It is written and
// deleted in the transactions that write the user, so a filtered page is a
// Query of one entry partition: up to limit matches, in the order of the
// unfiltered list (the same sort keys).

// Filter names of the entries.
const (
	byStatus = "status"
	byRole   = "role"
	byKind   = "kind"
	byUnit   = "unit"
	// allUnitsValue is the unit value of an all_units user's entry.
	allUnitsValue = "*"
	// kindUnitsPrefix begins the unit value of a unit kind's entry.
	kindUnitsPrefix = "kind:"
)

// entryPK is the partition of the users whose filter has value.
func entryPK(org, filter, value string) string {
	return "ORG#" + org + "#USERS#" + filter + "#" + value
}

// filterEntry is a user filter entry: its key alone.
type filterEntry struct {
	key
}

// entryKeys returns the keys of u's filter entries. Empty values (which
// DynamoDB refuses in a key) have none.
func entryKeys(u User) []key {
	sk := "USER#" + u.ID
	var out []key
	add := func(filter, value string) {
		if value != "" {
			out = append(out, key{entryPK(u.Org, filter, value), sk})
		}
	}
	add(byStatus, u.Status)
	add(byKind, u.Kind)
	add(byRole, u.Role)
	if u.AllUnits {
		add(byUnit, allUnitsValue)
	}
	for _, unit := range u.Units {
		add(byUnit, unit)
	}
	for _, kind := range u.UnitKinds {
		add(byUnit, kindUnitsPrefix+kind)
	}
	return out
}

// entries appends writes of u's filter entries.
func (t *tx) entries(u User) *tx {
	for _, k := range entryKeys(u) {
		t.set(filterEntry{k})
	}
	return t
}

// entryDiff returns the entries a change from old to next adds and those
// it removes: only the values that changed.
func entryDiff(old, next User) (added, gone []key) {
	before, after := entryKeys(old), entryKeys(next)
	for _, k := range after {
		if !slices.Contains(before, k) {
			added = append(added, k)
		}
	}
	for _, k := range before {
		if !slices.Contains(after, k) {
			gone = append(gone, k)
		}
	}
	return added, gone
}

// UserFilter narrows a user listing. Empty fields do not filter.
type UserFilter struct {
	// Unit matches the users assigned to the unit, those with all units
	// and, with UnitKind (the unit's kind), those with that unit kind.
	Status, Role, Unit, Kind string
	UnitKind                 string
	// Text is searched, lower-cased, in names and login names.
	Text string
	// Within, when set, is checked on every user read, like Text: a
	// unit-limited caller's scope.
	Within func(User) bool
}

// matches reports whether u passes every filter of f.
func (f UserFilter) matches(u User) bool {
	switch {
	case f.Status != "" && u.Status != f.Status,
		f.Role != "" && u.Role != f.Role,
		f.Kind != "" && u.Kind != f.Kind,
		f.Unit != "" && !u.AllUnits && !slices.Contains(u.Units, f.Unit) &&
			(f.UnitKind == "" || !slices.Contains(u.UnitKinds, f.UnitKind)),
		f.Text != "" && !strings.Contains(u.searchText(), f.Text),
		f.Within != nil && !f.Within(u):
		return false
	}
	return true
}

// driver returns the entry partitions of f's most selective key-served
// filter (unit, then role, kind, status; a unit merges its own partition,
// the all_units one and its kind's), and how many key-served filters f has. No
// partitions means the users partition itself is read.
func (f UserFilter) driver(org string) (pks []string, keyed int) {
	for _, c := range []struct{ filter, value string }{
		{byUnit, f.Unit}, {byRole, f.Role}, {byKind, f.Kind}, {byStatus, f.Status},
	} {
		if c.value == "" {
			continue
		}
		keyed++
		if pks != nil {
			continue
		}
		pks = []string{entryPK(org, c.filter, c.value)}
		if c.filter == byUnit && c.value != allUnitsValue {
			pks = append(pks, entryPK(org, byUnit, allUnitsValue))
			if f.UnitKind != "" {
				pks = append(pks, entryPK(org, byUnit, kindUnitsPrefix+f.UnitKind))
			}
		}
	}
	return pks, keyed
}

// MaxUsersRead bounds the users one page of a listing reads when filters
// are checked on the users read (text, or several filters at once): past
// it the page stops short of its limit and says so (UserPage.Partial).
const MaxUsersRead = 1000

// entryRound is how many entries a round of a checked listing reads: one
// BatchGetItem's worth of users.
const entryRound = 100

// scanRound is how many users one Query of the users partition reads for
// a text search.
const scanRound = 250

// UserPage is one page of a user listing.
type UserPage struct {
	Users []User
	// Next is the sort key to resume after; "" after the last page.
	Next string
	// Read is how many users the page read to find Users.
	Read int
	// Partial is true when the page stopped at MaxUsersRead before
	// finding limit matches; Next then resumes after the last user read.
	Partial bool
}

// ListUsers returns one page of an organization's users matching f, from
// after the sort key start, and the sort key to resume after ("" after the
// last page). See ListUsersPage.
func (s *Store) ListUsers(ctx context.Context, org string, f UserFilter, start string, limit int) (users []User, next string, err error) {
	p, err := s.ListUsersPage(ctx, org, f, start, limit)
	return p.Users, p.Next, err
}

// ListUsersPage returns one page of an organization's users matching f.
// Without filters it is one Query of the users. With one of status, role,
// kind (one Query of its entries, Limit limit) or unit (two: the unit's
// entries and the all_units ones, and a third with UnitKind: the kind's,
// merged by sort key), it is those Queries
// and one consistent BatchGetItem of the users found: limit matches a
// page. With several filters the most selective drives and the others are
// checked on the users read; text and Within are checked on the users
// read, the users partition read without a filter expression when no
// other filter drives. Either reads rounds until limit matches or
// MaxUsersRead users, then stops (Partial). Every filter is checked on the
// users read, so an entry written by a change that lost a race matches
// nothing.
func (s *Store) ListUsersPage(ctx context.Context, org string, f UserFilter, start string, limit int) (UserPage, error) {
	var page UserPage
	if limit <= 0 {
		return page, fmt.Errorf("list users: limit %d", limit)
	}
	pks, keyed := f.driver(org)
	checked := f.Text != "" || f.Within != nil
	exact := pks == nil && !checked || keyed == 1 && !checked
	after := start
	for {
		n := entryRound
		if pks == nil {
			n = scanRound
		}
		if exact {
			n = limit - len(page.Users)
		}
		if pks != nil {
			n = min(n, entryRound)
		}
		n = min(n, MaxUsersRead-page.Read)
		var r round
		var err error
		if pks == nil {
			r, err = s.userRound(ctx, org, after, n)
		} else {
			r, err = s.entryRound(ctx, org, pks, after, n)
		}
		if err != nil {
			return page, fmt.Errorf("list users: %w", err)
		}
		page.Read += r.read
		for i, u := range r.users {
			if !f.matches(u) {
				continue
			}
			page.Users = append(page.Users, u)
			if len(page.Users) == limit {
				if i < len(r.users)-1 || r.more || r.last != "USER#"+u.ID {
					page.Next = "USER#" + u.ID
				}
				return page, nil
			}
		}
		if !r.more {
			return page, nil
		}
		after = r.last
		if page.Read >= MaxUsersRead {
			page.Next, page.Partial = after, true
			return page, nil
		}
	}
}

// round is what one round of a listing read: users in sort key order, the
// sort key of the last item read (a user or an entry), how many were
// read, and whether more may follow.
type round struct {
	users []User
	last  string
	read  int
	more  bool
}

// usersEnd bounds the users' sort keys from above ('$' follows '#').
const usersEnd = "USER$"

// userRound reads up to n users of the users partition after the sort key
// after ("" for the first): one Query without a filter expression. The
// start is a key condition (sk BETWEEN after AND usersEnd, after itself
// dropped) rather than an ExclusiveStartKey, so that a user deleted since
// it ended a page still marks the place (the embedded DynamoDB finds no
// start key that is not an item).
func (s *Store) userRound(ctx context.Context, org, after string, n int) (round, error) {
	in := s.orgItems(org, "USER#")
	if after != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND sk BETWEEN :sk AND :end")
		in.ExpressionAttributeValues[":sk"] = str(after)
		in.ExpressionAttributeValues[":end"] = str(usersEnd)
		n++ // after itself, when it is still there
	}
	in.Limit = aws.Int32(int32(n))
	users, next, err := queryPage[User](ctx, s, "users", in, "ORG#"+org, "")
	if err != nil {
		return round{}, err
	}
	r := round{more: next != "", last: after}
	for _, u := range users {
		if sk := "USER#" + u.ID; sk != after {
			r.users = append(r.users, u)
			r.read++
			r.last = sk
		}
	}
	return r, nil
}

// entryRound reads the next n entries after the sort key after in the
// partitions pks, merged by sort key (one Query each, sk > after), and the
// users they name (one consistent BatchGetItem), in that order. An entry
// whose user is gone is read as nothing. more is false when no partition
// holds entries past the last one returned.
func (s *Store) entryRound(ctx context.Context, org string, pks []string, after string, n int) (round, error) {
	if after == "" {
		after = "USER#"
	}
	r := round{last: after}
	var sks []string
	for _, pk := range pks {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			KeyConditionExpression:    aws.String("pk = :pk AND sk > :sk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":sk": str(after)},
			ProjectionExpression:      aws.String("sk"),
			Limit:                     aws.Int32(int32(n)),
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return r, fmt.Errorf("user entries: %w", err)
		}
		var got []filterEntry
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &got); err != nil {
			return r, fmt.Errorf("user entries: %w", err)
		}
		for _, e := range got {
			sks = append(sks, e.SK)
		}
		if len(res.LastEvaluatedKey) > 0 {
			r.more = true
		}
	}
	slices.Sort(sks)
	sks = slices.Compact(sks)
	if len(sks) > n {
		sks, r.more = sks[:n], true
	}
	if len(sks) == 0 {
		return r, nil
	}
	r.read, r.last = len(sks), sks[len(sks)-1]
	keys := make([]key, len(sks))
	for i, sk := range sks {
		keys[i] = key{"ORG#" + org, sk}
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return r, err
	}
	for _, k := range keys {
		item := items[k]
		if item == nil {
			continue
		}
		var u User
		if err := attributevalue.UnmarshalMap(item, &u); err != nil {
			return r, err
		}
		r.users = append(r.users, u)
	}
	return r, nil
}

// ReindexReport is what Reindex did.
type ReindexReport struct {
	Users   int
	Entries int
	// Counts are the built-in roles' holder counts it set.
	Counts map[string]int
}

// Reindex writes the filter entries of every user of org and sets the
// built-in roles' holder counts: the backfill of users written before
// entries and counts existed. Each user's entries are written in a
// transaction conditional on the version read (VersionChanged), so what
// it writes is the user's current state; a user changed meanwhile is read
// again. It is idempotent. The counts are set from the users read: a user
// created, deleted or given another role while it runs can leave a count
// off by one, which running it again, when no one changes the users,
// corrects.
func (s *Store) Reindex(ctx context.Context, org string) (ReindexReport, error) {
	rep := ReindexReport{Counts: map[string]int{}}
	for _, r := range []string{"owner", "admin", "member"} {
		rep.Counts[r] = 0
	}
	err := s.EachUser(ctx, org, func(users []User) error {
		for _, u := range users {
			n, err := s.reindexUser(ctx, u)
			if err != nil {
				return err
			}
			if n < 0 {
				continue // deleted meanwhile
			}
			rep.Users++
			rep.Entries += n
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("reindex: %w", err)
	}
	// The users are read again for the counts: a user given another role
	// while the entries were written is counted as it is now.
	err = s.EachUser(ctx, org, func(users []User) error {
		for _, u := range users {
			if _, ok := rep.Counts[u.Role]; ok {
				rep.Counts[u.Role]++
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("reindex: %w", err)
	}
	for role, n := range rep.Counts {
		if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: roleCountKey(org, role).av(),
			UpdateExpression:          aws.String("SET refs = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(n))},
		}); err != nil {
			return rep, fmt.Errorf("reindex: role count: %w", err)
		}
	}
	return rep, nil
}

// reindexUser writes u's entries on the condition that u is still at its
// version, reading it again (at most three times) when it changed. It
// returns the entries written, or -1 when the user is gone.
func (s *Store) reindexUser(ctx context.Context, u User) (int, error) {
	for attempt := 0; ; attempt++ {
		t := s.tx().add(VersionChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: userKey(u.Org, u.ID).av(),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(u.Version))},
		}}).entries(u)
		err := s.transact(ctx, t)
		if err == nil {
			return len(t.items) - 1, nil
		}
		if !Lost(err, VersionChanged) || attempt == 2 {
			return 0, fmt.Errorf("user %s: %w", u.ID, err)
		}
		if u, err = s.GetUser(ctx, u.Org, u.ID); errors.Is(err, ErrNotFound) {
			return -1, nil
		} else if err != nil {
			return 0, err
		}
	}
}
