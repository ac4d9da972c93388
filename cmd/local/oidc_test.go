package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/oidc/registry"
)

func TestDemoClientsAreValidConfiguration(t *testing.T) {
	t.Parallel()
	cfg, err := localConfig(func(string) string { return "" }, "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	clients, secret, err := demoClients()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(clients)
	if err != nil {
		t.Fatal(err)
	}
	// As OIDC_CLIENTS would give them: the start's checks pass.
	parsed, err := registry.Parse(raw, cfg.Permissions)
	if err != nil {
		t.Fatalf("the demo clients are not a valid OIDC_CLIENTS: %v", err)
	}
	svc, _ := parsed.Find("demo-service")
	if !svc.CheckSecret(secret) || !strings.Contains(oidcBanner(cfg.PublicURL, secret), secret) {
		t.Fatal("the banner's secret is not the demo service's")
	}
	if !parsed.ReturnTo("demo-spa", "http://127.0.0.1:5173/callback") {
		t.Fatal("the demo SPA's redirect is not registered")
	}
}
