package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Login        string `json:"login"`
	Password     string `json:"password"`
	Organization string `json:"organization,omitempty"`
}

// Validate checks the fields' presence and lengths.
func (r LoginRequest) Validate() error {
	var v validate.Errors
	v.Required("login", r.Login, 320)
	v.Required("password", r.Password, 1024)
	v.Optional("organization", r.Organization, 64)
	return v.Err()
}

// ServiceTokenRequest is the body of POST /v1/auth/token.
type ServiceTokenRequest struct {
	Organization string `json:"organization" doc:"The organization's code."`
	UserCode     string `json:"user_code"`
	Password     string `json:"password"`
}

// Validate checks the fields' presence and lengths.
func (r ServiceTokenRequest) Validate() error {
	var v validate.Errors
	v.Required("organization", r.Organization, 64)
	v.Required("user_code", r.UserCode, 64)
	v.Required("password", r.Password, 1024)
	return v.Err()
}

// PasswordChangeRequest is the body of POST /v1/auth/password-change.
type PasswordChangeRequest struct {
	ChallengeToken string `json:"challenge_token"`
	NewPassword    string `json:"new_password"`
}

// Validate checks the fields' presence and lengths.
func (r PasswordChangeRequest) Validate() error {
	var v validate.Errors
	v.Required("challenge_token", r.ChallengeToken, 128)
	v.Required("new_password", r.NewPassword, 1024)
	return v.Err()
}

// MFARequest is the body of POST /v1/auth/mfa and
// /v1/auth/mfa/enroll/confirm.
type MFARequest struct {
	ChallengeToken string `json:"challenge_token"`
	Code           string `json:"code" doc:"A 6-digit code of the authenticator app, or (at login) a recovery code"`
}

// Validate checks the fields' presence and lengths.
func (r MFARequest) Validate() error {
	var v validate.Errors
	v.Required("challenge_token", r.ChallengeToken, 128)
	v.Required("code", r.Code, 32)
	return v.Err()
}

// EmailProofRequest is the body of POST /v1/auth/email-proof.
type EmailProofRequest struct {
	ChallengeToken string `json:"challenge_token"`
	Code           string `json:"code" doc:"The 6-digit code mailed to the address"`
}

// Validate checks the fields' presence and lengths, as MFARequest's:
// the two differ only in their fields' descriptions.
func (r EmailProofRequest) Validate() error { return MFARequest(r).Validate() }

// EnrollRequest is the body of POST /v1/auth/mfa/enroll.
type EnrollRequest struct {
	ChallengeToken string `json:"challenge_token"`
}

// Validate checks the fields' presence and lengths.
func (r EnrollRequest) Validate() error {
	var v validate.Errors
	v.Required("challenge_token", r.ChallengeToken, 128)
	return v.Err()
}

// OrganizationRequest is the body of POST /v1/auth/organization.
type OrganizationRequest struct {
	ChallengeToken string `json:"challenge_token"`
	Organization   string `json:"organization" doc:"The id or code of one of the organizations the challenge lists"`
}

// Validate checks the fields' presence and lengths.
func (r OrganizationRequest) Validate() error {
	var v validate.Errors
	v.Required("challenge_token", r.ChallengeToken, 128)
	v.Required("organization", r.Organization, 64)
	return v.Err()
}

// SwitchRequest is the body of POST /v1/auth/switch.
type SwitchRequest struct {
	Organization string `json:"organization" doc:"The id or code of another organization of the caller's person"`
}

// Validate checks the fields' presence and lengths.
func (r SwitchRequest) Validate() error {
	var v validate.Errors
	v.Required("organization", r.Organization, 64)
	return v.Err()
}

// RefreshRequest is the body of POST /v1/auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Validate checks the fields' presence and lengths.
func (r RefreshRequest) Validate() error {
	var v validate.Errors
	v.Required("refresh_token", r.RefreshToken, 128)
	return v.Err()
}

// Step is the answer of a login step: tokens, or the challenge to answer
// next.
type Step = router.Either[Tokens, Challenge]

func step(v any, err error) (Step, error) { return Step{Value: v}, err }

func client(c router.Call) Client { return Client{IP: c.RemoteAddr, UserAgent: c.UserAgent} }

// Operations returns the auth function's operations. It reads nothing of
// s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpLogin: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in LoginRequest) (Step, error) {
			return step(s.Login(ctx, in.Login, in.Organization, in.Password, client(c)))
		}),
		route.OpRefresh: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in RefreshRequest) (Step, error) {
			return step(s.Refresh(ctx, in.RefreshToken, ""))
		}),
		route.OpLogout: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.LogoutCaller(ctx, c.Principal)
		}),
		route.OpServiceToken: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in ServiceTokenRequest) (Tokens, error) {
			return s.ServiceToken(ctx, in.Organization, in.UserCode, in.Password, client(c))
		}),
		route.OpPasswordChange: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in PasswordChangeRequest) (Step, error) {
			return step(s.ChangePassword(ctx, in.ChallengeToken, in.NewPassword, client(c)))
		}),
		route.OpMFALogin: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in MFARequest) (Step, error) {
			return step(s.AnswerMFA(ctx, in.ChallengeToken, in.Code, client(c)))
		}),
		route.OpChooseOrganization: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in OrganizationRequest) (Step, error) {
			return step(s.ChooseOrganization(ctx, in.ChallengeToken, in.Organization, client(c)))
		}),
		route.OpSwitchOrganization: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in SwitchRequest) (Step, error) {
			return step(s.Switch(ctx, c.Principal, in.Organization, client(c)))
		}),
		route.OpEmailProof: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in EmailProofRequest) (Step, error) {
			return step(s.ProveEmail(ctx, in.ChallengeToken, in.Code, client(c)))
		}),
		route.OpMFAEnroll: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in EnrollRequest) (mfa.TOTPSetup, error) {
			return s.StartEnrollment(ctx, in.ChallengeToken)
		}),
		route.OpJWKS: router.Op{Handle: s.serveJWKS, Response: map[string]any{}},
		route.OpMFAEnrollConfirm: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in MFARequest) (Enrolled, error) {
			return s.ConfirmEnrollment(ctx, in.ChallengeToken, in.Code, client(c))
		}),
	}
}

// JWKSMaxAge is how long a verifier may cache the JWKS: the next key is
// published a whole rotation before it signs, and a verifier meeting an
// unknown kid fetches it again anyway.
const JWKSMaxAge = 5 * time.Minute

// serveJWKS answers the public key set the rotation wrote to the table.
func (s *Service) serveJWKS(w http.ResponseWriter, r *http.Request) error {
	item, err := s.store.GetJWKS(r.Context())
	if errors.Is(err, store.ErrNotFound) {
		item.Keys = `{"keys":[]}` // before the first key set: nothing verifies
	} else if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(JWKSMaxAge/time.Second)))
	_, err = io.WriteString(w, item.Keys)
	return err
}
