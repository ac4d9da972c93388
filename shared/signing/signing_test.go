package signing_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/signing"
)

func TestSignVerifyRotate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ks, err := signing.NewKeySet(signing.ES256, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ks.Sign(map[string]any{"sub": "u1"}, signing.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := signing.Verify(ks.JWKS(), tok, signing.AccessToken)
	if err != nil || !strings.Contains(string(payload), `"sub":"u1"`) {
		t.Fatalf("verify = %s, %v", payload, err)
	}
	if _, err := signing.Verify(ks.JWKS(), tok, signing.IDToken); !errors.Is(err, signing.ErrType) {
		t.Fatalf("an access token verified as an ID token: %v", err)
	}
	// Rotation: the old key stays published until its time is over.
	rotated, err := ks.Rotate(signing.ES256, now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current.ID != ks.Next.ID {
		t.Fatal("the next key does not sign after a rotation")
	}
	if _, err := signing.Verify(rotated.JWKS(), tok, signing.AccessToken); err != nil {
		t.Fatalf("a token of the previous key fails after a rotation: %v", err)
	}
	later, err := rotated.Rotate(signing.ES256, now.Add(11*time.Minute), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Verify(later.JWKS(), tok, signing.AccessToken); !errors.Is(err, signing.ErrKey) {
		t.Fatalf("a retired key still verifies: %v", err)
	}
	// The key set survives its JSON; the JWKS carries no private part.
	data, err := json.Marshal(later)
	if err != nil {
		t.Fatal(err)
	}
	back, err := signing.ParseKeySet(data)
	if err != nil || back.Current.ID != later.Current.ID || len(back.Previous) != len(later.Previous) {
		t.Fatalf("parse = %+v, %v", back, err)
	}
	pub, _ := json.Marshal(later.JWKS())
	if strings.Contains(string(pub), `"d"`) {
		t.Fatalf("the JWKS carries a private key: %s", pub)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	ks, _ := signing.NewKeySet(signing.ES256, now)
	other, _ := signing.NewKeySet(signing.ES256, now)
	tok, _ := ks.Sign(map[string]any{"sub": "u1"}, signing.AccessToken)
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	cases := map[string]string{
		"alg none":                  enc([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+ks.Current.ID+`"}`)) + "." + parts[1] + ".",
		"HS256 with the public key": enc([]byte(`{"alg":"HS256","typ":"at+jwt","kid":"`+ks.Current.ID+`"}`)) + "." + parts[1] + "." + parts[2],
		"payload changed":           parts[0] + "." + enc([]byte(`{"sub":"admin"}`)) + "." + parts[2],
		"garbage":                   "a.b.c",
	}
	for name, tk := range cases {
		if _, err := signing.Verify(ks.JWKS(), tk, signing.AccessToken); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if _, err := signing.Verify(other.JWKS(), tok, signing.AccessToken); !errors.Is(err, signing.ErrKey) {
		t.Errorf("another deployment's key set verified the token: %v", err)
	}
	// A token naming no kid, or carrying its own key (jwk header), is refused.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: other.Current.Private},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"))
	jws, _ := signer.Sign([]byte(`{"sub":"admin"}`))
	embedded, _ := jws.CompactSerialize()
	if _, err := signing.Verify(ks.JWKS(), embedded, signing.AccessToken); err == nil {
		t.Error("a token with an embedded key verified")
	}
}

// testRSA is the tests' RS256 key set, made once: an RSA key takes a
// quarter of a second to make.
func testRSA(t *testing.T) signing.KeySet {
	t.Helper()
	b, err := os.ReadFile("../apitest/testdata/jwt-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := signing.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestEachKeyVerifiesItsOwnAlgorithmOnly: an RS256 key set signs RS256,
// the JWKS says so, and a header naming another algorithm than its key's
// is refused, whatever it says (no RSA key checks an ES256 header, no EC
// key an RS256 one).
func TestEachKeyVerifiesItsOwnAlgorithmOnly(t *testing.T) {
	rs := testRSA(t)
	if rs.Current.Alg != signing.RS256 || rs.Next.Alg != signing.RS256 {
		t.Fatalf("algorithms %s %s", rs.Current.Alg, rs.Next.Alg)
	}
	tok, err := rs.Sign(map[string]any{"sub": "u1"}, signing.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Verify(rs.JWKS(), tok, signing.AccessToken); err != nil {
		t.Fatal(err)
	}
	for _, k := range rs.JWKS().Keys {
		if k.Algorithm != "RS256" {
			t.Fatalf("JWKS key %s says %q", k.KeyID, k.Algorithm)
		}
	}
	ec, _ := signing.NewKeySet(signing.ES256, time.Now())
	mixed := rs.JWKS()
	mixed.Keys = append(mixed.Keys, ec.JWKS().Keys...)
	// An ES256 signature made with the EC key, its header naming the RSA
	// key's kid; and the other way round.
	for name, c := range map[string]struct {
		alg jose.SignatureAlgorithm
		key any
		kid string
	}{
		"ES256 under an RSA kid": {jose.ES256, ec.Current.Private, rs.Current.ID},
		"RS256 under an EC kid":  {jose.RS256, rs.Current.Private, ec.Current.ID},
	} {
		opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", c.kid)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := signer.Sign([]byte(`{"sub":"admin"}`))
		forged, _ := jws.CompactSerialize()
		if _, err := signing.Verify(mixed, forged, signing.AccessToken); !errors.Is(err, signing.ErrKey) {
			t.Errorf("%s: %v, want ErrKey", name, err)
		}
	}
}

// TestARotationMovesAKeySetToAnotherAlgorithm: the new algorithm's key is
// published at the first rotation and signs from the second; tokens of
// both verify in between.
func TestARotationMovesAKeySetToAnotherAlgorithm(t *testing.T) {
	now := time.Now()
	ec, _ := signing.NewKeySet(signing.ES256, now)
	old, _ := ec.Sign(map[string]any{"sub": "u1"}, signing.AccessToken)
	once, err := ec.Rotate(signing.RS256, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if once.Current.Alg != signing.ES256 || once.Next.Alg != signing.RS256 {
		t.Fatalf("after one rotation: %s signs, %s next", once.Current.Alg, once.Next.Alg)
	}
	twice, _ := once.Rotate(signing.RS256, now.Add(time.Minute), time.Hour)
	tok, _ := twice.Sign(map[string]any{"sub": "u1"}, signing.AccessToken)
	for _, tk := range []string{old, tok} {
		if _, err := signing.Verify(twice.JWKS(), tk, signing.AccessToken); err != nil {
			t.Fatalf("after two rotations: %v", err)
		}
	}
	b, _ := json.Marshal(twice)
	back, err := signing.ParseKeySet(b)
	if err != nil || back.Current.Alg != signing.RS256 || back.Previous[0].Alg != signing.ES256 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestAShortRSAKeyIsRefused(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"current": map[string]any{"jwk": jose.JSONWebKey{Key: k, KeyID: "x", Algorithm: "RS256", Use: "sig"}}})
	if _, err := signing.ParseKeySet(b); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("a 1024-bit key: %v", err)
	}
}
