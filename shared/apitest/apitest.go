// Package apitest starts Guichet in-process for tests and benchmarks and
// talks to it over HTTP through the local gateway, like a client would.
package apitest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/logging"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// testKeys is the tests' signing key set (RS256; test use only: its
// private keys are in the repository).
//
//go:embed testdata/jwt-keys.json
var testKeys []byte

// OwnerPassword is the password of the owner of the seeded organization.
const OwnerPassword = "owner-password-1234"

// Env is a running stack with a seeded organization "acme".
type Env struct {
	*devstack.Stack
	Clock *Clock
	// Org is the seeded organization, its owner and the owner's password.
	Org      organization.Created
	handler  http.Handler
	contract *contract
	t        testing.TB
	// bench is set for benchmarks: they check the first answer of each
	// method and path only, so that their figures are the product's cost
	// and not the validator's.
	bench   bool
	floor   bool // a Floor: its answers are not the API's
	mu      sync.Mutex
	checked map[string]bool
	// startCPU and startMallocs are the process's at StartBench.
	startCPU     time.Duration
	startMallocs uint64
}

// Option changes the configuration of a test stack.
type Option func(*config.Config)

// ProductionHashing hashes passwords at production cost (password.Default)
// instead of password.Cheap: for benchmarks of requests that hash or verify
// a password, whose cost is mostly that.
func ProductionHashing(c *config.Config) { c.Password = password.Default }

// New starts a stack for t; it stops when t ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg, err := config.Parse(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MailFrom = "guichet@test.example"
	cfg.ResetFloor = 0                         // tests do not time answers
	cfg.RetryMaxBackoff = 5 * time.Millisecond // fault tests retry quickly (still 3 attempts)
	cfg.PublicURL = "http://guichet.test"
	cfg.Password = password.Cheap // production cost is asserted in shared/config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.JWTKeys == nil && cfg.JWTKeysSecret == "" {
		// The deployment's default algorithm (RS256) with a key set made
		// once: an RSA key takes a quarter of a second to make.
		ks, err := signing.ParseKeySet(testKeys)
		if err != nil {
			t.Fatal(err)
		}
		cfg.JWTKeys = &ks
	}
	// GUICHET_TEST_DYNAMODB: another DynamoDB, a table of this test's own.
	endpoint, tableName := devstack.TestTable(cfg.Table)
	cfg.DynamoDBEndpoint, cfg.Table = endpoint, tableName
	clock := NewClock(time.Now())
	ctx := context.Background()
	var log *slog.Logger
	if os.Getenv("GUICHET_TEST_LOG") != "" { // the functions' logs, when debugging a test
		log = logging.New(os.Stderr, "debug")
	}
	st, err := devstack.Start(ctx, devstack.Options{Config: cfg, Now: clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if endpoint != "" {
		t.Cleanup(func() {
			if err := devstack.DeleteTable(context.Background(), st.DB, tableName); err != nil {
				t.Error(err)
			}
		})
	}
	org, created, err := st.Seed(ctx, "Acme", "acme", "owner@acme.example", OwnerPassword)
	if err != nil || !created {
		t.Fatalf("seed: created=%v err=%v", created, err)
	}
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	_, bench := t.(*testing.B)
	return &Env{Stack: st, Clock: clock, Org: org, handler: st.Handler(), contract: c, t: t, bench: bench}
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request through the gateway. body may be nil, a string or
// []byte (sent as is), or any value (sent as JSON). token, when set, is
// sent as a Bearer token.
func (e *Env) Do(method, path, token string, body any) *Response {
	h := map[string]string{"User-Agent": "apitest"}
	if body != nil {
		h["Content-Type"] = "application/json"
	}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return e.DoHeader(method, path, h, body)
}

// DoHeader is Do with the request headers given. Every response is checked
// against the API's OpenAPI description (in a benchmark, the first one of
// each method and path): one that does not match fails the test that
// started the stack.
func (e *Env) DoHeader(method, path string, header map[string]string, body any) *Response {
	return e.DoFrom("", method, path, header, body)
}

// DoFrom is DoHeader from the client address remoteAddr ("ip:port"; empty
// for httptest's default).
func (e *Env) DoFrom(remoteAddr, method, path string, header map[string]string, body any) *Response {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			panic(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if remoteAddr != "" {
		req.RemoteAddr = remoteAddr
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, req)
	res := &Response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	if !e.mustCheck(method, path) {
		return res
	}
	if err := e.contract.check(req, raw, res); err != nil {
		e.t.Errorf("%s %s answered %d outside the API description: %v\n%s", method, path, res.Status, err, res.Body)
	}
	return res
}

// mustCheck says whether the answer to method and path is to be checked.
func (e *Env) mustCheck(method, path string) bool {
	if e.floor {
		return false
	}
	if !e.bench {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.checked[method+" "+path] {
		return false
	}
	if e.checked == nil {
		e.checked = map[string]bool{}
	}
	e.checked[method+" "+path] = true
	return true
}

// Decode reads the body as JSON into v, failing t if it cannot.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem reads the body as a problem, failing t unless it is one with
// the given status.
func (r *Response) Problem(t testing.TB, status int) problem.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q, want %q: %s", ct, problem.ContentType, r.Body)
	}
	var p problem.Problem
	r.Decode(t, &p)
	if p.Status != status || p.Code == "" || p.Type == "" || p.Title == "" {
		t.Fatalf("incomplete problem: %s", r.Body)
	}
	return p
}

// Tokens is a login's answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Login logs in, failing t unless it succeeds.
func (e *Env) Login(t testing.TB, login, password string) Tokens {
	t.Helper()
	r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": login, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", login, r.Status, r.Body)
	}
	var tok Tokens
	r.Decode(t, &tok)
	return tok
}

// LoginOwner logs in as the seeded organization's owner.
func (e *Env) LoginOwner(t testing.TB) Tokens {
	return e.Login(t, e.Org.Owner.Email, OwnerPassword)
}

// Clock is a settable clock for the functions under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time. Each reading ticks the clock 1 µs, so
// that events keep the order they happened in, as with a real clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Microsecond)
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// UserPassword is the password of users made by AddUser.
const UserPassword = "user-password-1234"

// AddUser writes an active person with the given e-mail and role (a
// built-in role's id, or a custom role's) straight into the table, for
// tests that need a principal of some role, and returns the user.
func (e *Env) AddUser(t testing.TB, email, role string) store.User {
	t.Helper()
	hash, err := password.Hash(UserPassword, e.Config.Password)
	if err != nil {
		t.Fatal(err)
	}
	perms, builtIn := e.Config.Permissions.BuiltIn(role)
	if !builtIn {
		r, err := e.Store.GetRole(context.Background(), e.Org.Org.ID, role)
		if err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		for _, p := range r.Permissions {
			perms = append(perms, permission.Permission(p))
		}
	}
	now := e.Clock.Now().UTC()
	u := store.User{Org: e.Org.Org.ID, OrgCode: e.Org.Org.Code, ID: store.NewID("usr_"), Kind: store.Person,
		Email: email, FirstName: "Test", LastName: role, Language: "en", Role: role,
		Permissions: permission.Strings(perms), AllUnits: true,
		Status: store.Active, PasswordHash: hash, Created: now, Updated: now}
	a := store.Audit{Org: u.Org, Time: now, Actor: "test", Via: "test", Action: "user.create", Target: "user:" + u.ID}
	if err := e.Store.CreateUser(context.Background(), u, a); err != nil {
		t.Fatal(err)
	}
	return u
}

// Scan returns every item of the table as JSON, sorted: compare two scans
// to check that a refused request wrote nothing.
func (e *Env) Scan(t testing.TB) []string {
	t.Helper()
	out, err := devstack.DumpTable(context.Background(), e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// HashPrefix is how an argon2id hash made with p begins in the table (the
// stack's parameters are e.Config.Password; production's are asserted in
// shared/config).
func HashPrefix(p password.Params) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.MemoryKiB, p.Time, p.Threads)
}

// Restart starts another stack on e's table (its DynamoDB, organization
// and clock) with e's configuration changed by opts, as a redeployment
// with other settings would: what e wrote is there, read by functions
// configured anew. Its mail goes to e's outbox. It stops when t ends.
func (e *Env) Restart(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := e.Config
	for _, o := range opts {
		o(&cfg)
	}
	st, err := devstack.Start(context.Background(), devstack.Options{Config: cfg, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if st.Outbox == nil {
		st.Outbox = e.Outbox
	}
	return &Env{Stack: st, Clock: e.Clock, Org: e.Org, handler: st.Handler(), contract: e.contract, t: t, bench: e.bench}
}

// AccessToken signs a JWT access token as the stack's session service
// would, valid until expires, and returns it with the hash of its jti,
// which keys the credential item the authorizer reads: a test writes that
// item itself.
func (e *Env) AccessToken(t testing.TB, sessionID string, expires time.Time) (jwt, hash string) {
	t.Helper()
	jti, err := token.NewID()
	if err != nil {
		t.Fatal(err)
	}
	c := access.Claims{Issuer: e.Config.PublicURL, Subject: "usr_test", Audience: []string{e.Config.Audience()},
		Expiry: expires.Unix(), IssuedAt: e.Clock.Now().Unix(), ID: jti, ClientID: "guichet", SessionID: sessionID}
	jwt, err = e.Config.JWTKeys.Sign(c, signing.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return jwt, token.Hash(jti)
}
