package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/devstack"
)

// TestUsersReindex forgets every filter entry and role count, as a table
// written before they existed holds none, then reindexes.
func TestUsersReindex(t *testing.T) {
	t.Parallel()
	e, getenv := newStack(t)
	ctx := context.Background()
	owner := e.LoginOwner(t).AccessToken
	for i, role := range []string{"admin", "member", "member"} {
		e.AddUser(t, fmt.Sprintf("%s%d@example.com", role, i), role)
	}
	items, err := devstack.ScanTable(ctx, e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		var k struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
		}
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k.PK, "#USERS#") || strings.HasPrefix(k.SK, "ROLECOUNT#") {
			if _, err := e.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &e.Config.Table, Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: k.PK}, "sk": &types.AttributeValueMemberS{Value: k.SK}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(query string) int {
		r := e.Do("GET", "/v1/users?limit=100&"+query, owner, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		return bytes.Count(r.Body, []byte(`"id":"usr_`))
	}
	if n := count("role=member"); n != 0 {
		t.Fatalf("%d members listed without entries", n)
	}
	for pass := range 2 {
		var out bytes.Buffer
		if err := run(ctx, []string{"users", "reindex", "--org", "acme"}, &out, getenv); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "reindexed 4 users of acme") || !strings.Contains(out.String(), "map[admin:1 member:2 owner:1]") {
			t.Fatalf("pass %d: %s", pass, out.String())
		}
		if count("role=member") != 2 || count("role=admin") != 1 || count("status=active") != 4 || count("kind=person") != 4 {
			t.Fatalf("pass %d: lists after reindexing", pass)
		}
		r := e.Do("GET", "/v1/roles", owner, nil)
		if !bytes.Contains(r.Body, []byte(`"id":"member","name":"Member"`)) || !bytes.Contains(r.Body, []byte(`"user_count":2`)) {
			t.Fatalf("pass %d: %s", pass, r.Body)
		}
	}
	if err := run(ctx, []string{"users", "reindex", "--org", "nope"}, &bytes.Buffer{}, getenv); err == nil || !strings.Contains(err.Error(), "no organization") {
		t.Fatal(err)
	}
}
