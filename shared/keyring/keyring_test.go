package keyring_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/awscall"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/motoserver"
	"github.com/guichet/guichet/shared/signing"
)

// TestTheKeySetInSecretsManager runs the deployment's path against moto:
// the stack's placeholder secret, the first key set the sweep makes, the
// read at init of a function that signs, and a rotation.
func TestTheKeySetInSecretsManager(t *testing.T) {
	t.Parallel()
	sm := motoserver.Start(t)
	e := apitest.New(t)
	ctx := context.Background()
	awsCfg, err := config.AWS(ctx, sm, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ ARN string }
	h := http.Header{"X-Amz-Target": {"secretsmanager.CreateSecret"}, "Content-Type": {"application/x-amz-json-1.1"}}
	if err := awscall.New(awsCfg, "secretsmanager", "secretsmanager", sm).Call(ctx, http.MethodPost, "/", h,
		map[string]string{"Name": "guichet/jwt-keys", "SecretString": "a generated placeholder"}, &out); err != nil {
		t.Fatal(err)
	}
	cfg := e.Config
	cfg.JWTKeys, cfg.JWTKeysSecret, cfg.SecretsManagerEndpoint = nil, out.ARN, sm
	v := keyring.Secret{Config: cfg, AWS: awsCfg}
	published := func(t *testing.T) jose.JSONWebKeySet {
		item, err := e.Store.GetJWKS(ctx)
		var set jose.JSONWebKeySet
		if err != nil || json.Unmarshal([]byte(item.Keys), &set) != nil {
			t.Fatalf("JWKS item: %v", err)
		}
		return set
	}
	if _, err := keyring.Load(ctx, v); err == nil {
		t.Fatal("the placeholder was read as a key set")
	}
	made, err := keyring.Ensure(ctx, v, e.Store, signing.ES256, e.Clock.Now())
	if err != nil || !made {
		t.Fatalf("ensure: %v %v", made, err)
	}
	ks, err := keyring.Load(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the first key set is in the secret and its public half in the table", func(t *testing.T) {
		set := published(t)
		if len(set.Key(ks.Current.ID)) != 1 || len(set.Key(ks.Next.ID)) != 1 || !set.Keys[0].IsPublic() {
			t.Fatalf("JWKS %v", set.Keys)
		}
	})
	t.Run("ensuring again changes nothing", func(t *testing.T) {
		if made, err := keyring.Ensure(ctx, v, e.Store, signing.ES256, e.Clock.Now()); err != nil || made {
			t.Fatalf("ensure again: %v %v", made, err)
		}
	})
	warm := keyring.NewReloading(v, ks, e.Clock.Now) // a signing function's, read at init
	t.Run("a rotation writes the secret and keeps the old key published", func(t *testing.T) {
		rotated, err := keyring.Rotate(ctx, v, e.Store, signing.ES256, keyring.Keep(5*time.Minute, 30*time.Second), e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		read, err := keyring.Load(ctx, v)
		if err != nil || read.Current.ID != ks.Next.ID || rotated.Current.ID != read.Current.ID {
			t.Fatalf("after rotation the secret signs with %s, want %s (%v)", read.Current.ID, ks.Next.ID, err)
		}
		if set := published(t); len(set.Key(ks.Current.ID)) != 1 || len(set.Key(read.Next.ID)) != 1 {
			t.Fatalf("JWKS %v", set.Keys)
		}
	})
	t.Run("a warm function signs with the rotated key after at most Reload", func(t *testing.T) {
		if got, _ := warm.KeySet(ctx); got.Current.ID != ks.Current.ID {
			t.Fatal("the key set was read again before Reload")
		}
		e.Clock.Advance(keyring.Reload)
		if got, _ := warm.KeySet(ctx); got.Current.ID != ks.Next.ID {
			t.Fatalf("after Reload the warm function signs with %s, want %s", got.Current.ID, ks.Next.ID)
		}
	})
}
