package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/jobs"
	"github.com/guichet/guichet/shared/store"
)

// A change that ends credentials of a user (a deactivation, a deletion, a
// password set, reset or change, an MFA reset, an e-mail change) writes,
// with the user, an ending job (store.EndingJobOf) that ends what the
// change's own transactions did not. The request ends what it read at
// once; when one of its later transactions fails (or the user holds more
// than one request ends), the job ends the rest: in the background
// (RunEnding, batch after batch), or at once when a deactivation or
// deletion is repeated (finishEnding).

// EndingGrace is how long after its change an ending job goes on looking
// at the user's index. The index (gsi1) is eventually consistent: a
// credential written just before the change (a login or a new API key
// racing a deactivation: later ones are refused by their user's
// condition) may show in it only a moment later. DynamoDB propagates to
// a global secondary index within a second in most cases; ten seconds
// leave room for a slow propagation and for the clocks of two functions
// to disagree. A job finishes only at the end of a pass over the index
// that began at least EndingGrace after its change; before that, having
// nothing to do, it waits (jobs.ErrWait): it is not written again, so
// the stream does not run it in a loop, and the next sweep finishes it.
const EndingGrace = 10 * time.Second

// RunEnding runs one batch of an ending job, for the jobs runner: it
// deletes what the job ends among the next credentials indexed under the
// user, from the job's cursor, and is done at the end of a pass over the
// index that began EndingGrace after the change.
func (s *Service) RunEnding(ctx context.Context, j store.Job) (cursor string, done bool, err error) {
	return s.endingBatch(ctx, j, s.now())
}

// A job's cursor is "" at the start of a pass over the index; within a
// pass, it is the index cursor after a mark saying whether the pass began
// EndingGrace after the change (latePass) or before (earlyPass).
const latePass, earlyPass = "+", "-"

func (s *Service) endingBatch(ctx context.Context, j store.Job, now time.Time) (string, bool, error) {
	e := store.EndingOf(j)
	if j.Kind == store.EndingJob {
		// A user inactive or deleted holds nothing written after its
		// change (its user's condition refuses it): everything ends. A
		// user active again was reactivated, and keeps what it got since.
		u, err := s.store.GetUser(ctx, j.Org, j.Target)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && u.Status != store.Active:
			e.Before = time.Time{}
		case err != nil:
			return "", false, err
		}
	}
	graceOver := !now.Before(j.Created.Add(EndingGrace))
	cursor, late := "", graceOver
	if j.Cursor != "" {
		late, cursor = strings.HasPrefix(j.Cursor, latePass), j.Cursor[1:]
	}
	next, more, err := s.store.EndBatch(ctx, j.Target, e, cursor)
	switch {
	case err != nil:
		return "", false, err
	case more && late:
		return latePass + next, false, nil
	case more:
		return earlyPass + next, false, nil
	case late:
		return "", true, nil // a pass that began after the grace ended
	case graceOver:
		return "", false, nil // the grace is over: one more pass
	}
	return "", false, jobs.ErrWait
}

// endNowBatches bounds the batches a request runs to finish an ending
// job; past it, the job goes on in the background.
const endNowBatches = 10

// finishEnding runs the ending job left for user in org, if any, as far
// as it goes now, and reports whether there was one. A job that
// endNowBatches do not finish is advanced, so that the background runs
// its next batch; one that waits for the grace is left to the sweep.
func (s *Service) finishEnding(ctx context.Context, org, user string) (bool, error) {
	j, err := s.store.GetJob(ctx, store.EndingJob, org, user)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	at := j
	for range endNowBatches {
		cursor, done, err := s.endingBatch(ctx, at, s.now())
		switch {
		case errors.Is(err, jobs.ErrWait):
			return true, nil
		case err != nil:
			return true, fmt.Errorf("finish ending: %w", err)
		case done:
			// Lost on JobChanged: a newer change wrote its own job, or the
			// background finished this one; either way it is not ours.
			if err := s.store.FinishJob(ctx, j); err != nil && !store.Lost(err, store.JobChanged) {
				return true, fmt.Errorf("finish ending: %w", err)
			}
			return true, nil
		}
		at.Cursor = cursor
	}
	if err := s.store.AdvanceJob(ctx, j, at.Cursor, s.now()); err != nil && !store.Lost(err, store.JobChanged) {
		return true, fmt.Errorf("finish ending: %w", err)
	}
	return true, nil
}
