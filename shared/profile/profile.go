// Package profile holds the rules of a user's own profile (/v1/me).
package profile

import (
	"context"
	"errors"
	"net/http"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
)

// Service serves the caller's profile.
type Service struct{ store *store.Store }

// New returns a profile service.
func New(s *store.Store) *Service { return &Service{store: s} }

// OrgRef names the organization a user belongs to.
type OrgRef struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// Me is the caller's own user.
type Me struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Email        string `json:"email,omitempty"`
	Username     string `json:"username,omitempty"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Language     string `json:"language"`
	Role         string `json:"role"`
	Status       string `json:"status"`
	Organization OrgRef `json:"organization"`
}

// Get returns the principal's own user.
func (s *Service) Get(ctx context.Context, p principal.Principal) (Me, error) {
	u, err := s.store.GetUser(ctx, p.Org, p.User)
	if errors.Is(err, store.ErrNotFound) {
		return Me{}, problem.NotFound("The user no longer exists.")
	}
	if err != nil {
		return Me{}, err
	}
	o, err := s.store.GetOrg(ctx, p.Org)
	if err != nil {
		return Me{}, err
	}
	return Me{
		ID: u.ID, Kind: u.Kind, Email: u.Email, Username: u.Username,
		FirstName: u.FirstName, LastName: u.LastName, Language: u.Language,
		Role: u.Role, Status: u.Status,
		Organization: OrgRef{ID: o.ID, Code: o.Code, Name: o.Name},
	}, nil
}

// Operations returns the handlers of the profile function's routes.
func (s *Service) Operations() router.Operations {
	return router.Operations{"getMe": {Handle: s.handleGet, Response: Me{}}}
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	me, err := s.Get(r.Context(), p)
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, me)
}
