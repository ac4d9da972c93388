package devstack

import (
	"crypto/rand"
	"os"
)

// TestDynamoDB names the environment variable that points the tests at
// another DynamoDB (GUICHET_TEST_DYNAMODB=http://127.0.0.1:PORT, e.g.
// moto_server: `make test-dynamodb`). Each test then has a table of its
// own, deleted when it ends.
const TestDynamoDB = "GUICHET_TEST_DYNAMODB"

// TestTable returns the DynamoDB endpoint of the tests (empty: the
// embedded one) and the table a test uses there: table itself on its own
// embedded DynamoDB, table with a random suffix on a shared one.
func TestTable(table string) (endpoint, name string) {
	endpoint = os.Getenv(TestDynamoDB)
	if endpoint == "" {
		return "", table
	}
	return endpoint, table + "-" + rand.Text()
}
