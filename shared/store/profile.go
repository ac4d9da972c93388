package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	var out []Session
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String("gsi1"),
		KeyConditionExpression: aws.String("gsi1pk = :pk AND begins_with(gsi1sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("USER#" + user), ":sk": str("SESSION#"),
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		var ss []Session
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &ss); err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		out = append(out, ss...)
	}
	return out, nil
}

// EndSessions deletes sessions and their current tokens, as few
// transactions as fit (33 sessions each). Sessions gone meanwhile are no
// error.
func (s *Store) EndSessions(ctx context.Context, sessions []Session) error {
	var items []types.TransactWriteItem
	for _, ss := range sessions {
		items = append(items, s.del(sessionKey(ss.ID)), s.del(credKey(ss.AccessHash)), s.del(credKey(ss.RefreshHash)))
	}
	for chunk := range slices.Chunk(items, maxTransact-maxTransact%3) {
		if err := s.transact(ctx, chunk...); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
	}
	return nil
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
// ending) the user's previous one.
func (s *Store) CreateEmailChange(ctx context.Context, cred Credential, previous string) error {
	items, err := s.puts(false, emailChangePointer{emailChangeKey(cred.Org, cred.User), cred.Hash()})
	if err != nil {
		return err
	}
	put, err := s.put(cred, true)
	if err != nil {
		return err
	}
	items = append(items, put)
	if previous != "" && previous != cred.Hash() {
		items = append(items, s.del(credKey(previous)))
	}
	if err := s.transact(ctx, items...); err != nil {
		return fmt.Errorf("create e-mail change: %w", err)
	}
	return nil
}

// Parts of a ChangeLogin transaction whose condition may fail.
const (
	LoginPartToken = "token" // the link was used meanwhile
	LoginPartUser  = "user"  // the user changed meanwhile
	LoginPartLogin = "login" // the new login is taken
)

// ChangeLogin switches a user's login name: the one-time token marked used
// (change.Consume), the user (version-conditioned) with its audit event,
// the old login guard deleted and the new one created on the condition
// that it does not exist, in one transaction. A lost condition is a
// *LoginConflict naming the part.
func (s *Store) ChangeLogin(ctx context.Context, change UserChange) error {
	if change.New == nil || change.Consume == "" {
		return fmt.Errorf("change login: a new user and a token are needed")
	}
	first, _, err := s.changeItems(change)
	if err != nil {
		return err
	}
	guard, err := s.put(loginGuardFor(*change.New), true)
	if err != nil {
		return err
	}
	guardAt := len(first)
	first = append(first, guard, s.del(loginGuardFor(change.Old).key), s.del(emailChangeKey(change.Old.Org, change.Old.ID)))
	err = s.transact(ctx, first...)
	switch i := FailedItem(err); {
	case i < 0:
	case i == 0:
		return &PartConflict{Part: LoginPartToken, err: err}
	case i == guardAt:
		return &PartConflict{Part: LoginPartLogin, err: err}
	default:
		return &PartConflict{Part: LoginPartUser, err: err}
	}
	if err != nil {
		return fmt.Errorf("change login: %w", err)
	}
	return nil
}

// PartConflict is a lost condition of a transaction whose parts callers
// tell apart; it is ErrConflict for errors.Is.
type PartConflict struct {
	Part string
	err  error
}

func (e *PartConflict) Error() string { return "store: conflict on " + e.Part + ": " + e.err.Error() }

// Unwrap makes a PartConflict match ErrConflict.
func (e *PartConflict) Unwrap() error { return e.err }

// ConflictPart returns the part of a PartConflict, or "".
func ConflictPart(err error) string {
	var p *PartConflict
	if errors.As(err, &p) {
		return p.Part
	}
	return ""
}
