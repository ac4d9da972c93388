package devstack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/store"
)

const table = "strict-test"

var bg = context.Background()

// strictDB is a client of an embedded DynamoDB behind Strict (with
// minidyn's rules when minidyn), and the log Strict writes to.
func strictDB(t *testing.T, minidyn bool) (*dynamodb.Client, *bytes.Buffer) {
	t.Helper()
	backend, _, err := devstack.Backend("")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	srv := httptest.NewServer(devstack.NewStrict(backend, minidyn, slog.New(slog.NewTextHandler(&log, nil))))
	t.Cleanup(srv.Close)
	db, err := store.NewClient(bg, store.ClientConfig{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := devstack.CreateTable(bg, db, table); err != nil {
		t.Fatal(err)
	}
	return db, &log
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func k(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func withAttr(it map[string]types.AttributeValue, name string, v types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{name: v}
	for n, x := range it {
		out[n] = x
	}
	return out
}

func put(it map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: it}}
}

func puts(n int) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, n)
	for i := range out {
		out[i] = put(k("P", fmt.Sprint(i)))
	}
	return out
}

func writes(n int, dup bool) []types.WriteRequest {
	out := make([]types.WriteRequest, n)
	for i := range out {
		sk := fmt.Sprint(i)
		if dup {
			sk = "same"
		}
		out[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: k("P", sk)}}
	}
	return out
}

func keys(n int, dup bool) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, n)
	for i := range out {
		sk := fmt.Sprint(i)
		if dup {
			sk = "same"
		}
		out[i] = k("P", sk)
	}
	return out
}

// call is one request to DynamoDB.
type call func(db *dynamodb.Client) error

func putItem(it map[string]types.AttributeValue) call {
	return func(db *dynamodb.Client) error {
		_, err := db.PutItem(bg, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it})
		return err
	}
}

func updateItem(expr string, names map[string]string, vals map[string]types.AttributeValue) call {
	return func(db *dynamodb.Client) error {
		_, err := db.UpdateItem(bg, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: k("P", "u"),
			UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: vals})
		return err
	}
}

func transact(items []types.TransactWriteItem) call {
	return func(db *dynamodb.Client) error {
		_, err := db.TransactWriteItems(bg, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
}

func batchWrite(reqs []types.WriteRequest) call {
	return func(db *dynamodb.Client) error {
		_, err := db.BatchWriteItem(bg, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
		return err
	}
}

func batchGet(ks []map[string]types.AttributeValue) call {
	return func(db *dynamodb.Client) error {
		_, err := db.BatchGetItem(bg, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {Keys: ks}}})
		return err
	}
}

func query(index string, consistent bool, filter string, limit int32) call {
	return func(db *dynamodb.Client) error {
		in := &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("#k = :k"),
			ExpressionAttributeNames:  map[string]string{"#k": "pk"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":k": s("P")}}
		if index != "" {
			in.IndexName, in.ExpressionAttributeNames["#k"] = aws.String(index), "gsi1pk"
		}
		if consistent {
			in.ConsistentRead = aws.Bool(true)
		}
		if filter != "" {
			in.FilterExpression = aws.String(filter)
			in.ExpressionAttributeNames["#f"] = "f"
			in.ExpressionAttributeValues[":f"] = s("x")
		}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		_, err := db.Query(bg, in)
		return err
	}
}

var refusals = []struct {
	name string
	// minidyn is set for minidyn's own rules: DynamoDB takes the request.
	minidyn bool
	call    call
	// rule is what the message must say.
	rule string
}{
	{"a Query with both FilterExpression and Limit", true, query("", false, "#f = :f", 10), "FilterExpression and Limit"},
	{"an update expression with REMOVE", true, updateItem("SET #a = :a REMOVE #b", map[string]string{"#a": "a", "#b": "b"},
		map[string]types.AttributeValue{":a": s("x")}), "REMOVE"},
	{"an item with an empty list", true, putItem(withAttr(k("P", "l"), "l", &types.AttributeValueMemberL{})), "empty list at l"},
	{"an empty list inside a map", true, putItem(withAttr(k("P", "l"), "m", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"inner": &types.AttributeValueMemberL{}}})), "empty list at m.inner"},
	{"an empty list as an expression value", true, updateItem("SET #a = :a", map[string]string{"#a": "a"},
		map[string]types.AttributeValue{":a": &types.AttributeValueMemberL{}}), "empty list at :a"},
	{"an empty string set", false, putItem(withAttr(k("P", "e"), "ss", &types.AttributeValueMemberSS{Value: []string{}})), "empty set (SS)"},
	{"an empty string in pk", false, putItem(k("", "x")), "empty string in the key attribute pk"},
	{"an empty string in the index key gsi1sk", false, putItem(withAttr(withAttr(k("P", "g"), "gsi1pk", s("G")), "gsi1sk", s(""))),
		"empty string in the key attribute gsi1sk"},
	{"an empty string set to gsi1pk by an update", false, updateItem("SET #g = :g", map[string]string{"#g": "gsi1pk"},
		map[string]types.AttributeValue{":g": s("")}), "empty string set to gsi1pk"},
	{"an update of the table's key", false, updateItem("SET #s = :s", map[string]string{"#s": "sk"},
		map[string]types.AttributeValue{":s": s("other")}), "changes sk"},
	{"a GetItem of an empty key", false, func(db *dynamodb.Client) error {
		_, err := db.GetItem(bg, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k("P", "")})
		return err
	}, "empty string in the key attribute sk"},
	{"a transaction of 101 items", false, transact(puts(101)), "101 actions"},
	{"a transaction with two actions on one item", false, transact([]types.TransactWriteItem{put(k("P", "1")),
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: k("P", "1"), ConditionExpression: aws.String("attribute_not_exists(pk)")}}}),
		"two actions of one transaction on the item"},
	{"a BatchWriteItem of 26 requests", false, batchWrite(writes(26, false)), "26 requests"},
	{"a BatchWriteItem with a key twice", false, batchWrite(writes(2, true)), "two requests on the key"},
	{"a BatchGetItem of 101 keys", false, batchGet(keys(101, false)), "101 keys"},
	{"a BatchGetItem with a key twice", false, batchGet(keys(2, true)), "twice"},
	{"a transaction with an action breaking a rule alone", false, transact([]types.TransactWriteItem{put(k("P", "1")), put(k("", "2"))}),
		"action 1 (Put) on pk="},
	{"a BatchWriteItem with a request breaking a rule alone", false, batchWrite(append(writes(1, false),
		types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k("P", "")}})), "request 1 of " + table + " on "},
	{"a BatchGetItem with a key breaking a rule alone", false, batchGet([]map[string]types.AttributeValue{k("P", "1"), k("P", "")}),
		"key 1 of " + table + " on "},
	{"an item over 400 KB", false, putItem(withAttr(k("P", "big"), "blob", s(strings.Repeat("x", 400*1024)))), "at most 400 KB"},
	{"an update writing over 400 KB", false, updateItem("SET #a = :a", map[string]string{"#a": "a"},
		map[string]types.AttributeValue{":a": s(strings.Repeat("x", 400*1024))}), "at most 400 KB"},
	{"a consistent read of the index", false, query("gsi1", true, "", 0), "ConsistentRead on the global secondary index gsi1"},
}

func TestStrictRefusesWhatMinidynMishandlesOrDynamoDBRefuses(t *testing.T) {
	t.Parallel()
	db, log := strictDB(t, true)
	before, err := devstack.DumpTable(bg, db, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range refusals {
		t.Run(x.name+" is a ValidationException naming the rule, and logged", func(t *testing.T) {
			log.Reset()
			err := x.call(db)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
				t.Fatalf("want a ValidationException, got %v", err)
			}
			if !strings.Contains(api.ErrorMessage(), x.rule) {
				t.Errorf("message %q does not say %q", api.ErrorMessage(), x.rule)
			}
			if !strings.Contains(log.String(), "devstack refused") || !strings.Contains(log.String(), x.rule) {
				t.Errorf("log %q", log.String())
			}
		})
	}
	t.Run("nothing refused was written", func(t *testing.T) {
		after, err := devstack.DumpTable(bg, db, table)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before, after) {
			t.Fatalf("table changed: %v", after)
		}
	})
}

func TestStrictInFrontOfAnotherDynamoDBKeepsOnlyDynamoDBsRules(t *testing.T) {
	t.Parallel()
	db, _ := strictDB(t, false)
	for _, x := range refusals {
		t.Run(x.name, func(t *testing.T) {
			err := x.call(db)
			var api smithy.APIError
			refused := errors.As(err, &api) && strings.HasPrefix(api.ErrorMessage(), "devstack:")
			if refused == x.minidyn {
				t.Fatalf("refused %v, want %v (err %v)", refused, !x.minidyn, err)
			}
		})
	}
}

func TestStrictPassesWhatDynamoDBTakes(t *testing.T) {
	t.Parallel()
	db, log := strictDB(t, true)
	ok := []struct {
		name string
		call call
	}{
		{"an item with an empty non-key string, a list and a set", putItem(withAttr(withAttr(withAttr(k("P", "ok"), "e", s("")),
			"l", &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a")}}), "ss", &types.AttributeValueMemberSS{Value: []string{"a"}}))},
		{"an update setting a non-key attribute to an empty string", updateItem("SET #a = :a, #n = if_not_exists(#n, :z) ADD #c :one",
			map[string]string{"#a": "parent", "#n": "n", "#c": "c"},
			map[string]types.AttributeValue{":a": s(""), ":z": s("0"), ":one": &types.AttributeValueMemberN{Value: "1"}})},
		{"a transaction of 100 items", transact(puts(100))},
		{"a BatchWriteItem of 25 requests", batchWrite(writes(25, false))},
		{"a BatchGetItem of 100 keys", batchGet(keys(100, false))},
		{"a Query with a Limit", query("", true, "", 10)},
		{"a Query with a FilterExpression", query("", false, "#f = :f", 0)},
		{"a Query of the index", query("gsi1", false, "", 5)},
	}
	for _, x := range ok {
		t.Run(x.name, func(t *testing.T) {
			if err := x.call(db); err != nil {
				t.Fatal(err)
			}
		})
	}
	if log.Len() > 0 {
		t.Fatalf("logged %s", log)
	}
}
