package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attempt is one attempt at a secret (a password, a PIN, a code), counted
// on a counter before the secret is checked.
type Attempt struct {
	Counter string // the counter's key
	Max     int    // attempts the counter allows in a window
	// Client, when set, is counted too: it may spend at most ClientMax of
	// the counter's attempts.
	Client    string
	ClientMax int
	// Wait, when positive, is how long the next attempt on the counter
	// must wait after this one.
	Wait   time.Duration
	Window time.Duration // a window's length, from its first attempt
}

// clientAttr names a client's count on a counter item (without dots,
// which some DynamoDB emulators read as paths).
func clientAttr(client string) string { return "client_" + hex.EncodeToString([]byte(client)) }

// Reserve counts attempt a at now, in one conditional write, unless the
// counter's attempts (or its client's) are spent or the next attempt must
// still wait: then nothing is written and the error is a Conflict on
// AttemptsSpent, with the counter as it stands. Of concurrent attempts,
// at most the allowed number are counted.
func (s *Store) Reserve(ctx context.Context, a Attempt, now time.Time) (Failures, error) {
	f, err := s.reserve(ctx, a, now)
	if err != nil && !errors.Is(err, ErrConflict) {
		return f, fmt.Errorf("reserve attempt: %w", err)
	}
	return f, err
}

func (s *Store) reserve(ctx context.Context, a Attempt, now time.Time) (Failures, error) {
	for range 2 {
		f, err := s.count(ctx, a, now)
		if !conditionFailed(err) {
			return f, err
		}
		if f, err = s.counter(ctx, a, now); err != nil {
			return f, err
		}
		if f.Expires > now.Unix() {
			return f, &Conflict{Parts: []Part{AttemptsSpent}}
		}
		// The window ended: a new one starts with this attempt, unless
		// another attempt started it first.
		if f, err = s.restart(ctx, a, now); !conditionFailed(err) {
			return f, err
		}
	}
	return Failures{}, &Conflict{Parts: []Part{AttemptsSpent}}
}

// count adds the attempt to a live counter (or a new one).
func (s *Store) count(ctx context.Context, a Attempt, now time.Time) (Failures, error) {
	names := map[string]string{"#c": "count", "#e": "expires", "#w": "not_before"}
	values := map[string]types.AttributeValue{
		":one": num(1), ":now": num(now.Unix()), ":max": num(int64(a.Max)),
		":exp": num(now.Add(a.Window).Unix()),
	}
	cond := "(attribute_not_exists(#e) OR (#e > :now AND #c < :max AND (attribute_not_exists(#w) OR #w <= :now)"
	update := "ADD #c :one SET #e = if_not_exists(#e, :exp)"
	if a.Client != "" {
		names["#k"] = clientAttr(a.Client)
		values[":cmax"], values[":zero"] = num(int64(a.ClientMax)), num(0)
		cond += " AND (attribute_not_exists(#k) OR #k < :cmax)"
		update += ", #k = if_not_exists(#k, :zero) + :one"
	}
	cond += "))"
	if a.Wait > 0 {
		values[":w"] = num(now.Add(a.Wait).Unix())
		update += ", #w = :w"
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: failuresKey(a.Counter).av(),
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String(update),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return Failures{}, err
	}
	return failuresOf(res.Attributes, a.Client)
}

// restart replaces an ended counter by one holding this attempt.
func (s *Store) restart(ctx context.Context, a Attempt, now time.Time) (Failures, error) {
	k := failuresKey(a.Counter)
	item := k.av()
	item["count"], item["expires"] = num(1), num(now.Add(a.Window).Unix())
	if a.Client != "" {
		item[clientAttr(a.Client)] = num(1)
	}
	if a.Wait > 0 {
		item["not_before"] = num(now.Add(a.Wait).Unix())
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #e <= :now"),
		ExpressionAttributeNames:  map[string]string{"#e": "expires"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if err != nil {
		return Failures{}, err
	}
	return failuresOf(item, a.Client)
}

// counter reads the counter of a, with its client's count.
func (s *Store) counter(ctx context.Context, a Attempt, now time.Time) (Failures, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: failuresKey(a.Counter).av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Failures{}, err
	}
	return failuresOf(res.Item, a.Client)
}

func failuresOf(item map[string]types.AttributeValue, client string) (Failures, error) {
	var f Failures
	if item == nil {
		return f, nil
	}
	if err := attributevalue.UnmarshalMap(item, &f); err != nil {
		return f, err
	}
	if n, ok := item[clientAttr(client)].(*types.AttributeValueMemberN); ok && client != "" {
		f.Client, _ = strconv.Atoi(n.Value)
	}
	return f, nil
}

// Release forgets the attempts counted on a counter after its secret was
// right: the count starts again, and so does client's (when set); other
// clients' counts stay. The item stays until its window ends.
func (s *Store) Release(ctx context.Context, counter, client string) error {
	names := map[string]string{"#c": "count", "#w": "not_before"}
	update := "SET #c = :zero, #w = :zero"
	if client != "" {
		names["#k"] = clientAttr(client)
		update += ", #k = :zero"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: failuresKey(counter).av(),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release attempts: %w", err)
	}
	return nil
}
