package session

import (
	"net/http"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/validate"
)

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Login        string `json:"login"`
	Password     string `json:"password"`
	Organization string `json:"organization,omitempty"`
}

// RefreshRequest is the body of POST /v1/auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Operations returns the handlers of the auth function's routes.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		"login":   {Handle: s.handleLogin, Request: LoginRequest{}, Response: Tokens{}},
		"refresh": {Handle: s.handleRefresh, Request: RefreshRequest{}, Response: Tokens{}},
		"logout":  {Handle: s.handleLogout, Status: http.StatusNoContent},
		"serviceToken": {Handle: func(w http.ResponseWriter, r *http.Request) error {
			return problem.New(http.StatusNotImplemented, "not_implemented", "Not yet.")
		}},
		"passwordChange": {Handle: func(w http.ResponseWriter, r *http.Request) error {
			return problem.New(http.StatusNotImplemented, "not_implemented", "Not yet.")
		}},
	}
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("login", req.Login, 320)
	v.Required("password", req.Password, 1024)
	v.Optional("organization", req.Organization, 64)
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.Login(r.Context(), req.Login, req.Organization, req.Password,
		Client{IP: r.RemoteAddr, UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, t)
}

func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var req RefreshRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("refresh_token", req.RefreshToken, 128)
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, t)
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	if p.Credential != principal.Session {
		return problem.BadRequest("not_a_session", "Only a session can log out; revoke API keys instead.")
	}
	if err := s.Logout(r.Context(), p.CredentialID); err != nil {
		return err
	}
	return httpapi.NoContent(w)
}
