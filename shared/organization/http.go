package organization

import (
	"net/http"

	"github.com/guichet/guichet/shared/router"
)

// Operations returns the handlers of the organization function's routes.
func (s *Service) Operations() router.Operations {
	cursor := router.Param{Name: "cursor", Description: "The next_cursor of the previous page; absent for the first page"}
	ops := router.Operations{
		"getOrganization": {Handle: s.handleGetOrganization, Response: Organization{}},
		"updateOrganization": {Handle: s.handleUpdateOrganization,
			Request: UpdateOrganizationRequest{}, Response: Organization{}},
		// The logo travels as raw image bytes, not JSON.
		"putLogo": {Handle: s.handlePutLogo, RequestTypes: logoTypes, Response: LogoInfo{}},
		"getLogo": {Handle: s.handleGetLogo, ContentTypes: logoTypes},
		"listUnits": {Handle: s.handleListUnits, Response: UnitPage{}, Query: []router.Param{
			cursor, {Name: "limit", Description: "Units per page, 1 to 1000 (default 1000)"}}},
		"createUnit": {Handle: s.handleCreateUnit, Request: CreateUnitRequest{}, Response: Unit{},
			Status: http.StatusCreated},
		"updateUnit": {Handle: s.handleUpdateUnit, Request: UpdateUnitRequest{}, Response: Unit{}},
		"deleteUnit": {Handle: s.handleDeleteUnit, Status: http.StatusNoContent},
		"listAudit": {Handle: s.handleListAudit, Response: AuditPage{}, Query: []router.Param{
			cursor, {Name: "limit", Description: "Events per page, 1 to 100 (default 50)"}}},
	}
	ops["transferOwnership"] = s.transferOwnershipOp()
	return ops
}
