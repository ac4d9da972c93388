// Package lockout limits attempts at secrets (passwords, PINs, two-step
// codes): each attempt is counted before the secret is checked, in one
// conditional write, so that concurrent attempts cannot check more secrets
// than the limit allows; a right secret releases the count.
package lockout

import (
	"context"
	"errors"
	"time"

	"github.com/guichet/guichet/shared/store"
)

// Policy is how many attempts a counter allows.
type Policy struct {
	Max    int           // attempts per window
	Window time.Duration // from the window's first attempt; a lock lasts until it ends
	// PerClient, when positive, is how many of them one client may spend:
	// a client past it is locked out alone.
	PerClient int
	// SlowAfter, when positive: past this many attempts, each next attempt
	// waits twice as long as the previous one (1s, 2s, 4s...), at most
	// MaxWait.
	SlowAfter int
	MaxWait   time.Duration
}

// Locked is the error of an attempt refused: the counter (or the client's
// share of it) is spent, or the next attempt must wait.
type Locked struct {
	RetryAfter time.Duration
}

func (l *Locked) Error() string { return "lockout: too many attempts" }

// Seconds is RetryAfter in whole seconds, at least 1.
func (l *Locked) Seconds() int { return max(1, int((l.RetryAfter+time.Second-1)/time.Second)) }

// Limiter reserves attempts on the store's counters.
type Limiter struct {
	store *store.Store
	now   func() time.Time
}

// New returns a limiter.
func New(s *store.Store, now func() time.Time) *Limiter { return &Limiter{store: s, now: now} }

// Reservation is a counted attempt. Release it once the secret was right.
type Reservation struct {
	l               *Limiter
	counter, client string
}

// Reserve counts one attempt on counter (by client, when set) under p, or
// returns a *Locked error. seen is the counter as last read (its zero
// value when not read): it sets how long the next attempt must wait.
func (l *Limiter) Reserve(ctx context.Context, p Policy, counter, client string, seen store.Failures) (Reservation, error) {
	now := l.now()
	a := store.Attempt{Counter: counter, Max: p.Max, Window: p.Window}
	if p.PerClient > 0 {
		a.Client, a.ClientMax = client, p.PerClient
	}
	n := seen.Active(now) + 1
	if p.SlowAfter > 0 && n > p.SlowAfter {
		a.Wait = min(p.MaxWait, time.Second<<min(n-p.SlowAfter-1, 30))
	}
	f, err := l.store.Reserve(ctx, a, now)
	if store.Lost(err, store.AttemptsSpent) {
		return Reservation{}, &Locked{RetryAfter: retryAfter(f, p, now)}
	}
	if err != nil {
		return Reservation{}, err
	}
	return Reservation{l: l, counter: counter, client: a.Client}, nil
}

// retryAfter is how long a refused attempt must wait: until the window
// ends when the counter or the client's share is spent, else until the
// next attempt may be made.
func retryAfter(f store.Failures, p Policy, now time.Time) time.Duration {
	end := time.Unix(f.Expires, 0).Sub(now)
	if f.Count >= p.Max || (p.PerClient > 0 && f.Client >= p.PerClient) || f.NotBefore == 0 {
		return end
	}
	return time.Unix(f.NotBefore, 0).Sub(now)
}

// Release forgets the attempts counted before a right secret (of this
// client only, for a policy per client; other clients stay counted).
func (r Reservation) Release(ctx context.Context) error {
	if r.l == nil {
		return nil
	}
	return r.l.store.Release(ctx, r.counter, r.client)
}

// IsLocked reports whether err is a refused attempt, and its wait.
func IsLocked(err error) (*Locked, bool) {
	var l *Locked
	ok := errors.As(err, &l)
	return l, ok
}
