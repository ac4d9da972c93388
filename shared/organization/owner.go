package organization

import (
	"net/http"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
)

// transferOwnershipOp is POST /v1/organization/owner.
func (s *Service) transferOwnershipOp() router.Op {
	return router.Op{Handle: func(w http.ResponseWriter, r *http.Request) error {
		return problem.New(http.StatusNotImplemented, "not_implemented", "Not yet.")
	}}
}
