package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/keyring"
)

func TestKeysCommand(t *testing.T) {
	t.Parallel()
	e, getenv := newStack(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "keys.json")
	published := func(t *testing.T, kid string) bool {
		var set jose.JSONWebKeySet
		e.Do("GET", "/.well-known/jwks.json", "", nil).Decode(t, &set)
		return len(set.Key(kid)) == 1
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "init", "--file", file}, &out, getenv); err != nil || !strings.Contains(out.String(), "new key set") {
		t.Fatalf("init: %v %s", err, out.String())
	}
	first, found, err := keyring.File(file).Read(ctx)
	if err != nil || !found {
		t.Fatalf("no key set written: %v", err)
	}
	t.Run("init publishes the JWKS of the key set it made", func(t *testing.T) {
		if !published(t, first.Current.ID) || !published(t, first.Next.ID) {
			t.Fatal("the new key set is not in the JWKS")
		}
	})
	t.Run("init again keeps the key set", func(t *testing.T) {
		if err := run(ctx, []string{"keys", "init", "--file", file}, &out, getenv); err != nil {
			t.Fatal(err)
		}
		again, _, _ := keyring.File(file).Read(ctx)
		if again.Current.ID != first.Current.ID {
			t.Fatal("init replaced an existing key set")
		}
	})
	t.Run("rotate: the next key signs, the old one stays published", func(t *testing.T) {
		if err := run(ctx, []string{"keys", "rotate", "--file", file}, &out, getenv); err != nil {
			t.Fatal(err)
		}
		ks, _, _ := keyring.File(file).Read(ctx)
		if ks.Current.ID != first.Next.ID || !published(t, first.Current.ID) || !published(t, ks.Next.ID) {
			t.Fatalf("after rotation: %s signs (want %s)", ks.Current.ID, first.Next.ID)
		}
	})
	t.Run("without a secret or a file, it says what to set", func(t *testing.T) {
		if err := run(ctx, []string{"keys", "rotate"}, &out, getenv); err == nil || !strings.Contains(err.Error(), "JWT_KEYS_SECRET") {
			t.Fatalf("err %v", err)
		}
	})
}
