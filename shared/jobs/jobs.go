// Package jobs runs what changes leave to finish after their own
// transaction (store.Job: a role's regrant, the end of a deactivated
// user's credentials) and the scheduled tasks (announcing keys about to
// expire). In AWS the jobs function runs them: a batch for each write of a
// job item the table's stream delivers, and a sweep on a schedule for the
// jobs a failure left behind. `make run` sweeps on a short interval.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/store"
)

// Handler runs one batch of a job of its kind, from j.Cursor, and returns
// where the next batch starts, or done. A batch must be idempotent: a
// batch that failed, or whose end was not recorded, runs again. A handler
// that may not finish its job yet, and has nothing more to do now,
// returns ErrWait.
type Handler func(ctx context.Context, j store.Job) (cursor string, done bool, err error)

// ErrWait is what a handler returns when its job may not finish yet and
// has nothing to do before then (an ending waits for the user's index to
// catch up): the job is left as it is, not written, so that the stream
// does not run it again at once; a later sweep runs it.
var ErrWait = errors.New("jobs: the job waits")

// Task is a scheduled task, run at every sweep.
type Task func(ctx context.Context, now time.Time) error

// Runner runs jobs with the handler of their kind, and the tasks.
type Runner struct {
	store    *store.Store
	log      *slog.Logger
	now      func() time.Time
	handlers map[string]Handler
	kinds    []string
	tasks    []namedTask
}

type namedTask struct {
	name string
	run  Task
}

// New returns a runner with no handler and no task.
func New(st *store.Store, log *slog.Logger, now func() time.Time) *Runner {
	return &Runner{store: st, log: log, now: now, handlers: map[string]Handler{}}
}

// Handle makes h run the jobs of kind.
func (r *Runner) Handle(kind string, h Handler) {
	if _, dup := r.handlers[kind]; !dup {
		r.kinds = append(r.kinds, kind)
	}
	r.handlers[kind] = h
}

// Every makes t run at every sweep, under name in the logs.
func (r *Runner) Every(name string, t Task) { r.tasks = append(r.tasks, namedTask{name, t}) }

// Run runs one batch of j and records it: the job advances to the next
// cursor (a write the stream delivers, which runs the next batch), or is
// deleted when done. A job replaced meanwhile is left to its newer self.
// A job that waits (ErrWait) is neither: Run reports it not done, and
// writes nothing.
func (r *Runner) Run(ctx context.Context, j store.Job) (done bool, err error) {
	done, _, err = r.run(ctx, j)
	return done, err
}

// run is Run, and reports whether the job waits.
func (r *Runner) run(ctx context.Context, j store.Job) (done, waits bool, err error) {
	h, ok := r.handlers[j.Kind]
	if !ok {
		return false, false, fmt.Errorf("jobs: no handler for kind %q", j.Kind)
	}
	cursor, done, err := h(ctx, j)
	if errors.Is(err, ErrWait) {
		return false, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("jobs: %s %s/%s: %w", j.Kind, j.Org, j.Target, err)
	}
	if done {
		err = r.store.FinishJob(ctx, j)
	} else {
		err = r.store.AdvanceJob(ctx, j, cursor, r.now())
	}
	if store.Lost(err, store.JobChanged) {
		return true, false, nil
	}
	return done, false, err
}

// Drain runs j batch after batch until it is done or waits, reading it
// again between batches.
func (r *Runner) Drain(ctx context.Context, j store.Job) error {
	for {
		done, waits, err := r.run(ctx, j)
		if err != nil || done || waits {
			return err
		}
		if j, err = r.store.GetJob(ctx, j.Kind, j.Org, j.Target); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
	}
}

// sweepBatch bounds the jobs of one kind a sweep reads.
const sweepBatch = 100

// Sweep drains every job untouched for at least idle (the stream runs the
// others), then runs every task. It goes on past a failure and returns the
// failures joined.
func (r *Runner) Sweep(ctx context.Context, idle time.Duration) error {
	var errs []error
	now := r.now()
	for _, kind := range r.kinds {
		jobs, err := r.store.Jobs(ctx, kind, sweepBatch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, j := range jobs {
			if now.Sub(j.Updated) < idle {
				continue
			}
			if err := r.Drain(ctx, j); err != nil {
				r.log.ErrorContext(ctx, "job failed", "kind", j.Kind, "org", j.Org, "target", j.Target, "err", err)
				errs = append(errs, err)
			}
		}
	}
	for _, t := range r.tasks {
		if err := t.run(ctx, now); err != nil {
			r.log.ErrorContext(ctx, "task failed", "task", t.name, "err", err)
			errs = append(errs, fmt.Errorf("jobs: task %s: %w", t.name, err))
		}
	}
	return errors.Join(errs...)
}

// Stream runs one batch for each job item the stream records put or
// change; a record whose batch fails is reported back, so that Lambda
// delivers it again.
func (r *Runner) Stream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var out events.DynamoDBEventResponse
	for _, rec := range ev.Records {
		kind, org, target, ok := jobOf(rec)
		if !ok {
			continue
		}
		j, err := r.store.GetJob(ctx, kind, org, target)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err == nil {
			_, err = r.Run(ctx, j)
		}
		if err != nil {
			r.log.ErrorContext(ctx, "job batch failed", "kind", kind, "org", org, "target", target, "err", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return out, nil
}

// jobOf returns the job a stream record is of: an insert or change of an
// item of a JOB# partition, read from its keys (the item itself is read
// again, consistently, before its batch runs).
func jobOf(rec events.DynamoDBEventRecord) (kind, org, target string, ok bool) {
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) && rec.EventName != string(events.DynamoDBOperationTypeModify) {
		return "", "", "", false
	}
	pk, sk := rec.Change.Keys["pk"], rec.Change.Keys["sk"]
	if pk.DataType() != events.DataTypeString || sk.DataType() != events.DataTypeString {
		return "", "", "", false
	}
	return store.ParseJobKey(pk.String(), sk.String())
}
