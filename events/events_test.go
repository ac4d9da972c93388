// Package events_test keeps the sample API Gateway events valid: each is
// fed to its function's handler, which must answer as expected.
package events_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

// The samples name the demo organization; the test gives them the ids and
// token the seeded one got.
const (
	demoEmail    = "owner@demo.example"
	demoPassword = "demo-password-123"
)

func TestEverySampleEventIsServed(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	demo, _, err := e.Seed(context.Background(), "Demo", "demo", demoEmail, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.Login(t, demoEmail, demoPassword)
	fill := strings.NewReplacer(
		"org_demo", demo.Org.ID,
		"usr_demo_owner", demo.Owner.ID,
		"gsn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tok.AccessToken,
	)
	for _, fn := range route.Functions() {
		t.Run(fn+".json is served", func(t *testing.T) {
			raw, err := os.ReadFile(fn + ".json")
			if err != nil {
				t.Fatalf("every function needs a sample event: %v", err)
			}
			raw = []byte(fill.Replace(string(raw)))
			if fn == route.Authorizer {
				var ev events.APIGatewayV2CustomAuthorizerV2Request
				strict(t, raw, &ev)
				res, err := e.Authorizer(context.Background(), ev)
				if err != nil || !res.IsAuthorized || res.Context["authenticated"] != "true" {
					t.Fatalf("authorizer: %v %+v", err, res)
				}
				return
			}
			if fn == route.Jobs {
				// A stream record of a job already done (or never left)
				// runs nothing and fails nothing.
				var ev events.DynamoDBEvent
				strict(t, raw, &ev)
				res, err := e.Jobs.Stream(context.Background(), ev)
				if err != nil || len(res.BatchItemFailures) > 0 {
					t.Fatalf("jobs: %v %+v", err, res)
				}
				return
			}
			var ev events.APIGatewayV2HTTPRequest
			strict(t, raw, &ev)
			res, err := e.Functions[fn](context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode < 200 || res.StatusCode > 299 {
				t.Fatalf("status %d: %s", res.StatusCode, res.Body)
			}
		})
	}
}

func strict(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("sample event does not match the event type: %v", err)
	}
}
