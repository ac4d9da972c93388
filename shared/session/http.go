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

// ServiceTokenRequest is the body of POST /v1/auth/token.
type ServiceTokenRequest struct {
	Organization string `json:"organization" doc:"The organization's code."`
	UserCode     string `json:"user_code"`
	Password     string `json:"password"`
}

// PasswordChangeRequest is the body of POST /v1/auth/password-change.
type PasswordChangeRequest struct {
	ChallengeToken string `json:"challenge_token"`
	NewPassword    string `json:"new_password"`
}

// RefreshRequest is the body of POST /v1/auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Operations returns the handlers of the auth function's routes.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		"login":          {Handle: s.handleLogin, Request: LoginRequest{}, Response: router.OneOf{Tokens{}, Challenge{}}},
		"refresh":        {Handle: s.handleRefresh, Request: RefreshRequest{}, Response: Tokens{}},
		"logout":         {Handle: s.handleLogout, Status: http.StatusNoContent},
		"serviceToken":   {Handle: s.handleServiceToken, Request: ServiceTokenRequest{}, Response: Tokens{}},
		"passwordChange": {Handle: s.handlePasswordChange, Request: PasswordChangeRequest{}, Response: Tokens{}},
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
	t, err := s.Login(r.Context(), req.Login, req.Organization, req.Password, client(r))
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, t)
}

func client(r *http.Request) Client { return Client{IP: r.RemoteAddr, UserAgent: r.UserAgent()} }

func (s *Service) handleServiceToken(w http.ResponseWriter, r *http.Request) error {
	var req ServiceTokenRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("organization", req.Organization, 64)
	v.Required("user_code", req.UserCode, 64)
	v.Required("password", req.Password, 1024)
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.ServiceToken(r.Context(), req.Organization, req.UserCode, req.Password, client(r))
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, t)
}

func (s *Service) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	var req PasswordChangeRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("challenge_token", req.ChallengeToken, 128)
	v.Required("new_password", req.NewPassword, 1024)
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.ChangePassword(r.Context(), req.ChallengeToken, req.NewPassword, client(r))
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
