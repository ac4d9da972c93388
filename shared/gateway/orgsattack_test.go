package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/route"
)

// TestAnOrganizationCannotTakeOverAPersonByAResetLink: beta's owner may
// not get a reset link to copy for ann, a member of acme too: with it, it
// would set the person's password and sign in to acme as ann.
func TestAnOrganizationCannotTakeOverAPersonByAResetLink(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	before := e.Scan(t)
	if p := e.Do("POST", "/v1/users/"+o.annBeta+"/password-reset", o.betaOwner, map[string]any{}).Problem(t, 409); p.Code != "person_shared" {
		t.Fatal(p.Code)
	}
	if d := diff(before, e.Scan(t)); d != "" {
		t.Fatalf("a refused reset link wrote:\n%s", d)
	}
	// Mailed, the link reaches the person only: the answer holds none.
	var out struct {
		Link     string `json:"link"`
		MailSent bool   `json:"mail_sent"`
	}
	r := e.Do("POST", "/v1/users/"+o.annBeta+"/password-reset", o.betaOwner, map[string]any{"send_email": true})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r.Decode(t, &out)
	if out.Link != "" || !out.MailSent {
		t.Fatalf("%+v", out)
	}
	if m := e.LastMail(t, o.annEmail); !strings.Contains(m.Text, "/reset?token=") {
		t.Fatalf("no link mailed: %s", m.Text)
	}
	// A person of one organization still gets a link to copy.
	bob := e.AddUser(t, "bob@acme.example", "member")
	r = e.Do("POST", "/v1/users/"+bob.ID+"/password-reset", o.acmeOwner, map[string]any{})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r.Decode(t, &out)
	if out.Link == "" {
		t.Fatal("no link to copy for a person of one organization")
	}
}

// TestJoiningKeepsTheInvitationsUnitKinds: an existing person accepting an
// invitation gets the units of the kinds it gives, as a new account does.
func TestJoiningKeepsTheInvitationsUnitKinds(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "owner@acme.example", "role": "member", "unit_kinds": []string{"site"}})
	tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": apitest.LinkToken(t, inv["link"].(string)), "password": apitest.OwnerPassword}), 200, "join")
	_, id := meOf(t, e, tok.AccessToken)
	var u struct {
		UnitKinds []string `json:"unit_kinds"`
	}
	e.Do("GET", "/v1/users/"+id, o.betaOwner, nil).Decode(t, &u)
	if len(u.UnitKinds) != 1 || u.UnitKinds[0] != "site" {
		t.Fatalf("unit kinds of the joined membership: %v", u.UnitKinds)
	}
}

// TestOrganizationChallengeIsAnsweredOnce: 20 answers of one organization
// challenge at once open one session; it names ann's memberships only.
func TestOrganizationChallengeIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	ch := apitest.Want[challenge](t, o.login(t, map[string]string{}), 200, "login")
	if ch.Challenge != "organization" {
		t.Fatalf("%+v", ch)
	}
	// Not for an organization ann is no member of, and without using it up.
	for _, org := range []string{"acme-x", e.Org.Org.ID + "x", ""} {
		r := e.Do("POST", "/v1/auth/organization", "", map[string]string{"challenge_token": ch.ChallengeToken, "organization": org})
		if r.Status < 400 {
			t.Fatalf("%q: %d %s", org, r.Status, r.Body)
		}
	}
	// Not at another step's route.
	if r := e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": "123456"}); r.Status < 400 {
		t.Fatalf("mfa: %d %s", r.Status, r.Body)
	}
	var wg sync.WaitGroup
	status := make([]int, 20)
	for i := range status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			org := "acme"
			if i%2 == 1 {
				org = "beta"
			}
			status[i] = e.Do("POST", "/v1/auth/organization", "", map[string]string{"challenge_token": ch.ChallengeToken, "organization": org}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range status {
		if s == 200 {
			ok++
		} else if s != 401 && s != 409 {
			t.Fatalf("an answer: %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d answers opened a session: %v", ok, status)
	}
}

// TestAnExistingPersonJoinsOnce: 20 acceptances of one invitation by an
// existing person at once, with its password or with a session of its,
// make one membership.
func TestAnExistingPersonJoinsOnce(t *testing.T) {
	t.Parallel()
	t.Run("with the password", func(t *testing.T) {
		t.Parallel()
		joinsOnce(t, func(e *apitest.Env) func(tok string) int {
			return func(tok string) int {
				return e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": apitest.OwnerPassword}).Status
			}
		})
	})
	t.Run("with a session", func(t *testing.T) {
		t.Parallel()
		joinsOnce(t, func(e *apitest.Env) func(tok string) int {
			owner := e.LoginOwner(t).AccessToken
			return func(tok string) int {
				return e.Do("POST", "/v1/invitations/accept", owner, map[string]string{"token": tok}).Status
			}
		})
	})
}

func joinsOnce(t *testing.T, way func(e *apitest.Env) func(tok string) int) {
	o := newTwoOrgs(t)
	e := o.e
	accept := way(e)
	inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "owner@acme.example", "role": "member", "all_units": true})
	tok := apitest.LinkToken(t, inv["link"].(string))
	var wg sync.WaitGroup
	status := make([]int, 20)
	for i := range status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = accept(tok)
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range status {
		if s == 200 {
			ok++
		} else if s < 400 || s >= 500 {
			t.Fatalf("an acceptance: %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d acceptances: %v", ok, status)
	}
	ch := apitest.Want[challenge](t, e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}), 200, "login")
	if ch.Challenge != "organization" || len(ch.Organizations) != 2 {
		t.Fatalf("%+v", ch)
	}
	var list struct {
		Items []struct {
			Email string `json:"email"`
		} `json:"items"`
	}
	e.Do("GET", "/v1/users?limit=100", o.betaOwner, nil).Decode(t, &list)
	n := 0
	for _, u := range list.Items {
		if u.Email == "owner@acme.example" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d memberships of the person in beta", n)
	}
}

// TestNoPrincipalHeaderLookAlikeReachesTheApplication: a client's header
// whose name an upstream server reads as the principal's (CGI and WSGI
// servers turn - and _ alike into HTTP_X_GUICHET_PRINCIPAL, and some keep
// it as sent) does not reach the application.
func TestNoPrincipalHeaderLookAlikeReachesTheApplication(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	got := make(chan http.Header, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	defer app.Close()
	gw := front(t, e, app.URL, gateway.Options{})
	forged := spoofed(t, e.Org.Org.ID)
	for _, name := range []string{"X_Guichet_Principal", "x_guichet-principal", "X-Guichet_Principal"} {
		if r := call(t, "GET", gw.URL+"/status", "", map[string]string{name: forged}, ""); r.status != 200 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		for k := range <-got {
			if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), access.Header) {
				t.Fatalf("sent %s, the application got %s", name, k)
			}
		}
	}
}

// TestAnOrganizationCannotCreateAMembershipOfAPerson: beta creating (or
// importing) a user with the login of a person of acme makes no
// membership of that person: only the person's own acceptance of an
// invitation, with its password, does.
func TestAnOrganizationCannotCreateAMembershipOfAPerson(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	before := e.Scan(t)
	r := e.Do("POST", "/v1/users", o.betaOwner, map[string]any{"email": "owner@acme.example", "first_name": "O", "last_name": "W",
		"role": "member", "all_units": true, "password": "a-fine-password-7"})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if d := diff(before, e.Scan(t)); d != "" {
		t.Fatalf("a refused creation wrote:\n%s", d)
	}
	if p := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": "a-fine-password-7"}).Problem(t, 401); p.Code != "invalid_credentials" {
		t.Fatal(p.Code)
	}
}

// TestAnEncodedSlashDoesNotDodgeAnApplicationRoute: /admin%2Fx is the
// upstream's /admin/x: it is not let in by a public catch-all route while
// /admin/{proxy+} needs a permission.
func TestAnEncodedSlashDoesNotDodgeAnApplicationRoute(t *testing.T) {
	t.Parallel()
	routes := []route.AppRoute{
		{Method: "GET", Path: "/admin/{proxy+}", Access: route.Permission, Permission: "users:write"},
		{Method: "GET", Path: "/{proxy+}", Access: route.Public},
	}
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = routes })
	var calls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer app.Close()
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.NewWith(e.Functions, e.Authorizer, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now,
		gateway.Options{App: routes, Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	if r := call(t, "GET", srv.URL+"/about", "", nil, ""); r.status != 200 {
		t.Fatalf("public: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/admin/x", "/admin%2Fx", "/admin%2fx"} {
		before := calls.Load()
		if r := call(t, "GET", srv.URL+p, "", nil, ""); r.status < 400 || calls.Load() != before {
			t.Fatalf("%s: %d, the application ran", p, r.status)
		}
	}
}

// TestJoiningAnOrganizationRequiringTwoStepVerification: an existing
// person joining an organization that requires two-step verification of
// its role is asked to set it up before any session of the membership.
func TestJoiningAnOrganizationRequiringTwoStepVerification(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	if r := e.Do("PATCH", "/v1/organization", o.betaOwner, map[string]any{"mfa_required_for": []string{"member"}}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "owner@acme.example", "role": "member", "all_units": true})
	ch := apitest.Want[challenge](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": apitest.LinkToken(t, inv["link"].(string)), "password": apitest.OwnerPassword}), 200, "join")
	if ch.Challenge != "mfa_enrollment" || ch.ChallengeToken == "" {
		t.Fatalf("%+v", ch)
	}
	// Switching there from acme asks the same.
	acme := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/login", "", map[string]string{
		"login": "owner@acme.example", "password": apitest.OwnerPassword, "organization": "acme"}), 200, "login")
	ch = apitest.Want[challenge](t, e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
	if ch.Challenge != "mfa_enrollment" {
		t.Fatalf("%+v", ch)
	}
}

// TestADeactivatedMembershipOpensNothing: once beta deactivates ann's
// membership, no login, choice or switch reaches beta, and acme goes on.
func TestADeactivatedMembershipOpensNothing(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	ch := apitest.Want[challenge](t, o.login(t, map[string]string{}), 200, "login")
	acme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "acme"}), 200, "login")
	if r := e.Do("POST", "/v1/users/"+o.annBeta+"/status", o.betaOwner, map[string]any{"status": "inactive"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if p := o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
		t.Fatal(p.Code)
	}
	if p := e.Do("POST", "/v1/auth/organization", "", map[string]string{"challenge_token": ch.ChallengeToken, "organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
		t.Fatal(p.Code)
	}
	if p := e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
		t.Fatal(p.Code)
	}
	// Without a choice left, a login opens acme.
	tok := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{}), 200, "login")
	if _, user := meOf(t, e, tok.AccessToken); user != o.annAcme {
		t.Fatal(user)
	}
}
