package access_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
)

// TestFromEventOfTheJWTAuthorizer: API Gateway's JWT authorizer verified
// a token and put its claims, flattened to strings, in the event.
func TestFromEventOfTheJWTAuthorizer(t *testing.T) {
	k := newKey(t, "k1")
	now := time.Unix(1_800_000_000, 0)
	verified := claims("https://guichet.example", now)
	tok := k.sign(t, verified, access.TokenType, nil)
	// What API Gateway puts in the event of the verified token: the
	// principal, an object, is not JSON there.
	flat := func(c access.Claims) map[string]string {
		return map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "exp": strconv.FormatInt(c.Expiry, 10),
			"iat": strconv.FormatInt(c.IssuedAt, 10), "aud": "[https://other.example https://api.example]",
			"client_id": c.ClientID, "principal": "map[credential:map[id:ses_1 kind:session] user:usr_1 version:1]"}
	}
	ev := func(claims map[string]string, headers map[string]string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{Headers: headers, RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc.execute-api.eu-west-1.amazonaws.com",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}}}
	}
	t.Run("the principal of the very token the authorizer verified", func(t *testing.T) {
		for _, h := range []map[string]string{{"authorization": "Bearer " + tok}, {"Authorization": tok}} {
			p, err := access.FromEvent(ev(flat(verified), h))
			if err != nil || p.User != "usr_1" || !p.Can("projects:write") || !p.InUnit("unt_a1") {
				t.Fatalf("%v: %+v %v", h, p, err)
			}
		}
	})
	other := func(f func(*access.Claims)) access.Claims {
		c := verified
		f(&c)
		return c
	}
	forged := verified
	forged.Principal.User, forged.Principal.Permissions = "usr_forged", []string{"everything"}
	// An attacker's token, unsigned: API Gateway verified another.
	unsignedTok := func(c access.Claims) string {
		return unsigned(t, map[string]any{"alg": "ES256", "typ": access.TokenType, "kid": "k1"}, c, make([]byte, 64))
	}
	for _, tc := range []struct {
		name    string
		claims  map[string]string
		headers map[string]string
	}{
		{"an unsigned token of another jti", flat(verified), map[string]string{"authorization": "Bearer " + unsignedTok(other(func(c *access.Claims) { c.ID = "jti_other" }))}},
		{"a token of another jti", flat(verified), map[string]string{"authorization": "Bearer " + k.sign(t, other(func(c *access.Claims) { c.ID = "jti_2" }), access.TokenType, nil)}},
		{"a token of another sub", flat(verified), map[string]string{"authorization": "Bearer " + k.sign(t, other(func(c *access.Claims) { c.Subject = "per_2" }), access.TokenType, nil)}},
		{"a token of another iss", flat(verified), map[string]string{"authorization": "Bearer " + k.sign(t, other(func(c *access.Claims) { c.Issuer = "https://evil.example" }), access.TokenType, nil)}},
		{"a token of another exp", flat(verified), map[string]string{"authorization": "Bearer " + k.sign(t, other(func(c *access.Claims) { c.Expiry++ }), access.TokenType, nil)}},
		{"claims without jti", flat(other(func(c *access.Claims) { c.ID = "" })),
			map[string]string{"authorization": "Bearer " + k.sign(t, other(func(c *access.Claims) { c.ID = "" }), access.TokenType, nil)}},
		{"claims without exp", func() map[string]string { m := flat(verified); delete(m, "exp"); return m }(), map[string]string{"authorization": "Bearer " + tok}},
		{"no claims", nil, map[string]string{"authorization": "Bearer " + tok}},
		{"no authorization header", flat(verified), nil},
		{"a header that is no JWT", flat(verified), map[string]string{"authorization": "Bearer gky_abc"}},
		{"an ID token with the claims", flat(verified), map[string]string{"authorization": "Bearer " + k.sign(t, verified, "JWT", nil)}},
		{"the local gateway's header", flat(verified), map[string]string{access.Header: header(t, forged.Principal)}},
	} {
		t.Run(tc.name+" is anonymous", func(t *testing.T) {
			p, err := access.FromEvent(ev(tc.claims, tc.headers))
			if !errors.Is(err, access.ErrNoPrincipal) {
				t.Fatalf("%+v %v", p, err)
			}
		})
	}
	t.Run("a principal of a later version is an error", func(t *testing.T) {
		later := other(func(c *access.Claims) { c.Principal.Version = access.Version + 1 })
		_, err := access.FromEvent(ev(flat(later), map[string]string{"authorization": "Bearer " + k.sign(t, later, access.TokenType, nil)}))
		if err == nil || errors.Is(err, access.ErrNoPrincipal) {
			t.Fatal(err)
		}
	})
	t.Run("the lambda authorizer's context still comes first", func(t *testing.T) {
		e := ev(flat(verified), map[string]string{"authorization": "Bearer " + tok})
		e.RequestContext.Authorizer.Lambda = map[string]any{"authenticated": "false"}
		if _, err := access.FromEvent(e); err != access.ErrNoPrincipal {
			t.Fatal(err)
		}
	})
}
