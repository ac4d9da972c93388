// Package keyring keeps a deployment's signing keys: where the private
// key set lives (a Secrets Manager secret in AWS, a file of the embedded
// stack locally), its public half in the table (the JWKS item the
// verifiers read), and their rotation.
package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
)

// Vault holds the private key set.
type Vault interface {
	// Read returns the key set; found is false when none was written yet.
	Read(ctx context.Context) (ks signing.KeySet, found bool, err error)
	Write(ctx context.Context, ks signing.KeySet) error
}

// Publish writes the public half of ks to the table's JWKS item.
func Publish(ctx context.Context, st *store.Store, ks signing.KeySet, now time.Time) error {
	b, err := json.Marshal(ks.JWKS())
	if err != nil {
		return fmt.Errorf("keyring: publish: %w", err)
	}
	return st.PutJWKS(ctx, b, now)
}

// Keep is how long a rotation keeps the previous key published: the
// lifetime of an access token, the verifiers' clock skew, and how long a
// warm function may still sign with the key it read (Reload).
func Keep(accessTTL, skew time.Duration) time.Duration { return accessTTL + skew + Reload }

// Reload is how often a function that signs reads the key set again, so
// that a rotation reaches the warm functions.
const Reload = 5 * time.Minute

// Init makes the first key set (of alg) when v holds none, and publishes
// the key set (again, when there was one). It reports whether it made one.
func Init(ctx context.Context, v Vault, st *store.Store, alg signing.Algorithm, now time.Time) (bool, error) {
	ks, found, err := v.Read(ctx)
	if err != nil {
		return false, err
	}
	if !found {
		if ks, err = signing.NewKeySet(alg, now); err != nil {
			return false, err
		}
		// Published first: no token is signed with a key the JWKS lacks.
		if err := Publish(ctx, st, ks, now); err != nil {
			return false, err
		}
		return true, v.Write(ctx, ks)
	}
	return false, Publish(ctx, st, ks, now)
}

// Ensure makes the first key set when v holds none (Init), and otherwise
// does nothing: the jobs function's sweep runs it, so that a new
// deployment gets its keys without an administrator. It reports whether
// it made one.
func Ensure(ctx context.Context, v Vault, st *store.Store, alg signing.Algorithm, now time.Time) (bool, error) {
	if _, found, err := v.Read(ctx); err != nil || found {
		return false, err
	}
	return Init(ctx, v, st, alg, now)
}

// Rotate rotates v's key set at now (signing.KeySet.Rotate: a new key of
// alg, the previous key kept for keep) and publishes the result; with no
// key set yet it makes the first (Init). The key set is written before the JWKS: the key
// that signs from then on was already published as the next one.
func Rotate(ctx context.Context, v Vault, st *store.Store, alg signing.Algorithm, keep time.Duration, now time.Time) (signing.KeySet, error) {
	ks, found, err := v.Read(ctx)
	if err != nil {
		return signing.KeySet{}, err
	}
	if !found {
		if _, err := Init(ctx, v, st, alg, now); err != nil {
			return signing.KeySet{}, err
		}
		ks, _, err := v.Read(ctx)
		return ks, err
	}
	if ks, err = ks.Rotate(alg, now, keep); err != nil {
		return signing.KeySet{}, err
	}
	if err := v.Write(ctx, ks); err != nil {
		return signing.KeySet{}, err
	}
	return ks, Publish(ctx, st, ks, now)
}

// Load returns v's key set, or an error when v holds none yet: what a
// function that signs reads at init.
func Load(ctx context.Context, v Vault) (signing.KeySet, error) {
	ks, found, err := v.Read(ctx)
	if err != nil {
		return signing.KeySet{}, err
	}
	if !found {
		return signing.KeySet{}, errors.New("keyring: no key set yet (run guichet keys init)")
	}
	return ks, nil
}

// Secret is the key set in a Secrets Manager secret (JWT_KEYS_SECRET).
type Secret struct {
	Config config.Config
	AWS    aws.Config
}

// Read reads the secret; one whose value is no key set (the placeholder
// the stack creates it with) counts as none.
func (s Secret) Read(ctx context.Context) (signing.KeySet, bool, error) {
	v, err := s.Config.ReadSecret(ctx, s.AWS, s.Config.JWTKeysSecret)
	if err != nil {
		return signing.KeySet{}, false, fmt.Errorf("keyring: %s: %w", s.Config.JWTKeysSecret, err)
	}
	ks, err := signing.ParseKeySet([]byte(v))
	if err != nil {
		return signing.KeySet{}, false, nil
	}
	return ks, true, nil
}

// Write writes the key set as the secret's current value.
func (s Secret) Write(ctx context.Context, ks signing.KeySet) error {
	b, err := json.Marshal(ks)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return s.Config.WriteSecret(ctx, s.AWS, s.Config.JWTKeysSecret, string(b))
}

// File is the key set in a file, readable by its owner only (the local
// stack's).
type File string

// Read reads the file; a missing file is no key set.
func (f File) Read(context.Context) (signing.KeySet, bool, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return signing.KeySet{}, false, nil
	}
	if err != nil {
		return signing.KeySet{}, false, fmt.Errorf("keyring: %w", err)
	}
	ks, err := signing.ParseKeySet(b)
	if err != nil {
		return signing.KeySet{}, false, fmt.Errorf("keyring: %s: %w", f, err)
	}
	return ks, true, nil
}

// Write writes the file.
func (f File) Write(_ context.Context, ks signing.KeySet) error {
	b, err := json.Marshal(ks)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.WriteFile(string(f), b, 0o600); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// Source gives the key set that signs now.
type Source interface {
	KeySet(ctx context.Context) (signing.KeySet, error)
}

// Static is a key set read from where it is held (JWT_KEYS, the local
// stack's): what is there when a token is signed signs it.
type Static struct{ Keys *signing.KeySet }

// KeySet returns the key set.
func (s Static) KeySet(context.Context) (signing.KeySet, error) {
	if s.Keys == nil {
		return signing.KeySet{}, errors.New("keyring: no signing keys (JWT_KEYS or JWT_KEYS_SECRET)")
	}
	return *s.Keys, nil
}

// Reloading is the key set of a vault read again every Reload, so that a
// rotation reaches a warm function: the function that signs reads the
// secret once at init, then at most once per Reload.
type Reloading struct {
	vault Vault
	now   func() time.Time

	mu   sync.Mutex
	ks   signing.KeySet
	read time.Time
}

// NewReloading returns ks, read from v at now, read again every Reload.
func NewReloading(v Vault, ks signing.KeySet, now func() time.Time) *Reloading {
	return &Reloading{vault: v, now: now, ks: ks, read: now()}
}

// KeySet returns the key set, read again when older than Reload. A failed
// read keeps the key set it has (its current key stays published for a
// whole rotation) and is tried again after another Reload.
func (r *Reloading) KeySet(ctx context.Context) (signing.KeySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.read) >= Reload {
		r.read = now
		if ks, found, err := r.vault.Read(ctx); err == nil && found {
			r.ks = ks
		}
	}
	return r.ks, nil
}
