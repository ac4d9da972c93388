package profile

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// SessionView is one of one's sessions.
type SessionView struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used" doc:"When its tokens were last refreshed"`
	IP        string    `json:"ip,omitempty" doc:"Client address at login"`
	UserAgent string    `json:"user_agent,omitempty"`
	Current   bool      `json:"current" doc:"The session of this request"`
}

// SessionList is one's sessions, most recently used first.
type SessionList struct {
	Items []SessionView `json:"items"`
}

// Ended says how many sessions were ended.
type Ended struct {
	Ended int `json:"ended"`
}

// Sessions returns one's sessions of p's organization: one Query.
func (s *Service) Sessions(ctx context.Context, p principal.Principal) (SessionList, error) {
	sessions, err := s.store.UserSessions(ctx, p.User)
	if err != nil {
		return SessionList{}, err
	}
	out := SessionList{Items: []SessionView{}}
	for _, ss := range sessions {
		if ss.Org != p.Org {
			continue
		}
		out.Items = append(out.Items, SessionView{ID: ss.ID, Created: ss.Created, LastUsed: ss.LastUsed,
			IP: ss.IP, UserAgent: ss.UserAgent, Current: p.Credential == principal.Session && ss.ID == p.CredentialID})
	}
	slices.SortFunc(out.Items, func(a, b SessionView) int { return cmp.Compare(b.LastUsed.UnixNano(), a.LastUsed.UnixNano()) })
	return out, nil
}

// EndSession ends one of one's sessions (the current one too: that is a
// logout). Another user's session is not found. An API key may not: a
// leaked key must not sign its owner out.
func (s *Service) EndSession(ctx context.Context, p principal.Principal, id string) error {
	if err := sessionOnly(p); err != nil {
		return err
	}
	ss, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ss.User != p.User || ss.Org != p.Org)) {
		return problem.NotFound("No such session.")
	}
	if err != nil {
		return err
	}
	return s.store.EndSessions(ctx, []store.Session{ss})
}

// EndOtherSessions ends every session of the caller but the current one;
// a session only, like EndSession.
func (s *Service) EndOtherSessions(ctx context.Context, p principal.Principal) (Ended, error) {
	if err := sessionOnly(p); err != nil {
		return Ended{}, err
	}
	sessions, err := s.store.UserSessions(ctx, p.User)
	if err != nil {
		return Ended{}, err
	}
	var others []store.Session
	for _, ss := range sessions {
		if ss.Org == p.Org && ss.ID != p.CredentialID {
			others = append(others, ss)
		}
	}
	if err := s.store.EndSessions(ctx, others); err != nil {
		return Ended{}, err
	}
	return Ended{Ended: len(others)}, nil
}
