package access

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Leeway is the clock difference between Guichet and a verifier that
// Verify allows on a token's exp and iat (the strict authorizer's too).
const Leeway = 30 * time.Second

// RefetchInterval is the least time between two requests of a Verifier
// for the issuer's JWKS: a flood of tokens naming unknown keys makes one
// request a minute, not one each.
const RefetchInterval = time.Minute

// KeysMaxAge is how long a Verifier trusts the JWKS it fetched without
// asking again, so that a key the issuer withdraws stops being accepted.
// When the issuer cannot be reached the keys it had are kept.
const KeysMaxAge = time.Hour

// JWKSPath is where, under the issuer, Guichet serves its JWKS.
const JWKSPath = "/.well-known/jwks.json"

// ErrInvalidToken is the error of Verify (wrapped, with the reason) for a
// token it refuses: malformed, of another type or algorithm, signed by an
// unknown key, forged, expired, or for another issuer or audience. Its
// other errors are failures to fetch the issuer's keys.
var ErrInvalidToken = errors.New("access: invalid token")

// An Option configures a Verifier or an Introspector.
type Option func(*settings)

type settings struct {
	client *http.Client
	now    func() time.Time
}

// WithHTTPClient makes the requests to the issuer with c (default, and
// for nil: a client with a 10 s timeout).
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) {
		if c != nil {
			s.client = c
		}
	}
}

// WithClock makes a Verifier read the time from now (default: time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

func newSettings(opts []Option) settings {
	s := settings{client: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// A Verifier checks Guichet's JWT access tokens offline, with the public
// keys of the issuer's JWKS, which it fetches and caches. It answers what
// the token said when it was issued: a session revoked since is still
// accepted until the token expires (ask an Introspector for revocation).
// It is safe for concurrent use.
type Verifier struct {
	issuer, audience, jwks string
	client                 *http.Client
	now                    func() time.Time

	keys atomic.Pointer[keySet]
	// mu is held while the JWKS is fetched (one request at a time) and
	// guards tried and lastErr.
	mu      sync.Mutex
	tried   time.Time
	lastErr error
}

// keySet is the issuer's signing keys by kid, as fetched at fetched.
type keySet struct {
	keys    map[string]publicKey
	fetched time.Time
}

// publicKey is a key of the issuer's JWKS and the one algorithm it
// verifies: RS256 for an RSA key (2048 bits or more), ES256 for P-256.
type publicKey struct {
	alg jose.SignatureAlgorithm
	key any
}

// accepted are the algorithms Guichet signs access tokens with.
var accepted = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// NewVerifier returns a verifier of the access tokens that issuer (Guichet's
// PUBLIC_URL) issued for audience (its ACCESS_TOKEN_AUDIENCE, by default
// the issuer). The issuer must be https, or http on a loopback address
// (make run). It fetches nothing until the first Verify.
func NewVerifier(issuer, audience string, opts ...Option) (*Verifier, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	if audience == "" {
		return nil, errors.New("access: verifier without an audience")
	}
	s := newSettings(opts)
	return &Verifier{issuer: issuer, audience: audience, jwks: strings.TrimSuffix(issuer, "/") + JWKSPath,
		client: s.client, now: s.now}, nil
}

// checkIssuer refuses an issuer whose keys or answers could be changed on
// the way: anything but https, except http to this machine.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("access: issuer: %w", err)
	}
	switch {
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("access: issuer %q: want a URL like https://guichet.example", issuer)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("access: issuer %q: https only (http on a loopback address)", issuer)
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Verify checks token (an RFC 9068 JWT access token: typ at+jwt, RS256 or
// ES256 as its key of the issuer's JWKS, named by its kid, says; a key the
// token carries is never used, nor an algorithm its key is not of) and its
// claims: iss is the issuer, aud holds the audience, exp has not passed
// and iat has come (both within Leeway), sub and jti are set and the
// principal is one this package reads. A kid the cache does not know
// makes it fetch the JWKS again, at most every RefetchInterval.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	jws, err := jose.ParseSignedCompact(token, accepted)
	if err != nil || len(jws.Signatures) != 1 {
		return Claims{}, invalid("not a compact JWS signed with RS256 or ES256")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !accessTokenType(typ) {
		return Claims{}, invalid(fmt.Sprintf("typ %q, want %s", typ, TokenType))
	}
	if h.KeyID == "" {
		return Claims{}, invalid("no kid")
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return Claims{}, err
	}
	if h.Algorithm != string(key.alg) {
		return Claims{}, invalid(fmt.Sprintf("alg %q for a %s key", h.Algorithm, key.alg))
	}
	payload, err := jws.Verify(key.key)
	if err != nil {
		return Claims{}, invalid("bad signature")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, invalid("claims are not JSON of access.Claims")
	}
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return Claims{}, invalid(fmt.Sprintf("iss %q", c.Issuer))
	case !slices.Contains(c.Audience, v.audience):
		return Claims{}, invalid(fmt.Sprintf("aud %q", c.Audience))
	case c.Expiry == 0 || !now.Before(time.Unix(c.Expiry, 0).Add(Leeway)):
		return Claims{}, invalid("expired")
	case c.IssuedAt == 0 || now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return Claims{}, invalid("iat missing or in the future")
	case c.Subject == "" || c.ID == "":
		return Claims{}, invalid("no sub or jti")
	}
	if err := c.Principal.check(); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return c, nil
}

// accessTokenType reports whether typ is RFC 9068's (media types compare
// without case; the application/ prefix may be left out).
func accessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == TokenType || typ == "application/"+TokenType
}

// key returns the issuer's key kid, fetching the JWKS when kid is unknown
// or the cache older than KeysMaxAge.
func (v *Verifier) key(ctx context.Context, kid string) (publicKey, error) {
	s := v.keys.Load()
	if s != nil {
		if k, ok := s.keys[kid]; ok && v.now().Sub(s.fetched) < KeysMaxAge {
			return k, nil
		}
	}
	s, err := v.refresh(ctx)
	if s != nil {
		if k, ok := s.keys[kid]; ok {
			return k, nil // a stale key when the issuer cannot be reached
		}
	}
	if err != nil {
		return publicKey{}, err
	}
	return publicKey{}, invalid(fmt.Sprintf("unknown kid %q", kid))
}

// refresh fetches the JWKS unless it was asked less than RefetchInterval
// ago, and returns the keys it has with the error of the last fetch.
func (v *Verifier) refresh(ctx context.Context) (*keySet, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if !v.tried.IsZero() && now.Sub(v.tried) < RefetchInterval {
		return v.keys.Load(), v.lastErr
	}
	v.tried = now
	keys, err := v.fetch(ctx)
	v.lastErr = err
	if err != nil {
		return v.keys.Load(), err
	}
	s := &keySet{keys: keys, fetched: now}
	v.keys.Store(s)
	return s, nil
}

// maxJWKS is the largest JWKS a Verifier reads.
const maxJWKS = 1 << 20

// fetchTimeout bounds a fetch of the JWKS.
const fetchTimeout = 10 * time.Second

// fetch reads the issuer's JWKS and keeps its signing keys with a kid
// (RSA of 2048 bits or more, P-256); keys of other kinds are skipped. The request
// outlives the cancellation of ctx (within fetchTimeout): its result
// serves every caller, and a client that hangs up must not leave the
// verifier without keys until the next RefetchInterval.
func (v *Verifier) fetch(ctx context.Context) (map[string]publicKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwks, nil)
	if err != nil {
		return nil, fmt.Errorf("access: jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("access: jwks: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("access: jwks: %s answered %s", v.jwks, res.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxJWKS)).Decode(&set); err != nil {
		return nil, fmt.Errorf("access: jwks: %w", err)
	}
	keys := map[string]publicKey{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		var pk publicKey
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() >= 2048 {
				pk = publicKey{jose.RS256, pub}
			}
		case *ecdsa.PublicKey:
			if pub.Curve == elliptic.P256() {
				pk = publicKey{jose.ES256, pub}
			}
		}
		if pk.key != nil && (k.Algorithm == "" || k.Algorithm == string(pk.alg)) {
			keys[k.KeyID] = pk
		}
	}
	return keys, nil
}
