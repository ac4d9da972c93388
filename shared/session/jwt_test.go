package session_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// verifyIndependently checks an access token as a relying party would,
// with go-oidc against the JWKS route served over HTTP, and returns its
// claims and header.
func verifyIndependently(t *testing.T, e *apitest.Env, tok string) (access.Claims, jose.Header) {
	t.Helper()
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, srv.URL+"/.well-known/jwks.json")
	v := oidc.NewVerifier(e.Config.PublicURL, keys, &oidc.Config{ClientID: e.Config.Audience(),
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}, Now: e.Clock.Now})
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("go-oidc refuses the access token: %v", err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c access.Claims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		t.Fatal(err)
	}
	return c, jws.Signatures[0].Protected
}

func TestAccessTokensAreJWTsCarryingThePrincipal(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	c, h := verifyIndependently(t, e, tok.AccessToken)
	r := e.Do("GET", "/.well-known/jwks.json", "", nil)
	var set jose.JSONWebKeySet
	r.Decode(t, &set)
	t.Run("the header says at+jwt, RS256 (the default) and a kid of the JWKS", func(t *testing.T) {
		if h.ExtraHeaders[jose.HeaderType] != signing.AccessToken || h.Algorithm != "RS256" || len(set.Key(h.KeyID)) != 1 {
			t.Fatalf("header %+v, JWKS kids %v", h, set.Keys)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
			t.Fatalf("JWKS Cache-Control %q", cc)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				t.Fatal("the JWKS holds a private key")
			}
		}
	})
	t.Run("the claims carry the principal GET /v1/me answers", func(t *testing.T) {
		var me struct {
			Principal access.Principal `json:"principal"`
		}
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Decode(t, &me)
		p := c.Principal
		if c.Subject != e.Org.Owner.Person && c.Subject != e.Org.Owner.ID {
			t.Errorf("sub %q, owner %s", c.Subject, e.Org.Owner.ID)
		}
		if c.ClientID != "guichet" || c.SessionID == "" || c.SessionID != p.Credential.ID || c.ID == "" ||
			c.Expiry-c.IssuedAt != int64(e.Config.AccessTTL/time.Second) || !slices.Equal(c.Audience, []string{e.Config.Audience()}) {
			t.Errorf("claims %+v", c)
		}
		if p.Organization.ID != me.Principal.Organization.ID || p.User != me.Principal.User || p.Role.ID != me.Principal.Role.ID ||
			!slices.Equal(p.Permissions, me.Principal.Permissions) || p.Credential.Kind != "session" {
			t.Errorf("token principal %+v, GET /v1/me %+v", p, me.Principal)
		}
		if tok.ExpiresIn != int(e.Config.AccessTTL/time.Second) {
			t.Errorf("expires_in %d", tok.ExpiresIn)
		}
	})
	t.Run("the scope claim holds the principal's permissions, sorted, for API Gateway's JWT authorizer", func(t *testing.T) {
		got := strings.Fields(c.Scope)
		want := slices.Clone(c.Principal.Permissions)
		slices.Sort(want)
		if len(want) == 0 || !slices.Equal(got, slices.Compact(want)) || c.Scope != strings.Join(got, " ") {
			t.Fatalf("scope %q, permissions %v", c.Scope, c.Principal.Permissions)
		}
	})
}

func TestStrictModeSeesEveryChangeOnTheNextRequest(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	t.Run("a role change", func(t *testing.T) {
		u := e.AddUser(t, "admin@acme.example", "admin")
		tok := e.Login(t, "admin@acme.example", apitest.UserPassword).AccessToken
		if r := e.Do("GET", "/v1/users", tok, nil); r.Status != 200 {
			t.Fatalf("admin lists users: %d", r.Status)
		}
		if r := e.Do("PATCH", "/v1/users/"+u.ID, owner, map[string]string{"role": "member"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if err := e.RunJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.Do("GET", "/v1/users", tok, nil).Problem(t, 403)
	})
	t.Run("a deactivation", func(t *testing.T) {
		u := e.AddUser(t, "leaving@acme.example", "member")
		tok := e.Login(t, "leaving@acme.example", apitest.UserPassword).AccessToken
		if r := e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/me", tok, nil).Problem(t, 401)
	})
	t.Run("a revoked session, its kept access token included", func(t *testing.T) {
		first := e.Login(t, "owner@acme.example", apitest.OwnerPassword)
		var next apitest.Tokens
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Decode(t, &next)
		if r := e.Do("GET", "/v1/me", first.AccessToken, nil); r.Status != 200 {
			t.Fatalf("the previous access token fails after a refresh: %d", r.Status)
		}
		if r := e.Do("POST", "/v1/auth/logout", next.AccessToken, nil); r.Status != 204 {
			t.Fatalf("logout %d", r.Status)
		}
		e.Do("GET", "/v1/me", next.AccessToken, nil).Problem(t, 401)
		e.Do("GET", "/v1/me", first.AccessToken, nil).Problem(t, 401)
	})
}

// minted is a JWT access token the test signs, with a live credential item
// for its jti: only what the test changes can refuse it.
func minted(t *testing.T, e *apitest.Env, change func(*access.Claims), sign func(claims []byte) string) string {
	t.Helper()
	jti, _ := token.NewID()
	now := e.Clock.Now()
	c := access.Claims{Issuer: e.Config.PublicURL, Subject: e.Org.Owner.ID, Audience: []string{e.Config.Audience()},
		Expiry: now.Add(time.Minute).Unix(), IssuedAt: now.Unix(), ID: jti, ClientID: "guichet", SessionID: "ses_minted"}
	if change != nil {
		change(&c)
	}
	cred := store.NewCredential(token.Hash(jti), store.AccessToken, e.Org.Org.ID, e.Org.Owner.ID, now, now.Add(time.Hour))
	cred.UserKind, cred.Role, cred.Permissions, cred.Session = store.Person, "owner", []string{"users:read"}, "ses_minted"
	item, err := attributevalue.MarshalMap(cred)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &e.Config.Table, Item: item}); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	if sign == nil {
		tok, err := e.Config.JWTKeys.Sign(json.RawMessage(payload), signing.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return sign(payload)
}

func TestStrictModeRefusesForgedTokens(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	enc := base64.RawURLEncoding.EncodeToString
	kid := e.Config.JWTKeys.Current.ID
	other, _ := signing.NewKeySet(signing.ES256, e.Clock.Now())
	if r := e.Do("GET", "/v1/me", minted(t, e, nil, nil), nil); r.Status != 200 {
		t.Fatalf("the control token is refused: %d %s: the cases below test nothing", r.Status, r.Body)
	}
	cases := map[string]string{
		"expired":         minted(t, e, func(c *access.Claims) { c.Expiry = e.Clock.Now().Add(-authorizer.Skew - time.Second).Unix() }, nil),
		"foreign issuer":  minted(t, e, func(c *access.Claims) { c.Issuer = "https://evil.example" }, nil),
		"wrong audience":  minted(t, e, func(c *access.Claims) { c.Audience = []string{"https://other.example"} }, nil),
		"issued later on": minted(t, e, func(c *access.Claims) { c.IssuedAt = e.Clock.Now().Add(time.Hour).Unix() }, nil),
		"alg none": minted(t, e, nil, func(p []byte) string {
			return enc([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`)) + "." + enc(p) + "."
		}),
		"HS256 keyed with the public key": minted(t, e, nil, func(p []byte) string {
			pub, _ := json.Marshal(e.Config.JWTKeys.JWKS().Keys[0])
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub},
				(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
			jws, _ := s.Sign(p)
			tok, _ := jws.CompactSerialize()
			return tok
		}),
		"unknown kid": minted(t, e, nil, func(p []byte) string {
			tok, _ := other.Sign(json.RawMessage(p), signing.AccessToken)
			return tok
		}),
		"an ID token's type": minted(t, e, nil, func(p []byte) string {
			tok, _ := e.Config.JWTKeys.Sign(json.RawMessage(p), signing.IDToken)
			return tok
		}),
		"tampered payload": minted(t, e, nil, func(p []byte) string {
			tok, _ := e.Config.JWTKeys.Sign(json.RawMessage(p), signing.AccessToken)
			parts := strings.Split(tok, ".")
			return parts[0] + "." + enc([]byte(strings.Replace(string(p), "ses_minted", "ses_other1", 1))) + "." + parts[2]
		}),
	}
	for name, tok := range cases {
		t.Run(name+" is refused", func(t *testing.T) {
			if p := e.Do("GET", "/v1/me", tok, nil).Problem(t, 401); p.Code != "invalid_token" {
				t.Fatalf("code %q", p.Code)
			}
		})
	}
}

// pointer is the stack's key set as a vault: what the rotation writes
// there, the session service signs with (as a signing function reads the
// secret again).
type pointer struct{ ks *signing.KeySet }

func (p pointer) Read(context.Context) (signing.KeySet, bool, error) { return *p.ks, true, nil }
func (p pointer) Write(_ context.Context, ks signing.KeySet) error {
	*p.ks = ks
	return nil
}

func TestRotationKeepsOldTokensUntilTheyExpire(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	old := e.LoginOwner(t)
	oldKid := e.Config.JWTKeys.Current.ID
	ctx := context.Background()
	keep := keyring.Keep(e.Config.AccessTTL, authorizer.Skew)
	if _, err := keyring.Rotate(ctx, pointer{e.Config.JWTKeys}, e.Store, signing.ES256, keep, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	fresh := e.LoginOwner(t)
	_, h := verifyIndependently(t, e, fresh.AccessToken)
	t.Run("new tokens use the new kid", func(t *testing.T) {
		if h.KeyID == oldKid || h.KeyID != e.Config.JWTKeys.Current.ID {
			t.Fatalf("kid %s after a rotation (old %s)", h.KeyID, oldKid)
		}
		if r := e.Do("GET", "/v1/me", fresh.AccessToken, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a token of the previous key still works", func(t *testing.T) {
		if r := e.Do("GET", "/v1/me", old.AccessToken, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		verifyIndependently(t, e, old.AccessToken)
	})
	t.Run("past its keep, the previous key leaves the JWKS", func(t *testing.T) {
		e.Clock.Advance(keep + time.Second)
		if _, err := keyring.Rotate(ctx, pointer{e.Config.JWTKeys}, e.Store, signing.ES256, keep, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		var set jose.JSONWebKeySet
		e.Do("GET", "/.well-known/jwks.json", "", nil).Decode(t, &set)
		if len(set.Key(oldKid)) != 0 {
			t.Fatal("the retired key is still published")
		}
	})
}
