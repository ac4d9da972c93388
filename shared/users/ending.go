package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/guichet/guichet/shared/store"
)

// A deactivation or a deletion writes, with the user, a job of kind
// store.EndingJob that ends the user's credentials. The request ends
// what it can at once; when one of its later transactions fails (or the
// user holds more than one request ends), the job ends the rest: in the
// background (RunEnding, batch after batch), or at once when the request
// is repeated (finishEnding).

// RunEnding runs one batch of an ending job, for the jobs runner: it
// deletes the first credentials indexed under the user, and is done when
// none is left. A user found active again was reactivated, which finishes
// its ending first: what it holds now is its own, and the job is done.
func (s *Service) RunEnding(ctx context.Context, j store.Job) (cursor string, done bool, err error) {
	u, err := s.store.GetUser(ctx, j.Org, j.Target)
	switch {
	case err == nil && u.Status == store.Active:
		return "", true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", false, err
	}
	n, err := s.store.EndBatch(ctx, j.Target, store.EndAll)
	return "", n == 0, err
}

// endNowBatches bounds the batches a request runs to finish an ending
// job; past it, the job goes on in the background.
const endNowBatches = 10

// finishEnding runs the ending job left for user in org, if any, to its
// end, and reports whether there was one. One that endNowBatches do not
// finish is advanced, so that the background runs its next batch.
func (s *Service) finishEnding(ctx context.Context, org, user string) (bool, error) {
	j, err := s.store.GetJob(ctx, store.EndingJob, org, user)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for range endNowBatches {
		n, err := s.store.EndBatch(ctx, user, store.EndAll)
		if err != nil {
			return true, fmt.Errorf("finish ending: %w", err)
		}
		if n == 0 {
			// Lost on JobChanged: a newer change wrote its own job, or the
			// background finished this one; either way it is not ours.
			if err := s.store.FinishJob(ctx, j); err != nil && !store.Lost(err, store.JobChanged) {
				return true, fmt.Errorf("finish ending: %w", err)
			}
			return true, nil
		}
	}
	if err := s.store.AdvanceJob(ctx, j, "", s.now()); err != nil && !store.Lost(err, store.JobChanged) {
		return true, fmt.Errorf("finish ending: %w", err)
	}
	return true, nil
}
