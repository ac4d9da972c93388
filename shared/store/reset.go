package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// resetPointer names a login's live reset link, so that a new link
// replaces the previous one.
type resetPointer struct {
	key
	Hash string `dynamodbav:"hash"`
}

func resetPointerKey(login string) key { return key{"RESET#" + login, "RESET"} }

// ResetContext is what a reset request must know of a login.
type ResetContext struct {
	Guard    LoginGuard
	Found    bool
	Counters map[string]Failures
	// Previous is the hash of the login's live reset link, if any.
	Previous string
}

// ResetContextOf reads, in one call, a login's guard, its live reset link
// and the rate-limit counters named.
func (s *Store) ResetContextOf(ctx context.Context, login string, counters ...string) (ResetContext, error) {
	c := ResetContext{Counters: map[string]Failures{}}
	keys := []key{loginKey(login), resetPointerKey(login)}
	for _, k := range counters {
		keys = append(keys, failuresKey(k))
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return c, fmt.Errorf("reset context: %w", err)
	}
	if it := items[keys[0]]; it != nil {
		c.Found = true
		if err := attributevalue.UnmarshalMap(it, &c.Guard); err != nil {
			return c, err
		}
	}
	if it := items[keys[1]]; it != nil {
		var p resetPointer
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return c, err
		}
		c.Previous = p.Hash
	}
	for i, k := range counters {
		var f Failures
		if it := items[keys[2+i]]; it != nil {
			if err := attributevalue.UnmarshalMap(it, &f); err != nil {
				return c, err
			}
		}
		c.Counters[k] = f
	}
	return c, nil
}

// ResetBy is an admin's reset link: its audit event, and, for a caller
// limited to its units, what its check read (Within).
type ResetBy struct {
	Audit  Audit
	Within *Within
}

// Within is what a unit-limited caller's check of an action on a user
// read: the caller's reach, and the user's version (its units).
type Within struct {
	Reach   Reach
	Version int
}

// CreateReset writes a reset link's token for a login, replacing (and
// ending) the previous one, on the condition that its user is active or
// pending, the users a reset link works for (else a Conflict on
// UserChanged). An admin's link (by) is audited and, with a Reach, written
// only while the caller's reach and the user are as checked (UserChanged,
// TreeChanged).
func (s *Store) CreateReset(ctx context.Context, login string, cred Credential, previous string, by *ResetBy) error {
	user := s.userIn(cred.Org, cred.User, Active, UserPending)
	t := s.tx().set(resetPointer{resetPointerKey(login), cred.Hash()}).put(IDTaken, cred)
	if previous != "" {
		t.del(credKey(previous))
	}
	if by != nil {
		t.audit(by.Audit)
		if w := by.Within; w != nil {
			c := user.ConditionCheck
			c.ConditionExpression = aws.String(*c.ConditionExpression + " AND version = :v")
			c.ExpressionAttributeValues[":v"] = num(int64(w.Version))
			t.reach(w.Reach, cred.User)
		}
	}
	t.add(UserChanged, user)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create reset: %w", err)
	}
	return nil
}
