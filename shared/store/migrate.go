package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MigrateBatch is what one Migrate call did.
type MigrateBatch struct {
	// Scanned counts the items read, Moved the users that became persons'
	// memberships, Skipped those already moved (by an earlier run, or
	// meanwhile by another).
	Scanned, Moved, Skipped int
	// Counted counts the memberships given their person's count of
	// memberships (User.Members), which the code before it did not write.
	Counted int
	// Cursor is where the next call starts; "" once the table is done.
	Cursor string
}

// Migrate moves one page (at most limit items, in key order of the Scan)
// of a table written before persons to the layout with persons (and a
// membership written before its count of memberships gets it): each user
// with a proved e-mail login becomes the first membership of a new person
// (its id the user's), with its person item, its membership entry, its
// login guard naming the person, in one transaction per user conditional
// on the user's version and on the guard still being the user's. It is
// idempotent (a user with a person is skipped; a condition lost to a
// concurrent run is skipped) and resumable: start again from the cursor
// returned, or from "" (nothing is done twice).
func (s *Store) Migrate(ctx context.Context, cursor string, limit int) (MigrateBatch, error) {
	var b MigrateBatch
	in := &dynamodb.ScanInput{TableName: &s.table, Limit: aws.Int32(int32(limit)), ConsistentRead: aws.Bool(true)}
	if cursor != "" {
		pk, sk, ok := strings.Cut(cursor, "\n")
		if !ok {
			return b, fmt.Errorf("migrate: bad cursor %q", cursor)
		}
		in.ExclusiveStartKey = key{pk, sk}.av()
	}
	res, err := s.db.Scan(ctx, in)
	if err != nil {
		return b, fmt.Errorf("migrate: %w", err)
	}
	b.Scanned = len(res.Items)
	for _, it := range res.Items {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return b, fmt.Errorf("migrate: %w", err)
		}
		if !strings.HasPrefix(k.PK, "ORG#") || !strings.HasPrefix(k.SK, "USER#") {
			continue
		}
		var u User
		if err := attributevalue.UnmarshalMap(it, &u); err != nil {
			return b, fmt.Errorf("migrate %s: %w", k.SK, err)
		}
		if u.Person != "" && u.Members == 0 {
			// A membership written before the count: it gets its person's.
			err := s.countMembers(ctx, u)
			switch {
			case err == nil:
				b.Counted++
			case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
				b.Skipped++ // changed meanwhile: the next run sees it again
			default:
				return b, fmt.Errorf("migrate %s: %w", u.ID, err)
			}
			continue
		}
		if !personal(u) || u.Person != "" {
			if u.Person != "" {
				b.Skipped++
			}
			continue
		}
		err := s.transact(ctx, s.migrateItems(u))
		switch {
		case err == nil:
			b.Moved++
		case errors.Is(err, ErrConflict):
			b.Skipped++ // moved meanwhile, or changed: the next run sees it again
		default:
			return b, fmt.Errorf("migrate %s: %w", u.ID, err)
		}
	}
	if res.LastEvaluatedKey != nil {
		var last key
		if err := attributevalue.UnmarshalMap(res.LastEvaluatedKey, &last); err != nil {
			return b, fmt.Errorf("migrate: %w", err)
		}
		b.Cursor = last.PK + "\n" + last.SK
	}
	return b, nil
}

// countMembers sets u's count of its person's memberships to the
// person's, in one transaction conditional on the person's version (a
// membership added or removed meanwhile is a Conflict) and on u having no
// count yet.
func (s *Store) countMembers(ctx context.Context, u User) error {
	p, err := s.GetPerson(ctx, u.Person)
	if err != nil {
		return err
	}
	up := s.memberCount(u.Org, u.ID, u.Person, max(p.Members, 1))
	up.Update.ConditionExpression = aws.String("person = :p AND attribute_not_exists(members)")
	t := s.tx().add(VersionChanged, up).add(PersonChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: personKey(u.Person).av(),
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(p.Version))},
	}})
	return s.transact(ctx, t)
}

// migrateItems is the transaction making u its person's first membership.
func (s *Store) migrateItems(u User) *tx {
	u.Person = u.ID
	return s.tx().add(VersionChanged, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: userKey(u.Org, u.ID).av(),
		ConditionExpression: aws.String("version = :v AND attribute_not_exists(person)"),
		UpdateExpression:    aws.String("SET person = :p, members = :one, version = version + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": num(int64(u.Version)), ":p": str(u.Person), ":one": num(1),
		},
	}}).add(LoginTaken, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: loginKey(u.LoginKey()).av(),
		ConditionExpression:      aws.String("org = :org AND #u = :user AND attribute_not_exists(person)"),
		UpdateExpression:         aws.String("SET person = :p, members = :one"),
		ExpressionAttributeNames: map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":org": str(u.Org), ":user": str(u.ID), ":p": str(u.Person), ":one": num(1),
		},
	}}).newPerson(u)
}

// Scan is the one Scan of the store: the migration's (guichet migrate).
func (d dynamo) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out, err := d.c.Scan(ctx, in, o...)
	return out, unavailable(err)
}
