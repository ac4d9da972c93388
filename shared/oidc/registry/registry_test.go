package registry_test

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/permission"
)

func catalog(t *testing.T) permission.Catalog {
	t.Helper()
	c, err := permission.NewCatalog(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParse(t *testing.T) {
	t.Parallel()
	_, hash, err := registry.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	good := `{"id":"web","name":"Web","type":"web","redirect_uris":["https://app.example/cb"],"scopes":["openid"],"secret_hash":"` + hash + `"}`
	cases := []struct {
		name, json, want string
	}{
		{"a good web client passes", `[` + good + `]`, ""},
		{"an unknown field is refused", `[{"id":"a","name":"A","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid"],"secret":"x"}]`, "unknown field"},
		{"the JSON login API's client_id is refused", `[{"id":"guichet","name":"G","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid"]}]`, "JSON login API"},
		{"a missing name names the entry", `[{"id":"a","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid"]}]`, `entry 0 ("a"): id and name`},
		{"a duplicate id is refused", `[` + good + `,` + good + `]`, `entry 1 ("web"): id already used`},
		{"an unknown type is refused", `[{"id":"a","name":"A","type":"mobile","redirect_uris":["https://a.example/cb"],"scopes":["openid"]}]`, "type \"mobile\""},
		{"a web client without secret is refused", `[{"id":"a","name":"A","type":"web","redirect_uris":["https://a.example/cb"],"scopes":["openid"]}]`, "needs secret_hash"},
		{"a public client with a secret is refused", `[{"id":"a","name":"A","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid"],"secret_hash":"` + hash + `"}]`, "is public"},
		{"an unknown scope is refused", `[{"id":"a","name":"A","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid","rockets:launch"]}]`, `unknown scope "rockets:launch"`},
		{"a permission scope passes", `[{"id":"a","name":"A","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid","users:read"]}]`, ""},
		{"plain http to a public host is refused", `[{"id":"a","name":"A","type":"spa","redirect_uris":["http://a.example/cb"],"scopes":["openid"]}]`, "http only for a loopback"},
		{"a redirect with a fragment is refused", `[{"id":"a","name":"A","type":"spa","redirect_uris":["https://a.example/cb#x"],"scopes":["openid"]}]`, "without fragment"},
		{"a service client with redirects is refused", `[{"id":"s","name":"S","type":"service","redirect_uris":["https://a.example/cb"],"scopes":["users:read"],"secret_hash":"` + hash + `"}]`, "no redirect URIs"},
		{"a service client asking for a person's scope is refused", `[{"id":"s","name":"S","type":"service","scopes":["email"],"secret_hash":"` + hash + `"}]`, "has no person"},
		{"an id with a slash is refused (it names a service user)", `[{"id":"a/b","name":"A","type":"spa","redirect_uris":["https://a.example/cb"],"scopes":["openid"]}]`, "no slash"},
		{"a native client's private-use scheme passes", `[{"id":"n","name":"N","type":"native","redirect_uris":["com.example.app:/cb"],"scopes":["openid"]}]`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := registry.Parse([]byte(c.json), catalog(t))
			if c.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse: %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestRedirect(t *testing.T) {
	t.Parallel()
	native := registry.Client{ID: "n", Type: registry.Native, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb"}}
	spa := registry.Client{ID: "s", Type: registry.SPA, RedirectURIs: []string{"http://127.0.0.1:5173/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:5173/"}}
	cases := []struct {
		name string
		c    registry.Client
		uri  string
		want bool
	}{
		{"a native client's loopback redirect matches on any port", native, "http://127.0.0.1:51234/cb", true},
		{"a native client's IPv6 loopback matches on any port", native, "http://[::1]:8000/cb", true},
		{"a native client's loopback with another path is refused", native, "http://127.0.0.1:51234/other", false},
		{"localhost is not a loopback redirect", native, "http://localhost:51234/cb", false},
		{"https on the loopback is not the registered http", native, "https://127.0.0.1:51234/cb", false},
		{"a loopback with user info is refused", native, "http://x@127.0.0.1:5/cb", false},
		{"an SPA's loopback matches exactly only", spa, "http://127.0.0.1:5174/cb", false},
		{"an SPA's exact redirect matches", spa, "http://127.0.0.1:5173/cb", true},
		{"a prefix of a registered redirect is refused", spa, "http://127.0.0.1:5173/cb/../evil", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.c.Redirect(c.uri); got != c.want {
				t.Fatalf("Redirect(%q) = %v, want %v", c.uri, got, c.want)
			}
		})
	}
	r := registry.Registry{native, spa}
	if !r.ReturnTo("s", "http://127.0.0.1:5173/") || r.ReturnTo("s", "https://evil.example/") || r.ReturnTo("nobody", "http://127.0.0.1:5173/") {
		t.Fatal("ReturnTo: want registered redirect and post-logout URIs of a known client only")
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	secret, hash, err := registry.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	c := registry.Client{Type: registry.Service, SecretHash: hash}
	if !c.CheckSecret(secret) || c.CheckSecret(secret+"x") || c.CheckSecret("") {
		t.Fatal("CheckSecret: want the secret only")
	}
	if (registry.Client{Type: registry.SPA, SecretHash: hash}).CheckSecret(secret) {
		t.Fatal("a public client has no secret")
	}
}
