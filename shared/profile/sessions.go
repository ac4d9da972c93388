package profile

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/guichet/guichet/shared/httpapi"
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

func (s *Service) handleSessions(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	sessions, err := s.store.UserSessions(r.Context(), p.User)
	if err != nil {
		return err
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
	return httpapi.JSON(w, http.StatusOK, out)
}

// handleEndSession ends one of one's sessions (the current one too: that
// is a logout). Another user's session is not found.
func (s *Service) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	ss, err := s.store.GetSession(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ss.User != p.User || ss.Org != p.Org)) {
		return problem.NotFound("No such session.")
	}
	if err != nil {
		return err
	}
	if err := s.store.EndSessions(r.Context(), []store.Session{ss}); err != nil {
		return err
	}
	return httpapi.NoContent(w)
}

// handleEndOthers ends every session of the caller but the current one.
func (s *Service) handleEndOthers(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	sessions, err := s.store.UserSessions(r.Context(), p.User)
	if err != nil {
		return err
	}
	var others []store.Session
	for _, ss := range sessions {
		if ss.Org == p.Org && !(p.Credential == principal.Session && ss.ID == p.CredentialID) {
			others = append(others, ss)
		}
	}
	if err := s.store.EndSessions(r.Context(), others); err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, Ended{Ended: len(others)})
}
