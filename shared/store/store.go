// Package store keeps Guichet's state in one DynamoDB table. Each file holds
// the items of one kind and their access patterns; multi-item changes are
// single TransactWriteItems calls with conditions, so a failure writes
// nothing and a race has exactly one winner. Each condition is named by a
// Part, and a lost one comes back as a *Conflict naming it (tx.go); the
// store's errors are kinds (ErrNotFound, ErrConflict, ErrUnavailable) that
// the edge maps to HTTP (httpapi.StoreProblem).
//
// Every kind of item, with its keys and its file, is listed by Layout
// (layout.go), which a test checks against the table; README.md prints it.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store reads and writes the table.
type Store struct {
	db    dynamo
	table string
}

// New returns a store of table through db.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: dynamo{db}, table: table}
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// key is an item's primary key.
type key struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

func (k key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: k.PK},
		"sk": &types.AttributeValueMemberS{Value: k.SK},
	}
}

// get reads one item into out; ErrNotFound when absent.
func (s *Store) get(ctx context.Context, k key, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: k.av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return err
	}
	if res.Item == nil {
		return ErrNotFound
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// getAs reads one item as a T; ErrNotFound when absent, errors wrapped
// as what.
func getAs[T any](ctx context.Context, s *Store, k key, what string) (T, error) {
	var v T
	if err := s.get(ctx, k, &v); err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// put returns a transaction item writing v, on the condition that no item
// with its key exists when mustBeNew.
func (s *Store) put(v any, mustBeNew bool) (types.TransactWriteItem, error) {
	item, err := marshal(v)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal %T: %w", v, err)
	}
	p := &types.Put{TableName: &s.table, Item: item}
	if mustBeNew {
		p.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	return types.TransactWriteItem{Put: p}, nil
}

func (s *Store) del(k key) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: k.av()}}
}

// epoch is the TTL form of t.
func epoch(t time.Time) int64 { return t.Unix() }

// NewID returns a fresh random identifier with a prefix naming its kind,
// such as "usr_". Identifiers are not secrets; they are just unguessable.
func NewID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: random: %v", err)) // crypto/rand does not fail on supported systems
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// marshal is attributevalue.MarshalMap without empty lists and maps: the
// empty and the absent mean the same to Guichet, and the embedded DynamoDB
// (minidyn v0.8.2) stores an item with an empty list wrongly, shifting
// other attributes' values.
func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, err
	}
	for k, av := range m {
		switch x := av.(type) {
		case *types.AttributeValueMemberL:
			if len(x.Value) == 0 {
				delete(m, k)
			}
		case *types.AttributeValueMemberM:
			if len(x.Value) == 0 {
				delete(m, k)
			}
		}
	}
	return m, nil
}

// queryPage runs in, one page of the partition pk from after the sort key
// start (the first page when empty), and returns its items and the sort
// key to start the next page from ("" after the last).
func queryPage[T any](ctx context.Context, s *Store, what string, in *dynamodb.QueryInput, pk, start string) ([]T, string, error) {
	if start != "" {
		in.ExclusiveStartKey = key{pk, start}.av()
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	var out []T
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	return out, lastSK(res.LastEvaluatedKey), nil
}

// orgItems is the consistent Query of an organization's items (ORG#<org>)
// whose sort key begins with prefix.
func (s *Store) orgItems(org, prefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("ORG#" + org), ":sk": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
}

// userIndexItems is the Query of gsi1 for a user's items (USER#<user>)
// whose index sort key begins with prefix. The index is eventually
// consistent.
func (s *Store) userIndexItems(user, prefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String("gsi1"),
		KeyConditionExpression: aws.String("gsi1pk = :pk AND begins_with(gsi1sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("USER#" + user), ":sk": str(prefix),
		},
	}
}

// eachPage runs in to its last page, calling f with each page's items
// (one Query, up to 1 MB, a call); f's error stops it and is returned as is.
func eachPage[T any](ctx context.Context, s *Store, what string, in *dynamodb.QueryInput, f func([]T) error) error {
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var items []T
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := f(items); err != nil {
			return err
		}
	}
	return nil
}

// queryAll returns every item in answers, all pages of it.
func queryAll[T any](ctx context.Context, s *Store, what string, in *dynamodb.QueryInput) ([]T, error) {
	var out []T
	if err := eachPage(ctx, s, what, in, func(items []T) error {
		out = append(out, items...)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}
