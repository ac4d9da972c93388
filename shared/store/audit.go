package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Audit is one event of an organization's audit trail: who did what to
// whom, and which fields changed. It never holds a secret. Every change an
// admin makes writes its event in the same transaction as the change.
type Audit struct {
	key
	ID    string    `dynamodbav:"id"`
	Org   string    `dynamodbav:"org"`
	Time  time.Time `dynamodbav:"time"`
	Actor string    `dynamodbav:"actor"`
	// Via is the credential the actor used: "session:<id>" or "apikey:<id>",
	// or "cli" for the admin command.
	Via    string `dynamodbav:"via"`
	Action string `dynamodbav:"action"`
	// Target is what the action was done to, as "<kind>:<id>".
	Target string `dynamodbav:"target"`
	// Fields names the fields the action changed (never their secret values).
	Fields []string `dynamodbav:"fields,omitempty"`
	// Counts sums up a bulk action, such as the rows an import accepted.
	Counts map[string]int `dynamodbav:"counts,omitempty"`
}

func auditPK(org string) string { return "ORG#" + org + "#AUDIT" }

// item returns the transaction item writing the event, stamped with its
// key; the time orders the trail.
func (s *Store) audit(a Audit) (types.TransactWriteItem, error) {
	if a.ID == "" {
		a.ID = NewID("aud_")
	}
	a.Time = a.Time.UTC()
	a.key = key{auditPK(a.Org), a.Time.Format("2006-01-02T15:04:05.000000000Z") + "#" + a.ID}
	return s.put(a, true)
}

// ListAudit returns a page of an organization's trail, newest first,
// starting after the event whose sort key is after (empty: the newest).
func (s *Store) ListAudit(ctx context.Context, org, after string, limit int) ([]Audit, string, error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(auditPK(org)),
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit)),
	}
	return queryPage[Audit](ctx, s, "list audit", in, auditPK(org), after)
}

// lastSK is the sort key of a page's last evaluated key, "" at the end.
func lastSK(k map[string]types.AttributeValue) string {
	if v, ok := k["sk"].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
