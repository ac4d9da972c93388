package store_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// The layout is checked against the table by the gateway's
// TestTheTableHoldsOnlyTheKindsOfItsLayout, which writes every kind
// through the API.

func TestTheREADMEPrintsTheLayout(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if table := store.LayoutMarkdown(); !strings.Contains(string(readme), table) {
		fmt.Print(table) // as is, to paste
		t.Fatal(`README.md's "Store layout" is not store.Layout; put the table printed above there`)
	}
}

func TestLayoutPatternsMatchTheirPlaceholdersOnly(t *testing.T) {
	login := store.ItemKind{PK: "LOGIN#<login>", SK: "LOGIN"}
	audit := store.ItemKind{PK: "ORG#<org>#AUDIT", SK: "<time>#<event>"}
	for _, c := range []struct {
		kind           store.ItemKind
		pk, sk, gsi1pk string
		want           bool
	}{
		{login, "LOGIN#acme#kiosk", "LOGIN", "", true},
		{login, "LOGIN#a@b.example", "LOGINX", "", false},
		{login, "LOGIN#a@b.example", "LOGIN", "USER#x", false},
		{audit, "ORG#org_1#AUDIT", "2026-01-01T00:00:00.000000000Z#aud_1", "", true},
		{audit, "ORG#org_1", "USER#usr_1", "", false},
	} {
		if got := c.kind.Matches(c.pk, c.sk, c.gsi1pk, ""); got != c.want {
			t.Errorf("%s %s / %s %s: %v", c.kind.PK, c.kind.SK, c.pk, c.sk, got)
		}
	}
}
