package passwordreset

import (
	"context"
	"net/http"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// RequestBody is the body of POST /v1/password-resets.
type RequestBody struct {
	Email string `json:"email"`
	// ClientID and ReturnTo lead the reset page back to the application
	// that asked, once the password is set.
	ClientID string `json:"client_id,omitempty" doc:"An OpenID Connect client of the deployment (OIDC_CLIENTS), with return_to."`
	ReturnTo string `json:"return_to,omitempty" doc:"A registered redirect or post-logout URI of client_id: where the reset page leads once the password is set."`
}

// Accepted is the answer to a reset request, the same whether or not the
// address has an account.
type Accepted struct {
	Message string `json:"message"`
}

// CompleteBody is the body of POST /v1/password-resets/complete.
type CompleteBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	// RevokeAPIKeys is true unless false: whoever reset a password because
	// it leaked must not keep the keys made with it.
	RevokeAPIKeys *bool `json:"revoke_api_keys,omitempty" doc:"Also revoke every API key of the account (default true)."`
}

// AdminBody is the body of POST /v1/users/{id}/password-reset.
type AdminBody struct {
	SendEmail bool `json:"send_email,omitempty" doc:"Also mail the link (default false)."`
}

// Operations returns the passwordreset function's operations. It reads
// nothing of s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpRequestPasswordReset: router.JSON(http.StatusAccepted, func(ctx context.Context, c router.Call, in RequestBody) (Accepted, error) {
			return s.Ask(ctx, in, c.RemoteAddr)
		}),
		route.OpCompletePasswordReset: router.NoContent(func(ctx context.Context, c router.Call, in CompleteBody) error {
			return s.CompleteLink(ctx, in, c.RemoteAddr)
		}),
		route.OpAdminPasswordReset: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in AdminBody) (AdminLink, error) {
			return s.ForUser(ctx, c.Principal, c.ID, in.SendEmail)
		}),
	}
}
