package session

import (
	"net/http"

	"github.com/guichet/guichet/shared/mfa"

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

// MFARequest is the body of POST /v1/auth/mfa and
// /v1/auth/mfa/enroll/confirm.
type MFARequest struct {
	ChallengeToken string `json:"challenge_token"`
	Code           string `json:"code" doc:"A 6-digit code of the authenticator app, or (at login) a recovery code"`
}

// EnrollRequest is the body of POST /v1/auth/mfa/enroll.
type EnrollRequest struct {
	ChallengeToken string `json:"challenge_token"`
}

// RefreshRequest is the body of POST /v1/auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Operations returns the handlers of the auth function's routes.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		"login":            {Handle: s.handleLogin, Request: LoginRequest{}, Response: router.OneOf{Tokens{}, Challenge{}}},
		"refresh":          {Handle: s.handleRefresh, Request: RefreshRequest{}, Response: Tokens{}},
		"logout":           {Handle: s.handleLogout, Status: http.StatusNoContent},
		"serviceToken":     {Handle: s.handleServiceToken, Request: ServiceTokenRequest{}, Response: Tokens{}},
		"passwordChange":   {Handle: s.handlePasswordChange, Request: PasswordChangeRequest{}, Response: router.OneOf{Tokens{}, Challenge{}}},
		"mfaLogin":         {Handle: s.handleMFA, Request: MFARequest{}, Response: router.OneOf{Tokens{}, Challenge{}}},
		"mfaEnroll":        {Handle: s.handleEnroll, Request: EnrollRequest{}, Response: mfa.TOTPSetup{}},
		"mfaEnrollConfirm": {Handle: s.handleEnrollConfirm, Request: MFARequest{}, Response: Enrolled{}},
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

func (s *Service) handleMFA(w http.ResponseWriter, r *http.Request) error {
	var req MFARequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := checkMFA(req); err != nil {
		return err
	}
	out, err := s.AnswerMFA(r.Context(), req.ChallengeToken, req.Code, client(r))
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, out)
}

func checkMFA(req MFARequest) error {
	var v validate.Errors
	v.Required("challenge_token", req.ChallengeToken, 128)
	v.Required("code", req.Code, 32)
	return v.Err()
}

func (s *Service) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	var req EnrollRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("challenge_token", req.ChallengeToken, 128)
	if err := v.Err(); err != nil {
		return err
	}
	out, err := s.StartEnrollment(r.Context(), req.ChallengeToken)
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, out)
}

func (s *Service) handleEnrollConfirm(w http.ResponseWriter, r *http.Request) error {
	var req MFARequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := checkMFA(req); err != nil {
		return err
	}
	out, err := s.ConfirmEnrollment(r.Context(), req.ChallengeToken, req.Code, client(r))
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, out)
}
