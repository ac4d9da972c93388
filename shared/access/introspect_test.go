package access_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/guichet/guichet/shared/access"
)

func TestIntrospect(t *testing.T) {
	const id, secret = "web", "s3cr:t/+%"
	var iss string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		u, _ = url.QueryUnescape(u)
		pw, _ = url.QueryUnescape(pw)
		if r.Method != "POST" || r.URL.Path != access.IntrospectPath || !ok || u != id || pw != secret {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "active":
			json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "per_1", "iss": iss, "principal": alice})
		case "foreign":
			json.NewEncoder(w).Encode(map[string]any{"active": true, "iss": "https://evil.example", "principal": alice})
		case "bare":
			json.NewEncoder(w).Encode(map[string]any{"active": true, "iss": iss})
		default:
			json.NewEncoder(w).Encode(map[string]any{"active": false})
		}
	}))
	t.Cleanup(srv.Close)
	iss = srv.URL
	in, err := access.NewIntrospector(srv.URL, id, secret, access.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Run("an active token gives its principal", func(t *testing.T) {
		p, active, err := in.Introspect(ctx, "active")
		if err != nil || !active || p.User != "usr_1" || !p.Can("projects:write") {
			t.Fatalf("%+v %v %v", p, active, err)
		}
	})
	t.Run("an inactive token is no error", func(t *testing.T) {
		p, active, err := in.Introspect(ctx, "revoked")
		if err != nil || active || p.User != "" {
			t.Fatalf("%+v %v %v", p, active, err)
		}
	})
	t.Run("an answer of another issuer or without a principal is an error", func(t *testing.T) {
		for _, tok := range []string{"foreign", "bare"} {
			if p, active, err := in.Introspect(ctx, tok); err == nil || active || p.User != "" {
				t.Fatalf("%s: %+v %v %v", tok, p, active, err)
			}
		}
	})
	t.Run("a refused client is an error", func(t *testing.T) {
		bad, err := access.NewIntrospector(srv.URL, id, secret+"x", access.WithHTTPClient(srv.Client()))
		if err != nil {
			t.Fatal(err)
		}
		if _, active, err := bad.Introspect(ctx, "active"); err == nil || active {
			t.Fatalf("%v %v", active, err)
		}
	})
}
