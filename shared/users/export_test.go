package users_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/exports"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// lowCap is the cap of the tests below: 300 seeded users weigh about 80 KiB.
const lowCap = 16 << 10

// seeOther reads a 303 answer to an export: its link, whose URL is the
// Location header's.
func seeOther(t *testing.T, e *apitest.Env, r *apitest.Response) users.ExportLink {
	t.Helper()
	if r.Status != 303 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var l users.ExportLink
	r.Decode(t, &l)
	if l.URL == "" || l.URL != r.Header.Get("Location") {
		t.Fatalf("link %+v, Location %q", l, r.Header.Get("Location"))
	}
	if d := l.Expires.Sub(e.Clock.Now()); d <= 14*time.Minute || d > exports.LinkTTL {
		t.Fatalf("expires in %v", d)
	}
	return l
}

// follow reads a link the local export store made, without credentials.
func follow(t *testing.T, e *apitest.Env, link string) *apitest.Response {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, e.Config.PublicURL+exports.LocalPath) {
		t.Fatalf("link %q: %v", link, err)
	}
	return e.DoHeader("GET", u.RequestURI(), map[string]string{}, nil)
}

// ids reads a CSV export and returns its ids, failing on a duplicate.
func csvIDs(t *testing.T, body []byte, cols []string) map[string]bool {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], cols) {
		t.Fatalf("header %v", rows[:min(1, len(rows))])
	}
	ids := map[string]bool{}
	for _, row := range rows[1:] {
		if ids[row[0]] {
			t.Fatalf("user %s twice", row[0])
		}
		ids[row[0]] = true
	}
	return ids
}

func TestExportPastTheCap(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.ExportMaxBody = lowCap })
	owner := e.LoginOwner(t).AccessToken
	seeded := e.SeedPeople(t, 300, "cap.example")
	want := map[string]bool{e.Org.Owner.ID: true}
	for _, u := range seeded {
		want[u.ID] = true
	}

	var csvLink users.ExportLink
	t.Run("past the cap the answer is 303 to a link, which reads every user exactly once, in two DynamoDB calls", func(t *testing.T) {
		e.ResetCounters()
		csvLink = seeOther(t, e, e.Do("GET", "/v1/users/export", owner, nil))
		if c := e.Counters[route.Bulk]; c.Count("Query") != 1 || c.Count("TransactWriteItems") != 1 || c.Calls() != 2 {
			t.Fatalf("calls %v", c.Operations()) // one page of users, the audit
		}
		r := follow(t, e, csvLink.URL)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			r.Header.Get("Content-Disposition") != `attachment; filename="users.csv"` || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v %.200s", r.Status, r.Header, r.Body)
		}
		if len(r.Body) <= lowCap {
			t.Fatalf("%d bytes: under the cap", len(r.Body))
		}
		got := csvIDs(t, r.Body, users.Columns)
		if len(got) != len(want) {
			t.Fatalf("%d users, want %d", len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("user %s missing", id)
			}
		}
		if bytes.Contains(r.Body, []byte("$argon2id$")) {
			t.Fatal("hashes without asking")
		}
	})
	t.Run("JSON Lines on Accept, each user once", func(t *testing.T) {
		l := seeOther(t, e, e.DoHeader("GET", "/v1/users/export", map[string]string{"Authorization": "Bearer " + owner, "Accept": users.JSONLType}, nil))
		if !strings.HasSuffix(strings.SplitN(l.URL, "?", 2)[0], ".jsonl") {
			t.Fatal(l.URL)
		}
		r := follow(t, e, l.URL)
		if r.Status != 200 || r.Header.Get("Content-Type") != users.JSONLType {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
		seen := map[string]bool{}
		for _, line := range bytes.Split(bytes.TrimSpace(r.Body), []byte("\n")) {
			var rec users.Record
			if err := json.Unmarshal(line, &rec); err != nil || seen[rec.ID] || !want[rec.ID] {
				t.Fatalf("%v %s", err, line)
			}
			seen[rec.ID] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("%d users", len(seen))
		}
	})
	t.Run("each export is audited with its columns and count", func(t *testing.T) {
		var page struct {
			Items []struct {
				Action string         `json:"action"`
				Fields []string       `json:"fields"`
				Counts map[string]int `json:"counts"`
			} `json:"items"`
		}
		e.Do("GET", "/v1/audit?limit=5", owner, nil).Decode(t, &page)
		n := 0
		for _, a := range page.Items {
			if a.Action == "users.export" {
				n++
				if a.Counts["users"] != len(want) || !slices.Equal(a.Fields, users.Columns) {
					t.Fatalf("%+v", a)
				}
			}
		}
		if n != 2 {
			t.Fatalf("%d export events: %+v", n, page.Items)
		}
	})
	t.Run("a tampered link is refused", func(t *testing.T) {
		u, _ := url.Parse(csvLink.URL)
		q := u.Query()
		other := exports.Key(e.Org.Org.ID, "csv")
		for name, link := range map[string]string{
			"another signature": u.Path + "?expires=" + q.Get("expires") + "&sig=" + flip(q.Get("sig")),
			"a later expiry":    u.Path + "?expires=" + q.Get("expires") + "9&sig=" + q.Get("sig"),
			"another key":       exports.LocalPath + other + "?" + u.RawQuery,
			"no signature":      u.Path + "?expires=" + q.Get("expires"),
			"two signatures":    u.Path + "?" + u.RawQuery + "&sig=" + q.Get("sig"),
		} {
			t.Run(name, func(t *testing.T) {
				r := e.DoHeader("GET", link, map[string]string{}, nil)
				if p := r.Problem(t, 403); p.Code != "invalid_signature" {
					t.Fatalf("%+v", p)
				}
			})
		}
		// The mux cleans the path (307 elsewhere); the store refuses keys
		// of any other form.
		if r := e.DoHeader("GET", exports.LocalPath+"exports/../../etc/passwd?"+u.RawQuery, map[string]string{}, nil); r.Status != 307 && r.Status != 404 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.DoHeader("GET", exports.LocalPath+"exports/x/y.txt?"+u.RawQuery, map[string]string{}, nil).Problem(t, 404)
	})
	t.Run("hashes need users:export past the cap too", func(t *testing.T) {
		r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Readers", "permissions": []string{"users:read"}})
		var role users.Role
		r.Decode(t, &role)
		e.AddUser(t, "reader@example.com", role.ID)
		tok := e.Login(t, "reader@example.com", apitest.UserPassword).AccessToken
		before := len(e.Scan(t))
		e.Do("GET", "/v1/users/export?include_password_hashes=true", tok, nil).Problem(t, 403)
		if after := len(e.Scan(t)); after != before {
			t.Fatalf("a refused export wrote %d items", after-before)
		}
		seeOther(t, e, e.Do("GET", "/v1/users/export", tok, nil))
	})
	t.Run("a hash export's link is random, short-lived and audited with the hash column", func(t *testing.T) {
		a := seeOther(t, e, e.Do("GET", "/v1/users/export?include_password_hashes=true", owner, nil))
		b := seeOther(t, e, e.Do("GET", "/v1/users/export?include_password_hashes=true", owner, nil))
		key := regexp.MustCompile(`/_local/exports/(exports/[^?]+)\?`)
		ka, kb := key.FindStringSubmatch(a.URL), key.FindStringSubmatch(b.URL)
		if ka == nil || kb == nil || ka[1] == kb[1] || !exports.ValidKey(ka[1]) || !strings.HasPrefix(ka[1], "exports/"+e.Org.Org.ID+"/") {
			t.Fatalf("%s %s", a.URL, b.URL)
		}
		r := follow(t, e, a.URL)
		if r.Status != 200 || bytes.Count(r.Body, []byte(apitest.FakeHash)) != len(seeded) {
			t.Fatalf("%d %.300s", r.Status, r.Body)
		}
		csvIDs(t, r.Body, append(slices.Clone(users.Columns), users.HashColumns...))
		au := e.Do("GET", "/v1/audit?limit=50", owner, nil)
		if bytes.Count(au.Body, []byte(`"password_hash","password_hash_omitted"],"counts":{"users":302}`)) != 2 {
			t.Fatalf("%s", au.Body)
		}
		e.Clock.Advance(exports.LinkTTL + time.Second)
		if p := follow(t, e, a.URL).Problem(t, 403); p.Code != "link_expired" {
			t.Fatalf("%+v", p)
		}
		if p := follow(t, e, csvLink.URL).Problem(t, 403); p.Code != "link_expired" {
			t.Fatalf("%+v", p)
		}
	})
}

// flip changes the first character of a base64url signature.
func flip(sig string) string {
	if sig == "" {
		return "A"
	}
	c := byte('A')
	if sig[0] == 'A' {
		c = 'B'
	}
	return string(c) + sig[1:]
}

// TestExportWithoutAStore calls the service as the bulk function does
// where no EXPORT_BUCKET is set: the devstack always has a local store.
func TestExportWithoutAStore(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.SeedPeople(t, 300, "nostore.example")
	svc := users.New(e.Store, e.Config.Password, e.Config.Clients, e.Config.Permissions, nil, e.Clock.Now).WithExports(nil, lowCap)
	perms, _ := e.Config.Permissions.BuiltIn(permission.RoleOwner)
	p := principal.Principal{Org: e.Org.Org.ID, User: e.Org.Owner.ID, Kind: store.Person, Role: permission.RoleOwner,
		Permissions: perms, Credential: principal.Session, CredentialID: "test"}
	t.Run("past the cap the export stops and is refused, naming the admin command, and nothing is audited", func(t *testing.T) {
		before := e.Scan(t)
		_, link, err := svc.ExportFile(context.Background(), p, users.ExportQuery{}, nil)
		var pr *problem.Problem
		if !errors.As(err, &pr) || pr.Status != 422 || pr.Code != "export_too_large" || !strings.Contains(pr.Detail, "guichet users export") || link != nil {
			t.Fatalf("%v %v", err, link)
		}
		if after := e.Scan(t); !slices.Equal(before, after) {
			t.Fatal("a refused export wrote to the table")
		}
	})
	t.Run("within the cap the export is the body", func(t *testing.T) {
		f, link, err := svc.WithExports(nil, 1<<20).ExportFile(context.Background(), p, users.ExportQuery{}, nil)
		if err != nil || link != nil {
			t.Fatal(err, link)
		}
		if ids := csvIDs(t, f.Data, users.Columns); len(ids) != 301 {
			t.Fatalf("%d users", len(ids))
		}
	})
}

// BenchmarkExport exports 2,000 users (550 KB as CSV with hashes) within
// the cap (the body) and past a 64 KiB cap without a store (refused after
// the first page). Allocations include the embedded DynamoDB's, which
// runs in the process.
func BenchmarkExport(b *testing.B) {
	e := apitest.New(b)
	e.SeedPeople(b, 2000, "bench.example")
	perms, _ := e.Config.Permissions.BuiltIn(permission.RoleOwner)
	p := principal.Principal{Org: e.Org.Org.ID, User: e.Org.Owner.ID, Kind: store.Person, Role: permission.RoleOwner,
		Permissions: perms, Credential: principal.Session, CredentialID: "bench"}
	q := users.ExportQuery{IncludePasswordHashes: true}
	for _, c := range []struct {
		name string
		cap  int
		ok   bool
	}{{"whole, in the body", users.MaxExportBody, true}, {"refused at a 64 KiB cap", 64 << 10, false}} {
		b.Run(c.name, func(b *testing.B) {
			svc := users.New(e.Store, e.Config.Password, e.Config.Clients, e.Config.Permissions, nil, e.Clock.Now).WithExports(nil, c.cap)
			b.ReportAllocs()
			for b.Loop() {
				f, _, err := svc.ExportFile(context.Background(), p, q, nil)
				if (err == nil) != c.ok {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(f.Data)))
			}
		})
	}
}
