// Package users holds the rules of an organization's users and roles:
// people with an e-mail or a username, service users, statuses, and the
// admin password actions.
package users

import (
	"net/http"
	"time"

	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
)

// Service applies the user and role rules.
type Service struct {
	store  *store.Store
	params password.Params
	now    func() time.Time
}

// New returns a users service.
func New(s *store.Store, params password.Params, now func() time.Time) *Service {
	return &Service{store: s, params: params, now: now}
}

// Operations returns the handlers of the users function's routes.
func (s *Service) Operations() router.Operations {
	todo := func(w http.ResponseWriter, r *http.Request) error {
		return problem.New(http.StatusNotImplemented, "not_implemented", "Not yet.")
	}
	ops := router.Operations{}
	for _, name := range []string{"listRoles", "createRole", "updateRole", "deleteRole", "listUsers",
		"createUser", "getUser", "updateUser", "deleteUser", "setUserStatus", "setUserPassword", "printLetter"} {
		ops[name] = router.Op{Handle: todo}
	}
	return ops
}
