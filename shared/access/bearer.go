package access

import (
	"errors"
	"net/http"
	"strings"
)

// Bearer is net/http middleware for a backend that verifies Guichet's
// access tokens itself (outside API Gateway): it reads the request's
// Authorization: Bearer token, verifies it with v and runs next with the
// token's principal in the request's context (FromContext; Require and
// Authenticated inside it read it there). A request without a valid token
// is answered 401 as problem+json with RFC 6750's WWW-Authenticate (its
// invalid_token error when a token was sent), and 503 when the issuer's
// keys cannot be fetched.
func Bearer(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeProblem(w, http.StatusUnauthorized, "unauthenticated", "This route needs a valid credential.")
				return
			}
			c, err := v.Verify(r.Context(), tok)
			if errors.Is(err, ErrInvalidToken) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				writeProblem(w, http.StatusUnauthorized, "unauthenticated", "This route needs a valid credential.")
				return
			}
			if err != nil {
				writeProblem(w, http.StatusServiceUnavailable, "unavailable", "The credential cannot be checked now.")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), c.Principal)))
		})
	}
}

// bearer returns the token of an Authorization header of the Bearer
// scheme (RFC 6750 §2.1).
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
