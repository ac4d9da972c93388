package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/store"
)

// TestTheTableHoldsOnlyTheKindsOfItsLayout writes every kind of item
// through the API, then checks each item of the table against
// store.Layout: an item of no kind (or of two) is a layout that no longer
// holds, and a kind of no item a stale entry or a gap in the scenario.
func TestTheTableHoldsOnlyTheKindsOfItsLayout(t *testing.T) {
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	must := func(r *apitest.Response, status int) map[string]any {
		t.Helper()
		return r.Object(t, status)
	}
	// A refresh leaves its old token rotated.
	must(e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": e.LoginOwner(t).RefreshToken}), http.StatusOK)
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
	must(e.DoHeader("PUT", "/v1/organization/logo", map[string]string{"Authorization": "Bearer " + owner, "Content-Type": "image/png"}, png), http.StatusOK)
	hq := must(e.Do("POST", "/v1/organization/units", owner, map[string]any{"name": "HQ", "kind": "site"}), http.StatusCreated)
	depot := must(e.Do("POST", "/v1/organization/units", owner, map[string]any{"name": "Depot", "kind": "site"}), http.StatusCreated)
	must(e.Do("PATCH", "/v1/organization/units/"+depot["id"].(string), owner, map[string]any{"parent": hq["id"]}), http.StatusOK)
	role := must(e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Clerks", "permissions": []string{"users:read"}}), http.StatusCreated)
	must(e.Do("POST", "/v1/users", owner, map[string]any{"email": "ada@example.com", "first_name": "Ada", "last_name": "L",
		"role": role["id"], "units": []any{hq["id"]}}), http.StatusCreated)
	must(e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "invitee@example.com", "role": "member"}), http.StatusCreated)
	must(e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "owner@acme.example"}), http.StatusAccepted)
	must(e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "ada@example.com", "password": "a-wrong-password"}), http.StatusUnauthorized)
	must(e.Do("POST", "/v1/me/api-keys", owner, map[string]any{"name": "K", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}}), http.StatusCreated)
	must(e.Do("POST", "/v1/me/api-keys", owner, map[string]any{"name": "K2", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"},
		"expires_at": e.Clock.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}), http.StatusCreated)
	must(e.Do("POST", "/v1/me/email", owner, map[string]string{"new_email": "boss@acme.example", "password": apitest.OwnerPassword}), http.StatusAccepted)
	secret := must(e.Do("POST", "/v1/me/mfa/totp", owner, nil), http.StatusOK)["secret"].(string)
	code := gotp.NewDefaultTOTP(secret).At(e.Clock.Now().Unix())
	must(e.Do("POST", "/v1/me/mfa/totp/confirm", owner, map[string]string{"code": code, "current_password": apitest.OwnerPassword}), http.StatusOK)
	// A job is left in the table only when a batch of its work was cut
	// short; the scenario leaves one as such a failure would.
	if err := e.Store.PutJob(context.Background(), store.NewJob("sample", e.Org.Org.ID, "target", 1, e.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	// An OpenID Connect authorization request (its routes need clients,
	// which this stack has none of: shared/oidc's tests write them through
	// the API).
	if err := e.Store.PutAuthRequest(context.Background(), store.AuthRequest{ID: store.NewID("oar_"), Client: "spa",
		RedirectURI: "https://app.example/cb", Scopes: []string{"openid"}, Created: e.Clock.Now(),
		Expires: e.Clock.Now().Add(10 * time.Minute).Unix()}); err != nil {
		t.Fatal(err)
	}

	type keys struct {
		PK     string `dynamodbav:"pk"`
		SK     string `dynamodbav:"sk"`
		GSI1PK string `dynamodbav:"gsi1pk"`
		GSI1SK string `dynamodbav:"gsi1sk"`
	}
	layout := store.Layout()
	found := make([]int, len(layout))
	items, err := devstack.ScanTable(context.Background(), e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		var k keys
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i, kind := range layout {
			if kind.Matches(k.PK, k.SK, k.GSI1PK, k.GSI1SK) {
				kinds = append(kinds, kind.Name)
				found[i]++
			}
		}
		if len(kinds) != 1 {
			t.Errorf("item %+v is of %d kinds of store.Layout: %v", k, len(kinds), kinds)
		}
	}
	for i, kind := range layout {
		if found[i] == 0 {
			t.Errorf("no item of the kind %q (%s, %s)", kind.Name, kind.PK, kind.SK)
		}
	}
}
