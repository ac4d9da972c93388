package apikeys_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apikeys"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/token"
)

// keyBody is a request to make a key.
func keyBody(name, client string, scopes ...string) map[string]any {
	return map[string]any{"name": name, "client": client, "scopes": scopes}
}

// passwordOf is the password of the holder of tok: the owner's, or that
// of a user made by AddUser.
func passwordOf(t testing.TB, e *apitest.Env, tok string) string {
	t.Helper()
	var me struct {
		Email string `json:"email"`
	}
	e.Do("GET", "/v1/me", tok, nil).Decode(t, &me)
	if me.Email == e.Org.Owner.Email {
		return apitest.OwnerPassword
	}
	return apitest.UserPassword
}

// withPassword adds the current password of the holder of tok to body.
func withPassword(t testing.TB, e *apitest.Env, tok string, body map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{"current_password": passwordOf(t, e, tok)}
	for k, v := range body {
		out[k] = v
	}
	return out
}

// createKey makes a key with the token, failing t unless it is made.
func createKey(t testing.TB, e *apitest.Env, tok string, body map[string]any) apikeys.NewAPIKey {
	t.Helper()
	r := e.Do("POST", "/v1/me/api-keys", tok, withPassword(t, e, tok, body))
	if r.Status != http.StatusCreated {
		t.Fatalf("create key %v: %d %s", body, r.Status, r.Body)
	}
	var k apikeys.NewAPIKey
	r.Decode(t, &k)
	return k
}

func mine(t testing.TB, e *apitest.Env, tok string) []apikeys.APIKey {
	t.Helper()
	r := e.Do("GET", "/v1/me/api-keys", tok, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var l apikeys.APIKeyList
	r.Decode(t, &l)
	return l.Items
}

// orgKeys reads every page of GET /v1/api-keys with pages of limit.
func orgKeys(t testing.TB, e *apitest.Env, tok string, limit string) (keys []apikeys.OrgAPIKey, pages int) {
	t.Helper()
	cur := ""
	for {
		r := e.Do("GET", "/v1/api-keys?limit="+limit+"&cursor="+cur, tok, nil)
		if r.Status != 200 {
			t.Fatalf("org list: %d %s", r.Status, r.Body)
		}
		var p apikeys.APIKeyPage
		r.Decode(t, &p)
		keys = append(keys, p.Items...)
		pages++
		if p.NextCursor == "" {
			return keys, pages
		}
		cur = p.NextCursor
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func orgKeyID(k apikeys.OrgAPIKey) string { return k.ID }

// works reports whether the key is accepted (GET /v1/me answers 200);
// any other answer than 200 or 401 fails t.
func works(t testing.TB, e *apitest.Env, key string) bool {
	t.Helper()
	r := e.Do("GET", "/v1/me", key, nil)
	switch r.Status {
	case 200:
		return true
	case 401:
		if p := r.Problem(t, 401); p.Code != "invalid_token" {
			t.Fatalf("code %s", p.Code)
		}
		return false
	}
	t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
	return false
}

func TestClients(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	t.Run("any signed-in user lists the catalog of client applications", func(t *testing.T) {
		_, member := e.AddUserLogin(t, "member@acme.example", "member")
		var l apikeys.ClientList
		r := e.Do("GET", "/v1/clients", member, nil)
		r.Decode(t, &l)
		if r.Status != 200 || len(l.Items) != 4 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		got := ids(l.Items, func(c clients.Client) string { return c.ID })
		if !slices.Equal(got, []string{"bijster", "caseware", "comax", "internal"}) {
			t.Fatal(got)
		}
	})
	t.Run("an API key lists it too", func(t *testing.T) {
		k := createKey(t, e, owner, keyBody("Bijster sync", "bijster", "users:read"))
		if r := e.Do("GET", "/v1/clients", k.Secret, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestCreateAPIKey(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	start := e.Clock.Now()

	k := createKey(t, e, owner, keyBody("Connexion X", "caseware", "users:read", "audit:read"))
	t.Run("the answer holds the key once, with what identifies it", func(t *testing.T) {
		if _, _, ok := token.Parse(k.Secret, token.APIKey); !ok {
			t.Fatalf("key %q", k.Secret)
		}
		if k.Prefix != k.Secret[:12] || k.Name != "Connexion X" || k.Client != "caseware" ||
			!slices.Equal(k.Scopes, []string{"users:read", "audit:read"}) || k.ExpiresAt != nil ||
			k.LastUsed != nil || !strings.HasPrefix(k.ID, "key_") || k.Created.Before(start.Add(-time.Second)) {
			t.Fatalf("%+v", k)
		}
	})
	t.Run("the list shows it without the key or its hash", func(t *testing.T) {
		r := e.Do("GET", "/v1/me/api-keys", owner, nil)
		body := string(r.Body)
		if strings.Contains(body, k.Secret[12:]) || strings.Contains(body, token.Hash(k.Secret)) || strings.Contains(body, `"key"`) {
			t.Fatalf("the list tells the key: %s", body)
		}
		l := mine(t, e, owner)
		if len(l) != 1 || l[0].ID != k.ID || l[0].Prefix != k.Prefix {
			t.Fatalf("%+v", l)
		}
	})
	t.Run("the table holds no key in clear", func(t *testing.T) {
		dump := strings.Join(e.Scan(t), "\n")
		if strings.Contains(dump, k.Secret) || strings.Contains(dump, k.Secret[4:]) || strings.Contains(dump, k.Secret[12:]) {
			t.Fatal("the key is in the table")
		}
	})
	t.Run("the key acts for its user within its scopes", func(t *testing.T) {
		var me struct {
			ID string `json:"id"`
		}
		r := e.Do("GET", "/v1/me", k.Secret, nil)
		r.Decode(t, &me)
		if r.Status != 200 || me.ID != e.Org.Owner.ID {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if r := e.Do("GET", "/v1/users", k.Secret, nil); r.Status != 200 {
			t.Fatalf("users:read: %d %s", r.Status, r.Body)
		}
		e.Do("POST", "/v1/users", k.Secret, map[string]any{"email": "x@acme.example", "first_name": "X",
			"last_name": "Y", "role": "member"}).Problem(t, 403)
		e.Do("GET", "/v1/organization", k.Secret, nil).Problem(t, 403)
	})
	t.Run("an expiry is kept and shown", func(t *testing.T) {
		at := e.Clock.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		body := keyBody("Short", "internal", "organization:read")
		body["expires_at"] = at.Format(time.RFC3339)
		k := createKey(t, e, owner, body)
		if k.ExpiresAt == nil || !k.ExpiresAt.Equal(at) {
			t.Fatalf("%+v", k)
		}
	})
	t.Run("every creation is audited, without the key", func(t *testing.T) {
		audited(t, e, owner, `"apikey.create"`, "apikey:"+k.ID)
	})
}

func TestCreateAPIKeyRefusals(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	withKey := createKey(t, e, owner, keyBody("Internal", "internal", "users:read")).Secret
	works(t, e, withKey) // its use is recorded now, not by a refused request below
	var svc struct {
		Password string `json:"password"`
	}
	e.Do("POST", "/v1/users", owner, map[string]any{"kind": "service", "user_code": "COMAX01", "client": "comax",
		"role": "admin"}).Decode(t, &svc)
	var svcTok apitest.Tokens
	e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": "COMAX01",
		"password": svc.Password}).Decode(t, &svcTok)
	if svcTok.AccessToken == "" {
		t.Fatal("no service token")
	}
	now := e.Clock.Now().UTC()
	with := func(k string, v any) map[string]any {
		b := keyBody("Sync", "internal", "users:read")
		b[k] = v
		return b
	}
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		field  string
	}{
		{"a missing name", owner, with("name", ""), 422, "validation_failed", "name"},
		{"a blank name", owner, with("name", "   "), 422, "validation_failed", "name"},
		{"a name over 100 characters", owner, with("name", strings.Repeat("n", 101)), 422, "validation_failed", "name"},
		{"a name with a control character", owner, with("name", "a\u0007b"), 422, "validation_failed", "name"},
		{"an unknown client", owner, with("client", "nope"), 422, "validation_failed", "client"},
		{"no scope", owner, with("scopes", []string{}), 422, "validation_failed", "scopes"},
		{"an unknown scope", owner, with("scopes", []string{"users:read", "root"}), 422, "validation_failed", "scopes"},
		{"a scope the client may not ask for", owner, keyBody("Sync", "bijster", "users:write"), 422, "validation_failed", "scopes"},
		{"an expiry that is not RFC 3339", owner, with("expires_at", "tomorrow"), 422, "validation_failed", "expires_at"},
		{"an expiry in the past", owner, with("expires_at", now.Add(-time.Hour).Format(time.RFC3339)), 422, "validation_failed", "expires_at"},
		{"an expiry beyond two years", owner, with("expires_at", now.Add(731*24*time.Hour).Format(time.RFC3339)), 422, "validation_failed", "expires_at"},
		{"an unknown field", owner, with("owner", true), 400, "invalid_json", ""},
		{"a member asking users:write", member, keyBody("Sync", "internal", "users:write"), 403, "scope_escalation", ""},
		{"a member asking users:read", member, keyBody("Sync", "comax", "users:read"), 403, "scope_escalation", ""},
		{"an API key making a key", withKey, keyBody("Sync", "internal", "users:read"), 403, "session_required", ""},
		{"a service user", svcTok.AccessToken, keyBody("Sync", "comax", "users:read"), 403, "service_user", ""},
		{"no credential", "", keyBody("Sync", "internal", "users:read"), 401, "missing_token", ""},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name+" and writes nothing", func(t *testing.T) {
			before := e.Scan(t)
			p := e.Do("POST", "/v1/me/api-keys", c.token, c.body).Problem(t, c.status)
			if p.Code != c.code {
				t.Fatalf("code %q, want %q: %+v", p.Code, c.code, p)
			}
			if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
				t.Fatalf("errors %+v, want one on %s", p.Errors, c.field)
			}
			if after := e.Scan(t); !slices.Equal(before, after) {
				t.Fatal("the table changed")
			}
		})
	}
}

func TestRevokeAndExpiry(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, admin := e.AddUserLogin(t, "admin@acme.example", "admin")

	t.Run("a revoked key is refused on the very next request", func(t *testing.T) {
		k := createKey(t, e, owner, keyBody("Gone", "internal", "users:read"))
		if !works(t, e, k.Secret) {
			t.Fatal("the new key does not work")
		}
		if r := e.Do("DELETE", "/v1/me/api-keys/"+k.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if works(t, e, k.Secret) {
			t.Fatal("the revoked key works")
		}
		e.Do("DELETE", "/v1/me/api-keys/"+k.ID, owner, nil).Problem(t, 404)
		if slices.ContainsFunc(mine(t, e, owner), func(x apikeys.APIKey) bool { return x.ID == k.ID }) {
			t.Fatal("the revoked key is listed")
		}
	})
	t.Run("another user's key is not found through /v1/me", func(t *testing.T) {
		k := createKey(t, e, owner, keyBody("Mine", "internal", "users:read"))
		e.Do("DELETE", "/v1/me/api-keys/"+k.ID, admin, nil).Problem(t, 404)
		e.Do("POST", "/v1/me/api-keys/"+k.ID+"/rotate", admin, nil).Problem(t, 404)
		if !works(t, e, k.Secret) {
			t.Fatal("the key was revoked")
		}
	})
	t.Run("a key may revoke itself", func(t *testing.T) {
		k := createKey(t, e, owner, keyBody("Self", "internal", "users:read"))
		if r := e.Do("DELETE", "/v1/me/api-keys/"+k.ID, k.Secret, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if works(t, e, k.Secret) {
			t.Fatal("the key works")
		}
	})
	t.Run("an expired key is refused, though still in the table until TTL", func(t *testing.T) {
		body := keyBody("Brief", "internal", "users:read")
		body["expires_at"] = e.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		k := createKey(t, e, owner, body)
		if !works(t, e, k.Secret) {
			t.Fatal("the key does not work")
		}
		e.Clock.Advance(time.Hour + time.Second)
		if works(t, e, k.Secret) {
			t.Fatal("the expired key works")
		}
		owner = e.LoginOwner(t).AccessToken // the session expired too
		if slices.ContainsFunc(mine(t, e, owner), func(x apikeys.APIKey) bool { return x.ID == k.ID }) {
			t.Fatal("the expired key is listed")
		}
	})
	t.Run("revocation is audited", func(t *testing.T) {
		audited(t, e, owner, `"apikey.revoke"`)
	})
}

func TestUserChangesReachKeys(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u, admin := e.AddUserLogin(t, "admin@acme.example", "admin")
	k := createKey(t, e, admin, keyBody("Admin's", "internal", "users:read", "apikeys:read"))

	role := func(r string) {
		t.Helper()
		if res := e.Do("PATCH", "/v1/users/"+u.ID, owner, map[string]any{"role": r}); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	}
	t.Run("a role that loses a permission narrows the key", func(t *testing.T) {
		role("member")
		e.Do("GET", "/v1/users", k.Secret, nil).Problem(t, 403)
		if !works(t, e, k.Secret) {
			t.Fatal("the key no longer works")
		}
	})
	t.Run("a role that regains it widens the key again, within its scopes only", func(t *testing.T) {
		role("admin")
		if r := e.Do("GET", "/v1/users", k.Secret, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/organization", k.Secret, nil).Problem(t, 403)
	})
	t.Run("deactivating the creator kills the key and removes it from the organization's list", func(t *testing.T) {
		keys, _ := orgKeys(t, e, owner, "50")
		if !slices.ContainsFunc(keys, func(x apikeys.OrgAPIKey) bool { return x.ID == k.ID && x.UserID == u.ID }) {
			t.Fatalf("%+v", keys)
		}
		if r := e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if works(t, e, k.Secret) {
			t.Fatal("the key of an inactive user works")
		}
		keys, _ = orgKeys(t, e, owner, "50")
		if len(keys) != 0 {
			t.Fatalf("still listed: %+v", keys)
		}
	})
	t.Run("deleting the creator kills its keys", func(t *testing.T) {
		u, other := e.AddUserLogin(t, "other@acme.example", "admin")
		k := createKey(t, e, other, keyBody("Other's", "internal", "users:read"))
		if r := e.Do("DELETE", "/v1/users/"+u.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if works(t, e, k.Secret) {
			t.Fatal("the key of a deleted user works")
		}
		if keys, _ := orgKeys(t, e, owner, "50"); len(keys) != 0 {
			t.Fatalf("still listed: %+v", keys)
		}
	})
	t.Run("a transfer of ownership regrants the previous owner's keys", func(t *testing.T) {
		ok := createKey(t, e, owner, keyBody("Owner's", "internal", "organization:write", "users:read"))
		e.AddUser(t, "next@acme.example", "admin")
		var next struct {
			ID string `json:"id"`
		}
		nextTok := e.Login(t, "next@acme.example", apitest.UserPassword).AccessToken
		e.Do("GET", "/v1/me", nextTok, nil).Decode(t, &next)
		if r := e.Do("POST", "/v1/organization/owner", owner, map[string]string{"user_id": next.ID}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var me struct {
			Role string `json:"role"`
		}
		e.Do("GET", "/v1/me", ok.Secret, nil).Decode(t, &me)
		if me.Role != "admin" {
			t.Fatalf("role %q", me.Role)
		}
		if r := e.Do("GET", "/v1/users", ok.Secret, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestRotate(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("without grace, the old key ends at once and the new one keeps name, client and scopes", func(t *testing.T) {
		old := createKey(t, e, owner, keyBody("Comax", "comax", "users:read", "users:write"))
		r := e.Do("POST", "/v1/me/api-keys/"+old.ID+"/rotate", owner, withPassword(t, e, owner, nil))
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var next apikeys.NewAPIKey
		r.Decode(t, &next)
		if next.Secret == old.Secret || next.ID == old.ID || next.Name != old.Name || next.Client != old.Client ||
			!slices.Equal(next.Scopes, old.Scopes) {
			t.Fatalf("%+v", next)
		}
		if works(t, e, old.Secret) || !works(t, e, next.Secret) {
			t.Fatal("the old key works or the new one does not")
		}
		l := mine(t, e, owner)
		if len(l) != 1 || l[0].ID != next.ID {
			t.Fatalf("%+v", l)
		}
		e.Do("DELETE", "/v1/me/api-keys/"+next.ID, owner, nil)
	})
	t.Run("with grace, the old key works until the grace ends", func(t *testing.T) {
		old := createKey(t, e, owner, keyBody("Graceful", "internal", "users:read"))
		r := e.Do("POST", "/v1/me/api-keys/"+old.ID+"/rotate", owner, withPassword(t, e, owner, map[string]any{"grace_seconds": 300}))
		var next apikeys.NewAPIKey
		r.Decode(t, &next)
		if r.Status != 201 || !works(t, e, old.Secret) || !works(t, e, next.Secret) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		l := mine(t, e, owner)
		i := slices.IndexFunc(l, func(k apikeys.APIKey) bool { return k.ID == old.ID })
		if len(l) != 2 || i < 0 || l[i].Rotated == nil || l[i].ExpiresAt == nil {
			t.Fatalf("%+v", l)
		}
		e.Do("POST", "/v1/me/api-keys/"+old.ID+"/rotate", owner, withPassword(t, e, owner, nil)).Problem(t, 409)
		e.Clock.Advance(301 * time.Second)
		owner = e.LoginOwner(t).AccessToken // past its ACCESS_TOKEN_TTL too
		if works(t, e, old.Secret) || !works(t, e, next.Secret) {
			t.Fatal("the old key outlives its grace, or the new one does not work")
		}
		if l := mine(t, e, owner); len(l) != 1 || l[0].ID != next.ID {
			t.Fatalf("%+v", l)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		k := createKey(t, e, owner, keyBody("Refusals", "internal", "users:read"))
		works(t, e, k.Secret) // its use is recorded now, not by a refused request below
		cases := []struct {
			name, token string
			body        any
			status      int
			code        string
		}{
			{"a grace over a day", owner, map[string]int{"grace_seconds": 86401}, 422, "validation_failed"},
			{"a negative grace", owner, map[string]int{"grace_seconds": -1}, 422, "validation_failed"},
			{"an unknown field", owner, map[string]any{"grace": 1}, 400, "invalid_json"},
			{"an API key", k.Secret, nil, 403, "session_required"},
		}
		for _, c := range cases {
			t.Run("refuses "+c.name+" and writes nothing", func(t *testing.T) {
				before := e.Scan(t)
				p := e.Do("POST", "/v1/me/api-keys/"+k.ID+"/rotate", c.token, c.body).Problem(t, c.status)
				if p.Code != c.code {
					t.Fatalf("code %q, want %q", p.Code, c.code)
				}
				if after := e.Scan(t); !slices.Equal(before, after) {
					t.Fatal("the table changed")
				}
			})
		}
		e.Do("POST", "/v1/me/api-keys/key_nope/rotate", owner, nil).Problem(t, 404)
	})
	t.Run("rotation is audited", func(t *testing.T) {
		audited(t, e, owner, `"apikey.rotate"`)
	})
}

func TestOrganizationKeys(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	admin, adminTok := e.AddUserLogin(t, "admin@acme.example", "admin")
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	var want []string
	for _, n := range []string{"a", "b", "c"} {
		want = append(want, createKey(t, e, owner, keyBody(n, "internal", "users:read")).ID)
	}
	auditor := createKey(t, e, adminTok, keyBody("Auditor", "internal", "apikeys:read"))
	want = append(want, auditor.ID, createKey(t, e, adminTok, keyBody("e", "bijster", "users:read")).ID)
	slices.Sort(want)

	t.Run("an admin lists every key of the organization, a page at a time", func(t *testing.T) {
		keys, pages := orgKeys(t, e, owner, "2")
		if got := ids(keys, orgKeyID); !slices.Equal(got, want) || pages < 3 {
			t.Fatalf("%d pages, %v, want %v", pages, got, want)
		}
		for _, k := range keys {
			if (k.UserID != e.Org.Owner.ID && k.UserID != admin.ID) || k.Prefix == "" {
				t.Fatalf("%+v", k)
			}
		}
	})
	t.Run("an API key with apikeys:read lists them too", func(t *testing.T) {
		keys, _ := orgKeys(t, e, auditor.Secret, "100")
		if len(keys) != len(want) {
			t.Fatalf("%d keys", len(keys))
		}
	})
	t.Run("a member may not", func(t *testing.T) {
		e.Do("GET", "/v1/api-keys", member, nil).Problem(t, 403)
		e.Do("DELETE", "/v1/api-keys/"+want[0], member, nil).Problem(t, 403)
	})
	t.Run("a bad limit is refused", func(t *testing.T) {
		e.Do("GET", "/v1/api-keys?limit=0", owner, nil).Problem(t, 422)
		e.Do("GET", "/v1/api-keys?cursor=nope", owner, nil).Problem(t, 400)
	})
	t.Run("an admin revokes anyone's key", func(t *testing.T) {
		if r := e.Do("DELETE", "/v1/api-keys/"+auditor.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if works(t, e, auditor.Secret) {
			t.Fatal("the revoked key works")
		}
		keys, _ := orgKeys(t, e, owner, "100")
		if slices.ContainsFunc(keys, func(k apikeys.OrgAPIKey) bool { return k.ID == auditor.ID }) {
			t.Fatal("still listed")
		}
	})
	t.Run("another organization sees none of them and revokes none", func(t *testing.T) {
		if _, _, err := e.Seed(context.Background(), "Globex", "globex", "owner@globex.example", apitest.OwnerPassword); err != nil {
			t.Fatal(err)
		}
		globex := e.Login(t, "owner@globex.example", apitest.OwnerPassword).AccessToken
		if keys, _ := orgKeys(t, e, globex, "100"); len(keys) != 0 {
			t.Fatalf("%+v", keys)
		}
		e.Do("DELETE", "/v1/api-keys/"+want[0], globex, nil).Problem(t, 404)
		e.Do("DELETE", "/v1/me/api-keys/"+want[0], globex, nil).Problem(t, 404)
		var page apikeys.APIKeyPage
		e.Do("GET", "/v1/api-keys?limit=1", owner, nil).Decode(t, &page)
		if p := e.Do("GET", "/v1/api-keys?cursor="+page.NextCursor, globex, nil).Problem(t, 400); p.Code != "invalid_cursor" {
			t.Fatal(p.Code)
		}
		keys, _ := orgKeys(t, e, owner, "100")
		if len(keys) != len(want)-1 {
			t.Fatalf("%d keys", len(keys))
		}
	})
}

// updates is the number of UpdateItem calls every function made since the
// counters were reset.
func updates(e *apitest.Env) int {
	n := 0
	for _, c := range e.Counters {
		n += c.Count("UpdateItem")
	}
	return n
}

func TestLastUsed(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	k := createKey(t, e, owner, keyBody("Used", "internal", "users:read"))
	lastUsed := func() *time.Time {
		t.Helper()
		l := mine(t, e, owner)
		if len(l) != 1 {
			t.Fatalf("%+v", l)
		}
		keys, _ := orgKeys(t, e, owner, "10")
		if len(keys) != 1 || !equalTimes(keys[0].LastUsed, l[0].LastUsed) {
			t.Fatalf("the lists disagree: %+v %+v", keys, l)
		}
		return l[0].LastUsed
	}
	if lastUsed() != nil {
		t.Fatal("a new key was used")
	}
	use := func(path string) int {
		t.Helper()
		e.ResetCounters()
		if r := e.Do("GET", path, k.Secret, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		return updates(e)
	}
	t.Run("the first use is recorded with one UpdateItem", func(t *testing.T) {
		if n := use("/v1/me"); n != 1 {
			t.Fatalf("%d updates", n)
		}
		if lastUsed() == nil {
			t.Fatal("not recorded")
		}
	})
	first := lastUsed()
	t.Run("another use within the minute costs no write", func(t *testing.T) {
		e.Clock.Advance(30 * time.Second)
		if n := use("/v1/users"); n != 0 {
			t.Fatalf("%d updates", n)
		}
		if n := use("/v1/clients"); n != 0 {
			t.Fatalf("%d updates", n)
		}
		if !equalTimes(lastUsed(), first) {
			t.Fatal("last_used moved")
		}
	})
	t.Run("a use over a minute later is recorded again, once", func(t *testing.T) {
		e.Clock.Advance(61 * time.Second)
		if n := use("/v1/users"); n != 1 {
			t.Fatalf("%d updates", n)
		}
		if n := use("/v1/me"); n != 0 {
			t.Fatalf("%d updates", n)
		}
		if got := lastUsed(); got == nil || got.Sub(*first) < 90*time.Second {
			t.Fatalf("last_used %v, first %v", got, first)
		}
	})
	t.Run("a session costs no write", func(t *testing.T) {
		e.ResetCounters()
		e.Do("GET", "/v1/me", owner, nil)
		if n := updates(e); n != 0 {
			t.Fatalf("%d updates", n)
		}
	})
}

func equalTimes(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func TestAuthorizerMakesOneCallPerAPIKeyRequest(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	live := createKey(t, e, owner, keyBody("Live", "internal", "users:read")).Secret
	revoked := createKey(t, e, owner, keyBody("Revoked", "internal", "users:read"))
	e.Do("DELETE", "/v1/me/api-keys/"+revoked.ID, owner, nil)
	body := keyBody("Expired", "internal", "users:read")
	body["expires_at"] = e.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	expired := createKey(t, e, owner, body).Secret
	e.Clock.Advance(2 * time.Hour)
	cases := []struct {
		name, path, key string
		status          int
	}{
		{"a live key on GET /v1/clients", "/v1/clients", live, 200},
		{"a live key on GET /v1/me", "/v1/me", live, 200},
		{"a live key on GET /v1/users", "/v1/users", live, 200},
		{"a live key without the permission", "/v1/organization", live, 403},
		{"a revoked key", "/v1/me", revoked.Secret, 401},
		{"an expired key", "/v1/me", expired, 401},
		{"a forged key", "/v1/me", "gky_" + strings.Repeat("A", 43), 401},
	}
	for _, c := range cases {
		t.Run(c.name+" costs the authorizer one GetItem", func(t *testing.T) {
			for range 3 {
				e.ResetCounters()
				if r := e.Do("GET", c.path, c.key, nil); r.Status != c.status {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				a := e.Counters[route.Authorizer]
				if a.Calls() != 1 || a.Count("GetItem") != 1 {
					t.Fatalf("the authorizer made %d calls (%v)", a.Calls(), a.Operations())
				}
			}
		})
	}
}

func TestEveryFunctionRecordsKeyUseWithinItsSpec(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	k := createKey(t, e, owner, keyBody("Everything", "internal", "users:read", "organization:read",
		"invitations:write", "apikeys:read", "users:write")).Secret
	member := e.AddUser(t, "member@acme.example", "member")
	// One authorized route of each function.
	paths := map[string][2]string{
		route.Auth:          {"POST", "/v1/auth/logout"},
		route.Profile:       {"GET", "/v1/me"},
		route.Users:         {"GET", "/v1/users"},
		route.Organization:  {"GET", "/v1/organization"},
		route.Invitations:   {"GET", "/v1/invitations"},
		route.PasswordReset: {"POST", "/v1/users/" + member.ID + "/password-reset"},
		route.APIKeys:       {"GET", "/v1/api-keys"},
	}
	for _, spec := range route.Specs() {
		mp, ok := paths[spec.Name]
		if !ok {
			continue
		}
		t.Run(spec.Name+" records the use of a stale key with one UpdateItem of its spec", func(t *testing.T) {
			e.Clock.Advance(61 * time.Second)
			e.ResetCounters()
			if r := e.Do(mp[0], mp[1], k, "{}"); r.Status == 401 || r.Status == 403 || r.Status >= 500 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			c := e.Counters[spec.Name]
			if c.Count("UpdateItem") != 1 {
				t.Fatalf("%d UpdateItem", c.Count("UpdateItem"))
			}
			for _, op := range c.Operations() {
				if !slices.Contains(spec.DynamoDB, op) {
					t.Errorf("%s called %s, outside its spec", spec.Name, op)
				}
			}
		})
	}
	t.Run("the apikeys routes call only the actions of their spec", func(t *testing.T) {
		owner = e.LoginOwner(t).AccessToken
		e.ResetCounters()
		k := createKey(t, e, owner, keyBody("Spec", "internal", "users:read"))
		e.Do("GET", "/v1/clients", owner, nil)
		e.Do("GET", "/v1/me/api-keys", owner, nil)
		e.Do("GET", "/v1/api-keys", owner, nil)
		e.Do("POST", "/v1/me/api-keys/"+k.ID+"/rotate", owner, withPassword(t, e, owner, map[string]any{"grace_seconds": 60}))
		e.Do("DELETE", "/v1/api-keys/"+k.ID, owner, nil)
		var spec route.Spec
		for _, s := range route.Specs() {
			if s.Name == route.APIKeys {
				spec = s
			}
		}
		for _, op := range e.Counters[route.APIKeys].Operations() {
			if !slices.Contains(spec.DynamoDB, op) {
				t.Errorf("apikeys called %s, outside its spec", op)
			}
		}
	})
}

// audited fails t unless the audit log, read with tok, holds every one of
// the strings.
func audited(t *testing.T, e *apitest.Env, tok string, strs ...string) {
	t.Helper()
	r := e.Do("GET", "/v1/audit", tok, nil)
	for _, s := range strs {
		if !strings.Contains(string(r.Body), s) {
			t.Fatalf("%s", r.Body)
		}
	}
}
