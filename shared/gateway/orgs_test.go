package gateway_test

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
)

// twoOrgs is acme (seeded) and beta, and a person ann who is a member of
// acme (an admin) and, by accepting beta's invitation with her acme
// password, of beta (a member).
type twoOrgs struct {
	e                     *apitest.Env
	acmeOwner, betaOwner  string // access tokens
	betaID                string
	annAcme, annBeta      string // ann's user ids
	annEmail, annPassword string
}

func newTwoOrgs(t *testing.T) *twoOrgs {
	t.Helper()
	e := apitest.New(t)
	beta, _, err := e.Stack.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword)
	if err != nil {
		t.Fatal(err)
	}
	o := &twoOrgs{e: e, acmeOwner: e.LoginOwner(t).AccessToken, betaID: beta.Org.ID,
		annEmail: "ann@acme.example", annPassword: apitest.UserPassword}
	o.betaOwner = e.Login(t, "owner@beta.example", apitest.OwnerPassword).AccessToken
	ann := e.AddUser(t, o.annEmail, "admin")
	o.annAcme = ann.ID
	inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "Ann@acme.example", "role": "member", "all_units": true})
	tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": apitest.LinkToken(t, inv["link"].(string)), "password": o.annPassword}), 200, "join beta")
	var me struct {
		ID string `json:"id"`
	}
	e.Do("GET", "/v1/me", tok.AccessToken, nil).Decode(t, &me)
	o.annBeta = me.ID
	if o.annBeta == "" || o.annBeta == o.annAcme {
		t.Fatalf("ann's beta membership: %q", o.annBeta)
	}
	return o
}

// challenge is an answer of POST /v1/auth/login that asks a step.
type challenge struct {
	Challenge      string `json:"challenge"`
	ChallengeToken string `json:"challenge_token"`
	Organizations  []struct {
		ID, Code, Name string
	} `json:"organizations"`
}

func (o *twoOrgs) login(t *testing.T, body map[string]string) *apitest.Response {
	t.Helper()
	if body["login"] == "" {
		body["login"], body["password"] = o.annEmail, o.annPassword
	}
	return o.e.Do("POST", "/v1/auth/login", "", body)
}

// meOf returns the organization and user an access token is of.
func meOf(t *testing.T, e *apitest.Env, tok string) (org, user string) {
	t.Helper()
	var me struct {
		ID           string `json:"id"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}
	r := e.Do("GET", "/v1/me", tok, nil)
	if r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &me)
	return me.Organization.ID, me.ID
}

func TestAPersonOfTwoOrganizationsChoosesAtLogin(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	t.Run("the login asks which organization, listing both", func(t *testing.T) {
		ch := apitest.Want[challenge](t, o.login(t, map[string]string{}), 200, "login")
		if ch.Challenge != "organization" || len(ch.Organizations) != 2 {
			t.Fatalf("%+v", ch)
		}
		codes := []string{ch.Organizations[0].Code, ch.Organizations[1].Code}
		if !(strings.Contains(strings.Join(codes, ","), "acme") && strings.Contains(strings.Join(codes, ","), "beta")) {
			t.Fatalf("codes %v", codes)
		}
		tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/organization", "", map[string]string{
			"challenge_token": ch.ChallengeToken, "organization": "beta"}), 200, "choose")
		if _, user := meOf(t, e, tok.AccessToken); user != o.annBeta {
			t.Fatalf("signed in as %s, want beta's %s", user, o.annBeta)
		}
		// The challenge works once.
		if p := e.Do("POST", "/v1/auth/organization", "", map[string]string{
			"challenge_token": ch.ChallengeToken, "organization": "acme"}).Problem(t, 401); p.Code != "invalid_token" {
			t.Fatal(p.Code)
		}
	})
	t.Run("organization in the login body picks directly, by code or id", func(t *testing.T) {
		for org, want := range map[string]string{"acme": o.annAcme, o.betaID: o.annBeta} {
			tok := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": org}), 200, "pick")
			if _, user := meOf(t, e, tok.AccessToken); user != want {
				t.Fatalf("%s: signed in as %s, want %s", org, user, want)
			}
		}
	})
	t.Run("an organization the person is no member of is refused", func(t *testing.T) {
		if _, _, err := e.Stack.Seed(context.Background(), "Gamma", "gamma", "owner@gamma.example", apitest.OwnerPassword); err != nil {
			t.Fatal(err)
		}
		if p := o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "gamma"}).Problem(t, 403); p.Code != "no_membership" {
			t.Fatal(p.Code)
		}
		ch := apitest.Want[challenge](t, o.login(t, map[string]string{}), 200, "login")
		if p := e.Do("POST", "/v1/auth/organization", "", map[string]string{
			"challenge_token": ch.ChallengeToken, "organization": "gamma"}).Problem(t, 403); p.Code != "no_membership" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a wrong password gets the same answer whatever the memberships", func(t *testing.T) {
		several := o.login(t, map[string]string{"login": o.annEmail, "password": "wrong-password-123"}).Problem(t, 401)
		unknown := o.login(t, map[string]string{"login": "nobody@acme.example", "password": "wrong-password-123"}).Problem(t, 401)
		picked := o.login(t, map[string]string{"login": o.annEmail, "password": "wrong-password-123", "organization": "gamma"}).Problem(t, 401)
		if several.Code != "invalid_credentials" || unknown.Code != several.Code || picked.Code != several.Code || several.Detail != unknown.Detail {
			t.Fatalf("%+v / %+v / %+v", several, unknown, picked)
		}
	})
	t.Run("a deactivated membership is not offered; the other one opens directly", func(t *testing.T) {
		if r := e.Do("POST", "/v1/users/"+o.annBeta+"/status", o.betaOwner, map[string]string{"status": "inactive"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		tok := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{}), 200, "login")
		if _, user := meOf(t, e, tok.AccessToken); user != o.annAcme {
			t.Fatalf("signed in as %s", user)
		}
		if p := o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
			t.Fatal(p.Code)
		}
		if r := e.Do("POST", "/v1/users/"+o.annBeta+"/status", o.betaOwner, map[string]string{"status": "active"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestSwitchingOrganizations(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	acme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "acme"}), 200, "login")
	t.Run("a session switches to the other organization without the password", func(t *testing.T) {
		tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
		org, user := meOf(t, e, tok.AccessToken)
		if org != o.betaID || user != o.annBeta {
			t.Fatalf("switched to %s %s", org, user)
		}
		if !strings.Contains(strings.Join(auditActions(t, e, o.betaOwner), "\n"), "session.switch user:"+o.annBeta) {
			t.Fatal("the switch is not in beta's audit trail")
		}
		// The acme session goes on.
		if _, user := meOf(t, e, acme.AccessToken); user != o.annAcme {
			t.Fatal(user)
		}
	})
	t.Run("a token of beta acts on beta only", func(t *testing.T) {
		tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
		// ann is an admin in acme, a member in beta: acme's ids are not
		// reachable with beta's token, nor with beta's permissions.
		for _, path := range []string{"/v1/users/" + o.annAcme, "/v1/users/" + e.Org.Owner.ID} {
			if r := e.Do("GET", path, tok.AccessToken, nil); r.Status != 403 && r.Status != 404 {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
		}
	})
	t.Run("no switch to an organization without a membership", func(t *testing.T) {
		before := e.Scan(t)
		for _, org := range []string{"gamma-none", e.Org.Org.ID + "x"} {
			if p := e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": org}).Problem(t, 403); p.Code != "no_membership" {
				t.Fatal(p.Code)
			}
		}
		// The owner of acme is in no other organization.
		if p := e.Do("POST", "/v1/auth/switch", o.acmeOwner, map[string]string{"organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
			t.Fatal(p.Code)
		}
		if d := diff(before, e.Scan(t)); d != "" {
			t.Fatalf("a refused switch wrote:\n%s", d)
		}
	})
	t.Run("an organization requiring two-step verification asks it first", func(t *testing.T) {
		if r := e.Do("PATCH", "/v1/organization", o.betaOwner, map[string]any{"mfa_required_for": []string{"member"}}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		ch := apitest.Want[challenge](t, e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
		if ch.Challenge != "mfa_enrollment" {
			t.Fatalf("%+v", ch)
		}
		// Ann turns it on (in acme: it is the person's): the acme session,
		// which proved no code, is asked the code by beta.
		secret := enrollTOTP(t, e, acme.AccessToken, o.annPassword)
		ch = apitest.Want[challenge](t, e.Do("POST", "/v1/auth/switch", acme.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
		if ch.Challenge != "mfa" {
			t.Fatalf("%+v", ch)
		}
		e.Clock.Advance(31 * time.Second)
		code := gotp.NewDefaultTOTP(secret).At(e.Clock.Now().Unix())
		tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code}), 200, "mfa")
		if org, _ := meOf(t, e, tok.AccessToken); org != o.betaID {
			t.Fatal(org)
		}
		// The code was the person's: acme refuses it now.
		ch = apitest.Want[challenge](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "acme"}), 200, "login")
		if ch.Challenge != "mfa" {
			t.Fatalf("%+v", ch)
		}
		if p := e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code}).Problem(t, 403); p.Code != "code_used" {
			t.Fatal(p.Code)
		}
		// A session that proved a code switches straight to beta.
		e.Clock.Advance(31 * time.Second)
		code = gotp.NewDefaultTOTP(secret).At(e.Clock.Now().Unix())
		verified := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code}), 200, "mfa")
		tok = apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/switch", verified.AccessToken, map[string]string{"organization": "beta"}), 200, "switch")
		if org, _ := meOf(t, e, tok.AccessToken); org != o.betaID {
			t.Fatal(org)
		}
	})
}

// TestAPersonsPasswordIsOneAcrossOrganizations: a password changed in one
// organization is the person's: it ends the person's sessions in the
// others, and the new one opens every membership.
func TestAPersonsPasswordIsOneAcrossOrganizations(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	acme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "acme"}), 200, "login")
	beta := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "beta"}), 200, "login")
	if r := e.Do("POST", "/v1/me/password", acme.AccessToken, map[string]string{"current_password": o.annPassword, "new_password": "a-new-password-567"}); r.Status >= 300 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/me", beta.AccessToken, nil); r.Status != 401 {
		t.Fatalf("beta's session after the password change: %d", r.Status)
	}
	if _, user := meOf(t, e, acme.AccessToken); user != o.annAcme {
		t.Fatal("the session that changed the password ended")
	}
	if p := o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "beta"}).Problem(t, 401); p.Code != "invalid_credentials" {
		t.Fatal(p.Code)
	}
	tok := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": "a-new-password-567", "organization": "beta"}), 200, "login")
	if _, user := meOf(t, e, tok.AccessToken); user != o.annBeta {
		t.Fatal(user)
	}
}

// TestDeletingAMembership: deleting a person's user in one organization
// ends that membership and its sessions; the other still logs in, now
// without a choice; the last one takes the person and the login with it.
func TestDeletingAMembership(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	beta := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "beta"}), 200, "login")
	if r := e.Do("DELETE", "/v1/users/"+o.annBeta, o.betaOwner, nil); r.Status >= 300 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if err := e.RunJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := e.Do("GET", "/v1/me", beta.AccessToken, nil); r.Status != 401 {
		t.Fatalf("beta's session after the deletion: %d", r.Status)
	}
	tok := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{}), 200, "login without a choice")
	if _, user := meOf(t, e, tok.AccessToken); user != o.annAcme {
		t.Fatal(user)
	}
	if p := e.Do("POST", "/v1/auth/switch", tok.AccessToken, map[string]string{"organization": "beta"}).Problem(t, 403); p.Code != "no_membership" {
		t.Fatal(p.Code)
	}
	if r := e.Do("DELETE", "/v1/users/"+o.annAcme, o.acmeOwner, nil); r.Status >= 300 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if p := o.login(t, map[string]string{}).Problem(t, 401); p.Code != "invalid_credentials" {
		t.Fatal(p.Code)
	}
	for _, item := range e.Scan(t) {
		if strings.Contains(item, "LOGIN#"+o.annEmail) || strings.Contains(item, "PERSON#"+o.annAcme) {
			t.Fatalf("left behind: %.200s", item)
		}
	}
	// The address is free: beta invites it again, and a new account is made.
	inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": o.annEmail, "role": "member", "all_units": true})
	apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": apitest.LinkToken(t, inv["link"].(string)), "password": "brand-new-password-9", "first_name": "A", "last_name": "N"}), 200, "new account")
}

// TestInvitingAnExistingPerson: the inviter learns nothing of the
// address's other organizations; the invitee joins with its password, not
// a new one, and a wrong one is a wrong login.
func TestInvitingAnExistingPerson(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	known := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "owner@acme.example", "role": "member", "all_units": true})
	unknown := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": "nobody-yet@acme.example", "role": "member", "all_units": true})
	strip := func(m map[string]any) string { return strings.Join(slices.Sorted(maps.Keys(m)), ",") }
	if strip(known) != strip(unknown) || known["status"] != unknown["status"] {
		t.Fatalf("the answers differ: %v / %v", known, unknown)
	}
	same := func(text, email string, inv map[string]any) string {
		text = strings.ReplaceAll(text, apitest.LinkToken(t, inv["link"].(string)), "TOKEN")
		text = strings.ReplaceAll(text, url.QueryEscape(apitest.LinkToken(t, inv["link"].(string))), "TOKEN")
		return strings.ReplaceAll(text, email, "ADDRESS")
	}
	a, b := e.LastMail(t, "owner@acme.example"), e.LastMail(t, "nobody-yet@acme.example")
	if a.Subject != b.Subject || same(a.Text, "owner@acme.example", known) != same(b.Text, "nobody-yet@acme.example", unknown) {
		t.Fatalf("the mails differ:\n%s\n---\n%s", a.Text, b.Text)
	}
	if p := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, known["link"].(string)),
		"password": "not-the-owners-password"}).Problem(t, 401); p.Code != "invalid_credentials" {
		t.Fatal(p.Code)
	}
	tok := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": apitest.LinkToken(t, known["link"].(string)), "password": apitest.OwnerPassword}), 200, "join")
	if org, _ := meOf(t, e, tok.AccessToken); org != o.betaID {
		t.Fatal(org)
	}
	ch := apitest.Want[challenge](t, e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}), 200, "login")
	if ch.Challenge != "organization" || len(ch.Organizations) != 2 {
		t.Fatalf("%+v", ch)
	}
}

// TestOneOrganizationDoesNotActOnAPersonsCredentials: beta's owner cannot
// turn off the two-step verification ann uses in acme too.
func TestOneOrganizationDoesNotActOnAPersonsCredentials(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	acme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"login": o.annEmail, "password": o.annPassword, "organization": "acme"}), 200, "login")
	enrollTOTP(t, e, acme.AccessToken, o.annPassword)
	before := e.Scan(t)
	if p := e.Do("POST", "/v1/users/"+o.annBeta+"/mfa-reset", o.betaOwner, map[string]any{}).Problem(t, 409); p.Code != "person_shared" {
		t.Fatal(p.Code)
	}
	if d := diff(before, e.Scan(t)); d != "" {
		t.Fatalf("a refused reset wrote:\n%s", d)
	}
}

// TestTheOrganizationChallengeListsLogoURLs: each organization of the
// challenge comes with its logo URL, loadable without a session; a guessed
// or stale key, or another organization's id, finds nothing.
func TestTheOrganizationChallengeListsLogoURLs(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
	if r := e.DoHeader("PUT", "/v1/organization/logo", map[string]string{"Authorization": "Bearer " + o.betaOwner, "Content-Type": "image/png"}, png); r.Status != 200 {
		t.Fatalf("put logo: %d %s", r.Status, r.Body)
	}
	var ch struct {
		Organizations []struct {
			ID      string  `json:"id"`
			Code    string  `json:"code"`
			Name    string  `json:"name"`
			LogoURL *string `json:"logo_url"`
		} `json:"organizations"`
	}
	o.login(t, map[string]string{}).Decode(t, &ch)
	var logo string
	for _, c := range ch.Organizations {
		switch c.Code {
		case "beta":
			if c.LogoURL == nil || c.Name != "Beta" || c.ID != o.betaID {
				t.Fatalf("beta listed as %+v", c)
			}
			logo = *c.LogoURL
		case "acme":
			if c.LogoURL != nil {
				t.Fatalf("acme has no logo, listed with %q", *c.LogoURL)
			}
		}
	}
	path, ok := strings.CutPrefix(logo, "http://guichet.test")
	if !ok || !strings.HasPrefix(path, "/v1/organizations/"+o.betaID+"/logo?v=") {
		t.Fatalf("logo URL %q", logo)
	}
	t.Run("the URL loads the logo without a session", func(t *testing.T) {
		r := e.Do("GET", path, "", nil)
		if r.Status != 200 || string(r.Body) != png || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("%d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Fatalf("Cache-Control %q", cc)
		}
	})
	key := path[strings.Index(path, "?v=")+3:]
	acmeID, _ := meOf(t, e, o.acmeOwner)
	for _, c := range []struct{ name, path string }{
		{"without its key", "/v1/organizations/" + o.betaID + "/logo"},
		{"with a wrong key", "/v1/organizations/" + o.betaID + "/logo?v=" + strings.Repeat("0", len(key))},
		{"with its key on another organization", "/v1/organizations/" + acmeID + "/logo?v=" + key},
		{"with its key on an unknown organization", "/v1/organizations/org_nope/logo?v=" + key},
	} {
		t.Run("no logo "+c.name, func(t *testing.T) {
			if p := e.Do("GET", c.path, "", nil).Problem(t, 404); p.Code != "not_found" {
				t.Fatal(p.Code)
			}
		})
	}
	t.Run("a new logo ends the old URL", func(t *testing.T) {
		svg := `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1" height="1"/></svg>`
		if r := e.DoHeader("PUT", "/v1/organization/logo", map[string]string{"Authorization": "Bearer " + o.betaOwner, "Content-Type": "image/svg+xml"}, svg); r.Status != 200 {
			t.Fatalf("put logo: %d %s", r.Status, r.Body)
		}
		e.Do("GET", path, "", nil).Problem(t, 404)
	})
}

// TestWrongCodesCountOnThePerson: the secret of two-step verification is
// the person's, so are its tries: wrong codes spent in one organization
// leave none in the other.
func TestWrongCodesCountOnThePerson(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	acme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"organization": "acme"}), 200, "login")
	enrollTOTP(t, e, acme.AccessToken, o.annPassword)
	challengeIn := func(org string) string {
		t.Helper()
		ch := apitest.Want[challenge](t, o.login(t, map[string]string{"organization": org}), 200, "login "+org)
		if ch.Challenge != "mfa" {
			t.Fatalf("%+v", ch)
		}
		return ch.ChallengeToken
	}
	// Beta's membership is not the person's first: its id is not the
	// person's, and wrong codes there used to count on it alone.
	wrong := 0
	for ; wrong < 50; wrong++ {
		r := e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": challengeIn("beta"), "code": "000000"})
		if r.Status == 429 {
			break
		}
		if p := r.Problem(t, 403); p.Code != "invalid_code" {
			t.Fatal(p.Code)
		}
	}
	if wrong == 0 || wrong == 50 {
		t.Fatalf("%d wrong codes before the lock", wrong)
	}
	if p := e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": challengeIn("acme"), "code": "000000"}).Problem(t, 429); p.Code != "too_many_codes" {
		t.Fatal(p.Code)
	}
}

// TestAcceptingAnInvitationWithASession: an existing person accepts an
// invitation with a session of its own, in any of its organizations, and
// no password; anyone else's credential is refused, and nothing is
// written.
func TestAcceptingAnInvitationWithASession(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	gamma, _, err := e.Stack.Seed(context.Background(), "Gamma", "gamma", "owner@gamma.example", apitest.OwnerPassword)
	if err != nil {
		t.Fatal(err)
	}
	gammaOwner := e.Login(t, "owner@gamma.example", apitest.OwnerPassword).AccessToken
	// Ann is a person of acme and beta; the invitation is gamma's.
	inv := created(t, e, gammaOwner, "/v1/invitations", map[string]any{"email": o.annEmail, "role": "member", "all_units": true})
	tok := apitest.LinkToken(t, inv["link"].(string))
	accept := func(bearer string, body map[string]string) *apitest.Response {
		body["token"] = tok
		return e.Do("POST", "/v1/invitations/accept", bearer, body)
	}
	ann := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"organization": "beta"}), 200, "ann in beta")
	annAcme := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"organization": "acme"}), 200, "ann in acme")
	key := created(t, e, annAcme.AccessToken, "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal",
		"current_password": o.annPassword, "scopes": []string{"users:read"}})
	refused := []struct {
		name, bearer string
		status       int
		code         string
	}{
		{"another person's session", o.acmeOwner, 403, "not_invited_person"},
		{"the session of the organization's own owner", gammaOwner, 403, "not_invited_person"},
		{"the person's own API key", key["key"].(string), 403, "not_invited_person"},
		{"a refresh token", ann.RefreshToken, 401, "invalid_token"},
		{"a made-up token", "gsn_" + strings.Repeat("A", 43), 401, "invalid_token"},
	}
	for _, c := range refused {
		t.Run(c.name+" is refused", func(t *testing.T) {
			if p := accept(c.bearer, map[string]string{}).Problem(t, c.status); p.Code != c.code {
				t.Fatal(p.Code)
			}
		})
	}
	t.Run("a session and a password together are refused", func(t *testing.T) {
		if p := accept(ann.AccessToken, map[string]string{"password": o.annPassword}).Problem(t, 422); p.Code != "validation_failed" {
			t.Fatal(p.Code)
		}
	})
	t.Run("after a logout, the session is refused", func(t *testing.T) {
		gone := apitest.Want[apitest.Tokens](t, o.login(t, map[string]string{"organization": "acme"}), 200, "ann in acme")
		if r := e.Do("POST", "/v1/auth/logout", gone.AccessToken, nil); r.Status != 204 {
			t.Fatal(r.Status)
		}
		if p := accept(gone.AccessToken, map[string]string{}).Problem(t, 401); p.Code != "invalid_token" {
			t.Fatal(p.Code)
		}
	})
	var list struct {
		Items []struct {
			Email string `json:"email"`
		} `json:"items"`
	}
	e.Do("GET", "/v1/users?limit=100", gammaOwner, nil).Decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("gamma has %d users after the refusals", len(list.Items))
	}
	t.Run("the person's session of another organization accepts it", func(t *testing.T) {
		tok := apitest.Want[apitest.Tokens](t, accept(ann.AccessToken, map[string]string{}), 200, "accept")
		if org, _ := meOf(t, e, tok.AccessToken); org != gamma.Org.ID {
			t.Fatal(org)
		}
		ch := apitest.Want[challenge](t, o.login(t, map[string]string{}), 200, "login")
		if ch.Challenge != "organization" || len(ch.Organizations) != 3 {
			t.Fatalf("%+v", ch)
		}
	})
	t.Run("a session does not stand for the password of a new address", func(t *testing.T) {
		fresh := created(t, e, gammaOwner, "/v1/invitations", map[string]any{"email": "new@gamma.example", "role": "member", "all_units": true})
		if p := e.Do("POST", "/v1/invitations/accept", ann.AccessToken, map[string]string{"token": apitest.LinkToken(t, fresh["link"].(string))}).Problem(t, 422); p.Code != "validation_failed" {
			t.Fatal(p.Code)
		}
	})
}
