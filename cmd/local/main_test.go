package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/permission"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// TestNewcomerFlow does what the README tells a newcomer: start the local
// API, log in with the printed owner, call an authorized endpoint, log out,
// and be refused; then stop it as Ctrl-C would.
func TestNewcomerFlow(t *testing.T) {
	port := freePort(t)
	env := map[string]string{"PORT": port, "LOG_LEVEL": "error"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &out) }()

	base := "http://127.0.0.1:" + port
	var pw string
	for deadline := time.Now().Add(20 * time.Second); pw == "" && time.Now().Before(deadline); {
		for _, line := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "password:" {
				pw = f[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pw == "" || !strings.Contains(out.String(), "owner@demo.example") || !strings.Contains(out.String(), base) {
		t.Fatalf("banner: %s", out.String())
	}

	t.Run("the printed invitation link opens its page", func(t *testing.T) {
		var link string
		for _, f := range strings.Fields(out.String()) {
			if strings.HasPrefix(f, base+"/invite?token=") {
				link = f
			}
		}
		if link == "" {
			t.Fatalf("no invitation link: %s", out.String())
		}
		res, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var page strings.Builder
		io.Copy(&page, res.Body)
		if res.StatusCode != 200 || !strings.Contains(page.String(), "new.colleague@demo.example") {
			t.Fatalf("%d %s", res.StatusCode, page.String())
		}
	})

	call := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v
	}
	// The demo owner belongs to two organizations: the login asks which.
	status, ch := call("POST", "/v1/auth/login", "", fmt.Sprintf(`{"login":"owner@demo.example","password":%q}`, pw))
	if status != 200 || ch["challenge"] != "organization" || len(ch["organizations"].([]any)) != 2 {
		t.Fatalf("login: %d %v", status, ch)
	}
	status, tok := call("POST", "/v1/auth/organization", "", fmt.Sprintf(`{"challenge_token":%q,"organization":"demo"}`, ch["challenge_token"]))
	if status != 200 {
		t.Fatalf("organization: %d %v", status, tok)
	}
	access, _ := tok["access_token"].(string)
	if status, me := call("GET", "/v1/me", access, ""); status != 200 || me["role"] != "owner" {
		t.Fatalf("me: %d %v", status, me)
	}
	if status, _ := call("POST", "/v1/auth/logout", access, ""); status != 204 {
		t.Fatalf("logout: %d", status)
	}
	if status, p := call("GET", "/v1/me", access, ""); status != 401 || p["code"] != "invalid_token" {
		t.Fatalf("after logout: %d %v", status, p)
	}
	if status, mail := call("GET", "/_local/mail.json", "", ""); status != 200 && mail != nil {
		t.Fatalf("mail list: %d", status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestLocalOwnerOverrides(t *testing.T) {
	port := freePort(t)
	env := map[string]string{"PORT": port, "LOG_LEVEL": "error",
		"LOCAL_OWNER_EMAIL": "me@example.org", "LOCAL_OWNER_PASSWORD": "my-own-password-1"}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &out) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "Stop with"); {
		if time.Now().After(deadline) {
			t.Fatal("no banner")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "me@example.org") || !strings.Contains(out.String(), "my-own-password-1") {
		t.Fatalf("banner: %s", out.String())
	}
	res, err := http.Post("http://127.0.0.1:"+port+"/v1/auth/login", "application/json",
		strings.NewReader(`{"login":"me@example.org","password":"my-own-password-1"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", res, err)
	}
}

func TestMakeRunDeclaresDemoPermissionsUnlessTheEnvironmentDoes(t *testing.T) {
	for _, tc := range []struct {
		app  string
		want []string
	}{
		{"", []string{"projects:read", "projects:write", "invoices:read"}},
		{`[{"name": "tickets:read", "description": {"en": "See tickets"}}]`, []string{"tickets:read"}},
		{"[]", []string{}},
	} {
		cfg, err := localConfig(func(k string) string { return map[string]string{"APP_PERMISSIONS": tc.app}[k] }, "127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		if got := permission.Strings(cfg.Permissions.Application()); !slices.Equal(got, tc.want) {
			t.Errorf("APP_PERMISSIONS=%q: %v", tc.app, got)
		}
	}
}

// TestGatewayOptions: APP_UPSTREAM and APP_ROUTES go together, a bad
// upstream or TTL stops the start, and the banner names the embedded
// DynamoDB with the command that writes to it.
func TestGatewayOptions(t *testing.T) {
	routes := `[{"method":"GET","path":"/projects/{id}","access":"permission","permission":"users:read"},
		{"method":"GET","path":"/reports","access":"authenticated","mode":"fast"}]`
	parse := func(env map[string]string) error {
		cfg, err := localConfig(func(k string) string { return env[k] }, "127.0.0.1:8080")
		if err != nil {
			return err
		}
		_, err = gatewayOptions(func(k string) string { return env[k] }, cfg)
		return err
	}
	for name, env := range map[string]map[string]string{
		"routes without upstream": {"APP_ROUTES": routes},
		"upstream without routes": {"APP_UPSTREAM": "http://127.0.0.1:3000"},
		"upstream not a URL":      {"APP_ROUTES": routes, "APP_UPSTREAM": "127.0.0.1:3000"},
		"a bad TTL":               {"AUTHORIZER_CACHE_TTL_SECONDS": "-1"},
		"a Guichet path":          {"APP_ROUTES": `[{"method":"GET","path":"/v1/me","access":"public"}]`, "APP_UPSTREAM": "http://127.0.0.1:3000"},
		"a fast public route":     {"APP_ROUTES": `[{"method":"GET","path":"/s","access":"public","mode":"fast"}]`, "APP_UPSTREAM": "http://127.0.0.1:3000"},
	} {
		if err := parse(env); err == nil {
			t.Errorf("%s: started", name)
		}
	}
	env := map[string]string{"APP_ROUTES": routes, "APP_UPSTREAM": "http://127.0.0.1:3000", "CORS_ORIGINS": "http://a.example, http://b.example"}
	cfg, err := localConfig(func(k string) string { return env[k] }, "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	o, err := gatewayOptions(func(k string) string { return env[k] }, cfg)
	if err != nil || o.Upstream.String() != "http://127.0.0.1:3000" || len(o.CORSOrigins) != 2 {
		t.Fatalf("%+v %v", o, err)
	}
	cfg.DynamoDBEndpoint = "http://127.0.0.1:4567"
	b := extras(cfg, o)
	for _, want := range []string{"DYNAMODB_ENDPOINT=http://127.0.0.1:4567 TABLE_NAME=guichet PUBLIC_URL=http://127.0.0.1:8080 go run ./cmd/guichet org create", "/projects/{id}  (users:read)", "/reports  (authenticated, fast: "} {
		if !strings.Contains(b, want) {
			t.Errorf("banner without %q:\n%s", want, b)
		}
	}
}
