// Package ratelimit slows down guessing of link tokens: a client that
// presents too many unknown tokens in a window is answered 429 until the
// window ends. Valid tokens cost nothing: only unknown ones are counted.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Limiter counts unknown link tokens per client.
type Limiter struct {
	store  *store.Store
	max    int
	window time.Duration
	now    func() time.Time
}

// New returns a limiter allowing max unknown tokens per client per window.
func New(s *store.Store, max int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{store: s, max: max, window: window, now: now}
}

// Links is the policy for link tokens: 20 unknown tokens per client per
// 15 minutes.
func Links(s *store.Store, now func() time.Time) *Limiter {
	return New(s, 20, 15*time.Minute, now)
}

// Judge passes err through, counting it first when it says a link token is
// unknown (problem code invalid_link): past the limit, the client gets 429
// instead. remoteAddr is the request's RemoteAddr.
func (l *Limiter) Judge(ctx context.Context, remoteAddr string, err error) error {
	p, ok := problem.As(err)
	if l == nil || !ok || p.Code != "invalid_link" {
		return err
	}
	ip := httpapi.ClientIP(remoteAddr)
	now := l.now()
	// One counter per fixed window: a window that ends starts a new item.
	start := now.Truncate(l.window)
	f, addErr := l.store.AddFailure(ctx, fmt.Sprintf("link-ip#%s#%d", ip, start.Unix()), store.Failures{}, now, start.Add(l.window).Sub(now))
	if addErr != nil {
		return err // counting failed: the client still gets the honest answer
	}
	if f.Count > l.max {
		return problem.TooManyRequests("too_many_requests", "Too many unknown links from this client; try again later.",
			int(start.Add(l.window).Sub(now)/time.Second))
	}
	return err
}
