package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// LoginGuard makes a login name unique across the deployment and points at
// its user. It is written in the same transaction as the user.
type LoginGuard struct {
	key
	Org  string `dynamodbav:"org"`
	User string `dynamodbav:"user"`
	// Person is, on an e-mail login, the person it names; org and user are
	// then one of its memberships (the one its credentials are checked on).
	Person string `dynamodbav:"person,omitempty"`
	// Members counts the person's memberships (MEMBER# items beside the
	// guard); 0 on a guard written before persons, which has one.
	Members int `dynamodbav:"members,omitempty"`
}

// MemberCount is how many memberships the guard's login has.
func (g LoginGuard) MemberCount() int { return max(g.Members, 1) }

func loginKey(login string) key { return key{"LOGIN#" + login, "LOGIN"} }

// loginGuardFor is the guard u holds: the login guard, or for an
// unproved e-mail its organization's claim on the address. Claims of
// several organizations may coexist; none blocks the login guard, which
// the first holder to prove the address takes (proveItems).
func loginGuardFor(u User) LoginGuard {
	if u.Unproved && u.Email != "" {
		return LoginGuard{key: claimKey(u.LoginKey(), u.Org), Org: u.Org, User: u.ID}
	}
	g := LoginGuard{key: loginKey(u.LoginKey()), Org: u.Org, User: u.ID, Person: u.Person}
	if u.Person != "" {
		g.Members = 1
	}
	return g
}

func claimKey(login, org string) key { return key{"LOGIN#" + login, "CLAIM#" + org} }

// ownLogin returns, for an unproved user, the check that its address is
// not the login of a user of its own organization already (LoginTaken):
// an organization holds an address once, proved or not.
func (s *Store) ownLogin(u User) []types.TransactWriteItem {
	if !u.Unproved || u.Email == "" {
		return nil
	}
	return []types.TransactWriteItem{{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: loginKey(u.LoginKey()).av(),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR org <> :org"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":org": str(u.Org)},
	}}, s.noMember(u.LoginKey(), u.Org)}
}

// noMember is the check that a login's person is no member of org.
func (s *Store) noMember(login, org string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: memberKey(login, org).av(), ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
}

// Claims returns the claims organizations hold on an unproved address
// (login): one Query, at most limit of them.
func (s *Store) Claims(ctx context.Context, login string, limit int) ([]LoginGuard, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(loginKey(login).PK), ":sk": str("CLAIM#"),
		},
		Limit:          aws.Int32(int32(limit)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	var out []LoginGuard
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return out, nil
}

// proveItems adds to t, for a change that proves old's address, the items
// that swap its claim for the login guard: the guard is taken only if nobody
// holds it (LoginTaken: the address was proved for another account first).
// The proved user becomes its person's first membership (proved, with its
// person set).
func (s *Store) proveItems(t *tx, old, proved User) {
	if !old.Unproved || old.Email == "" {
		return
	}
	t.del(loginGuardFor(old).key).put(LoginTaken, loginGuardFor(proved)).newPerson(proved)
}

// Failures counts failed attempts on a key (a login name, a token) within
// a window that ends at Expires.
type Failures struct {
	key
	Count   int   `dynamodbav:"count"`
	Expires int64 `dynamodbav:"expires"`
	// NotBefore is when the next attempt may be made (Unix seconds; 0:
	// any time).
	NotBefore int64 `dynamodbav:"not_before,omitempty"`
	// Client is the count of the client an attempt named (Reserve).
	Client int `dynamodbav:"-"`
}

// Active returns the count still in force at now: zero once the window has
// ended (DynamoDB's TTL deletes items late, so expiry is checked here).
func (f Failures) Active(now time.Time) int {
	if f.Expires <= now.Unix() {
		return 0
	}
	return f.Count
}

// RetryAfter is how long the window still runs at now.
func (f Failures) RetryAfter(now time.Time) time.Duration {
	return time.Unix(f.Expires, 0).Sub(now)
}

func failuresKey(k string) key { return key{"RL#" + k, "RL"} }

// FindLogin reads a login guard and the failure counter of rlKey in one
// call. found is false when no user has that login.
func (s *Store) FindLogin(ctx context.Context, login, rlKey string) (g LoginGuard, f Failures, found bool, err error) {
	lk, fk := loginKey(login), failuresKey(rlKey)
	items, err := s.getMany(ctx, lk, fk)
	if err != nil {
		return g, f, false, fmt.Errorf("find login: %w", err)
	}
	if it := items[lk]; it != nil {
		found = true
		if err := attributevalue.UnmarshalMap(it, &g); err != nil {
			return g, f, false, fmt.Errorf("find login: %w", err)
		}
	}
	if it := items[fk]; it != nil {
		if err := attributevalue.UnmarshalMap(it, &f); err != nil {
			return g, f, false, fmt.Errorf("find login: %w", err)
		}
	}
	return g, f, found, nil
}

// AddFailure counts one failure on rlKey and returns the counter. A window
// of the given length starts at the first failure; prev is the counter as
// last read, so that an ended window starts anew.
func (s *Store) AddFailure(ctx context.Context, rlKey string, prev Failures, now time.Time, window time.Duration) (Failures, error) {
	k := failuresKey(rlKey)
	in := &dynamodb.UpdateItemInput{
		TableName:    &s.table,
		Key:          k.av(),
		ReturnValues: types.ReturnValueAllNew,
		ExpressionAttributeNames: map[string]string{
			"#c": "count", "#e": "expires",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":exp": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(window).Unix())},
		},
		UpdateExpression: aws.String("ADD #c :one SET #e = if_not_exists(#e, :exp)"),
	}
	if prev.Count > 0 && prev.Active(now) == 0 {
		in.UpdateExpression = aws.String("SET #c = :one, #e = :exp")
	}
	res, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		return Failures{}, fmt.Errorf("add failure: %w", err)
	}
	var f Failures
	if err := attributevalue.UnmarshalMap(res.Attributes, &f); err != nil {
		return Failures{}, fmt.Errorf("add failure: %w", err)
	}
	return f, nil
}

// ClearFailures forgets the failures counted on rlKey.
func (s *Store) ClearFailures(ctx context.Context, rlKey string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: failuresKey(rlKey).av()})
	if err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}
