package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Take is n counted on the rate-limit counter RL#<Key>, which allows at
// most Max in the window that ends at Expires (its TTL). Keys name the
// window, so a new window is a new item.
type Take struct {
	Key     string
	N, Max  int
	Expires time.Time
}

// TakeAll counts each take on its counter, all or none, in one
// transaction: a conditional ADD, so concurrent takes cannot pass a Max. A
// Conflict on LimitReached: a counter would pass its Max, and nothing was
// counted.
func (s *Store) TakeAll(ctx context.Context, takes []Take) error {
	if err := s.transact(ctx, s.tx().take(takes)); err != nil {
		return fmt.Errorf("take limits: %w", err)
	}
	return nil
}

// Full returns the takes whose counter has no room left for their N, read
// in one call (after a LimitReached, to tell which limit was reached).
func (s *Store) Full(ctx context.Context, takes []Take) ([]Take, error) {
	keys := make([]key, len(takes))
	for i, k := range takes {
		keys[i] = failuresKey(k.Key)
	}
	items, err := s.getMany(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("read limits: %w", err)
	}
	var full []Take
	for i, k := range takes {
		var f Failures
		if it := items[keys[i]]; it != nil {
			if err := attributevalue.UnmarshalMap(it, &f); err != nil {
				return nil, fmt.Errorf("read limits: %w", err)
			}
		}
		if f.Count > k.Max-k.N {
			full = append(full, k)
		}
	}
	return full, nil
}

// take adds the conditional ADDs of takes to t (part LimitReached), so
// that an action and the mail it sends are counted all or none.
func (t *tx) take(takes []Take) *tx {
	s := t.s
	for _, k := range takes {
		t.add(LimitReached, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(s.table),
			Key:                      failuresKey(k.Key).av(),
			ConditionExpression:      aws.String("attribute_not_exists(#c) OR #c <= :room"),
			UpdateExpression:         aws.String("ADD #c :n SET #e = if_not_exists(#e, :exp)"),
			ExpressionAttributeNames: map[string]string{"#c": "count", "#e": "expires"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":n": num(int64(k.N)), ":room": num(int64(k.Max - k.N)), ":exp": num(k.Expires.Unix()),
			},
		}})
	}
	return t
}
