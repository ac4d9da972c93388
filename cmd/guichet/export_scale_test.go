package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// liveHeap samples the live heap (after a collection) each time the
// command draws its progress, once a page.
type liveHeap struct{ samples []uint64 }

func (h *liveHeap) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("users read")) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.samples = append(h.samples, m.HeapAlloc)
	}
	return len(b), nil
}

// TestExportAtScale exports GUICHET_EXPORT_USERS users (20000 is the size
// that broke the API; seeding them takes minutes on minidyn), 2,000 by
// default with the cap scaled down in proportion, so that the export
// passes the cap either way.
func TestExportAtScale(t *testing.T) {
	t.Parallel()
	n := 2000
	if v := os.Getenv("GUICHET_EXPORT_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("GUICHET_EXPORT_USERS=%q: want a number from 1000", v)
		}
	}
	limit := int(int64(users.MaxExportBody) * int64(n) / 20000)
	e := apitest.New(t, func(c *config.Config) { c.ExportMaxBody = limit })
	env := map[string]string{"DYNAMODB_ENDPOINT": e.Config.DynamoDBEndpoint, "TABLE_NAME": e.Config.Table}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	start := time.Now()
	seeded := e.SeedPeople(t, n, "scale-organization.example")
	t.Logf("seeded %d users in %v", n, time.Since(start))
	pages := (n+1)/store.EachUserPage + 1 // the owner too; a last page says there is no more

	t.Run("the admin command streams every user to its file with a live heap that does not grow", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "all.csv")
		heap := &liveHeap{}
		start := time.Now()
		if err := runWith(ctx, []string{"users", "export", "--org", "acme", "--include-password-hashes", "--out", file}, &bytes.Buffer{}, heap, getenv); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil || len(rows) != n+2 {
			t.Fatalf("%d rows: %v", len(rows), err)
		}
		if len(heap.samples) < 2 {
			t.Fatalf("%d pages", len(heap.samples))
		}
		first, last := heap.samples[0], heap.samples[len(heap.samples)-1]
		peak := slicesMax(heap.samples)
		growth := int64(last) - int64(first)
		t.Logf("%d users, %d bytes in %v; %d pages; live heap first page %d, last %d, peak %d (growth %d)",
			n, len(raw), took, len(heap.samples), first, last, peak, growth)
		// Holding the records would grow the heap by about the file's size
		// (a record weighs more than its row).
		if growth > int64(len(raw))/4 {
			t.Fatalf("the live heap grew by %d bytes over %d pages, exporting %d bytes", growth, len(heap.samples), len(raw))
		}
	})
	owner := e.LoginOwner(t).AccessToken
	t.Run("past the cap the API answers a link that reads every user exactly once", func(t *testing.T) {
		e.ResetCounters()
		start := time.Now()
		r := e.Do("GET", "/v1/users/export?include_password_hashes=true", owner, nil)
		took := time.Since(start)
		if r.Status != 303 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		c := e.Counters[route.Bulk]
		ops := map[string]int{"Query": c.Count("Query"), "TransactWriteItems": c.Count("TransactWriteItems")}
		if ops["Query"] != pages || ops["TransactWriteItems"] != 1 || c.Calls() != pages+1 {
			t.Fatalf("calls %v, want %d Query and the audit", ops, pages)
		}
		u, _ := url.Parse(r.Header.Get("Location"))
		res := e.DoHeader("GET", u.RequestURI(), map[string]string{}, nil)
		rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
		if res.Status != 200 || err != nil {
			t.Fatalf("%d %v", res.Status, err)
		}
		ids := map[string]bool{}
		for _, row := range rows[1:] {
			if ids[row[0]] {
				t.Fatalf("%s twice", row[0])
			}
			ids[row[0]] = true
		}
		for _, s := range seeded {
			if !ids[s.ID] {
				t.Fatalf("%s missing", s.ID)
			}
		}
		if len(ids) != n+1 || len(res.Body) <= limit {
			t.Fatalf("%d users, %d bytes", len(ids), len(res.Body))
		}
		t.Logf("API: %d users, %d bytes (cap %d) stored and linked in %v; DynamoDB calls %v", len(ids), len(res.Body), limit, took, ops)
	})
	t.Run("without an export store the export stops at the cap while writing", func(t *testing.T) {
		c := &store.Counter{}
		db, err := store.NewClient(ctx, store.ClientConfig{Endpoint: e.Config.DynamoDBEndpoint, Counter: c, MaxBackoff: e.Config.RetryMaxBackoff})
		if err != nil {
			t.Fatal(err)
		}
		perms, _ := e.Config.Permissions.BuiltIn(permission.RoleOwner)
		p := principal.Principal{Org: e.Org.Org.ID, User: e.Org.Owner.ID, Kind: store.Person, Role: permission.RoleOwner,
			Permissions: perms, Credential: principal.Session, CredentialID: "test"}
		for _, cap := range []int{limit, 64 << 10} {
			svc := users.New(store.New(db, e.Config.Table), e.Config.Password, e.Config.Clients, e.Config.Permissions, nil, e.Clock.Now).WithExports(nil, cap)
			c.Reset()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := svc.ExportFile(ctx, p, users.ExportQuery{IncludePasswordHashes: true}, nil)
			runtime.ReadMemStats(&after)
			var pr *problem.Problem
			if !errors.As(err, &pr) || pr.Code != "export_too_large" {
				t.Fatal(err)
			}
			// A page past the one that passed the cap is never read.
			if want := cap/(store.EachUserPage*250) + 1; c.Calls() > want {
				t.Fatalf("cap %d: %d Queries, want at most %d", cap, c.Calls(), want)
			}
			t.Logf("cap %d: refused after %d Queries of %d; %d bytes allocated in the process (minidyn's share included)",
				cap, c.Calls(), pages, after.TotalAlloc-before.TotalAlloc)
		}
	})
}

func slicesMax(s []uint64) uint64 {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}
