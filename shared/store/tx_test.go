package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func TestACancelledTransactionNamesEveryFailedPart(t *testing.T) {
	s := New(nil, "t")
	tx := s.tx().put(IDTaken, key{"A", "A"}).put(LoginTaken, key{"B", "B"}).
		add(UnitGone, s.refs(unitKey("o", "u1"), 1), s.refs(unitKey("o", "u2"), 1)).del(key{"C", "C"})
	reason := func(code string) types.CancellationReason { return types.CancellationReason{Code: aws.String(code)} }
	// Real DynamoDB reports every failed condition (the embedded one only
	// the first): the Conflict lists each part once, in item order.
	err := &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
		reason("None"), reason("ConditionalCheckFailed"), reason("ConditionalCheckFailed"),
		reason("ConditionalCheckFailed"), reason("None"),
	}}
	c := tx.conflict(fmt.Errorf("wrapped: %w", err))
	if c == nil || !slices.Equal(c.Parts, []Part{LoginTaken, UnitGone}) {
		t.Fatalf("%v", c)
	}
	if !errors.Is(c, ErrConflict) || !Lost(c, UnitGone) || Lost(c, IDTaken) || c.Error() != "store: conflict: login_taken, unit_gone" {
		t.Fatalf("%v", c)
	}
	if tx.conflict(&types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{reason("TransactionConflict")}}) != nil {
		t.Fatal("a race is no lost condition")
	}
}

func TestATransactionNamesEveryConditionItHas(t *testing.T) {
	s := New(nil, "t")
	for _, c := range []struct {
		name string
		tx   *tx
	}{
		{"a condition without a part", s.tx().add("", s.refs(unitKey("o", "u"), 1))},
		{"a part without a condition", s.tx().add(UnitGone, s.del(key{"A", "A"}))},
		{"a condition check without a part", s.tx().add("", s.noLogin("a@b.c"))},
	} {
		t.Run(c.name+" is refused before any call", func(t *testing.T) {
			if err := s.transact(context.Background(), c.tx); err == nil || errors.Is(err, ErrConflict) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestFailuresOfDynamoDBItselfAreUnavailable(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code} }
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: err}
	}
	for _, c := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"throttling", op(api("ThrottlingException")), true},
		{"an internal error", op(api("InternalServerError")), true},
		{"a transaction conflict", op(api("TransactionConflictException")), true},
		{"a timeout", op(context.DeadlineExceeded), true},
		{"a call that got no answer", op(errors.New("connection refused")), true},
		{"a malformed request", op(api("ValidationException")), false},
		{"a lost condition", op(&types.ConditionalCheckFailedException{}), false},
		{"an error of the store's own", fmt.Errorf("marshal: %w", errors.New("bad")), false},
	} {
		t.Run(c.name+fmt.Sprintf(" is unavailable: %v", c.unavailable), func(t *testing.T) {
			err := unavailable(c.err)
			if errors.Is(err, ErrUnavailable) != c.unavailable || !errors.Is(err, c.err) {
				t.Fatalf("%v", err)
			}
		})
	}
}
