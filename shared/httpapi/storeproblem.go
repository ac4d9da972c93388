package httpapi

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// StoreProblem is the ErrorMapper of every function and page: it maps the
// store's transport-neutral kinds to the problems clients see. A lost
// condition no feature package explained is a 409; an outage, throttling,
// a timeout or a transaction still racing after its retries is a 503 with
// Retry-After. Anything else (ErrNotFound included: what is missing is the
// feature's to say) is left to the default 500.
func StoreProblem(err error) (*problem.Problem, bool) {
	switch {
	case errors.Is(err, store.ErrConflict):
		return problem.Conflict("conflict", "The resource changed meanwhile; read it again and retry."), true
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return problem.Unavailable(), true
	}
	return nil, false
}
