package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Real DynamoDB cancels a transaction that races another on one of its
// items (TransactionConflict); the embedded one never does, so the fault
// injector does it here.
func TestARaceLoserGetsTheDocumented409(t *testing.T) {
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	body := map[string]any{"email": "twin@example.com", "first_name": "T", "last_name": "W", "role": "member"}

	t.Run("a user creation that raced one of the same e-mail answers 409 email_taken", func(t *testing.T) {
		var won error
		e.Faults.ConflictTransactions(1, func() {
			// The race's winner commits while the loser's transaction is
			// cancelled; the loser's re-run then finds the login taken.
			now := e.Clock.Now().UTC()
			u := store.User{Org: e.Org.Org.ID, OrgCode: e.Org.Org.Code, ID: store.NewID("usr_"), Kind: store.Person,
				Email: "twin@example.com", FirstName: "W", LastName: "Inner", Language: "en", Role: "member",
				Status: store.Active, Created: now, Updated: now}
			won = e.Store.CreateUser(context.Background(), u, store.Audit{Org: u.Org, Time: now, Actor: "test", Via: "test",
				Action: "user.create", Target: "user:" + u.ID})
		})
		defer e.Faults.Clear()
		r := e.Do("POST", "/v1/users", owner, body)
		if won != nil {
			t.Fatal(won)
		}
		if p := r.Problem(t, http.StatusConflict); p.Code != "email_taken" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("a write cancelled by races every time answers 503 with Retry-After", func(t *testing.T) {
		e.Faults.ConflictTransactions(-1, nil)
		defer e.Faults.Clear()
		body["email"] = "third@example.com"
		r := e.Do("POST", "/v1/users", owner, body)
		if p := r.Problem(t, http.StatusServiceUnavailable); p.Code != "unavailable" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %v", r.Body, r.Header)
		}
	})
	t.Run("a write cancelled by a race once is written", func(t *testing.T) {
		e.Faults.ConflictTransactions(1, nil)
		defer e.Faults.Clear()
		body["email"] = "fourth@example.com"
		if r := e.Do("POST", "/v1/users", owner, body); r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestEveryNamedConflictHasItsDocumentedAnswer reaches, through the API,
// the answers of lost conditions that other tests do not.
func TestEveryNamedConflictHasItsDocumentedAnswer(t *testing.T) {
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	must := func(r *apitest.Response, status int) map[string]any {
		t.Helper()
		return r.Object(t, status)
	}
	t.Run("a role named as another answers 409 role_name_taken", func(t *testing.T) {
		must(e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Clerks", "permissions": []string{}}), http.StatusCreated)
		r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "clerks", "permissions": []string{}})
		if p := r.Problem(t, http.StatusConflict); p.Code != "role_name_taken" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("a role renamed as another answers 409 role_name_taken", func(t *testing.T) {
		role := must(e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Tellers", "permissions": []string{}}), http.StatusCreated)
		r := e.Do("PATCH", "/v1/roles/"+role["id"].(string), owner, map[string]any{"name": "Clerks"})
		if p := r.Problem(t, http.StatusConflict); p.Code != "role_name_taken" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("an invitation accepted after its unit was deleted answers 409 unit_gone", func(t *testing.T) {
		unit := must(e.Do("POST", "/v1/organization/units", owner, map[string]any{"name": "Kiosk", "kind": "site"}), http.StatusCreated)
		inv := must(e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "late@example.com", "role": "member", "units": []any{unit["id"]}}), http.StatusCreated)
		if r := e.Do("DELETE", "/v1/organization/units/"+unit["id"].(string), owner, nil); r.Status != http.StatusNoContent {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, inv["link"].(string)),
			"password": "a-fine-password-7", "first_name": "L", "last_name": "Ate"})
		if p := r.Problem(t, http.StatusConflict); p.Code != "unit_gone" {
			t.Fatalf("%s", r.Body)
		}
	})
	for _, c := range []struct{ name, code, email string }{
		{"a taken code", "acme", "new.owner@example.com"},
	} {
		t.Run("an organization created with "+c.name+" is already_exists", func(t *testing.T) {
			d := app.New(e.Config, e.DB, slog.New(slog.DiscardHandler), time.Now)
			_, _, err := d.Invitations().CreateOrganization(context.Background(),
				organization.CreateInput{Name: "New", Code: c.code, Language: "en", OwnerEmail: c.email})
			if p, ok := problem.As(err); !ok || p.Status != http.StatusConflict || p.Code != "already_exists" {
				t.Fatalf("%v", err)
			}
		})
	}
	t.Run("an organization whose first owner is a person already joins that person", func(t *testing.T) {
		d := app.New(e.Config, e.DB, slog.New(slog.DiscardHandler), time.Now)
		_, inv, err := d.Invitations().CreateOrganization(context.Background(),
			organization.CreateInput{Name: "Gamma", Code: "gamma", Language: "en", OwnerEmail: e.Org.Owner.Email})
		if err != nil {
			t.Fatal(err)
		}
		r := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, inv.Link), "password": apitest.OwnerPassword})
		if r.Status != http.StatusOK {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		r = e.Do("POST", "/v1/auth/login", "", map[string]string{"login": e.Org.Owner.Email, "password": apitest.OwnerPassword, "organization": "gamma"})
		tok := must(r, http.StatusOK)
		me := must(e.Do("GET", "/v1/me", tok["access_token"].(string), nil), http.StatusOK)
		if me["role"] != "owner" || me["organization"].(map[string]any)["code"] != "gamma" {
			t.Fatalf("me %v", me)
		}
	})
}
