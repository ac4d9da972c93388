package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Holder is a user holding a role, as read, with its credentials.
type Holder struct {
	User  User
	Creds []Credential
	// Perms are the permissions the holder gets: its role's, or for a
	// service user those within its client application's scopes.
	Perms []string
}

// RegrantWrites is what RegrantHolders wrote: users and credentials given
// the role's permissions, in how many transactions.
type RegrantWrites struct {
	Users, Creds, Transactions int
}

// RegrantHolders gives each holder the permissions of role r at its
// version: the user's copy (a write of the user conditional on its
// version as read: VersionChanged) and those of its live access tokens
// and API keys (an API key its scopes within them), each of which must
// still exist (CredentialGone). Holders and credentials that have them
// already are skipped, so a batch run again writes only what it missed.
// Items go in transactions of up to 100, each with the condition that the
// role is still at r.Version (RoleChanged): a batch of an older version
// never undoes a newer one. A lost condition stops at the transaction
// that lost it (those before it are written).
func (s *Store) RegrantHolders(ctx context.Context, r Role, holders []Holder, now time.Time) (RegrantWrites, error) {
	var w RegrantWrites
	t := s.tx()
	flush := func() error {
		if len(t.items) == 0 {
			return nil
		}
		t.roleAt(r.Org, r.ID, r.Version)
		err := s.transact(ctx, t)
		t = s.tx()
		if err != nil {
			return fmt.Errorf("regrant: %w", err)
		}
		w.Transactions++
		return nil
	}
	for _, h := range holders {
		items := s.regrantItems(h, r.ID, h.Perms, r.Version, now)
		if len(items.items) == 0 {
			continue
		}
		if len(t.items)+len(items.items) > maxTransact-1 {
			if err := flush(); err != nil {
				return w, err
			}
		}
		// A holder with more credentials than a transaction holds gets
		// them in transactions of their own, its user last.
		for len(items.items) > maxTransact-1 {
			t.items = append(t.items, items.items[:maxTransact-1]...)
			items.items = items.items[maxTransact-1:]
			if err := flush(); err != nil {
				return w, err
			}
		}
		if items.err != nil {
			return w, items.err
		}
		t.items = append(t.items, items.items...)
		for _, it := range items.items {
			if it.part == VersionChanged {
				w.Users++
			} else {
				w.Creds++
			}
		}
	}
	return w, flush()
}

// regrantItems returns the writes giving one holder perms of role at
// version: its live credentials first, its user last.
func (s *Store) regrantItems(h Holder, role string, perms []string, version int, now time.Time) *tx {
	t := s.tx()
	var live []Credential
	for _, c := range h.Creds {
		if c.Valid(now) {
			live = append(live, c)
		}
	}
	for _, c := range Regrant(live, role, perms) {
		if was := credByKey(live, c.key); was.Role == c.Role && slices.Equal(was.Permissions, c.Permissions) && was.RoleVersion == version {
			continue
		}
		t.grant(c, version, nil)
	}
	u := h.User
	if u.Role != role || (slices.Equal(u.Permissions, perms) && len(t.items) == 0) {
		return t
	}
	if slices.Equal(u.Permissions, perms) {
		return t // the credentials alone lag
	}
	old := u.Version
	u.key = userKey(u.Org, u.ID)
	u.Search = u.searchText()
	u.Permissions, u.Version, u.Updated = slices.Clone(perms), old+1, now.UTC()
	item, err := marshal(u)
	if err != nil {
		t.fail(fmt.Errorf("regrant: %w", err))
		return t
	}
	return t.add(VersionChanged, types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(old))},
	}})
}

func credByKey(creds []Credential, k key) Credential {
	for _, c := range creds {
		if c.key == k {
			return c
		}
	}
	return Credential{}
}
