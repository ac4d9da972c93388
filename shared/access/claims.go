package access

// TokenType is the typ header of Guichet's JWT access tokens (RFC 9068).
const TokenType = "at+jwt"

// Claims are the claims of a Guichet JWT access token (RFC 9068, signed
// with RS256 or ES256, the key named by the kid header and listed in the issuer's
// JWKS). Principal is what the strict authorizer and GET /v1/me answer,
// as of the token's issue.
type Claims struct {
	Issuer string `json:"iss"`
	// Subject is the person's id (the same in every organization), or the
	// user's for username (PIN) and service users.
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	// ID (jti) names the token; its SHA-256 is the key of the token's
	// credential item, which the strict authorizer reads.
	ID string `json:"jti"`
	// ClientID is the OpenID Connect client (application) the token was
	// issued to.
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	AuthTime int64  `json:"auth_time,omitempty"`
	// SessionID is the session the token belongs to (none for a
	// client_credentials token).
	SessionID string    `json:"sid,omitempty"`
	Principal Principal `json:"principal"`
}
