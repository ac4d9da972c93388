package users_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/users"
)

// A tenant cannot make an address a login of its choosing: an admin-made
// person proves its address through the welcome link, and an address
// nobody proved blocks no other organization.
func TestAnAdminCannotSquatAnAddress(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ctx := context.Background()
	if _, _, err := e.Seed(ctx, "Beta", "beta", "owner@beta.example", "beta-owner-password-1"); err != nil {
		t.Fatal(err)
	}
	acme := e.LoginOwner(t).AccessToken
	beta := e.Login(t, "owner@beta.example", "beta-owner-password-1").AccessToken
	victim := map[string]any{"email": "victim@example.com", "first_name": "Vic", "last_name": "Tim", "role": "member"}

	t.Run("a password chosen by the admin is refused, and nothing is written", func(t *testing.T) {
		before := e.Scan(t)
		body := map[string]any{"password": "squatter-password-1"}
		for k, v := range victim {
			body[k] = v
		}
		p := e.Do("POST", "/v1/users", beta, body).Problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "password" {
			t.Fatalf("%+v", p)
		}
		if !slices.Equal(before, e.Scan(t)) {
			t.Fatal("a refused creation wrote something")
		}
	})
	squat := create(t, e, beta, victim)
	t.Run("the person is pending, with a welcome link returned and mailed in its own template", func(t *testing.T) {
		if squat.Status != "pending" || squat.PasswordSet || squat.Link == "" || !squat.MailSent {
			t.Fatalf("%+v", squat)
		}
		m := e.LastMail(t, "victim@example.com")
		if !strings.Contains(m.Subject, "choose your password") || !slices.Contains(m.Links, squat.Link) {
			t.Fatalf("%q %v", m.Subject, m.Links)
		}
	})
	t.Run("the unproved address is no login", func(t *testing.T) {
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "victim@example.com", "password": "squatter-password-1"}).Problem(t, 401)
	})
	t.Run("the same organization cannot create the address twice", func(t *testing.T) {
		if p := e.Do("POST", "/v1/users", beta, victim).Problem(t, 409); p.Code != "email_taken" {
			t.Fatal(p.Code)
		}
		if p := e.Do("POST", "/v1/invitations", beta, map[string]any{"email": "victim@example.com", "role": "member"}).Problem(t, 409); p.Code != "user_exists" {
			t.Fatal(p.Code)
		}
	})
	var inv struct {
		Link string `json:"link"`
	}
	t.Run("another organization invites and creates the address all the same", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations", acme, map[string]any{"email": "victim@example.com", "role": "member"})
		if r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &inv)
		create(t, e, acme, map[string]any{"email": "victim@example.com", "first_name": "V", "last_name": "T", "role": "member"})
	})
	t.Run("the holder accepts the invitation: the address becomes their login there", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, inv.Link),
			"password": "victims-own-password-1", "first_name": "Vic", "last_name": "Tim"})
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Login(t, "victim@example.com", "victims-own-password-1")
	})
	t.Run("the squatter's link then tells its holder the address is taken, and changes nothing", func(t *testing.T) {
		r := e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": apitest.LinkToken(t, squat.Link), "password": "another-password-22"})
		if p := r.Problem(t, http.StatusConflict); p.Code != "email_taken" {
			t.Fatal(p.Code)
		}
		var u struct {
			Status string `json:"status"`
		}
		e.Do("GET", "/v1/users/"+squat.ID, beta, nil).Decode(t, &u)
		if u.Status != "pending" {
			t.Fatal(u.Status)
		}
		e.Login(t, "victim@example.com", "victims-own-password-1")
	})
}

// The welcome link sets the password, proves the address and activates
// the person.
func TestTheWelcomeLinkProvesTheAddress(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	c := create(t, e, owner, map[string]any{"email": "new@example.com", "first_name": "N", "last_name": "U", "role": "member", "language": "fr"})
	if m := e.LastMail(t, "new@example.com"); !strings.Contains(m.Subject, "choisissez votre mot de passe") {
		t.Fatal(m.Subject)
	}
	r := e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": apitest.LinkToken(t, c.Link), "password": "my-own-password-42"})
	if r.Status != http.StatusNoContent {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Login(t, "new@example.com", "my-own-password-42")
	var u struct {
		Status      string `json:"status"`
		PasswordSet bool   `json:"password_set"`
	}
	e.Do("GET", "/v1/users/"+c.ID, owner, nil).Decode(t, &u)
	if u.Status != "active" || !u.PasswordSet {
		t.Fatalf("%+v", u)
	}
	t.Run("a proved address is taken for another organization's new users, which does not learn it", func(t *testing.T) {
		if _, _, err := e.Seed(context.Background(), "Gamma", "gamma", "owner@gamma.example", "gamma-owner-password-1"); err != nil {
			t.Fatal(err)
		}
		gamma := e.Login(t, "owner@gamma.example", "gamma-owner-password-1").AccessToken
		if r := e.Do("POST", "/v1/invitations", gamma, map[string]any{"email": "new@example.com", "role": "member"}); r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		g := create(t, e, gamma, map[string]any{"email": "new@example.com", "first_name": "N", "last_name": "U", "role": "member"})
		if g.Status != "pending" {
			t.Fatalf("%+v", g)
		}
		if r := e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": apitest.LinkToken(t, g.Link), "password": "other-password-42"}); r.Status != http.StatusConflict {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Login(t, "new@example.com", "my-own-password-42")
	})
}

// welcomed creates an e-mail person and sets its password with its
// welcome link, which proves its address.
func welcomed(t *testing.T, e *apitest.Env, token string, body map[string]any, pw string) users.Created {
	t.Helper()
	c := create(t, e, token, body)
	r := e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": apitest.LinkToken(t, c.Link), "password": pw})
	if r.Status != http.StatusNoContent {
		t.Fatalf("welcome link: %d %s", r.Status, r.Body)
	}
	return c
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// proveLogin logs in as an imported person, answering the email_proof
// challenge with the code mailed to the address.
func proveLogin(t *testing.T, e *apitest.Env, login, pw string) apitest.Tokens {
	t.Helper()
	var ch struct {
		Challenge      string `json:"challenge"`
		ChallengeToken string `json:"challenge_token"`
	}
	r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": login, "password": pw})
	r.Decode(t, &ch)
	if r.Status != http.StatusOK || ch.Challenge != "email_proof" {
		t.Fatalf("login %s: %d %s", login, r.Status, r.Body)
	}
	code := sixDigits.FindString(e.LastMail(t, login).Text)
	r = e.Do("POST", "/v1/auth/email-proof", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code})
	var tok apitest.Tokens
	r.Decode(t, &tok)
	if r.Status != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("email proof %s: %d %s", login, r.Status, r.Body)
	}
	return tok
}

// An imported person with a hash proves its address by the code mailed at
// its first login; an import tells nothing of other organizations' logins,
// and of two organizations claiming one address, the first proof wins.
func TestAnImportedAddressIsProvedAtFirstLogin(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	if _, _, err := e.Seed(context.Background(), "Beta", "beta", "owner@beta.example", "beta-owner-password-1"); err != nil {
		t.Fatal(err)
	}
	acme := e.LoginOwner(t).AccessToken
	beta := e.Login(t, "owner@beta.example", "beta-owner-password-1").AccessToken
	hash := func(pw string) string {
		h, err := password.Hash(pw, password.Cheap)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	row := func(email, pw string) string {
		return "email,first_name,last_name,role,password_hash\n" + email + ",Im,Port,member,\"" + hash(pw) + "\"\n"
	}
	if rep := importFile(t, e, acme, "", "text/csv", row("both@example.com", "acme-side-password-1")); len(rep.Accepted) != 1 {
		t.Fatalf("%+v", rep)
	}
	t.Run("another organization imports the same address: accepted, it learns nothing", func(t *testing.T) {
		rep := importFile(t, e, beta, "", "text/csv", row("both@example.com", "beta-side-password-1")+
			"owner@acme.example,Own,Er,member,\""+hash("whatever-password-1")+"\"\n")
		if len(rep.Accepted) != 2 || len(rep.Rejected) != 0 {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("the same organization cannot import the address twice", func(t *testing.T) {
		rep := importFile(t, e, acme, "", "text/csv", row("both@example.com", "acme-side-password-1"))
		if len(rep.Rejected) != 1 || rep.Rejected[0].Field != "email" {
			t.Fatalf("%+v", rep)
		}
	})
	var ch struct {
		Challenge      string `json:"challenge"`
		ChallengeToken string `json:"challenge_token"`
	}
	t.Run("a first login asks for the code mailed to the address, and a wrong code is refused", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "both@example.com", "password": "beta-side-password-1"})
		r.Decode(t, &ch)
		if r.Status != http.StatusOK || ch.Challenge != "email_proof" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		m := e.LastMail(t, "both@example.com")
		if !strings.Contains(m.Subject, "Beta") || !sixDigits.MatchString(m.Text) {
			t.Fatalf("%q %q", m.Subject, m.Text)
		}
		code := sixDigits.FindString(m.Text)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if p := e.Do("POST", "/v1/auth/email-proof", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": wrong}).Problem(t, 403); p.Code != "invalid_code" {
			t.Fatal(p.Code)
		}
		r = e.Do("POST", "/v1/auth/email-proof", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "access_token") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("the proof made the address beta's login: the next login is direct, acme's claim no longer logs in", func(t *testing.T) {
		e.Login(t, "both@example.com", "beta-side-password-1")
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "both@example.com", "password": "acme-side-password-1"}).Problem(t, 401)
	})
	t.Run("the code works once", func(t *testing.T) {
		code := sixDigits.FindString(e.LastMail(t, "both@example.com").Text)
		e.Do("POST", "/v1/auth/email-proof", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code}).Problem(t, 401)
	})
	t.Run("an owner's address imported elsewhere gives no second login", func(t *testing.T) {
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": "whatever-password-1"}).Problem(t, 401)
		e.LoginOwner(t)
	})
}
