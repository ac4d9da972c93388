package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// NewUser is one user of a bulk creation (an import).
type NewUser struct {
	User User
	// Link, when set, is a set-password link (a reset token) written with
	// the user as its login's live reset link.
	Link *Credential
}

// items is the number of transaction items of the user alone: the user,
// its login guard (and for a claim, the check of its organization's login),
// the link with its pointer, and its filter entries.
func (n NewUser) items() int {
	c := 2
	if n.User.Unproved && n.User.Email != "" {
		c += 2
	}
	if personal(n.User) {
		c += 2 // the person and its membership entry
	}
	if n.Link != nil {
		c += 2
	}
	return c + len(entryKeys(n.User))
}

// refsOf returns the keys of the items whose reference count a new user
// adds to: its custom role and its units.
func refsOf(u User) []key { return refKeys(u.Org, u.Role, u.Units) }

// GroupUsers splits users, in order, into groups that CreateUsers writes
// in one transaction each: at most 100 items, counting each unit and role
// once per group however many of the group's users hold it.
func GroupUsers(users []NewUser) [][]NewUser {
	var groups [][]NewUser
	var cur []NewUser
	refs := map[key]bool{}
	n := 0
	for _, u := range users {
		add := u.items()
		var fresh []key
		for _, k := range refsOf(u.User) {
			if !refs[k] && !slices.Contains(fresh, k) {
				fresh = append(fresh, k)
			}
		}
		if n+add+len(fresh) > maxTransact && len(cur) > 0 {
			groups = append(groups, cur)
			cur, refs, n = nil, map[key]bool{}, 0
			fresh = refsOf(u.User)
		}
		cur = append(cur, u)
		for _, k := range fresh {
			refs[k] = true
		}
		n += add + len(fresh)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// CreateUsers writes a group of new users (see GroupUsers) in one
// transaction: each user with its login guard (its link) and filter
// entries, and one
// reference count change per unit and custom role for the whole group,
// since a transaction may not touch one item twice. Either every user of
// the group is written or none is. A Conflict on LoginTaken means a login
// is taken; on UnitGone or RoleGone, that a unit or role is gone.
func (s *Store) CreateUsers(ctx context.Context, users []NewUser) error {
	t := s.tx()
	deltas := map[key]int{}
	var order []key
	for _, n := range users {
		u := withPerson(n.User)
		u.key = userKey(u.Org, u.ID)
		u.Search = u.searchText()
		t.put(IDTaken, u).put(LoginTaken, loginGuardFor(u)).add(LoginTaken, s.ownLogin(u)...).newPerson(u)
		if n.Link != nil {
			t.set(resetPointer{resetPointerKey(u.ResetKey()), n.Link.Hash()}).put(IDTaken, *n.Link)
		}
		t.entries(u)
		for _, k := range refsOf(u) {
			if _, seen := deltas[k]; !seen {
				order = append(order, k)
			}
			deltas[k]++
		}
	}
	for _, k := range order {
		t.ref(k, deltas[k])
	}
	if len(t.items) > maxTransact {
		return fmt.Errorf("create users: %d items in one transaction", len(t.items))
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create users: %w", err)
	}
	return nil
}

// TakenLogins returns which of the login keys already name a user of
// organization org, proved or not: one BatchGetItem per 50 keys. Another
// organization's logins are not told.
func (s *Store) TakenLogins(ctx context.Context, org string, logins []string) (map[string]bool, error) {
	taken := map[string]bool{}
	for chunk := range slices.Chunk(logins, 50) {
		var keys []key
		for _, l := range chunk {
			keys = append(keys, loginKey(l), claimKey(l, org))
		}
		got, err := s.getMany(ctx, keys...)
		if err != nil {
			return nil, fmt.Errorf("taken logins: %w", err)
		}
		for i, l := range chunk {
			var g LoginGuard
			if it := got[keys[2*i]]; it != nil {
				if err := attributevalue.UnmarshalMap(it, &g); err != nil {
					return nil, fmt.Errorf("taken logins: %w", err)
				}
			}
			if g.Org == org || got[keys[2*i+1]] != nil {
				taken[l] = true
			}
		}
	}
	return taken, nil
}

// EachUserPage is the most users of a page of EachUser: about half of
// DynamoDB's 1 MB page, so that a page weighs the same on every
// implementation (minidyn answers a whole partition in one page).
const EachUserPage = 1000

// EachUser calls f with every user of an organization, a page (one Query,
// at most EachUserPage users) at a time.
func (s *Store) EachUser(ctx context.Context, org string, f func([]User) error) error {
	in := s.orgItems(org, "USER#")
	in.Limit = aws.Int32(EachUserPage)
	return eachPage(ctx, s, "each user", in, f)
}

// AddAudit writes an audit event on its own, for an action made of many
// transactions (an import) or of none (an export): one TransactWriteItems.
func (s *Store) AddAudit(ctx context.Context, a Audit) error {
	if err := s.transact(ctx, s.tx().audit(a)); err != nil {
		return fmt.Errorf("add audit: %w", err)
	}
	return nil
}

// OrgByCode reads the organization whose code is code: two GetItems (the
// code guard, then the organization).
func (s *Store) OrgByCode(ctx context.Context, code string) (Org, error) {
	var g orgCode
	if err := s.get(ctx, orgCodeKey(code), &g); err != nil {
		return Org{}, fmt.Errorf("org by code: %w", err)
	}
	return s.GetOrg(ctx, g.Org)
}
