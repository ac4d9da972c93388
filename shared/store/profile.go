package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Prefs are a user's own settings, kept on the user item. Working hours
// and notification switches are stored as short strings (their format is
// the profile package's) so that the item never holds a nested empty list
// or map, which the embedded DynamoDB stores wrongly.
type Prefs struct {
	StartAddress *Address `dynamodbav:"start_address,omitempty"`
	RouteFrom    *Address `dynamodbav:"route_from,omitempty"`
	RouteTo      *Address `dynamodbav:"route_to,omitempty"`
	// Hours is "mon=08:00-12:00,13:00-17:00 tue=…"; days without ranges
	// are absent.
	Hours string `dynamodbav:"hours,omitempty"`
	// Notify is "event=on|off …" for the events whose switch was set.
	Notify string `dynamodbav:"notify,omitempty"`
}

// UserContext is what a profile action reads first, in one BatchGetItem:
// the user, its organization, and the rate-limit counters it names.
type UserContext struct {
	User     User
	Org      Org
	Counters map[string]Failures
	// Found is false when the user no longer exists.
	Found bool
}

// UserContextOf reads a user, its organization and counters in one call.
func (s *Store) UserContextOf(ctx context.Context, org, user string, counters ...string) (UserContext, error) {
	c, _, err := s.userContext(ctx, org, user, nil, counters)
	return c, err
}

// userContext reads a user, its organization, counters and extra keys in
// one BatchGetItem; it returns the extra items found.
func (s *Store) userContext(ctx context.Context, org, user string, extra []key, counters []string) (UserContext, map[key]map[string]types.AttributeValue, error) {
	c := UserContext{Counters: map[string]Failures{}}
	keys := []key{userKey(org, user), orgKey(org)}
	for _, k := range counters {
		keys = append(keys, failuresKey(k))
	}
	items, err := s.getMany(ctx, append(keys, extra...)...)
	if err != nil {
		return c, nil, fmt.Errorf("user context: %w", err)
	}
	if it := items[keys[0]]; it != nil {
		c.Found = true
		if err := attributevalue.UnmarshalMap(it, &c.User); err != nil {
			return c, nil, fmt.Errorf("user context: %w", err)
		}
	}
	if it := items[keys[1]]; it != nil {
		if err := attributevalue.UnmarshalMap(it, &c.Org); err != nil {
			return c, nil, fmt.Errorf("user context: %w", err)
		}
	}
	for i, k := range counters {
		var f Failures
		if it := items[keys[2+i]]; it != nil {
			if err := attributevalue.UnmarshalMap(it, &f); err != nil {
				return c, nil, fmt.Errorf("user context: %w", err)
			}
		}
		c.Counters[k] = f
	}
	return c, items, nil
}

// UserSessions returns a user's sessions: one Query of gsi1 (USER#<user>,
// sort keys beginning with SESSION#). The index is eventually consistent.
func (s *Store) UserSessions(ctx context.Context, user string) ([]Session, error) {
	return queryAll[Session](ctx, s, "user sessions", s.userIndexItems(user, "SESSION#"))
}

// EndSessions deletes sessions, their current tokens and the access
// tokens they kept, as few transactions as fit. Sessions gone meanwhile
// are no error.
func (s *Store) EndSessions(ctx context.Context, sessions []Session) error {
	t := s.tx()
	flush := func() error {
		if len(t.items) == 0 {
			return nil
		}
		if err := s.transact(ctx, t); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		t = s.tx()
		return nil
	}
	for _, ss := range sessions {
		keys := ss.endKeys()
		if len(t.items)+len(keys) > maxTransact {
			if err := flush(); err != nil {
				return err
			}
		}
		t.del(keys...)
	}
	return flush()
}

// emailChangePointer names a user's live e-mail change link, so that a
// new request replaces the previous one.
type emailChangePointer struct {
	key
	Hash string `dynamodbav:"hash"`
}

func emailChangeKey(org, user string) key { return key{"ORG#" + org, "EMAILCHANGE#" + user} }

// EmailChangeContext is what an e-mail change request reads, in one call.
type EmailChangeContext struct {
	UserContext
	// Taken is true when the new address is a login already.
	Taken bool
	// Previous is the hash of the user's live e-mail change link, if any.
	Previous string
}

// EmailChangeContextOf reads the user, its organization, counters, the
// login guard of the new address and the live link, in one call.
func (s *Store) EmailChangeContextOf(ctx context.Context, org, user, newLogin string, counters ...string) (EmailChangeContext, error) {
	var c EmailChangeContext
	guard, pointer := loginKey(newLogin), emailChangeKey(org, user)
	uc, items, err := s.userContext(ctx, org, user, []key{guard, pointer}, counters)
	if err != nil {
		return c, fmt.Errorf("e-mail change context: %w", err)
	}
	c.UserContext, c.Taken = uc, items[guard] != nil
	if it := items[pointer]; it != nil {
		var p emailChangePointer
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return c, fmt.Errorf("e-mail change context: %w", err)
		}
		c.Previous = p.Hash
	}
	return c, nil
}

// CreateEmailChange writes an e-mail change link's token, replacing (and
// ending) the user's previous one, on the condition that the user is
// active (else a Conflict on UserChanged).
func (s *Store) CreateEmailChange(ctx context.Context, cred Credential, previous string) error {
	t := s.tx().set(emailChangePointer{emailChangeKey(cred.Org, cred.User), cred.Hash()}).put(IDTaken, cred).
		add(UserChanged, s.userIn(cred.Org, cred.User, Active))
	if previous != "" && previous != cred.Hash() {
		t.del(credKey(previous))
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create e-mail change: %w", err)
	}
	return nil
}

// ChangeLogin switches a user's login name: the one-time token marked used
// (change.Consume), the user (version-conditioned) with its audit event,
// the old login guard deleted and the new one created on the condition
// that it does not exist, in one transaction, with the credentials
// change.Revoke ends (store.EndLinks). A lost condition is a
// Conflict on LinkUsed, VersionChanged or LoginTaken.
func (s *Store) ChangeLogin(ctx context.Context, change UserChange) error {
	if change.New == nil || change.Consume == "" {
		return fmt.Errorf("change login: a new user and a token are needed")
	}
	if err := s.preparePerson(ctx, &change); err != nil {
		return fmt.Errorf("change login: %w", err)
	}
	first, rest := s.changeItems(change)
	guard := loginGuardFor(*change.New)
	if change.person != nil {
		guard.Members = len(change.person.others) + 1
	}
	first.put(LoginTaken, guard).
		del(loginGuardFor(change.Old).key, emailChangeKey(change.Old.Org, change.Old.ID))
	if err := s.commit(ctx, first, rest); err != nil {
		return fmt.Errorf("change login: %w", err)
	}
	return nil
}
