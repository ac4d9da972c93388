package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsersExportImport(t *testing.T) {
	t.Parallel()
	e, getenv := newStack(t)
	ctx := context.Background()
	owner := e.LoginOwner(t).AccessToken
	r := e.Do("POST", "/v1/users", owner, map[string]any{"username": "cli.user", "password": "274910",
		"first_name": "C", "last_name": "Li", "role": "member", "require_password_change": false})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if _, _, err := e.Seed(ctx, "Beta", "beta", "owner@beta.example", "beta-owner-password-1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "acme.jsonl")

	t.Run("export writes every user with hashes to a private file, with progress", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := runWith(ctx, []string{"users", "export", "--org", "acme", "--include-password-hashes", "--out", file}, &out, &errOut, getenv)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(file)
		st, _ := os.Stat(file)
		if bytes.Count(raw, []byte("\n")) != 2 || !bytes.Contains(raw, []byte(`"password_hash":"$argon2id$`)) || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s %v", raw, st.Mode())
		}
		if !strings.Contains(errOut.String(), "users read") || !strings.Contains(errOut.String(), "exported 2 users") {
			t.Fatalf("%q", errOut.String())
		}
	})
	t.Run("a dry run imports nothing", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := runWith(ctx, []string{"users", "import", "--org", "beta", "--file", file, "--dry-run"}, &out, &errOut, getenv)
		// the acme owner's row is refused: its address is taken, its role is owner
		if err == nil || !strings.Contains(err.Error(), "1 rows rejected") || !strings.Contains(errOut.String(), "would import 1 users") {
			t.Fatalf("%v %s", err, errOut.String())
		}
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "cli.user", "organization": "beta", "password": "274910"})
		r.Problem(t, 401)
	})
	t.Run("an import writes the users, and their passwords work", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := runWith(ctx, []string{"users", "import", "--org", "beta", "--file", file}, &out, &errOut, getenv)
		if err == nil || !strings.Contains(errOut.String(), "imported 1 users into beta") || !strings.Contains(errOut.String(), "import [") {
			t.Fatalf("%v %q", err, errOut.String())
		}
		if !strings.Contains(out.String(), `"accepted"`) {
			t.Fatal(out.String())
		}
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "cli.user", "organization": "beta", "password": "274910"})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("an unknown organization is named", func(t *testing.T) {
		err := run(ctx, []string{"users", "export", "--org", "nope"}, &bytes.Buffer{}, getenv)
		if err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatal(err)
		}
	})
}
