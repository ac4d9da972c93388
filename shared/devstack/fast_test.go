package devstack_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/signing"
)

// TestTheStackChecksFastRoutesWithItsKeys: the stack's gateway checks the
// tokens of a fast application route against the key set its functions
// sign with, its issuer and its audience.
func TestTheStackChecksFastRoutesWithItsKeys(t *testing.T) {
	env := map[string]string{"APP_ROUTES": `[{"method":"GET","path":"/reports","access":"permission","permission":"users:read","mode":"fast"}]`,
		"ACCESS_TOKEN_AUDIENCE": "https://api.example"}
	cfg, err := config.Parse(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var principal string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { principal = r.Header.Get(access.Header) }))
	defer app.Close()
	u, _ := url.Parse(app.URL)
	st, err := devstack.Start(bg, devstack.Options{Config: cfg, Gateway: gateway.Options{Upstream: u}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := signing.NewKeySet(signing.ES256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := access.Principal{Version: access.Version, Organization: access.Organization{ID: "org_1"}, User: "usr_1", Permissions: []string{"users:read"}}
	sign := func(ks signing.KeySet, aud string) string {
		c := access.Claims{Issuer: st.Config.PublicURL, Audience: []string{aud}, Expiry: time.Now().Add(time.Hour).Unix(),
			ID: "j", Scope: "users:read", Principal: p}
		tok, err := ks.Sign(c, signing.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, c := range map[string]struct {
		token  string
		status int
	}{
		"the stack's key and audience": {sign(*st.Config.JWTKeys, "https://api.example"), 200},
		"another audience":             {sign(*st.Config.JWTKeys, st.Config.PublicURL), 401},
		"another key":                  {sign(other, "https://api.example"), 401},
	} {
		principal = ""
		r := httptest.NewRequest("GET", "/reports", nil)
		r.Header.Set("Authorization", "Bearer "+c.token)
		w := httptest.NewRecorder()
		st.Gateway.ServeHTTP(w, r)
		if w.Code != c.status {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, c.status)
		}
		if got, err := access.FromHeader(principal); c.status == 200 && (err != nil || got.User != "usr_1") {
			t.Errorf("%s: the application got %q (%v)", name, principal, err)
		}
	}
}
