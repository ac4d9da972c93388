package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// The mail limits, each in a fixed window (README, Security). A mail counts
// against its recipient's address, the user whose action sends it and its
// organization.
const (
	PerAddress, AddressWindow = 5, time.Hour         // mails to one address
	PerUser, UserWindow       = 30, time.Hour        // mails one user's actions send
	PerOrg, OrgWindow         = 2000, 24 * time.Hour // mails of one organization, imports included
)

// Mails limits the mail Guichet sends. Every service that sends mail takes
// its mail here first, in one call.
type Mails struct {
	store *store.Store
	now   func() time.Time
}

// NewMails returns the mail limiter counting in s.
func NewMails(s *store.Store, now func() time.Time) *Mails {
	return &Mails{store: s, now: now}
}

// Mail says what is about to be sent.
type Mail struct {
	// Org is the organization the mail is sent for.
	Org string
	// User is the user whose action sends it; "" for none (a public
	// request, an import, whose mails the organization's limit bounds).
	User string
	// To is the recipient address; "" for a batch to new users' addresses.
	To string
	// N is how many mails (a batch); 1 when 0.
	N int
	// Notice marks a notice to an account's holder about its own account
	// (password changed, address changed, invitation accepted, key
	// expiring): its address counts it apart from the mails anyone can
	// make Guichet send there (reset links), so that those never silence
	// it.
	Notice bool
}

// Take counts m against its limits, all or none. Past one, it returns a
// 429 problem whose Retry-After is when the window of the limit reached
// ends, and counts nothing.
func (l *Mails) Take(ctx context.Context, m Mail) error {
	takes := l.Plan(m)
	if len(takes) == 0 {
		return nil
	}
	err := l.store.TakeAll(ctx, takes)
	if store.Lost(err, store.LimitReached) {
		return l.Refused(ctx, takes)
	}
	return err
}

// Refused is the 429 answered when takes were refused (a transaction lost
// on LimitReached): its Retry-After is when the windows of the full
// counters end (the longest of takes', if they cannot be read).
func (l *Mails) Refused(ctx context.Context, takes []store.Take) error {
	full, err := l.store.Full(ctx, takes)
	if err != nil || len(full) == 0 {
		full = takes
	}
	now := l.now()
	var last time.Time
	for _, k := range full {
		if k.Expires.After(last) {
			last = k.Expires
		}
	}
	return problem.TooManyRequests("too_many_mails",
		"Too many e-mails were sent for this address, user or organization; try again later.",
		max(1, int(last.Sub(now)/time.Second)))
}

// Quietly is Take for a mail that follows an action already done (a
// notification, a reset link on a public request): it reports whether the
// mail may go, and a failure to count lets it go.
func (l *Mails) Quietly(ctx context.Context, m Mail) bool {
	takes := l.Plan(m)
	return len(takes) == 0 || !store.Lost(l.store.TakeAll(ctx, takes), store.LimitReached)
}

// Plan returns m's takes, for an action that counts them in its own
// transaction (the store's part LimitReached; Refused is then its answer).
func (l *Mails) Plan(m Mail) []store.Take {
	if m.N == 0 {
		m.N = 1
	}
	now := l.now()
	var takes []store.Take
	add := func(scope, id string, n, max int, window time.Duration) {
		if id == "" {
			return
		}
		start := now.Truncate(window)
		takes = append(takes, store.Take{Key: fmt.Sprintf("mail-%s#%s#%d", scope, id, start.Unix()),
			N: n, Max: max, Expires: start.Add(window)})
	}
	scope := "address"
	if m.Notice {
		scope = "notice"
	}
	add(scope, strings.ToLower(m.To), 1, PerAddress, AddressWindow)
	add("user", m.User, m.N, PerUser, UserWindow)
	add("org", m.Org, m.N, PerOrg, OrgWindow)
	return takes
}
