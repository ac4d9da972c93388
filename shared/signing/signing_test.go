package signing_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/signing"
)

func TestSignVerifyRotate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ks, err := signing.NewKeySet(now)
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
	rotated, err := ks.Rotate(now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current.ID != ks.Next.ID {
		t.Fatal("the next key does not sign after a rotation")
	}
	if _, err := signing.Verify(rotated.JWKS(), tok, signing.AccessToken); err != nil {
		t.Fatalf("a token of the previous key fails after a rotation: %v", err)
	}
	later, err := rotated.Rotate(now.Add(11*time.Minute), 10*time.Minute)
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
	ks, _ := signing.NewKeySet(now)
	other, _ := signing.NewKeySet(now)
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
