package organization

import (
	"context"
	"net/http"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// Operations returns the organization function's operations. It reads
// nothing of s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpGetOrganization: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (Organization, error) {
			return s.Get(ctx, c.Principal)
		}),
		route.OpUpdateOrganization: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in UpdateOrganizationRequest) (Organization, error) {
			return s.Update(ctx, c.Principal, in)
		}),
		// The logo travels as raw image bytes, not JSON.
		route.OpPutLogo: router.Upload(http.StatusOK, logoTypes, func(ctx context.Context, c router.Call, _ router.None, b router.Body) (LogoInfo, error) {
			return s.PutLogo(ctx, c.Principal, b)
		}),
		route.OpGetLogo: router.Download(logoTypes, func(ctx context.Context, c router.Call, _ router.None) (router.File, error) {
			return s.Logo(ctx, c.Principal)
		}),
		route.OpGetSharedLogo: router.Download(logoTypes, func(ctx context.Context, c router.Call, in SharedLogoQuery) (router.File, error) {
			return s.SharedLogo(ctx, c.ID, in.V)
		}),
		route.OpListUnits: router.List(router.Limits{Items: "Units", Default: unitsDefaultLimit, Max: unitsMaxLimit},
			func(ctx context.Context, c router.Call, _ router.None, pg router.Page) (UnitPage, error) {
				return s.ListUnits(ctx, c.Principal, pg)
			}),
		route.OpCreateUnit: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in CreateUnitRequest) (Unit, error) {
			return s.CreateUnit(ctx, c.Principal, in)
		}),
		route.OpUpdateUnit: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in UpdateUnitRequest) (Unit, error) {
			return s.UpdateUnit(ctx, c.Principal, c.ID, in)
		}),
		route.OpDeleteUnit: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.DeleteUnit(ctx, c.Principal, c.ID)
		}),
		route.OpTransferOwnership: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in OwnerRequest) (Owner, error) {
			return s.TransferOwnership(ctx, c.Principal, in.UserID)
		}),
		route.OpListAudit: router.List(router.Limits{Items: "Events", Default: auditDefaultLimit, Max: auditMaxLimit},
			func(ctx context.Context, c router.Call, _ router.None, pg router.Page) (AuditPage, error) {
				return s.ListAudit(ctx, c.Principal, pg)
			}),
	}
}
