package passwordreset

import (
	"net/http"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/validate"
)

func permissionOf(s string) permission.Permission { return permission.Permission(s) }

// RequestBody is the body of POST /v1/password-resets.
type RequestBody struct {
	Email string `json:"email"`
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
}

// AdminBody is the body of POST /v1/users/{id}/password-reset.
type AdminBody struct {
	SendEmail bool `json:"send_email,omitempty" doc:"Also mail the link (default false)."`
}

const acceptedMessage = "If this address has an account, a reset link is on its way. It works once, for one hour."

// Operations returns the handlers of the passwordreset function's routes.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		"requestPasswordReset": {Request: RequestBody{}, Response: Accepted{}, Status: http.StatusAccepted,
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				var in RequestBody
				if err := httpapi.Decode(r, &in); err != nil {
					return err
				}
				var v validate.Errors
				email, _ := v.Email("email", in.Email)
				if err := v.Err(); err != nil {
					return err
				}
				if err := s.Forgot(r.Context(), email, r.RemoteAddr); err != nil {
					return err
				}
				return httpapi.JSON(w, http.StatusAccepted, Accepted{Message: acceptedMessage})
			}},
		"completePasswordReset": {Request: CompleteBody{}, Status: http.StatusNoContent,
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				var in CompleteBody
				if err := httpapi.Decode(r, &in); err != nil {
					return err
				}
				var v validate.Errors
				v.Required("token", in.Token, 128)
				v.Required("password", in.Password, 1024)
				if err := v.Err(); err != nil {
					return err
				}
				if err := s.Complete(r.Context(), in.Token, in.Password); err != nil {
					return s.links.Judge(r.Context(), r.RemoteAddr, err)
				}
				return httpapi.NoContent(w)
			}},
		"adminPasswordReset": {Request: AdminBody{}, Response: AdminLink{},
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				p, _ := principal.From(r.Context())
				var in AdminBody
				if err := httpapi.Decode(r, &in); err != nil {
					return err
				}
				out, err := s.ForUser(r.Context(), p, r.PathValue("id"), in.SendEmail)
				if err != nil {
					return err
				}
				return httpapi.JSON(w, http.StatusOK, out)
			}},
	}
}
