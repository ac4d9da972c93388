package profile

import (
	"context"
	"net/http"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// Operations returns the profile function's operations. It reads nothing
// of s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpGetMe: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (Me, error) {
			return s.Get(ctx, c.Principal)
		}),
		route.OpUpdateMe: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in UpdateMeRequest) (Me, error) {
			return s.Update(ctx, c.Principal, in, c.Nulls())
		}),
		route.OpChangeMyPassword: router.NoContent(func(ctx context.Context, c router.Call, in PasswordRequest) error {
			return s.ChangePasswordTo(ctx, c.Principal, in)
		}),
		route.OpRequestEmailChange: router.JSON(http.StatusAccepted, func(ctx context.Context, c router.Call, in EmailRequest) (EmailAccepted, error) {
			return s.AskEmailChange(ctx, c.Principal, in)
		}),
		route.OpConfirmEmailChange: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in EmailConfirmRequest) (EmailChanged, error) {
			return s.ConfirmEmailLink(ctx, in, c.RemoteAddr)
		}),
		route.OpListMySessions: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (SessionList, error) {
			return s.Sessions(ctx, c.Principal)
		}),
		route.OpEndMySession: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.EndSession(ctx, c.Principal, c.ID)
		}),
		route.OpEndMyOtherSessions: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (Ended, error) {
			return s.EndOtherSessions(ctx, c.Principal)
		}),
		route.OpStartTOTP: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (mfa.TOTPSetup, error) {
			return s.StartTOTP(ctx, c.Principal)
		}),
		route.OpConfirmTOTP: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in CodeRequest) (RecoveryCodes, error) {
			return s.ConfirmTOTP(ctx, c.Principal, in)
		}),
		route.OpDisableTOTP: router.NoContent(func(ctx context.Context, c router.Call, in DisableRequest) error {
			return s.DisableTOTP(ctx, c.Principal, in)
		}),
	}
}
