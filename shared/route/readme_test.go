package route_test

import (
	"os"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/route"
)

// TestTheREADMEListsEveryRoute keeps the README's API tables in step with
// the route table: each route's path must appear there.
func TestTheREADMEListsEveryRoute(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range route.All() {
		if !strings.Contains(string(readme), "`"+rt.Path) {
			t.Errorf("README.md does not list %s", rt.Key())
		}
	}
}
