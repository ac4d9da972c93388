package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain points the user's cache directory, where `make run` keeps its
// signing keys by default, at a directory of the tests' own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guichet-local-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestLocalKeysAreKeptBetweenRuns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	getenv := func(k string) string { return map[string]string{"JWT_KEYS_FILE": file}[k] }
	first, err := localConfig(getenv, "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	again, err := localConfig(getenv, "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	if first.JWTKeys == nil || again.JWTKeys.Current.ID != first.JWTKeys.Current.ID {
		t.Fatal("a second run signs with another key: the first run's tokens would not verify")
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v: %v", fi, err)
	}
}
