package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
)

// JWTAuthorizer is what the stack's JWT authorizer (API Gateway's own,
// on the application's fast routes) accepts: an access token signed by a
// key of the issuer's JWKS, of the issuer, for the audience.
type JWTAuthorizer struct {
	Issuer, Audience string
	// Keys returns the issuer's JWKS, which API Gateway reads from the
	// issuer's jwks_uri and caches.
	Keys func(context.Context) (jose.JSONWebKeySet, error)
}

// rsaSigned reports whether the compact JWS tok's header says RS256.
func rsaSigned(tok string) bool {
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{signing.RS256})
	return err == nil && len(jws.Signatures) == 1
}

// jwtClaims are the claims API Gateway's JWT authorizer checks, and the
// principal the application receives.
type jwtClaims struct {
	Issuer    string          `json:"iss"`
	Audience  audience        `json:"aud"`
	ClientID  string          `json:"client_id"`
	Expiry    int64           `json:"exp"`
	NotBefore int64           `json:"nbf"`
	IssuedAt  int64           `json:"iat"`
	Scope     string          `json:"scope"`
	Principal json.RawMessage `json:"principal"`
}

// audience is an aud claim: one string or a list of them (RFC 7519).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// serveFast checks a request to the application's fast route ar as API
// Gateway's JWT authorizer does, without the authorizer and without the
// store: 401 without a valid token (signature, issuer, audience, expiry),
// 403 when its scope lacks the route's permission. What it admits is
// forwarded with the token's principal.
func (g *Gateway) serveFast(ar route.AppRoute, proxy http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := appRequest(w, r)
		if !ok {
			return
		}
		c, status, err := g.verifyJWT(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			g.log.ErrorContext(r.Context(), "gateway: JWT authorizer keys", "err", err)
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		if status == http.StatusOK && ar.Access == route.Permission && !slices.Contains(strings.Fields(c.Scope), ar.Permission) {
			status = http.StatusForbidden
		}
		switch status {
		case http.StatusUnauthorized:
			gatewayError(w, status, "Unauthorized")
			return
		case http.StatusForbidden:
			gatewayError(w, status, "Forbidden")
			return
		}
		out := r.Clone(r.Context())
		out.Body = io.NopCloser(bytes.NewReader(body))
		if p := bytes.TrimSpace(c.Principal); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
			out.Header.Set(principalHeader, base64.RawURLEncoding.EncodeToString(p))
		}
		proxy.ServeHTTP(w, out)
	})
}

// verifyJWT checks the token of an Authorization header (the token alone
// or after "Bearer ") as API Gateway's JWT authorizer does, and answers
// its claims with 200, or 401. It also checks the token's typ (at+jwt),
// which API Gateway does not: an ID token is refused here as there by its
// audience. err is a failure to get the keys.
func (g *Gateway) verifyJWT(ctx context.Context, authorization string) (jwtClaims, int, error) {
	var c jwtClaims
	tok := strings.TrimSpace(authorization)
	if len(tok) > len("Bearer ") && strings.EqualFold(tok[:len("Bearer ")], "Bearer ") {
		tok = strings.TrimSpace(tok[len("Bearer "):])
	}
	if tok == "" {
		return c, http.StatusUnauthorized, nil
	}
	set, err := g.opts.JWT.Keys(ctx)
	if err != nil {
		return c, 0, err
	}
	if !rsaSigned(tok) {
		// API Gateway's HTTP API JWT authorizer verifies RSA signatures
		// only: an ES256 token (JWT_ALGORITHM=ES256) is refused there.
		return c, http.StatusUnauthorized, nil
	}
	payload, err := signing.Verify(set, tok, signing.AccessToken)
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, http.StatusUnauthorized, nil
	}
	now := g.now().Unix()
	aud := slices.Contains(c.Audience, g.opts.JWT.Audience)
	if len(c.Audience) == 0 {
		// API Gateway reads client_id only when there is no aud.
		aud = c.ClientID == g.opts.JWT.Audience
	}
	if c.Issuer != g.opts.JWT.Issuer || !aud || c.Expiry <= now || c.NotBefore > now || c.IssuedAt > now {
		return c, http.StatusUnauthorized, nil
	}
	return c, http.StatusOK, nil
}
