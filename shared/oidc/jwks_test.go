package oidc_test

import (
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func mustJWKS(t *testing.T, b []byte) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return set
}
