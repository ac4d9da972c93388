package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
)

// One Chromium for the whole test binary, started by the first test that
// needs it; each test gets its own browser context (its own cookies).
var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.cancel != nil {
		chrome.cancel()
	}
	os.Exit(code)
}

func chromium() string {
	if p := os.Getenv("GUICHET_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func startChrome() {
	path := chromium()
	if _, err := os.Stat(path); err != nil {
		chrome.err = fmt.Errorf("Chromium is not installed at %s: these browser tests need it "+
			"(apt-get install -y chromium, as .ci/run does; or set GUICHET_CHROMIUM)", path)
		return
	}
	dir, err := os.MkdirTemp("", "guichet-chromium-")
	if err != nil {
		chrome.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1024, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	chrome.ctx = ctx
	chrome.cancel = func() { cancelBrowser(); cancelAlloc(); os.RemoveAll(dir) }
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		chrome.err = fmt.Errorf("start %s: %w", path, err)
	}
}

// tab returns a fresh browser context (a new incognito-like profile and
// tab) for t, with a deadline.
func tab(t *testing.T) context.Context {
	t.Helper()
	chrome.once.Do(startChrome)
	if chrome.err != nil {
		t.Fatal(chrome.err)
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// stack starts the whole of Guichet on a loopback port, its links pointing
// at it, and returns it with its base URL.
func stack(t *testing.T) (*apitest.Env, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	e := apitest.New(t, func(c *config.Config) { c.PublicURL = base })
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return e, base
}

// api calls the JSON API over HTTP and decodes its answer into out.
func api(t *testing.T, method, url, token string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

func ownerToken(t *testing.T, e *apitest.Env, base string) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	api(t, "POST", base+"/v1/auth/login", "", map[string]string{"login": e.Org.Owner.Email, "password": apitest.OwnerPassword}, &tok)
	return tok.AccessToken
}

// mailLink reads the local outbox over HTTP, as a person would look at
// their mail, and returns the first link of the newest mail to address.
func mailLink(t *testing.T, base, address string) string {
	t.Helper()
	var msgs []struct {
		To    []string `json:"to"`
		Links []string `json:"links"`
	}
	res, err := http.Get(base + "/_local/mail.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs { // newest first
		if slices.Contains(m.To, address) && len(m.Links) > 0 {
			return m.Links[0]
		}
	}
	t.Fatalf("no mail with a link to %s", address)
	return ""
}

const submit = `button[type="submit"]`

// signedIn waits for the signed-in page and returns its message.
func signedIn(t *testing.T, ctx context.Context) string {
	t.Helper()
	var msg string
	if err := chromedp.Run(ctx, chromedp.WaitVisible("#continue", chromedp.ByID), chromedp.Text("#message", &msg, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	return msg
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("GUICHET_SCREENSHOTS") // to look at them; a temporary directory otherwise
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

func TestAcceptingAnInvitationInABrowser(t *testing.T) {
	e, base := stack(t)
	ctx := tab(t)
	api(t, "POST", base+"/v1/invitations", ownerToken(t, e, base), map[string]string{"email": "ada@acme.example", "role": "member"}, nil)
	link := mailLink(t, base, "ada@acme.example")

	var invited, accent string
	err := chromedp.Run(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#first_name", chromedp.ByID),
		chromedp.Text("#invite-email", &invited, chromedp.ByID),
		// The stylesheet loads under the CSP: the button has its colour.
		chromedp.Evaluate(`getComputedStyle(document.querySelector('button')).backgroundColor`, &accent),
		chromedp.SendKeys("#first_name", "Ada", chromedp.ByID),
		chromedp.SendKeys("#last_name", "Lovelace", chromedp.ByID),
		chromedp.SendKeys("#password", "analytical-engine-1843", chromedp.ByID),
		chromedp.SendKeys("#confirm", "analytical-engine-1843", chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if invited != "ada@acme.example" || accent != "rgb(31, 95, 191)" {
		t.Fatalf("invited %q, button colour %q", invited, accent)
	}
	if msg := signedIn(t, ctx); msg != "You are signed in as Ada Lovelace (ada@acme.example)." {
		t.Fatalf("message %q", msg)
	}
	screenshot(t, ctx, "signed-in.png")

	var cookies []*network.Cookie
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithUrls([]string{base}).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies {
		if c.Name == "guichet_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v", session)
	}
	var me map[string]any
	api(t, "GET", base+"/v1/me", session.Value, nil, &me)
	if me["email"] != "ada@acme.example" {
		t.Fatalf("the cookie's token is not Ada's: %v", me)
	}
}

func TestForgottenPasswordInABrowser(t *testing.T) {
	e, base := stack(t)
	ctx := tab(t)
	owner := e.Org.Owner.Email
	var done string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login?lang=fr"),
		chromedp.WaitVisible(`a[href="/forgot?lang=fr"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/forgot?lang=fr"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", owner, chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible("#message", chromedp.ByID),
		chromedp.Text("h1", &done, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if done != "Consultez vos e-mails" {
		t.Fatalf("heading %q", done)
	}
	link := mailLink(t, base, owner)
	err = chromedp.Run(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", "a-brand-new-password", chromedp.ByID),
		chromedp.SendKeys("#confirm", "a-brand-new-password", chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible("#continue", chromedp.ByID),
		chromedp.Click("#continue", chromedp.ByID), // "Sign in"
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.SendKeys("#login", owner, chromedp.ByID),
		chromedp.SendKeys("#password", "a-brand-new-password", chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if msg := signedIn(t, ctx); !strings.Contains(msg, "owner@acme.example") {
		t.Fatalf("message %q", msg)
	}
	screenshot(t, ctx, "signed-in-after-reset.png")
}

func TestFirstLoginWithAPasswordChangeInABrowser(t *testing.T) {
	e, base := stack(t)
	ctx := tab(t)
	api(t, "POST", base+"/v1/users", ownerToken(t, e, base), map[string]any{"username": "jdoe", "password": "481937",
		"first_name": "Jo", "last_name": "Doe", "role": "member"}, nil)
	var intro string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login?lang=nl"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.SendKeys("#login", "jdoe", chromedp.ByID),
		chromedp.SendKeys("#password", "481937", chromedp.ByID),
		chromedp.SendKeys("#organization", "acme", chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible("#new_password", chromedp.ByID),
		chromedp.Text("h1 + p", &intro, chromedp.ByQuery),
		chromedp.SendKeys("#new_password", "864213", chromedp.ByID),
		chromedp.SendKeys("#confirm", "864213", chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(intro, "nieuw wachtwoord") {
		t.Fatalf("step intro %q", intro)
	}
	if msg := signedIn(t, ctx); msg != "U bent aangemeld als Jo Doe (jdoe)." {
		t.Fatalf("message %q", msg)
	}
	screenshot(t, ctx, "signed-in-after-step.png")
}

// TestChoosingAnOrganizationInABrowser: a person of two organizations
// signs in and picks one of the buttons of the organization step, each
// with its organization's name and code, and the logo of the one that has
// one, loaded by the page.
func TestChoosingAnOrganizationInABrowser(t *testing.T) {
	e, base := stack(t)
	ctx := tab(t)
	if _, _, err := e.Stack.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword); err != nil {
		t.Fatal(err)
	}
	var beta struct {
		AccessToken string `json:"access_token"`
	}
	api(t, "POST", base+"/v1/auth/login", "", map[string]string{"login": "owner@beta.example", "password": apitest.OwnerPassword}, &beta)
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
	req, _ := http.NewRequest("PUT", base+"/v1/organization/logo", strings.NewReader(png))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+beta.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("put logo: %v %v", err, res)
	}
	res.Body.Close()
	var inv struct {
		Link string `json:"link"`
	}
	api(t, "POST", base+"/v1/invitations", beta.AccessToken, map[string]any{"email": e.Org.Owner.Email, "role": "member"}, &inv)
	api(t, "POST", base+"/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, inv.Link), "password": apitest.OwnerPassword}, nil)

	var labels []string
	var logos, loaded, codeFields int
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.SendKeys("#login", e.Org.Owner.Email, chromedp.ByID),
		chromedp.SendKeys("#password", apitest.OwnerPassword, chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible("button.choice", chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("button.choice")].map(b => b.textContent.trim())`, &labels),
		chromedp.Poll(`[...document.images].every(i => i.complete)`, nil),
		chromedp.Evaluate(`document.querySelectorAll("button.choice img").length`, &logos),
		chromedp.Evaluate(`[...document.querySelectorAll("button.choice img")].filter(i => i.naturalWidth > 0).length`, &loaded),
		chromedp.Evaluate(`document.querySelectorAll("#organization").length`, &codeFields),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 2 || !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "Beta") && strings.Contains(l, "beta") }) ||
		!slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "acme") }) {
		t.Fatalf("choices %q", labels)
	}
	if logos != 1 || loaded != 1 {
		t.Fatalf("%d logos, %d loaded", logos, loaded)
	}
	if codeFields != 0 {
		t.Fatal("a code field is shown too")
	}
	screenshot(t, ctx, "organization-step.png")
	if err := chromedp.Run(ctx, chromedp.Click(`button.choice[value="`+orgID(t, beta.AccessToken, base)+`"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if msg := signedIn(t, ctx); !strings.Contains(msg, e.Org.Owner.Email) {
		t.Fatalf("message %q", msg)
	}
}

// orgID is the id of the organization of an access token.
func orgID(t *testing.T, tok, base string) string {
	var org struct {
		ID string `json:"id"`
	}
	api(t, "GET", base+"/v1/organization", tok, nil, &org)
	return org.ID
}
