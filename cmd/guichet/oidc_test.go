package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/guichet/guichet/shared/oidc/registry"
)

func TestOIDCClientSecret(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"oidc", "client-secret"}, &out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`secret \(.*\): (gcs_\S+)\nsecret_hash \(.*\): ([0-9a-f]{64})\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output: %s", out.String())
	}
	c := registry.Client{Type: registry.Service, SecretHash: m[2]}
	if !c.CheckSecret(m[1]) {
		t.Fatal("the printed hash is not the printed secret's")
	}
}
