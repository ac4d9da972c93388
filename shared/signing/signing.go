// Package signing holds the keys Guichet signs its JWTs with (RS256 on
// RSA-2048 by default, or ES256 on P-256), makes those JWTs and checks
// them.
//
// A deployment has one key set: the current key, which signs; the next
// key, published in the JWKS one rotation before it signs, so that every
// verifier's cache knows it by then; and the previous keys, published
// until the last token they signed has expired. The private keys live in
// Secrets Manager in AWS (a JSON key set, read at init) and in the
// embedded stack locally; only public keys leave this package.
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithm is a signature algorithm Guichet signs with: RS256 or ES256.
type Algorithm = jose.SignatureAlgorithm

// The algorithms Guichet signs with and accepts. RS256 is the default:
// API Gateway's HTTP API JWT authorizer, which checks the application's
// fast routes, verifies RSA signatures only, and RS256 is OpenID
// Connect's mandatory algorithm. ES256 is faster to sign and smaller, for
// deployments without fast routes.
const (
	RS256 = jose.RS256
	ES256 = jose.ES256
)

// Algorithms are the algorithms a key set's keys may have.
var algorithms = []jose.SignatureAlgorithm{RS256, ES256}

// ParseAlgorithm reads an algorithm's name (JWT_ALGORITHM).
func ParseAlgorithm(name string) (Algorithm, error) {
	for _, a := range algorithms {
		if string(a) == name {
			return a, nil
		}
	}
	return "", fmt.Errorf("signing: algorithm %q: want RS256 or ES256", name)
}

// rsaBits is the size of the RSA keys Generate makes.
const rsaBits = 2048

// Types of JWT Guichet signs (the typ header).
const (
	// AccessToken is RFC 9068's type of a JWT access token.
	AccessToken = "at+jwt"
	// IDToken is the type of an OpenID Connect ID token.
	IDToken = "JWT"
)

// Key is one signing key.
type Key struct {
	// ID is the key's kid: its RFC 7638 thumbprint, base64url.
	ID string
	// Alg is the key's algorithm: RS256 for an RSA key, ES256 for P-256.
	Alg     Algorithm
	Private crypto.Signer
	// Created is when the key was made.
	Created time.Time
	// Retire is, for a previous key, when the JWKS stops listing it (the
	// expiry of the last token it may have signed); zero otherwise.
	Retire time.Time
}

// Generate makes a new key of alg: RSA-2048 for RS256, P-256 for ES256.
func Generate(alg Algorithm, now time.Time) (Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return Key{}, fmt.Errorf("signing: generate: algorithm %q: want RS256 or ES256", alg)
	}
	if err != nil {
		return Key{}, fmt.Errorf("signing: generate: %w", err)
	}
	return newKey(priv, now)
}

// newKey is the key of priv: an RSA key of at least 2048 bits, or P-256.
func newKey(priv crypto.Signer, created time.Time) (Key, error) {
	var alg Algorithm
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < rsaBits {
			return Key{}, errors.New("signing: an RSA key of fewer than 2048 bits")
		}
		alg = RS256
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return Key{}, errors.New("signing: an EC key not on P-256")
		}
		alg = ES256
	default:
		return Key{}, errors.New("signing: neither an RSA nor a P-256 key")
	}
	pub := jose.JSONWebKey{Key: priv.Public()}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("signing: thumbprint: %w", err)
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(tp), Alg: alg, Private: priv, Created: created.UTC().Truncate(time.Second)}, nil
}

// public is k's public JWK.
func (k Key) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"}
}

// KeySet is a deployment's signing keys.
type KeySet struct {
	Current  Key
	Next     Key
	Previous []Key
}

// NewKeySet makes a key set with a fresh current and next key of alg.
func NewKeySet(alg Algorithm, now time.Time) (KeySet, error) {
	cur, err := Generate(alg, now)
	if err != nil {
		return KeySet{}, err
	}
	next, err := Generate(alg, now)
	if err != nil {
		return KeySet{}, err
	}
	return KeySet{Current: cur, Next: next}, nil
}

// Rotate returns the key set after one rotation at now: the next key
// signs, a fresh key of alg is next, and the current key stays published
// until now+keep (the longest lifetime of a token it signed, with the
// verifiers' clock skew). Previous keys whose time is over are dropped.
// A key set changes algorithm in two rotations: its new key is published
// in the first and signs from the second.
func (ks KeySet) Rotate(alg Algorithm, now time.Time, keep time.Duration) (KeySet, error) {
	next, err := Generate(alg, now)
	if err != nil {
		return KeySet{}, err
	}
	old := ks.Current
	old.Retire = now.Add(keep).UTC().Truncate(time.Second)
	prev := slices.DeleteFunc(slices.Clone(ks.Previous), func(k Key) bool { return !now.Before(k.Retire) })
	return KeySet{Current: ks.Next, Next: next, Previous: append(prev, old)}, nil
}

// JWKS is the public key set (RFC 7517) verifiers fetch: the current, next
// and previous keys, without their private parts.
func (ks KeySet) JWKS() jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ks.Current.public(), ks.Next.public()}}
	for _, k := range ks.Previous {
		set.Keys = append(set.Keys, k.public())
	}
	return set
}

// stored is a key in the key set's JSON.
type stored struct {
	// JWK is the private key as a JWK (with its kid).
	JWK     jose.JSONWebKey `json:"jwk"`
	Created int64           `json:"created"`
	Retire  int64           `json:"retire,omitempty"`
}

type storedSet struct {
	Current  stored   `json:"current"`
	Next     stored   `json:"next"`
	Previous []stored `json:"previous,omitempty"`
}

// MarshalJSON encodes the key set, private keys included: for Secrets
// Manager or the embedded stack only.
func (ks KeySet) MarshalJSON() ([]byte, error) {
	enc := func(k Key) stored {
		s := stored{JWK: jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"}, Created: k.Created.Unix()}
		if !k.Retire.IsZero() {
			s.Retire = k.Retire.Unix()
		}
		return s
	}
	out := storedSet{Current: enc(ks.Current), Next: enc(ks.Next)}
	for _, k := range ks.Previous {
		out.Previous = append(out.Previous, enc(k))
	}
	return json.Marshal(out)
}

// ParseKeySet decodes a key set MarshalJSON encoded and checks it: every
// key an RSA (2048 bits or more) or P-256 private key whose kid is its
// thumbprint. Its errors never carry key material.
func ParseKeySet(data []byte) (KeySet, error) {
	var in storedSet
	if err := json.Unmarshal(data, &in); err != nil {
		return KeySet{}, errors.New("signing: key set: not valid JSON")
	}
	dec := func(what string, s stored) (Key, error) {
		priv, ok := s.JWK.Key.(crypto.Signer)
		if !ok {
			return Key{}, fmt.Errorf("signing: key set: %s key is not a private key", what)
		}
		k, err := newKey(priv, time.Unix(s.Created, 0))
		if err != nil {
			return Key{}, fmt.Errorf("signing: key set: %s key: %w", what, err)
		}
		if k.ID != s.JWK.KeyID {
			return Key{}, fmt.Errorf("signing: key set: %s key's kid is not its thumbprint", what)
		}
		if s.Retire != 0 {
			k.Retire = time.Unix(s.Retire, 0).UTC()
		}
		return k, nil
	}
	var ks KeySet
	var err error
	if ks.Current, err = dec("current", in.Current); err != nil {
		return KeySet{}, err
	}
	if ks.Next, err = dec("next", in.Next); err != nil {
		return KeySet{}, err
	}
	for i, s := range in.Previous {
		k, err := dec(fmt.Sprintf("previous[%d]", i), s)
		if err != nil {
			return KeySet{}, err
		}
		ks.Previous = append(ks.Previous, k)
	}
	return ks, nil
}

// Sign signs claims (marshalled as JSON) with the current key, as a
// compact JWS of type typ (AccessToken or IDToken) with the key's kid.
func (ks KeySet) Sign(claims any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("signing: claims: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), ks.Current.ID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: ks.Current.Alg, Key: ks.Current.Private}, opts)
	if err != nil {
		return "", fmt.Errorf("signing: signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// Errors of Verify.
var (
	ErrMalformed = errors.New("signing: not a compact JWS signed with RS256 or ES256")
	ErrType      = errors.New("signing: wrong token type")
	ErrKey       = errors.New("signing: unknown key")
	ErrSignature = errors.New("signing: bad signature")
)

// Verify checks that token is a compact JWS of type typ, signed by a key
// of set (found by its kid; no key is taken from the token itself) with
// that key's own algorithm (RS256 for an RSA key, ES256 for a P-256 key:
// the header cannot pick another), and returns its payload. It checks no
// claim: the caller does (issuer, audience, expiry).
func Verify(set jose.JSONWebKeySet, token, typ string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrMalformed
	}
	h := jws.Signatures[0].Protected
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); t != typ {
		return nil, ErrType
	}
	keys := set.Key(h.KeyID)
	if h.KeyID == "" || len(keys) != 1 {
		return nil, ErrKey
	}
	switch k := keys[0].Key.(type) {
	case *rsa.PublicKey:
		if h.Algorithm != string(RS256) || k.N.BitLen() < rsaBits {
			return nil, ErrKey
		}
	case *ecdsa.PublicKey:
		if h.Algorithm != string(ES256) || k.Curve != elliptic.P256() {
			return nil, ErrKey
		}
	default:
		return nil, ErrKey
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return nil, ErrSignature
	}
	return payload, nil
}
