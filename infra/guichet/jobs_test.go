package guichet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/route"
)

func TestJobs(t *testing.T) {
	t.Run("the table streams its keys", func(t *testing.T) {
		spec, _ := props(prod.resources("AWS::DynamoDB::Table")[TableLogicalID])["StreamSpecification"].(map[string]any)
		if spec["StreamViewType"] != "KEYS_ONLY" {
			t.Errorf("StreamSpecification = %v, want KEYS_ONLY", spec)
		}
	})
	for _, s := range []struct {
		name string
		s    *synthesized
	}{{"production", prod}, {"throw-away", dev}} {
		maps := s.s.resources("AWS::Lambda::EventSourceMapping")
		t.Run("in the "+s.name+" stack the stream runs the jobs function only", func(t *testing.T) {
			if len(maps) != 1 {
				t.Fatalf("%d event source mappings, want 1", len(maps))
			}
			for _, m := range maps {
				p := props(m)
				if ref(p["FunctionName"]) != FunctionLogicalID(route.Jobs) {
					t.Errorf("FunctionName = %v", p["FunctionName"])
				}
				if b, _ := json.Marshal(p["EventSourceArn"]); string(b) != `{"Fn::GetAtt":["Table","StreamArn"]}` {
					t.Errorf("EventSourceArn = %s, want the table's stream", b)
				}
			}
		})
		t.Run("in the "+s.name+" stack the stream delivers puts of job items in small bisected batches, retried a bounded number of times", func(t *testing.T) {
			for _, m := range maps {
				p := props(m)
				for k, want := range map[string]any{
					"BatchSize":                  float64(jobsBatchSize),
					"BisectBatchOnFunctionError": true,
					"MaximumRetryAttempts":       float64(jobsRetryAttempts),
					"StartingPosition":           "TRIM_HORIZON",
				} {
					if p[k] != want {
						t.Errorf("%s = %v, want %v", k, p[k], want)
					}
				}
				if got := strs(p["FunctionResponseTypes"]); !slices.Equal(got, []string{"ReportBatchItemFailures"}) {
					t.Errorf("FunctionResponseTypes = %v", got)
				}
				filters, _ := p["FilterCriteria"].(map[string]any)["Filters"].([]any)
				if len(filters) != 1 {
					t.Fatalf("filters %v, want one", filters)
				}
				var pattern map[string]any
				if err := json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern); err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(pattern)
				if want := `{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"JOB#"}]}}},"eventName":["INSERT","MODIFY"]}`; string(b) != want {
					t.Errorf("filter pattern %s, want %s", b, want)
				}
			}
		})
		t.Run("in the "+s.name+" stack records that fail every retry go to an encrypted, TLS-only dead-letter queue", func(t *testing.T) {
			for _, m := range maps {
				dest := props(m)["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"]
				if ref(dest) != jobsDeadLetterLogicalID {
					t.Errorf("on-failure destination %v, want %s", dest, jobsDeadLetterLogicalID)
				}
			}
			q := props(s.s.resources("AWS::SQS::Queue")[jobsDeadLetterLogicalID])
			if q["SqsManagedSseEnabled"] != true {
				t.Errorf("queue %v is not encrypted", q)
			}
			if !denesInsecureTransport(s.s.resources("AWS::SQS::QueuePolicy"), "Queues", jobsDeadLetterLogicalID) {
				t.Error("the queue's policy does not deny requests without TLS")
			}
		})
		t.Run("in the "+s.name+" stack a schedule sweeps every 5 minutes without retrying", func(t *testing.T) {
			rules := s.s.resources("AWS::Events::Rule")
			if len(rules) != 2 {
				t.Fatalf("%d rules, want the sweep and the key rotation", len(rules))
			}
			for _, r := range rules {
				if strings.Contains(fmt.Sprint(props(r)["Targets"]), rotateKeysTask) {
					continue // the key rotation, below
				}
				p := props(r)
				if p["ScheduleExpression"] != "rate(5 minutes)" {
					t.Errorf("ScheduleExpression = %v", p["ScheduleExpression"])
				}
				targets, _ := p["Targets"].([]any)
				if len(targets) != 1 || !slices.Contains(refsIn(targets[0]), FunctionLogicalID(route.Jobs)) {
					t.Fatalf("targets %v, want the jobs function", targets)
				}
				if rp, _ := targets[0].(map[string]any)["RetryPolicy"].(map[string]any); rp["MaximumRetryAttempts"] != float64(0) {
					t.Errorf("RetryPolicy = %v", rp)
				}
			}
			s.s.tmplHasPermission(t, FunctionLogicalID(route.Jobs), "events.amazonaws.com")
		})
		t.Run("in the "+s.name+" stack a weekly schedule sends the jobs function the key rotation", func(t *testing.T) {
			var p map[string]any
			for _, r := range s.s.resources("AWS::Events::Rule") {
				if strings.Contains(fmt.Sprint(props(r)["Targets"]), rotateKeysTask) {
					p = props(r)
				}
			}
			if p["ScheduleExpression"] != "rate(7 days)" {
				t.Errorf("ScheduleExpression = %v", p["ScheduleExpression"])
			}
			targets, _ := p["Targets"].([]any)
			if len(targets) != 1 || !slices.Contains(refsIn(targets[0]), FunctionLogicalID(route.Jobs)) {
				t.Fatalf("targets %v, want the jobs function", targets)
			}
			var input map[string]any
			in, _ := targets[0].(map[string]any)["Input"].(string)
			if err := json.Unmarshal([]byte(in), &input); err != nil || input["task"] != rotateKeysTask {
				t.Errorf("Input = %q, want the task %s", in, rotateKeysTask)
			}
		})
		t.Run("in the "+s.name+" stack the jobs function is behind no route", func(t *testing.T) {
			for _, in := range s.s.resources("AWS::ApiGatewayV2::Integration") {
				if ref(props(in)["IntegrationUri"]) == FunctionLogicalID(route.Jobs) {
					t.Error("an integration invokes the jobs function")
				}
			}
		})
	}
	t.Run("the jobs function may send mail and may send to its dead-letter queue only", func(t *testing.T) {
		var sqs []string
		for _, st := range prod.roleStatements(t)[route.Jobs] {
			for _, a := range st.Actions {
				if len(a) > 4 && a[:4] == "sqs:" {
					sqs = append(sqs, a)
					if refs := refsIn(st.Resources); len(refs) != 1 || refs[0] != jobsDeadLetterLogicalID {
						t.Errorf("%s on %v", a, st.Resources)
					}
				}
			}
		}
		if !slices.Contains(sqs, "sqs:SendMessage") {
			t.Errorf("sqs actions %v, want sqs:SendMessage", sqs)
		}
		if !specOf(prod.specs, route.Jobs).SendsMail {
			t.Error("the jobs spec does not send mail")
		}
	})
}

// denesInsecureTransport reports whether one of the policies, attached
// through field to the resource id, denies every request without TLS.
func denesInsecureTransport(policies map[string]map[string]any, field, id string) bool {
	for _, pol := range policies {
		p := props(pol)
		if !slices.Contains(refsIn(p[field]), id) {
			continue
		}
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			m := st.(map[string]any)
			b, _ := json.Marshal(m["Condition"])
			if m["Effect"] == "Deny" && string(b) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				return true
			}
		}
	}
	return false
}

// tmplHasPermission fails unless principal may invoke the function.
func (s *synthesized) tmplHasPermission(t *testing.T, fnID, principal string) {
	t.Helper()
	for _, p := range s.resources("AWS::Lambda::Permission") {
		if props(p)["Principal"] == principal && ref(props(p)["FunctionName"]) == fnID {
			return
		}
	}
	t.Errorf("%s may not invoke %s", principal, fnID)
}
