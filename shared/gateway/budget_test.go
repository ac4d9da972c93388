package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
)

// budget is, for each API operation, the most DynamoDB calls its function
// may make for one successful request (the authorizer's one GetItem is
// checked apart). A change that adds a round trip fails
// TestEveryEndpointKeepsItsDynamoDBBudget; raise a figure only on purpose.
// Each check of a secret (password, PIN, code) costs two UpdateItem or
// DeleteItem: its attempt is counted before the check and released after
// a right one (shared/lockout).
//
// The scenario's sessions are of built-in roles. A session (or API key) of
// a custom role reads the role's current permissions with one GetItem more
// than the figures below, since the user's copy may lag its role's
// background regrant. updateRole is 2 (GetRole, one transaction): a change
// of permissions leaves its holders to the regrant job, not the request.
//
// A change of a person's things (password, two-step verification, e-mail)
// or the deletion of its membership reads the person (one GetItem more:
// changeMyPassword, confirmEmailChange, confirmTOTP, disableTOTP,
// mfaEnrollConfirm, completePasswordReset, resetUserMFA, deleteUser); a
// person of several organizations reads its other memberships too (one
// Query and one BatchGetItem more). chooseOrganization and
// switchOrganization read the person's memberships (one Query, one
// BatchGetItem).
var budget = map[string]int{
	"login": 4, "refresh": 3, "logout": 2, "serviceToken": 5, "passwordChange": 3,
	"chooseOrganization": 6, "switchOrganization": 6,
	"mfaLogin": 5, "mfaEnroll": 3, "mfaEnrollConfirm": 6, "emailProof": 6,
	"getMe": 1, "updateMe": 2, "changeMyPassword": 7, "requestEmailChange": 5, "confirmEmailChange": 6,
	"listMySessions": 1, "endMySession": 2, "endMyOtherSessions": 2,
	"startTOTP": 2, "confirmTOTP": 7, "disableTOTP": 7,
	"openapi":         0,
	"jwks":            1, // the JWKS item's GetItem
	"getOrganization": 1, "updateOrganization": 2, "putLogo": 1, "getLogo": 1, "getSharedLogo": 1,
	"listUnits": 1, "createUnit": 1, "updateUnit": 2, "deleteUnit": 2, "transferOwnership": 6, "listAudit": 1,
	"listRoles":  2, // the custom roles' Query and a BatchGetItem of the built-in roles' holder counts
	"createRole": 1, "updateRole": 2, "deleteRole": 2, "listPermissions": 1,
	"listUsers":  1, // unfiltered; filtered pages are in userFilterBudget
	"createUser": 2, "getUser": 1, "updateUser": 2, "deleteUser": 5,
	"setUserStatus": 4, "setUserPassword": 3, "printLetter": 4, "resetUserMFA": 4,
	"exportUsers": 2, "importUsers": 4,
	"createInvitation": 3, "listInvitations": 1, "revokeInvitation": 2, "regenerateInvitationLink": 2,
	// acceptInvitation: +1 since the inviter's notice counts against the
	// mail limits.
	"resendInvitation": 5, "previewInvitation": 2, "acceptInvitation": 5,
	// completePasswordReset: +1 since the "password changed" notice counts
	// against the mail limits, as a password change's does.
	"requestPasswordReset": 7, "completePasswordReset": 7, "adminPasswordReset": 3,
	"listClients": 0, "createAPIKey": 4, "listMyAPIKeys": 1, "revokeMyAPIKey": 2, "rotateMyAPIKey": 5,
	"listAPIKeys": 2, "revokeAPIKey": 2,
}

// userFilterBudget is the most DynamoDB calls of the users function for
// one page of GET /v1/users by filter shape. A key-served filter is one
// Query of its entries (for unit: a GetItem of the unit, then three, the
// unit's, the all_units ones and its kind's) and one BatchGetItem; q
// reads the users in Queries of 250 up to store.MaxUsersRead (4); several
// filters read rounds of 100 entries of the most selective one, a Query
// (three for unit) and a BatchGetItem each, up to store.MaxUsersRead (10
// rounds).
var userFilterBudget = map[string]int{
	"":                          1,
	"status=active":             2,
	"role=member":               2,
	"kind=service":              2,
	"unit=" + "{unit}":          5,
	"q=ada":                     4,
	"status=active&kind=person": 20,
	"unit={unit}&role=member":   41,
}

func TestEveryUserFilterKeepsItsDynamoDBBudget(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	var unit map[string]any
	e.Do("POST", "/v1/organization/units", owner, map[string]any{"name": "HQ", "kind": "site"}).Decode(t, &unit)
	for i, body := range []map[string]any{
		{"email": "ada@example.com", "first_name": "Ada", "last_name": "L", "role": "member", "units": []any{unit["id"]}},
		{"kind": "service", "user_code": "SVC0001", "client": "internal", "role": "member", "all_units": true},
	} {
		if r := e.Do("POST", "/v1/users", owner, body); r.Status != 201 {
			t.Fatalf("user %d: %d %s", i, r.Status, r.Body)
		}
	}
	for q, max := range userFilterBudget {
		q = strings.ReplaceAll(q, "{unit}", unit["id"].(string))
		t.Run(fmt.Sprintf("a page of users by %q stays within %d calls", q, max), func(t *testing.T) {
			e.ResetCounters()
			r := e.Do("GET", "/v1/users?limit=1&"+q, owner, nil)
			var page struct {
				Items []any `json:"items"`
			}
			r.Decode(t, &page)
			if r.Status != 200 || len(page.Items) != 1 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if calls := e.Counters[route.Users].Calls(); calls > max {
				t.Errorf("%d DynamoDB calls (%v), budget %d", calls, e.Counters[route.Users].Operations(), max)
			}
		})
	}
}

// step is one successful request of the scenario.
type step struct {
	op     string
	do     func(t *testing.T) *apitest.Response
	status int
}

// field is the string field name of the JSON object r answers.
func field(t *testing.T, r *apitest.Response, name string) string {
	t.Helper()
	var v map[string]any
	r.Decode(t, &v)
	return v[name].(string)
}

func TestEveryEndpointKeepsItsDynamoDBBudget(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	owner := tok.AccessToken
	get := func(path string) func(*testing.T) *apitest.Response {
		return func(*testing.T) *apitest.Response { return e.Do("GET", path, owner, nil) }
	}
	call := func(method, path string, body any) func(*testing.T) *apitest.Response {
		return func(*testing.T) *apitest.Response { return e.Do(method, path, owner, body) }
	}
	var (
		user, role, unit, inv, key, key2, pin, svc map[string]any
		svcPassword, mfaSecret, invLink, resetLink string
		challenge                                  map[string]any
		second                                     apitest.Tokens
	)
	id := func(v map[string]any) string { return v["id"].(string) }
	save := func(dst *map[string]any, f func(*testing.T) *apitest.Response) func(*testing.T) *apitest.Response {
		return func(t *testing.T) *apitest.Response {
			r := f(t)
			r.Decode(t, dst)
			return r
		}
	}
	totp := func() string { return gotp.NewDefaultTOTP(mfaSecret).At(e.Clock.Now().Unix()) }
	token := func(link string) string { return link[strings.Index(link, "token=")+6:] }
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

	var multi apitest.Tokens // a person of two organizations, signed in to acme
	steps := []step{
		{"getMe", get("/v1/me"), 200},
		{"openapi", get("/v1/openapi.json"), 200},
		{"jwks", get("/.well-known/jwks.json"), 200},
		{"listClients", get("/v1/clients"), 200},
		{"getOrganization", get("/v1/organization"), 200},
		{"updateOrganization", call("PATCH", "/v1/organization", map[string]any{"name": "Acme Corp"}), 200},
		{"putLogo", func(*testing.T) *apitest.Response {
			return e.DoHeader("PUT", "/v1/organization/logo", map[string]string{"Authorization": "Bearer " + owner, "Content-Type": "image/png"}, png)
		}, 200},
		{"getLogo", get("/v1/organization/logo"), 200},
		{"getSharedLogo", func(t *testing.T) *apitest.Response {
			return e.Do("GET", route.SharedLogoPath(e.Org.Org.ID, logoKey(png)), "", nil)
		}, 200},
		{"createUnit", save(&unit, call("POST", "/v1/organization/units", map[string]any{"name": "HQ", "kind": "site"})), 201},
		{"listUnits", get("/v1/organization/units"), 200},
		{"updateUnit", func(t *testing.T) *apitest.Response {
			return e.Do("PATCH", "/v1/organization/units/"+id(unit), owner, map[string]any{"name": "Head office"})
		}, 200},
		{"createRole", save(&role, call("POST", "/v1/roles", map[string]any{"name": "Clerks", "permissions": []string{"users:read"}})), 201},
		{"listRoles", get("/v1/roles"), 200},
		// Without an Accept-Language it speaks, the caller's language is read.
		{"listPermissions", get("/v1/permissions"), 200},
		{"updateRole", func(t *testing.T) *apitest.Response {
			return e.Do("PATCH", "/v1/roles/"+id(role), owner, map[string]any{"name": "Senior clerks"})
		}, 200},
		{"createUser", func(t *testing.T) *apitest.Response {
			r := save(&user, call("POST", "/v1/users", map[string]any{"email": "ada@example.com", "first_name": "Ada", "last_name": "L", "role": "member"}))(t)
			// Ada sets her password with her welcome link (the passwordreset function).
			e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": token(user["link"].(string)), "password": "a-fine-password-7"})
			return r
		}, 201},
		{"listUsers", get("/v1/users?limit=50"), 200},
		{"getUser", func(t *testing.T) *apitest.Response { return e.Do("GET", "/v1/users/"+id(user), owner, nil) }, 200},
		{"updateUser", func(t *testing.T) *apitest.Response {
			return e.Do("PATCH", "/v1/users/"+id(user), owner, map[string]any{"first_name": "Augusta"})
		}, 200},
		{"setUserStatus", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/users/"+id(user)+"/status", owner, map[string]any{"status": "inactive"})
		}, 200},
		{"resetUserMFA", func(t *testing.T) *apitest.Response {
			u := e.AddUser(t, "lost-phone@acme.example", "member")
			enrollTOTP(t, e, e.Login(t, "lost-phone@acme.example", apitest.UserPassword).AccessToken, apitest.UserPassword)
			e.ResetCounters()
			return e.Do("POST", "/v1/users/"+u.ID+"/mfa-reset", owner, nil)
		}, 200},
		{"createUser", save(&pin, call("POST", "/v1/users", map[string]any{"username": "kiosk", "password": "481937", "first_name": "K", "last_name": "K", "role": "member"})), 201},
		{"setUserPassword", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/users/"+id(pin)+"/password", owner, map[string]any{"password": "592846"})
		}, 200},
		{"passwordChange", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "kiosk", "organization": "acme", "password": "592846"})
			r.Decode(t, &challenge)
			e.ResetCounters()
			return e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": challenge["challenge_token"].(string), "new_password": "112233"})
		}, 200},
		{"createUser", save(&svc, call("POST", "/v1/users", map[string]any{"kind": "service", "user_code": "SVC0001", "client": "internal", "role": "admin", "all_units": true})), 201},
		{"serviceToken", func(t *testing.T) *apitest.Response {
			svcPassword = svc["password"].(string)
			return e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": "SVC0001", "password": svcPassword})
		}, 200},
		{"printLetter", func(t *testing.T) *apitest.Response { return e.Do("POST", "/v1/users/"+id(svc)+"/letter", owner, nil) }, 200},
		{"exportUsers", get("/v1/users/export?format=jsonl"), 200},
		{"importUsers", func(t *testing.T) *apitest.Response {
			return e.DoHeader("POST", "/v1/users/import", map[string]string{"Authorization": "Bearer " + owner, "Content-Type": "text/csv"},
				"email,first_name,last_name,role\nimported@example.com,Im,Ported,member\n")
		}, 200},
		{"emailProof", func(t *testing.T) *apitest.Response {
			hash, err := password.Hash("imported-password-1", password.Cheap)
			if err != nil {
				t.Fatal(err)
			}
			e.DoHeader("POST", "/v1/users/import", map[string]string{"Authorization": "Bearer " + owner, "Content-Type": "text/csv"},
				"email,first_name,last_name,role,password_hash\nhashed@example.com,Ha,Shed,member,\""+hash+"\"\n")
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "hashed@example.com", "password": "imported-password-1"})
			r.Decode(t, &challenge)
			code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(e.Outbox.Messages()[0].Text)
			e.ResetCounters()
			return e.Do("POST", "/v1/auth/email-proof", "", map[string]string{"challenge_token": challenge["challenge_token"].(string), "code": code})
		}, 200},
		{"createInvitation", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "invitee@example.com", "role": "member"})
			r.Decode(t, &inv)
			return r
		}, 201},
		{"listInvitations", get("/v1/invitations"), 200},
		{"regenerateInvitationLink", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/invitations/"+id(inv)+"/link", owner, nil)
		}, 200},
		{"resendInvitation", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/invitations/"+id(inv)+"/resend", owner, nil)
			invLink = field(t, r, "link")
			return r
		}, 200},
		{"previewInvitation", func(t *testing.T) *apitest.Response {
			return e.Do("GET", "/v1/invitations/preview?token="+token(invLink), "", nil)
		}, 200},
		{"acceptInvitation", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": token(invLink), "password": "a-fine-password-7", "first_name": "I", "last_name": "N"})
		}, 200},
		{"createInvitation", save(&inv, call("POST", "/v1/invitations", map[string]any{"email": "second@example.com", "role": "member"})), 201},
		{"revokeInvitation", func(t *testing.T) *apitest.Response { return e.Do("DELETE", "/v1/invitations/"+id(inv), owner, nil) }, 204},
		{"requestPasswordReset", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "owner@acme.example"})
		}, 202},
		{"adminPasswordReset", func(t *testing.T) *apitest.Response {
			forgetful := e.AddUser(t, "forgetful@acme.example", "member")
			e.ResetCounters()
			r := e.Do("POST", "/v1/users/"+forgetful.ID+"/password-reset", owner, map[string]any{"send_email": false})
			resetLink = field(t, r, "link")
			return r
		}, 200},
		{"completePasswordReset", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": token(resetLink), "password": "another-password-8"})
		}, 204},
		{"createAPIKey", save(&key, call("POST", "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})), 201},
		{"listMyAPIKeys", get("/v1/me/api-keys"), 200},
		{"listAPIKeys", get("/v1/api-keys"), 200},
		{"rotateMyAPIKey", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/me/api-keys/"+id(key)+"/rotate", owner, map[string]any{"current_password": apitest.OwnerPassword})
			r.Decode(t, &key2)
			return r
		}, 201},
		{"revokeMyAPIKey", func(t *testing.T) *apitest.Response { return e.Do("DELETE", "/v1/me/api-keys/"+id(key2), owner, nil) }, 204},
		{"createAPIKey", save(&key, call("POST", "/v1/me/api-keys", map[string]any{"name": "K2", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})), 201},
		{"revokeAPIKey", func(t *testing.T) *apitest.Response { return e.Do("DELETE", "/v1/api-keys/"+id(key), owner, nil) }, 204},
		{"updateMe", call("PATCH", "/v1/me", map[string]any{"first_name": "Olga"}), 200},
		{"listMySessions", get("/v1/me/sessions"), 200},
		{"endMySession", func(t *testing.T) *apitest.Response {
			second = e.LoginOwner(t)
			var s struct {
				Items []struct {
					ID      string `json:"id"`
					Current bool   `json:"current"`
				} `json:"items"`
			}
			e.Do("GET", "/v1/me/sessions", second.AccessToken, nil).Decode(t, &s)
			e.ResetCounters()
			for _, it := range s.Items {
				if !it.Current {
					return e.Do("DELETE", "/v1/me/sessions/"+it.ID, second.AccessToken, nil)
				}
			}
			t.Fatal("no other session")
			return nil
		}, 204},
		{"endMyOtherSessions", func(t *testing.T) *apitest.Response {
			tok = e.LoginOwner(t)
			owner = tok.AccessToken
			e.LoginOwner(t)
			e.ResetCounters()
			return e.Do("DELETE", "/v1/me/sessions", owner, nil)
		}, 200},
		{"changeMyPassword", call("POST", "/v1/me/password", map[string]string{"current_password": apitest.OwnerPassword, "new_password": "owner-second-pass-9"}), 204},
		{"requestEmailChange", call("POST", "/v1/me/email", map[string]string{"new_email": "boss@acme.example", "password": "owner-second-pass-9"}), 202},
		{"confirmEmailChange", func(t *testing.T) *apitest.Response {
			m := e.Outbox.Messages()[0]
			return e.Do("POST", "/v1/me/email/confirm", "", map[string]string{"token": token(m.Links[0])})
		}, 200},
		{"startTOTP", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/me/mfa/totp", owner, nil)
			mfaSecret = field(t, r, "secret")
			return r
		}, 200},
		{"confirmTOTP", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/me/mfa/totp/confirm", owner, map[string]string{"code": totp(), "current_password": "owner-second-pass-9"})
		}, 200},
		{"mfaLogin", func(t *testing.T) *apitest.Response {
			e.Clock.Advance(31 * time.Second)
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "boss@acme.example", "password": "owner-second-pass-9"})
			r.Decode(t, &challenge)
			e.ResetCounters()
			return e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": challenge["challenge_token"].(string), "code": totp()})
		}, 200},
		{"disableTOTP", func(t *testing.T) *apitest.Response {
			e.Clock.Advance(31 * time.Second)
			return e.Do("DELETE", "/v1/me/mfa/totp", owner, map[string]string{"password": "owner-second-pass-9", "code": totp()})
		}, 204},
		{"mfaEnroll", func(t *testing.T) *apitest.Response {
			e.Do("PATCH", "/v1/organization", owner, map[string]any{"mfa_required_for": []string{"owner"}})
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "boss@acme.example", "password": "owner-second-pass-9"})
			r.Decode(t, &challenge)
			e.ResetCounters()
			r = e.Do("POST", "/v1/auth/mfa/enroll", "", map[string]string{"challenge_token": challenge["challenge_token"].(string)})
			mfaSecret = field(t, r, "secret")
			return r
		}, 200},
		{"mfaEnrollConfirm", func(t *testing.T) *apitest.Response {
			e.Clock.Advance(31 * time.Second)
			r := e.Do("POST", "/v1/auth/mfa/enroll/confirm", "", map[string]string{"challenge_token": challenge["challenge_token"].(string), "code": totp()})
			r.Decode(t, &tok) // a session that proved a code: the policy lets it refresh
			return r
		}, 200},
		{"refresh", func(t *testing.T) *apitest.Response {
			r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
			var next apitest.Tokens
			r.Decode(t, &next)
			owner = next.AccessToken // the old access token ends with the rotation
			return r
		}, 200},
		{"login", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "ada@example.com", "password": "a-fine-password-7"})
		}, 403}, // ada is inactive: the login still does its full work
		{"chooseOrganization", func(t *testing.T) *apitest.Response {
			// multi@acme.example joins a second organization, then logs in.
			beta, _, err := e.Stack.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword)
			if err != nil {
				t.Fatal(err)
			}
			e.AddUser(t, "multi@acme.example", "member")
			if err := e.Stack.SeedMembership(context.Background(), beta, "multi@acme.example", apitest.UserPassword); err != nil {
				t.Fatal(err)
			}
			var ch struct {
				ChallengeToken string `json:"challenge_token"`
			}
			e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "multi@acme.example", "password": apitest.UserPassword}).Decode(t, &ch)
			e.ResetCounters()
			r := e.Do("POST", "/v1/auth/organization", "", map[string]string{"challenge_token": ch.ChallengeToken, "organization": "acme"})
			r.Decode(t, &multi)
			return r
		}, 200},
		{"switchOrganization", func(t *testing.T) *apitest.Response {
			return e.Do("POST", "/v1/auth/switch", multi.AccessToken, map[string]string{"organization": "beta"})
		}, 200},
		{"listAudit", get("/v1/audit"), 200},
		{"deleteUnit", func(t *testing.T) *apitest.Response {
			return e.Do("DELETE", "/v1/organization/units/"+id(unit), owner, nil)
		}, 204},
		{"deleteRole", func(t *testing.T) *apitest.Response { return e.Do("DELETE", "/v1/roles/"+id(role), owner, nil) }, 204},
		{"deleteUser", func(t *testing.T) *apitest.Response { return e.Do("DELETE", "/v1/users/"+id(user), owner, nil) }, 204},
		{"transferOwnership", func(t *testing.T) *apitest.Response {
			heir := e.AddUser(t, "heir@acme.example", "admin")
			e.ResetCounters()
			return e.Do("POST", "/v1/organization/owner", owner, map[string]any{"user_id": heir.ID})
		}, 200},
		{"logout", func(t *testing.T) *apitest.Response {
			var s apitest.Tokens
			e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "kiosk", "organization": "acme", "password": "112233"}).Decode(t, &s)
			e.ResetCounters()
			return e.Do("POST", "/v1/auth/logout", s.AccessToken, nil)
		}, 204},
	}
	seen := map[string]bool{}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d %s stays within %d calls", i, s.op, budget[s.op]), func(t *testing.T) {
			rt := routeOf(t, s.op)
			e.ResetCounters()
			r := s.do(t)
			if r.Status != s.status {
				t.Fatalf("status %d, want %d: %.400s", r.Status, s.status, r.Body)
			}
			seen[s.op] = true
			calls := e.Counters[rt.Function].Calls()
			max, ok := budget[s.op]
			if !ok {
				t.Fatalf("no budget written for %s (it made %d calls)", s.op, calls)
			}
			if calls > max {
				t.Errorf("%d DynamoDB calls (%v), budget %d", calls, e.Counters[rt.Function].Operations(), max)
			}
			if a := e.Counters[route.Authorizer].Calls(); a > 1 {
				t.Errorf("the authorizer made %d calls", a)
			}
		})
	}
	t.Run("every API route is in the scenario", func(t *testing.T) {
		for _, rt := range route.All() {
			if !rt.Page && !seen[string(rt.Operation)] {
				t.Errorf("%s (%s) has no budget step", rt.Key(), rt.Operation)
			}
		}
		for op := range budget {
			if !slices.ContainsFunc(route.All(), func(rt route.Route) bool { return string(rt.Operation) == op }) {
				t.Errorf("budget for unknown operation %s", op)
			}
		}
	})
}

func routeOf(t *testing.T, op string) route.Route {
	for _, rt := range route.All() {
		if string(rt.Operation) == op {
			return rt
		}
	}
	t.Fatalf("no route %s", op)
	return route.Route{}
}

// deactivationOfARefresher is the budget of deactivating a user with 50
// sessions however often refreshed: the user's read, one Query of its
// index (at most 300 items: rotated tokens are not indexed; each session,
// its two tokens and up to store.MaxKept previous access tokens still
// live), one of its invitations, and four transactions (the user, its job
// and audit event with 97 deletes, then the rest by 100). Before rotated tokens left the
// index, at 100 refreshes a session, it was 5,150 deletes in 52
// transactions. The test refreshes 10 times a session: the embedded
// DynamoDB copies the whole table for each transaction, so 5,000
// refreshes took 9 minutes (for the same 5 calls).
const deactivationOfARefresher = 7

func TestDeactivatingAUserWhoseSessionsRefreshedKeepsItsBudget(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := e.AddUser(t, "refresher@acme.example", "member")
	const sessions, refreshes = 50, 10
	toks := make([]apitest.Tokens, sessions)
	for i := range toks {
		toks[i] = e.Login(t, "refresher@acme.example", apitest.UserPassword)
	}
	var wg sync.WaitGroup
	errs := make(chan string, sessions)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range refreshes {
				r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": toks[i].RefreshToken})
				if r.Status != 200 {
					errs <- fmt.Sprintf("refresh: %d %s", r.Status, r.Body)
					return
				}
				var next apitest.Tokens
				if err := json.Unmarshal(r.Body, &next); err != nil {
					errs <- err.Error()
					return
				}
				toks[i] = next
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	creds, ss, err := e.Store.UserCredentials(context.Background(), u.ID)
	// Each session, its two tokens and the access tokens its refreshes
	// kept live (at most store.MaxKept).
	if want := (3 + store.MaxKept) * sessions; err != nil || len(creds)+len(ss) != want {
		t.Fatalf("%d items indexed under the user (%v), want %d", len(creds)+len(ss), err, want)
	}
	e.ResetCounters()
	if r := e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	c := e.Counters[routeOf(t, "setUserStatus").Function]
	t.Logf("deactivating a user of %d sessions × %d refreshes: %d DynamoDB calls (%v)", sessions, refreshes, c.Calls(), c.Operations())
	if c.Calls() > deactivationOfARefresher {
		t.Errorf("%d DynamoDB calls (%v), budget %d", c.Calls(), c.Operations(), deactivationOfARefresher)
	}
	for _, tok := range toks {
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
	}
}

// logoKey is the key of a logo's shared URL: the SHA-256 of its bytes.
func logoKey(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:])
}
