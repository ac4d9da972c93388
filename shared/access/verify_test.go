package access_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/access"
)

const audience = "https://api.example"

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// key is a signing key of the test issuer.
type key struct {
	kid  string
	priv *ecdsa.PrivateKey
	// rsa, when set, is the key instead of priv (RS256).
	rsa *rsa.PrivateKey
}

// rsaKey is an RS256 key of the test issuer: the tests' fixed RSA key
// (making one takes a quarter of a second).
func rsaKey(t testing.TB, kid string) key {
	t.Helper()
	b, err := os.ReadFile("../apitest/testdata/jwt-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Current struct {
			JWK jose.JSONWebKey `json:"jwk"`
		} `json:"current"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return key{kid: kid, rsa: set.Current.JWK.Key.(*rsa.PrivateKey)}
}

// signer is k's algorithm and private key.
func (k key) signer() jose.SigningKey {
	if k.rsa != nil {
		return jose.SigningKey{Algorithm: jose.RS256, Key: k.rsa}
	}
	return jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}
}

// jwk is k's public JWK.
func (k key) jwk() jose.JSONWebKey {
	if k.rsa != nil {
		return jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"}
	}
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"}
}

func newKey(t testing.TB, kid string) key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key{kid: kid, priv: priv}
}

// sign signs claims with k as a compact JWS of type typ, with k's kid
// unless extra headers say otherwise.
func (k key) sign(t testing.TB, claims any, typ string, opts *jose.SignerOptions) string {
	t.Helper()
	if opts == nil {
		opts = &jose.SignerOptions{}
	}
	opts = opts.WithType(jose.ContentType(typ))
	if _, ok := opts.ExtraHeaders["kid"]; !ok && k.kid != "" {
		opts = opts.WithHeader("kid", k.kid)
	}
	s, err := jose.NewSigner(k.signer(), opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// issuer serves a JWKS over HTTPS and counts its requests.
type issuer struct {
	url     string
	client  *http.Client // trusts the server's certificate
	fetches atomic.Int32
	mu      sync.Mutex
	keys    []key
	down    bool
}

func newIssuer(t testing.TB, keys ...key) *issuer {
	is := &issuer{keys: keys}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != access.JWKSPath {
			http.NotFound(w, r)
			return
		}
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		if is.down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		set := jose.JSONWebKeySet{}
		for _, k := range is.keys {
			set.Keys = append(set.Keys, k.jwk())
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	is.url, is.client = srv.URL, srv.Client()
	return is
}

// publish sets the keys the JWKS lists and whether it answers.
func (is *issuer) publish(down bool, keys ...key) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys, is.down = keys, down
}

func (is *issuer) verifier(t testing.TB, c *clock) *access.Verifier {
	t.Helper()
	v, err := access.NewVerifier(is.url, audience, access.WithClock(c.Now), access.WithHTTPClient(is.client))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claims are valid claims of alice's access token at now.
func claims(iss string, now time.Time) access.Claims {
	return access.Claims{Issuer: iss, Subject: "per_1", Audience: []string{"https://other.example", audience},
		Expiry: now.Add(5 * time.Minute).Unix(), IssuedAt: now.Unix(), ID: "jti_" + now.Format("150405.000000000"),
		ClientID: "spa", SessionID: "ses_1", Principal: alice}
}

// unsigned is a JWS of header and payload with signature sig, made by
// hand.
func unsigned(t *testing.T, header map[string]any, payload any, sig []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestVerifyRS256: Guichet's default algorithm; an RSA key verifies
// RS256 only, an EC key ES256 only, whatever the header says.
func TestVerifyRS256(t *testing.T) {
	ctx := context.Background()
	rk, ek := rsaKey(t, "r1"), newKey(t, "e1")
	is := newIssuer(t, rk, ek)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	v := is.verifier(t, c)
	good := claims(is.url, c.Now())
	if _, err := v.Verify(ctx, rk.sign(t, good, access.TokenType, nil)); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	if _, err := v.Verify(ctx, ek.sign(t, good, access.TokenType, nil)); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	// Signed by one key, naming the other's kid.
	for name, tok := range map[string]string{
		"ES256 under the RSA key's kid": ek.sign(t, good, access.TokenType, (&jose.SignerOptions{}).WithHeader("kid", "r1")),
		"RS256 under the EC key's kid":  rk.sign(t, good, access.TokenType, (&jose.SignerOptions{}).WithHeader("kid", "e1")),
	} {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, access.ErrInvalidToken) || !strings.Contains(err.Error(), "alg") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, "k1")
	is := newIssuer(t, k)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	v := is.verifier(t, c)
	now := c.Now()
	good := claims(is.url, now)

	t.Run("a valid token gives its claims and principal", func(t *testing.T) {
		got, err := v.Verify(ctx, k.sign(t, good, access.TokenType, nil))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != good.ID || got.Subject != "per_1" || got.Principal.User != "usr_1" || !got.Principal.Can("projects:write") {
			t.Fatalf("%+v", got)
		}
		if _, err := v.Verify(ctx, k.sign(t, good, "application/at+jwt", nil)); err != nil {
			t.Fatalf("typ application/at+jwt: %v", err)
		}
	})
	t.Run("exp and iat are allowed the leeway, not more", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			exp, iat time.Duration
			ok       bool
		}{
			{"expired within the leeway", -access.Leeway + time.Second, -time.Hour, true},
			{"expired beyond the leeway", -access.Leeway, -time.Hour, false},
			{"issued within the leeway ahead", time.Hour, access.Leeway - time.Second, true},
			{"issued beyond the leeway ahead", time.Hour, access.Leeway + time.Second, false},
		} {
			cl := good
			cl.Expiry, cl.IssuedAt = now.Add(tc.exp).Unix(), now.Add(tc.iat).Unix()
			_, err := v.Verify(ctx, k.sign(t, cl, access.TokenType, nil))
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, access.ErrInvalidToken) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})

	attacker := newKey(t, "k1")
	pub, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hmac, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, (&jose.SignerOptions{}).WithType(access.TokenType).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(good)
	hs, err := hmac.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	hs256, _ := hs.CompactSerialize()
	with := func(f func(*access.Claims)) access.Claims {
		cl := good
		f(&cl)
		return cl
	}
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"an expired token", k.sign(t, with(func(c *access.Claims) { c.Expiry = now.Add(-time.Minute).Unix() }), access.TokenType, nil), "expired"},
		{"a token issued in the future", k.sign(t, with(func(c *access.Claims) { c.IssuedAt = now.Add(time.Minute).Unix() }), access.TokenType, nil), "iat"},
		{"a token without exp", k.sign(t, with(func(c *access.Claims) { c.Expiry = 0 }), access.TokenType, nil), "expired"},
		{"a token of another issuer", k.sign(t, with(func(c *access.Claims) { c.Issuer = is.url + "/" }), access.TokenType, nil), "iss"},
		{"a token for another audience", k.sign(t, with(func(c *access.Claims) { c.Audience = []string{"https://other.example"} }), access.TokenType, nil), "aud"},
		{"a token without jti", k.sign(t, with(func(c *access.Claims) { c.ID = "" }), access.TokenType, nil), "jti"},
		{"a token of a later principal", k.sign(t, with(func(c *access.Claims) { c.Principal.Version = access.Version + 1 }), access.TokenType, nil), "version"},
		{"an ID token (typ JWT)", k.sign(t, good, "JWT", nil), "typ \"JWT\""},
		{"a token without typ", unsigned(t, map[string]any{"alg": "ES256", "kid": "k1"}, good, make([]byte, 64)), "typ \"\""},
		{"alg none", unsigned(t, map[string]any{"alg": "none", "typ": access.TokenType, "kid": "k1"}, good, nil), "ES256"},
		{"HS256 keyed with the public key's bytes", hs256, "ES256"},
		{"a token signed by another key under the kid", attacker.sign(t, good, access.TokenType, nil), "bad signature"},
		{"a token carrying its own jwk", attacker.sign(t, good, access.TokenType, &jose.SignerOptions{EmbedJWK: true}), "bad signature"},
		{"a token without kid", key{priv: k.priv}.sign(t, good, access.TokenType, nil), "no kid"},
		{"a token that is no JWS", "a.b.c", "ES256"},
		{"a token of five parts (JWE)", "a.b.c.d.e", "ES256"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := v.Verify(ctx, tc.token)
			if !errors.Is(err, access.ErrInvalidToken) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestVerifyFetchesKeys(t *testing.T) {
	ctx := context.Background()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	is := newIssuer(t, k1)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	v := is.verifier(t, c)
	tok := func(k key) string { return k.sign(t, claims(is.url, c.Now()), access.TokenType, nil) }
	verify := func(k key) error { _, err := v.Verify(ctx, tok(k)); return err }
	fetches := func(t *testing.T, want int32) {
		t.Helper()
		if got := is.fetches.Load(); got != want {
			t.Fatalf("%d fetches of the JWKS, want %d", got, want)
		}
	}

	if err := verify(k1); err != nil {
		t.Fatal(err)
	}
	if err := verify(k1); err != nil {
		t.Fatal(err)
	}
	fetches(t, 1)
	bogus := newKey(t, "bogus")
	t.Run("an unknown kid within a minute of the last fetch is refused without a request", func(t *testing.T) {
		if err := verify(bogus); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
		fetches(t, 1)
	})
	t.Run("an unknown kid makes one refetch, then is refused", func(t *testing.T) {
		c.Advance(access.RefetchInterval)
		if err := verify(bogus); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
		if err := verify(bogus); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
		fetches(t, 2)
	})
	t.Run("a rotated key is not fetched again within the minute", func(t *testing.T) {
		is.publish(false, k1, k2)
		if err := verify(k2); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
		fetches(t, 2)
	})
	t.Run("a rotated key is picked up by the next refetch", func(t *testing.T) {
		c.Advance(access.RefetchInterval)
		if err := verify(k2); err != nil {
			t.Fatal(err)
		}
		if err := verify(k1); err != nil {
			t.Fatal(err)
		}
		fetches(t, 3)
	})
	t.Run("a flood of unknown kids makes at most one request a minute", func(t *testing.T) {
		c.Advance(access.RefetchInterval)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if err := verify(bogus); !errors.Is(err, access.ErrInvalidToken) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		fetches(t, 4)
	})
	t.Run("keys are kept when the issuer cannot be reached", func(t *testing.T) {
		is.publish(true, k1, k2)
		c.Advance(access.KeysMaxAge)
		if err := verify(k1); err != nil {
			t.Fatal(err)
		}
		fetches(t, 5)
		c.Advance(access.RefetchInterval)
		err := verify(newKey(t, "k3"))
		if err == nil || errors.Is(err, access.ErrInvalidToken) {
			t.Fatalf("an unknown kid while the issuer is down: %v, want a fetch error", err)
		}
		fetches(t, 6)
	})
	t.Run("a key withdrawn from the JWKS is refused once the keys are old", func(t *testing.T) {
		is.publish(false, k2)
		if err := verify(k1); err != nil {
			t.Fatalf("before the next fetch: %v", err)
		}
		c.Advance(access.KeysMaxAge)
		if err := verify(k1); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
		if err := verify(k2); err != nil {
			t.Fatal(err)
		}
		fetches(t, 7)
	})
}

func TestNewVerifierAndIntrospectorRefuseAnIssuerInClear(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"https://guichet.example", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://guichet.example", false},
		{"http://127.0.0.1.example", false},
		{"ftp://guichet.example", false},
		{"https://guichet.example?x=1", false},
		{"guichet.example", false},
	} {
		_, verr := access.NewVerifier(tc.issuer, audience)
		_, ierr := access.NewIntrospector(tc.issuer, "web", "secret")
		if tc.ok != (verr == nil) || tc.ok != (ierr == nil) {
			t.Errorf("%s: verifier %v, introspector %v", tc.issuer, verr, ierr)
		}
	}
}

func TestBearer(t *testing.T) {
	k := newKey(t, "k1")
	is := newIssuer(t, k)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	h := access.Bearer(is.verifier(t, c))(access.Require("projects:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := access.FromContext(r.Context())
		w.Write([]byte(p.User))
	})))
	do := func(authorization string, spoof bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/projects/1", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if spoof {
			forged := alice
			forged.User = "usr_forged"
			r.Header.Set(access.Header, header(t, forged))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	problem := func(w *httptest.ResponseRecorder, status int, code, challenge string) {
		t.Helper()
		var v struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Status != status || v.Code != code ||
			w.Header().Get("WWW-Authenticate") != challenge {
			t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
		}
	}
	tok := k.sign(t, claims(is.url, c.Now()), access.TokenType, nil)
	t.Run("a valid token's principal reaches the handler, not a header's", func(t *testing.T) {
		if w := do("Bearer "+tok, true); w.Code != 200 || w.Body.String() != "usr_1" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if w := do("bearer "+tok, false); w.Code != 200 {
			t.Fatalf("lower-case scheme: %d %s", w.Code, w.Body)
		}
	})
	t.Run("no token is 401 with a bare challenge", func(t *testing.T) {
		problem(do("", true), 401, "unauthenticated", "Bearer")
		problem(do("Basic dXNlcjpwYXNz", false), 401, "unauthenticated", "Bearer")
	})
	t.Run("a bad token is 401 invalid_token", func(t *testing.T) {
		problem(do("Bearer "+tok[:len(tok)-4]+"AAAA", false), 401, "unauthenticated", `Bearer error="invalid_token"`)
		problem(do("Bearer "+k.sign(t, claims(is.url, c.Now()), "JWT", nil), false), 401, "unauthenticated", `Bearer error="invalid_token"`)
	})
	t.Run("a principal without the permission is 403", func(t *testing.T) {
		cl := claims(is.url, c.Now())
		cl.Principal.Permissions = []string{"projects:read"}
		problem(do("Bearer "+k.sign(t, cl, access.TokenType, nil), false), 403, "forbidden", "")
	})
	t.Run("keys that cannot be fetched are 503", func(t *testing.T) {
		is.publish(true)
		c.Advance(access.RefetchInterval)
		problem(do("Bearer "+newKey(t, "k2").sign(t, claims(is.url, c.Now()), access.TokenType, nil), false), 503, "unavailable", "")
	})
}

func BenchmarkVerify(b *testing.B) {
	k := newKey(b, "k1")
	is := newIssuer(b, k)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	v := is.verifier(b, c)
	tok := k.sign(b, claims(is.url, c.Now()), access.TokenType, nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyAfterAHangUp: a caller that has gone when the keys are first
// fetched leaves them fetched for the next.
func TestVerifyAfterAHangUp(t *testing.T) {
	k := newKey(t, "k1")
	is := newIssuer(t, k)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	v := is.verifier(t, c)
	tok := k.sign(t, claims(is.url, c.Now()), access.TokenType, nil)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	v.Verify(gone, tok)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches", n)
	}
}

// TestTheDefaultClientChecksTheIssuersCertificate: the test issuer's
// certificate is its own; only its client trusts it.
func TestTheDefaultClientChecksTheIssuersCertificate(t *testing.T) {
	k := newKey(t, "k1")
	is := newIssuer(t, k)
	v, err := access.NewVerifier(is.url, audience)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), k.sign(t, claims(is.url, time.Now()), access.TokenType, nil))
	if err == nil || errors.Is(err, access.ErrInvalidToken) || is.fetches.Load() != 0 {
		t.Fatalf("%v, %d fetches", err, is.fetches.Load())
	}
}
