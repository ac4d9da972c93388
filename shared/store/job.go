package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Job is work a change leaves to finish after its own transaction: a
// role's regrant to its holders, the end of a deactivated user's
// credentials. The change writes the job's item in its transaction; each
// batch of the work advances the job's cursor, and the last batch deletes
// it. Every write of a job item reaches the table's stream, which runs the
// next batch; a scheduled sweep runs the jobs a failure left behind.
type Job struct {
	key
	Kind   string `dynamodbav:"kind"`
	Org    string `dynamodbav:"org"`
	Target string `dynamodbav:"target"`
	// Version is what the job works toward (a role's version): a newer
	// change of the target replaces the job, cursor and all.
	Version int `dynamodbav:"version,omitempty"`
	// Cursor is where the next batch starts; "" at the start.
	Cursor string `dynamodbav:"cursor,omitempty"`
	// Keep is, on an ending job, the session its change keeps.
	Keep    string    `dynamodbav:"keep,omitempty"`
	Batches int       `dynamodbav:"batches"`
	Created time.Time `dynamodbav:"created"`
	Updated time.Time `dynamodbav:"updated"`
}

// jobKey names the job of kind for target in org.
func jobKey(kind, org, target string) key { return key{"JOB#" + kind, org + "#" + target} }

// NewJob returns a job of kind for target in org, at its start.
func NewJob(kind, org, target string, version int, now time.Time) Job {
	now = now.UTC()
	return Job{key: jobKey(kind, org, target), Kind: kind, Org: org, Target: target, Version: version, Created: now, Updated: now}
}

// job appends the write of j, replacing any job of its kind and target.
func (t *tx) job(j Job) *tx {
	j.key = jobKey(j.Kind, j.Org, j.Target)
	return t.set(j)
}

// PutJob writes j on its own, replacing any job of its kind and target.
func (s *Store) PutJob(ctx context.Context, j Job) error {
	if err := s.transact(ctx, s.tx().job(j)); err != nil {
		return fmt.Errorf("put job: %w", err)
	}
	return nil
}

// GetJob reads the job of kind for target in org (ErrNotFound when it is
// done or was never left).
func (s *Store) GetJob(ctx context.Context, kind, org, target string) (Job, error) {
	return getAs[Job](ctx, s, jobKey(kind, org, target), "get job")
}

// Jobs returns the jobs of kind left unfinished, oldest first by key, at
// most limit.
func (s *Store) Jobs(ctx context.Context, kind string, limit int) ([]Job, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("JOB#" + kind)},
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	}
	jobs, _, err := queryPage[Job](ctx, s, "list jobs", in, "JOB#"+kind, "")
	return jobs, err
}

// AdvanceJob records that a batch of j ran up to cursor. A Conflict on
// JobChanged means the job was replaced or finished meanwhile: the
// runner that read j stops, the newer job goes on.
func (s *Store) AdvanceJob(ctx context.Context, j Job, cursor string, now time.Time) error {
	t := s.tx().add(JobChanged, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: jobKey(j.Kind, j.Org, j.Target).av(),
		ConditionExpression:      aws.String("updated = :u"),
		UpdateExpression:         aws.String("SET #c = :c, batches = batches + :one, updated = :now"),
		ExpressionAttributeNames: map[string]string{"#c": "cursor"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(j.Updated.UTC().Format(time.RFC3339Nano)), ":c": str(cursor), ":one": num(1),
			":now": str(now.UTC().Format(time.RFC3339Nano)),
		},
	}})
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("advance job: %w", err)
	}
	return nil
}

// FinishJob deletes j once its work is done. A Conflict on JobChanged
// means it was replaced meanwhile: the newer job stays.
func (s *Store) FinishJob(ctx context.Context, j Job) error {
	t := s.tx().add(JobChanged, types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: jobKey(j.Kind, j.Org, j.Target).av(),
		ConditionExpression:       aws.String("updated = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(j.Updated.UTC().Format(time.RFC3339Nano))},
	}})
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// ParseJobKey returns the kind, organization and target of a job item's
// keys; ok is false for the keys of another kind of item.
func ParseJobKey(pk, sk string) (kind, org, target string, ok bool) {
	kind, isJob := strings.CutPrefix(pk, "JOB#")
	org, target, hasTarget := strings.Cut(sk, "#")
	if !isJob || !hasTarget || kind == "" || org == "" || target == "" {
		return "", "", "", false
	}
	return kind, org, target, true
}
