package apitest

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniserver "github.com/truora/minidyn/server"

	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/store"
)

// TestAnotherDynamoDBGivesEachTestATableOfItsOwn points the helper at a
// DynamoDB of its own (an embedded one on a port, standing for moto or
// DynamoDB Local) through GUICHET_TEST_DYNAMODB.
func TestAnotherDynamoDBGivesEachTestATableOfItsOwn(t *testing.T) {
	other := httptest.NewServer(miniserver.NewServer())
	defer other.Close()
	t.Setenv(devstack.TestDynamoDB, other.URL)
	db, err := store.NewClient(context.Background(), store.ClientConfig{Endpoint: other.URL})
	if err != nil {
		t.Fatal(err)
	}
	// exists tells whether table is there (the embedded DynamoDB has no
	// ListTables).
	exists := func(t *testing.T, table string) bool {
		_, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &table})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Fatal(err)
		}
		return err == nil
	}
	var names []string
	for _, name := range []string{"one", "two"} {
		t.Run("test "+name+" has its table there, with the seeded organization", func(t *testing.T) {
			e := New(t)
			if e.DynamoDB != nil {
				t.Fatal("an embedded DynamoDB was started")
			}
			if !exists(t, e.Config.Table) || !strings.HasPrefix(e.Config.Table, "guichet-") {
				t.Fatalf("no table %q there", e.Config.Table)
			}
			if r := e.Do("GET", "/v1/me", e.LoginOwner(t).AccessToken, nil); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			names = append(names, e.Config.Table)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("tables %v", names)
	}
	for _, table := range names {
		if exists(t, table) {
			t.Errorf("table %s left after its test", table)
		}
	}
}
