// Package signing holds the keys Guichet signs its JWTs with (ES256 on
// P-256), makes those JWTs and checks them.
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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithm is the only signature algorithm Guichet signs and accepts.
const Algorithm = jose.ES256

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
	ID      string
	Private *ecdsa.PrivateKey
	// Created is when the key was made.
	Created time.Time
	// Retire is, for a previous key, when the JWKS stops listing it (the
	// expiry of the last token it may have signed); zero otherwise.
	Retire time.Time
}

// Generate makes a new P-256 key.
func Generate(now time.Time) (Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("signing: generate: %w", err)
	}
	return newKey(priv, now)
}

func newKey(priv *ecdsa.PrivateKey, created time.Time) (Key, error) {
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("signing: thumbprint: %w", err)
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(tp), Private: priv, Created: created.UTC().Truncate(time.Second)}, nil
}

// public is k's public JWK.
func (k Key) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: string(Algorithm), Use: "sig"}
}

// KeySet is a deployment's signing keys.
type KeySet struct {
	Current  Key
	Next     Key
	Previous []Key
}

// NewKeySet makes a key set with a fresh current and next key.
func NewKeySet(now time.Time) (KeySet, error) {
	cur, err := Generate(now)
	if err != nil {
		return KeySet{}, err
	}
	next, err := Generate(now)
	if err != nil {
		return KeySet{}, err
	}
	return KeySet{Current: cur, Next: next}, nil
}

// Rotate returns the key set after one rotation at now: the next key
// signs, a fresh key is next, and the current key stays published until
// now+keep (the longest lifetime of a token it signed, with the
// verifiers' clock skew). Previous keys whose time is over are dropped.
func (ks KeySet) Rotate(now time.Time, keep time.Duration) (KeySet, error) {
	next, err := Generate(now)
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
		s := stored{JWK: jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: string(Algorithm), Use: "sig"}, Created: k.Created.Unix()}
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
// key a P-256 private key whose kid is its thumbprint. Its errors never
// carry key material.
func ParseKeySet(data []byte) (KeySet, error) {
	var in storedSet
	if err := json.Unmarshal(data, &in); err != nil {
		return KeySet{}, errors.New("signing: key set: not valid JSON")
	}
	dec := func(what string, s stored) (Key, error) {
		priv, ok := s.JWK.Key.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return Key{}, fmt.Errorf("signing: key set: %s key is not a P-256 private key", what)
		}
		k, err := newKey(priv, time.Unix(s.Created, 0))
		if err != nil {
			return Key{}, err
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
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: ks.Current.Private}, opts)
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
	ErrMalformed = errors.New("signing: not a compact JWS signed with ES256")
	ErrType      = errors.New("signing: wrong token type")
	ErrKey       = errors.New("signing: unknown key")
	ErrSignature = errors.New("signing: bad signature")
)

// Verify checks that token is a compact JWS of type typ, signed with
// ES256 by a key of set (found by its kid; no key is taken from the
// token itself), and returns its payload. It checks no claim: the caller
// does (issuer, audience, expiry).
func Verify(set jose.JSONWebKeySet, token, typ string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{Algorithm})
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
	if _, ok := keys[0].Key.(*ecdsa.PublicKey); !ok {
		return nil, ErrKey
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return nil, ErrSignature
	}
	return payload, nil
}
