package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/store"
)

// Freshness of the cached JWKS: it is read again on a token of an
// unknown kid at most every keysRetry (a flood of forged kids costs one
// read per container per keysRetry), and in any case once older than
// keysMaxAge (a key withdrawn from the JWKS stops verifying by then).
// Rotation publishes the next key one rotation before it signs, so an
// unknown kid is rare.
const (
	keysRetry  = 30 * time.Second
	keysMaxAge = 10 * time.Minute
)

// Keys is a container's cache of the table's JWKS item.
type Keys struct {
	store *store.Store
	now   func() time.Time

	mu   sync.Mutex
	set  jose.JSONWebKeySet
	read time.Time // zero: never read
}

// NewKeys returns a cache of the JWKS s holds.
func NewKeys(s *store.Store, now func() time.Time) *Keys {
	return &Keys{store: s, now: now}
}

// Get returns the cached key set, reading it when never read or too old.
func (k *Keys) Get(ctx context.Context) (jose.JSONWebKeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.read.IsZero() || k.now().Sub(k.read) >= keysMaxAge {
		if err := k.load(ctx); err != nil {
			return jose.JSONWebKeySet{}, err
		}
	}
	return k.set, nil
}

// Refresh reads the key set again, unless it was read within keysRetry,
// and reports whether it did.
func (k *Keys) Refresh(ctx context.Context) (jose.JSONWebKeySet, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.read.IsZero() && k.now().Sub(k.read) < keysRetry {
		return k.set, false, nil
	}
	if err := k.load(ctx); err != nil {
		return jose.JSONWebKeySet{}, false, err
	}
	return k.set, true, nil
}

func (k *Keys) load(ctx context.Context) error {
	item, err := k.store.GetJWKS(ctx)
	set := jose.JSONWebKeySet{}
	switch {
	case errors.Is(err, store.ErrNotFound):
		// No key set yet: no JWT verifies.
	case err != nil:
		return fmt.Errorf("authorizer: keys: %w", err)
	default:
		if err := json.Unmarshal([]byte(item.Keys), &set); err != nil {
			return fmt.Errorf("authorizer: keys: the JWKS item is not a JWK set: %w", err)
		}
	}
	k.set, k.read = set, k.now()
	return nil
}
