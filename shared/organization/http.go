package organization

import (
	"net/http"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
)

// Operations returns the handlers of the organization function's routes.
func (s *Service) Operations() router.Operations {
	todo := func(w http.ResponseWriter, r *http.Request) error {
		return problem.New(http.StatusNotImplemented, "not_implemented", "Not yet.")
	}
	ops := router.Operations{}
	for _, name := range []string{"getOrganization", "updateOrganization", "putLogo", "getLogo",
		"listUnits", "createUnit", "updateUnit", "deleteUnit", "listAudit"} {
		ops[name] = router.Op{Handle: todo}
	}
	ops["transferOwnership"] = s.transferOwnershipOp()
	return ops
}
