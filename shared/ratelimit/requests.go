package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Requests counts every request of a client to one endpoint, not only the
// failed ones: past max in a fixed window, the client is answered 429
// until the window ends.
type Requests struct {
	store  *store.Store
	name   string
	max    int
	window time.Duration
	now    func() time.Time
}

// NewRequests returns a limiter allowing max requests per client per
// window; name tells its counters from other endpoints'.
func NewRequests(s *store.Store, name string, max int, window time.Duration, now func() time.Time) *Requests {
	return &Requests{store: s, name: name, max: max, window: window, now: now}
}

// Take counts one request of client (session.ClientKey of the remote
// address). Past the limit it returns a 429 problem whose Retry-After is
// the rest of the window. A count that fails lets the request through: the
// limit protects the endpoint, it is no reason to refuse one.
func (l *Requests) Take(ctx context.Context, client string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	start := now.Truncate(l.window)
	end := start.Add(l.window)
	f, err := l.store.AddFailure(ctx, fmt.Sprintf("%s-ip#%s#%d", l.name, client, start.Unix()), store.Failures{}, now, end.Sub(now))
	if err != nil {
		return nil
	}
	if f.Count > l.max {
		return problem.TooManyRequests("too_many_requests", "Too many requests from this client; try again later.",
			int(end.Sub(now)/time.Second))
	}
	return nil
}
