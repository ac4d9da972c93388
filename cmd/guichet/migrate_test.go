package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMigrateCommand runs the command on a table already in the layout
// with persons: it reads everything and moves nothing (the table of the
// old layout is store's TestMigrateMovesATableOfTheOldLayout).
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	e, getenv := newStack(t)
	e.AddUser(t, "someone@example.com", "member")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--batch", "3"}, &out, getenv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 users became persons, 2 were already") {
		t.Fatalf("output: %s", out.String())
	}
	if err := run(context.Background(), []string{"migrate", "--batch", "0"}, &out, getenv); err == nil {
		t.Fatal("a batch of 0 was taken")
	}
}
