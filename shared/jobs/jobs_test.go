package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/jobs"
	"github.com/guichet/guichet/shared/store"
)

var bg = context.Background()

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newRunner(t *testing.T) (*store.Store, *jobs.Runner, *clock) {
	t.Helper()
	st, err := devstack.Start(bg, devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	return st.Store, jobs.New(st.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), c.Now), c
}

// counting is a handler that takes three batches, recording the cursor
// each batch started from.
type counting struct {
	mu      sync.Mutex
	cursors []string
	fail    bool
}

func (h *counting) handle(_ context.Context, j store.Job) (string, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return "", false, errors.New("boom")
	}
	h.cursors = append(h.cursors, j.Cursor)
	switch j.Cursor {
	case "":
		return "1", false, nil
	case "1":
		return "2", false, nil
	}
	return "", true, nil
}

func TestDrainRunsEveryBatchFromItsCursorThenDeletesTheJob(t *testing.T) {
	t.Parallel()
	st, r, c := newRunner(t)
	h := &counting{}
	r.Handle("count", h.handle)
	j := store.NewJob("count", "org_a", "t1", 1, c.Now())
	if err := st.PutJob(bg, j); err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(bg, j); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.cursors, []string{"", "1", "2"}) {
		t.Fatalf("cursors %q", h.cursors)
	}
	if _, err := st.GetJob(bg, "count", "org_a", "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job left: %v", err)
	}
}

func TestABatchOfAReplacedJobLeavesTheNewerOne(t *testing.T) {
	t.Parallel()
	st, r, c := newRunner(t)
	h := &counting{}
	r.Handle("count", h.handle)
	old := store.NewJob("count", "org_a", "t1", 1, c.Now())
	if err := st.PutJob(bg, old); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	if err := st.PutJob(bg, store.NewJob("count", "org_a", "t1", 2, c.Now())); err != nil {
		t.Fatal(err)
	}
	done, err := r.Run(bg, old)
	if err != nil || !done {
		t.Fatalf("run of the replaced job: done %v, %v", done, err)
	}
	j, err := st.GetJob(bg, "count", "org_a", "t1")
	if err != nil || j.Version != 2 || j.Cursor != "" {
		t.Fatalf("the newer job: %+v, %v", j, err)
	}
}

func TestSweepLeavesRecentJobsToTheStreamAndRunsEveryTask(t *testing.T) {
	t.Parallel()
	st, r, c := newRunner(t)
	h := &counting{}
	r.Handle("count", h.handle)
	var ran []string
	r.Every("first", func(context.Context, time.Time) error { ran = append(ran, "first"); return errors.New("down") })
	r.Every("second", func(context.Context, time.Time) error { ran = append(ran, "second"); return nil })
	if err := st.PutJob(bg, store.NewJob("count", "org_a", "t1", 1, c.Now())); err != nil {
		t.Fatal(err)
	}
	if err := r.Sweep(bg, time.Minute); err == nil {
		t.Fatal("a failed task is not reported")
	}
	if len(h.cursors) != 0 || !slices.Equal(ran, []string{"first", "second"}) {
		t.Fatalf("a recent job ran (%q) or the tasks did not (%q)", h.cursors, ran)
	}
	c.Add(2 * time.Minute)
	if err := r.Sweep(bg, time.Minute); err == nil {
		t.Fatal("a failed task is not reported")
	}
	if len(h.cursors) != 3 {
		t.Fatalf("an idle job did not run to its end: %q", h.cursors)
	}
}

func record(pk, sk, name, seq string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys: map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk),
		},
	}}
}

func TestTheStreamRunsABatchPerJobRecordAndReportsFailures(t *testing.T) {
	t.Parallel()
	st, r, c := newRunner(t)
	h := &counting{}
	r.Handle("count", h.handle)
	if err := st.PutJob(bg, store.NewJob("count", "org_a", "t1", 1, c.Now())); err != nil {
		t.Fatal(err)
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("JOB#count", "org_a#t1", "INSERT", "1"),
		record("ORG#org_a", "USER#usr_x", "MODIFY", "2"), // not a job
		record("JOB#count", "org_a#t1", "REMOVE", "3"),   // a job's end
		record("JOB#count", "org_a#gone", "MODIFY", "4"), // done meanwhile
	}}
	res, err := r.Stream(bg, ev)
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	if !slices.Equal(h.cursors, []string{""}) {
		t.Fatalf("batches %q, want one", h.cursors)
	}
	j, err := st.GetJob(bg, "count", "org_a", "t1")
	if err != nil || j.Cursor != "1" || j.Batches != 1 {
		t.Fatalf("the job did not advance: %+v, %v", j, err)
	}
	h.fail = true
	res, err = r.Stream(bg, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{record("JOB#count", "org_a#t1", "MODIFY", "5")}})
	if err != nil || len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "5" {
		t.Fatalf("a failed batch is not reported back: %+v, %v", res, err)
	}
}
