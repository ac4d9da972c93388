package guichet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

// Synthesizing through jsii takes seconds, so TestMain synthesizes each
// variant once and every test reads the shared templates.
var (
	// prod is the default production stack with a mail sender and CORS,
	// built from variantSpecs().
	prod *synthesized
	// dev is a throw-away stack from the real route.Specs(): no mail,
	// authorizer caching on.
	dev *synthesized
)

// synthesized is one synthesized stack: its props, the assertions template,
// and the same template as plain Go values for walking.
type synthesized struct {
	stack awscdk.Stack
	g     *Guichet
	props Props
	specs []route.Spec
	tmpl  assertions.Template
	doc   map[string]any
}

const testMailFrom = "Guichet <no-reply@example.com>"

func TestMain(m *testing.M) {
	code, err := synthesizeAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	jsii.Close()
	os.Exit(code)
}

func synthesizeAndRun(m *testing.M) (int, error) {
	buildDir, err := os.MkdirTemp("", "guichet-build-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(buildDir)
	// Stand-ins for make build's output, so the tests need no Lambda build.
	for _, fn := range route.Functions() {
		dir := filepath.Join(buildDir, fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 1, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("stand-in for "+fn), 0o755); err != nil {
			return 1, err
		}
	}

	p := DefaultProps(buildDir)
	p.MailFrom = testMailFrom
	p.CorsOrigins = []string{"https://app.example.com"}
	p.specs = variantSpecs()
	if prod, err = synthesize(p); err != nil {
		return 1, fmt.Errorf("synthesize production stack: %w", err)
	}

	d := DefaultProps(buildDir)
	d.Production = false
	d.AuthorizerCacheTTLSeconds = 300
	if dev, err = synthesize(d); err != nil {
		return 1, fmt.Errorf("synthesize dev stack: %w", err)
	}
	if app, err = synthesizeApp(buildDir, 0); err != nil {
		return 1, fmt.Errorf("synthesize application stack: %w", err)
	}
	if appCached, err = synthesizeApp(buildDir, 300); err != nil {
		return 1, fmt.Errorf("synthesize application stack with caching: %w", err)
	}
	return m.Run(), nil
}

// variantSpecs is route.Specs() with the cases the table may not have yet,
// so their grants are exercised either way: one route-serving function sends
// mail, and the authorizer records API key use with UpdateItem.
func variantSpecs() []route.Spec {
	specs := route.Specs()
	if !slices.ContainsFunc(specs, func(s route.Spec) bool { return s.SendsMail }) {
		for i, s := range specs {
			if s.Name != route.Authorizer {
				specs[i].SendsMail = true
				break
			}
		}
	}
	for i, s := range specs {
		if s.Name == route.Authorizer && !slices.Contains(s.DynamoDB, "UpdateItem") {
			specs[i].DynamoDB = append(slices.Clone(s.DynamoDB), "UpdateItem")
		}
	}
	return specs
}

// cdkContext is the context of cdk.json (feature flags included), so the
// tests synthesize as `make synth` does.
func cdkContext() (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return cfg.Context, nil
}

// testStackName is the name of the stack the tests synthesize, as the
// standalone app names it.
const testStackName = "Guichet"

// synthesize builds a stack as the standalone app does (the construct under
// "Default").
func synthesize(p Props) (*synthesized, error) {
	return synthesizeIn(testStackName, "Default", p, nil)
}

// synthesizeIn builds the construct id in a stack of its own, after
// before has added to the stack (an application's Lambdas, given to p).
func synthesizeIn(stackName, id string, p Props, before func(stack awscdk.Stack, p *Props)) (*synthesized, error) {
	ctx, err := cdkContext()
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	stack := awscdk.NewStack(app, jsii.String(stackName), &awscdk.StackProps{StackName: jsii.String(stackName)})
	if before != nil {
		before(stack, &p)
	}
	g, err := New(stack, id, p)
	if err != nil {
		return nil, err
	}
	Check(stack)
	tmpl := assertions.Template_FromStack(stack, nil)
	// A round trip through JSON turns jsii's values into plain Go ones.
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	specs := p.specs
	if specs == nil {
		specs = route.Specs()
	}
	return &synthesized{stack: stack, g: g, props: p, specs: specs, tmpl: tmpl, doc: doc}, nil
}

// resources returns the template's resources of one type by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// ref returns the logical id a {"Ref": id} or {"Fn::GetAtt": [id, ...]}
// points to, or "".
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if id, ok := m["Ref"].(string); ok {
		return id
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}

// refsIn returns every logical id referenced anywhere inside v.
func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if id := ref(x); id != "" {
			out = append(out, id)
		}
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func specOf(specs []route.Spec, name string) route.Spec {
	for _, s := range specs {
		if s.Name == name {
			return s
		}
	}
	return route.Spec{}
}

// routeByKey finds the AWS::ApiGatewayV2::Route with the route key.
func (s *synthesized) routeByKey(t *testing.T, key string) map[string]any {
	t.Helper()
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		if props(r)["RouteKey"] == key {
			return props(r)
		}
	}
	t.Fatalf("no route %q in the template", key)
	return nil
}

// integrationFunction returns the logical id of the function a route's
// integration invokes.
func (s *synthesized) integrationFunction(t *testing.T, rt map[string]any) string {
	t.Helper()
	ids := refsIn(rt["Target"])
	if len(ids) != 1 {
		t.Fatalf("route target %v does not name one integration", rt["Target"])
	}
	in, ok := s.resources("AWS::ApiGatewayV2::Integration")[ids[0]]
	if !ok {
		t.Fatalf("route target %s is not an integration", ids[0])
	}
	if got := props(in)["IntegrationType"]; got != "AWS_PROXY" {
		t.Errorf("integration type = %v, want AWS_PROXY", got)
	}
	if got := props(in)["PayloadFormatVersion"]; got != "2.0" {
		t.Errorf("payload format = %v, want 2.0", got)
	}
	return ref(props(in)["IntegrationUri"])
}

func (s *synthesized) authorizerID(t *testing.T) string {
	t.Helper()
	auths := s.resources("AWS::ApiGatewayV2::Authorizer")
	if len(auths) != 1 {
		t.Fatalf("want one authorizer, got %d", len(auths))
	}
	for id := range auths {
		return id
	}
	return ""
}

func TestEveryRouteOfTheTableIsDeployed(t *testing.T) {
	authorizer := prod.authorizerID(t)
	for _, r := range route.All() {
		t.Run(fmt.Sprintf("%s is served by %s", r.Key(), r.Function), func(t *testing.T) {
			rt := prod.routeByKey(t, r.Key())
			if got, want := prod.integrationFunction(t, rt), FunctionLogicalID(r.Function); got != want {
				t.Errorf("integration invokes %q, want %q", got, want)
			}
			if r.Public {
				if got := rt["AuthorizationType"]; got != "NONE" {
					t.Errorf("public route has AuthorizationType %v, want NONE", got)
				}
				if rt["AuthorizerId"] != nil {
					t.Errorf("public route has an authorizer")
				}
				return
			}
			if got := rt["AuthorizationType"]; got != "CUSTOM" {
				t.Errorf("AuthorizationType = %v, want CUSTOM", got)
			}
			if got := ref(rt["AuthorizerId"]); got != authorizer {
				t.Errorf("authorizer = %q, want %q", got, authorizer)
			}
		})
	}

	t.Run("$default is served by the fallback without authorizer", func(t *testing.T) {
		rt := prod.routeByKey(t, "$default")
		if got, want := prod.integrationFunction(t, rt), FunctionLogicalID(route.Fallback.Function); got != want {
			t.Errorf("integration invokes %q, want %q", got, want)
		}
		if got := rt["AuthorizationType"]; got != "NONE" {
			t.Errorf("AuthorizationType = %v, want NONE", got)
		}
	})

	t.Run("there is no route outside the table", func(t *testing.T) {
		want := []string{"$default"}
		for _, r := range route.All() {
			want = append(want, r.Key())
		}
		var got []string
		for _, r := range prod.resources("AWS::ApiGatewayV2::Route") {
			got = append(got, props(r)["RouteKey"].(string))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("route keys = %v, want %v", got, want)
		}
	})

	t.Run("exactly the public routes skip the authorizer", func(t *testing.T) {
		var want, got []string
		for _, r := range route.All() {
			if r.Public {
				want = append(want, r.Key())
			}
		}
		for _, r := range prod.resources("AWS::ApiGatewayV2::Route") {
			if k := props(r)["RouteKey"]; k != "$default" && props(r)["AuthorizationType"] == "NONE" {
				got = append(got, k.(string))
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("routes without authorizer = %v, want %v", got, want)
		}
	})
}

func TestTheAuthorizer(t *testing.T) {
	auth := func(s *synthesized) map[string]any {
		return props(s.resources("AWS::ApiGatewayV2::Authorizer")[s.authorizerID(t)])
	}
	t.Run("is the authorizer function with simple responses", func(t *testing.T) {
		a := auth(prod)
		if !slices.Contains(refsIn(a["AuthorizerUri"]), FunctionLogicalID(route.Authorizer)) {
			t.Errorf("AuthorizerUri %v does not invoke %s", a["AuthorizerUri"], FunctionLogicalID(route.Authorizer))
		}
		for k, want := range map[string]any{
			"AuthorizerType":                 "REQUEST",
			"EnableSimpleResponses":          true,
			"AuthorizerPayloadFormatVersion": "2.0",
		} {
			if a[k] != want {
				t.Errorf("%s = %v, want %v", k, a[k], want)
			}
		}
	})
	t.Run("caches nothing and requires no header by default", func(t *testing.T) {
		a := auth(prod)
		if got := a["AuthorizerResultTtlInSeconds"]; got != float64(0) {
			t.Errorf("AuthorizerResultTtlInSeconds = %v, want 0", got)
		}
		if got, ok := a["IdentitySource"]; ok {
			t.Errorf("IdentitySource = %v, want none so requests without Authorization reach the authorizer", got)
		}
	})
	t.Run("keys its cache on the Authorization header when caching is on", func(t *testing.T) {
		a := auth(dev)
		if got := a["AuthorizerResultTtlInSeconds"]; got != float64(300) {
			t.Errorf("AuthorizerResultTtlInSeconds = %v, want 300", got)
		}
		if got := strs(a["IdentitySource"]); !slices.Equal(got, []string{"$request.header.Authorization"}) {
			t.Errorf("IdentitySource = %v, want the Authorization header", got)
		}
	})
	t.Run("may be invoked by API Gateway", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Action":       "lambda:InvokeFunction",
			"Principal":    "apigateway.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{FunctionLogicalID(route.Authorizer), "Arn"}},
		})
	})
}

func TestTheTable(t *testing.T) {
	table := func(s *synthesized) map[string]any {
		r, ok := s.resources("AWS::DynamoDB::Table")[TableLogicalID]
		if !ok {
			t.Fatalf("no table with logical id %s", TableLogicalID)
		}
		return r
	}
	t.Run("has the pk and sk string keys on demand", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
		})
	})
	t.Run("has the gsi1 index projecting everything", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"GlobalSecondaryIndexes": []any{map[string]any{
				"IndexName": IndexName,
				"KeySchema": []any{
					map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}},
		})
	})
	t.Run("expires items on the expires attribute", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"TimeToLiveSpecification": map[string]any{"AttributeName": "expires", "Enabled": true},
		})
	})
	for _, tc := range []struct {
		name       string
		s          func() *synthesized
		protected  bool
		deletion   string
		wantRecovr bool
	}{
		{"in production is recoverable, protected and retained", func() *synthesized { return prod }, true, "Retain", true},
		{"outside production is recoverable and destroyed with the stack", func() *synthesized { return dev }, false, "Delete", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := table(tc.s())
			p := props(r)
			pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any)
			if got := pitr["PointInTimeRecoveryEnabled"] == true; got != tc.wantRecovr {
				t.Errorf("point-in-time recovery = %v, want %v", got, tc.wantRecovr)
			}
			if got := p["DeletionProtectionEnabled"] == true; got != tc.protected {
				t.Errorf("deletion protection = %v, want %v", got, tc.protected)
			}
			if got := r["DeletionPolicy"]; got != tc.deletion {
				t.Errorf("DeletionPolicy = %v, want %v", got, tc.deletion)
			}
		})
	}
}

func TestEveryFunction(t *testing.T) {
	fns := prod.resources("AWS::Lambda::Function")
	for _, name := range route.Functions() {
		id := FunctionLogicalID(name)
		spec := specOf(prod.specs, name)
		t.Run(name+" is an arm64 provided.al2023 bootstrap sized by its spec", func(t *testing.T) {
			r, ok := fns[id]
			if !ok {
				t.Fatalf("no function with logical id %s", id)
			}
			p := props(r)
			for k, want := range map[string]any{
				"Runtime":    "provided.al2023",
				"Handler":    "bootstrap",
				"MemorySize": float64(spec.MemoryMB),
				"Timeout":    float64(spec.TimeoutSeconds),
			} {
				if p[k] != want {
					t.Errorf("%s = %v, want %v", k, p[k], want)
				}
			}
			if got := strs(p["Architectures"]); !slices.Equal(got, []string{"arm64"}) {
				t.Errorf("Architectures = %v, want [arm64]", got)
			}
		})
		t.Run(name+" is told the table, public URL, mail and log level", func(t *testing.T) {
			env, _ := props(fns[id])["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			if got := ref(vars["TABLE_NAME"]); got != TableLogicalID {
				t.Errorf("TABLE_NAME = %v, want the table", vars["TABLE_NAME"])
			}
			if got := vars["MAIL_FROM"]; got != testMailFrom {
				t.Errorf("MAIL_FROM = %v, want %q", got, testMailFrom)
			}
			for _, k := range []string{"PUBLIC_URL", "MAIL_CONFIGURATION_SET", "LOG_LEVEL"} {
				if vars[k] == nil {
					t.Errorf("%s is not set", k)
				}
			}
		})
	}
	t.Run("there is no function outside the table", func(t *testing.T) {
		if got, want := len(fns), len(route.Functions()); got != want {
			t.Errorf("%d functions, want %d", got, want)
		}
	})
}

// statement is one IAM policy statement as the template has it.
type statement struct {
	Effect    string
	Actions   []string
	Resources []any
	Condition map[string]any
}

// roleStatements returns, per function name, the statements of the policies
// attached to its role.
func (s *synthesized) roleStatements(t *testing.T) map[string][]statement {
	t.Helper()
	roleOf := map[string]string{}
	for _, name := range route.Functions() {
		fn := s.resources("AWS::Lambda::Function")[FunctionLogicalID(name)]
		roleOf[ref(props(fn)["Role"])] = name
	}
	out := map[string][]statement{}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		for _, role := range p["Roles"].([]any) {
			name, ok := roleOf[ref(role)]
			if !ok {
				continue
			}
			doc := p["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				m := st.(map[string]any)
				res, ok := m["Resource"].([]any)
				if !ok {
					res = []any{m["Resource"]}
				}
				cond, _ := m["Condition"].(map[string]any)
				out[name] = append(out[name], statement{
					Effect: m["Effect"].(string), Actions: strs(m["Action"]), Resources: res, Condition: cond,
				})
			}
		}
	}
	return out
}

func TestLeastPrivilege(t *testing.T) {
	for _, s := range []struct {
		name string
		s    *synthesized
	}{{"with mail", prod}, {"without mail", dev}} {
		stmts := s.s.roleStatements(t)
		for _, name := range route.Functions() {
			spec := specOf(s.s.specs, name)
			t.Run(fmt.Sprintf("%s %s has exactly its spec's DynamoDB actions on the table", name, s.name), func(t *testing.T) {
				var got []string
				for _, st := range stmts[name] {
					for _, a := range st.Actions {
						if strings.HasPrefix(a, "dynamodb:") && !slices.Contains(streamActions, a) {
							got = append(got, strings.TrimPrefix(a, "dynamodb:"))
						}
					}
				}
				want := spec.IAMActions()
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("DynamoDB actions = %v, want %v", got, want)
				}
			})
			t.Run(fmt.Sprintf("%s %s has no wildcard action or resource", name, s.name), func(t *testing.T) {
				for _, st := range stmts[name] {
					if st.Effect != "Allow" {
						continue
					}
					for _, a := range st.Actions {
						if strings.Contains(a, "*") {
							t.Errorf("wildcard action %q", a)
						}
					}
					for _, r := range st.Resources {
						// IAM accepts dynamodb:ListStreams on "*" only.
						if slices.Equal(st.Actions, []string{"dynamodb:ListStreams"}) && r == "*" {
							continue
						}
						if str, ok := r.(string); ok && strings.Contains(str, "*") {
							t.Errorf("wildcard resource %q for %v", str, st.Actions)
						}
						if r == nil {
							t.Errorf("statement %v has no resource", st.Actions)
						}
					}
				}
			})
			t.Run(fmt.Sprintf("%s %s reaches the index only to Query or Scan", name, s.name), func(t *testing.T) {
				for _, st := range stmts[name] {
					onIndex := false
					for _, r := range st.Resources {
						if b, _ := json.Marshal(r); strings.Contains(string(b), "/index/") {
							onIndex = true
						}
					}
					canUseIndex := false
					for _, a := range st.Actions {
						canUseIndex = canUseIndex || a == "dynamodb:Query" || a == "dynamodb:Scan"
					}
					if onIndex && !canUseIndex {
						t.Errorf("statement %v is granted on the index", st.Actions)
					}
					if canUseIndex && !onIndex {
						t.Errorf("statement %v cannot reach the index", st.Actions)
					}
				}
			})
		}
	}

	for _, s := range []struct {
		name string
		s    *synthesized
	}{{"with the table's spec", dev}, {"with an UpdateItem for API key use", prod}} {
		t.Run("the authorizer reads with GetItem only and reads and writes credential items only "+s.name, func(t *testing.T) {
			n := 0
			for _, st := range s.s.roleStatements(t)[route.Authorizer] {
				for _, a := range st.Actions {
					if !strings.HasPrefix(a, "dynamodb:") {
						continue
					}
					n++
					if slices.Contains(readActions, strings.TrimPrefix(a, "dynamodb:")) && a != "dynamodb:GetItem" {
						t.Errorf("the authorizer may %s", a)
					}
					b, _ := json.Marshal(st.Condition)
					if string(b) != `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["CRED#*"]}}` {
						t.Errorf("%s is not limited to credential items: condition %s", a, b)
					}
				}
			}
			if n == 0 {
				t.Error("the authorizer has no DynamoDB action")
			}
		})
	}
}

// readActions never write.
var readActions = []string{"GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem"}

// streamActions read the table's stream.
var streamActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

func TestPolicies(t *testing.T) {
	for _, s := range []struct {
		name string
		s    *synthesized
	}{{"with mail", prod}, {"without mail", dev}} {
		t.Run("no policy "+s.name+" names dynamodb:TransactWriteItems, which is no IAM action", func(t *testing.T) {
			b, _ := json.Marshal(s.s.resources("AWS::IAM::Policy"))
			if strings.Contains(string(b), "TransactWriteItems") {
				t.Error("a policy grants dynamodb:TransactWriteItems")
			}
			if len(b) < 1000 {
				t.Errorf("policies %s: too few to look at", b)
			}
		})
		t.Run("every function "+s.name+" writes logs to its own log group only", func(t *testing.T) {
			stmts := s.s.roleStatements(t)
			fns := s.s.resources("AWS::Lambda::Function")
			for _, name := range route.Functions() {
				group := ref(props(fns[FunctionLogicalID(name)])["LoggingConfig"].(map[string]any)["LogGroup"])
				var logs []string
				for _, st := range stmts[name] {
					for _, a := range st.Actions {
						if !strings.HasPrefix(a, "logs:") {
							continue
						}
						logs = append(logs, a)
						if refs := refsIn(st.Resources); len(st.Resources) != 1 || len(refs) != 1 || refs[0] != group {
							t.Errorf("%s may %s on %v, want its log group %s only", name, a, st.Resources, group)
						}
					}
				}
				slices.Sort(logs)
				if !slices.Equal(logs, []string{"logs:CreateLogStream", "logs:PutLogEvents"}) {
					t.Errorf("%s has logs actions %v", name, logs)
				}
			}
		})
		t.Run("no role "+s.name+" has a managed policy", func(t *testing.T) {
			for id, r := range s.s.resources("AWS::IAM::Role") {
				if mp := props(r)["ManagedPolicyArns"]; mp != nil {
					t.Errorf("role %s has managed policies %v", id, mp)
				}
			}
		})
		t.Run("only the jobs function "+s.name+" reads the stream, on the stream's ARN", func(t *testing.T) {
			for name, stmts := range s.s.roleStatements(t) {
				for _, st := range stmts {
					for _, a := range st.Actions {
						if !slices.Contains(streamActions, a) {
							continue
						}
						if name != route.Jobs {
							t.Errorf("%s may %s", name, a)
						}
						b, _ := json.Marshal(st.Resources)
						if a != "dynamodb:ListStreams" && string(b) != `[{"Fn::GetAtt":["Table","StreamArn"]}]` {
							t.Errorf("%s on %s, want the table's stream", a, b)
						}
					}
				}
			}
		})
	}
}

func TestMail(t *testing.T) {
	sesActions := func(s *synthesized, fn string) []string {
		var out []string
		for _, st := range s.roleStatements(t)[fn] {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, "ses:") {
					out = append(out, a)
				}
			}
		}
		return out
	}
	t.Run("with a sender, the identity and a configuration set exist", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), &map[string]any{
			"EmailIdentity": "no-reply@example.com",
		})
		prod.tmpl.ResourceCountIs(jsii.String("AWS::SES::ConfigurationSet"), jsii.Number(1))
	})
	for _, spec := range prod.specs {
		if spec.SendsMail {
			t.Run("with a sender, "+spec.Name+" may send as the identity only", func(t *testing.T) {
				if got := sesActions(prod, spec.Name); !slices.Equal(got, []string{"ses:SendEmail"}) {
					t.Errorf("SES actions = %v, want [ses:SendEmail]", got)
				}
				for _, st := range prod.roleStatements(t)[spec.Name] {
					if !slices.Contains(st.Actions, "ses:SendEmail") {
						continue
					}
					refs := refsIn(st.Resources)
					if len(st.Resources) != 2 || !slices.ContainsFunc(refs, func(id string) bool { return strings.HasPrefix(id, "MailIdentity") }) {
						t.Errorf("ses:SendEmail resources %v, want the identity and the configuration set", st.Resources)
					}
				}
			})
		} else {
			t.Run("with a sender, "+spec.Name+" may not send mail", func(t *testing.T) {
				if got := sesActions(prod, spec.Name); len(got) != 0 {
					t.Errorf("SES actions = %v, want none", got)
				}
			})
		}
	}
	t.Run("without a sender, there are no SES resources", func(t *testing.T) {
		dev.tmpl.ResourceCountIs(jsii.String("AWS::SES::EmailIdentity"), jsii.Number(0))
		dev.tmpl.ResourceCountIs(jsii.String("AWS::SES::ConfigurationSet"), jsii.Number(0))
	})
	t.Run("without a sender, no function may send mail", func(t *testing.T) {
		for _, name := range route.Functions() {
			if got := sesActions(dev, name); len(got) != 0 {
				t.Errorf("%s has SES actions %v", name, got)
			}
		}
	})
}

func TestTheStage(t *testing.T) {
	stages := prod.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("want one stage, got %d", len(stages))
	}
	var stage map[string]any
	for _, s := range stages {
		stage = props(s)
	}
	t.Run("is the auto-deployed $default stage", func(t *testing.T) {
		if stage["StageName"] != "$default" || stage["AutoDeploy"] != true {
			t.Errorf("StageName = %v, AutoDeploy = %v", stage["StageName"], stage["AutoDeploy"])
		}
	})
	t.Run("throttles every route by the props", func(t *testing.T) {
		rs, _ := stage["DefaultRouteSettings"].(map[string]any)
		if rs["ThrottlingRateLimit"] != prod.props.ThrottleRateLimit || rs["ThrottlingBurstLimit"] != prod.props.ThrottleBurstLimit {
			t.Errorf("DefaultRouteSettings = %v, want rate %v burst %v", rs, prod.props.ThrottleRateLimit, prod.props.ThrottleBurstLimit)
		}
	})
	t.Run("throttles each public credential route by the auth props, and no other route", func(t *testing.T) {
		rs, _ := stage["RouteSettings"].(map[string]any)
		want := map[string]bool{}
		for _, r := range route.All() {
			if slices.Contains(throttledOperations, r.Operation) {
				want[r.Key()] = true
				if !r.Public && r.Operation != route.OpSwitchOrganization { // a switch issues tokens from a session
					t.Errorf("%s is throttled as a credential route but is not public", r.Key())
				}
			}
		}
		for _, op := range []route.OperationID{route.OpLogin, route.OpServiceToken, route.OpRefresh,
			route.OpRequestPasswordReset, route.OpCompletePasswordReset, route.OpAcceptInvitation} {
			if !slices.Contains(throttledOperations, op) {
				t.Errorf("%s is not throttled", op)
			}
		}
		if len(rs) != len(want) || len(rs) < len(throttledOperations) {
			t.Errorf("%d route settings, want %d", len(rs), len(throttledOperations))
		}
		for key, v := range rs {
			if !want[key] {
				t.Errorf("route settings for %s", key)
			}
			m := v.(map[string]any)
			if m["ThrottlingRateLimit"] != prod.props.AuthThrottleRateLimit || m["ThrottlingBurstLimit"] != prod.props.AuthThrottleBurstLimit {
				t.Errorf("%s: %v, want rate %v burst %v", key, m, prod.props.AuthThrottleRateLimit, prod.props.AuthThrottleBurstLimit)
			}
		}
		if prod.props.AuthThrottleRateLimit >= prod.props.ThrottleRateLimit {
			t.Errorf("auth rate %v is not below the default %v", prod.props.AuthThrottleRateLimit, prod.props.ThrottleRateLimit)
		}
	})
	t.Run("is created after the routes its settings name", func(t *testing.T) {
		var st map[string]any
		for _, v := range stages {
			st = v
		}
		deps := strs(st["DependsOn"])
		for id, r := range prod.resources("AWS::ApiGatewayV2::Route") {
			if _, ok := stage["RouteSettings"].(map[string]any)[props(r)["RouteKey"].(string)]; ok && !slices.Contains(deps, id) {
				t.Errorf("the stage does not depend on route %s", id)
			}
		}
	})
	t.Run("writes JSON access logs to a log group", func(t *testing.T) {
		al, _ := stage["AccessLogSettings"].(map[string]any)
		id := ref(al["DestinationArn"])
		if _, ok := prod.resources("AWS::Logs::LogGroup")[id]; !ok {
			t.Fatalf("access log destination %v is not a log group of the stack", al["DestinationArn"])
		}
		var fields map[string]string
		if err := json.Unmarshal([]byte(al["Format"].(string)), &fields); err != nil {
			t.Fatalf("access log format is not JSON: %v", err)
		}
		for _, k := range []string{"requestId", "routeKey", "status", "latency"} {
			if fields[k] == "" {
				t.Errorf("access log has no %s", k)
			}
		}
	})
	t.Run("allows the configured CORS origins", func(t *testing.T) {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), &map[string]any{
			"CorsConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"AllowOrigins": []any{"https://app.example.com"},
			}),
		})
		dev.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), &map[string]any{
			"CorsConfiguration": assertions.Match_Absent(),
		})
	})
}

func TestAlarms(t *testing.T) {
	alarms := prod.resources("AWS::CloudWatch::Alarm")
	// alarmOn reports whether an alarm watches the metric of the function.
	alarmOn := func(metric, fnID string) bool {
		for _, a := range alarms {
			p := props(a)
			if p["MetricName"] != metric || p["Namespace"] != "AWS/Lambda" {
				continue
			}
			if slices.Contains(refsIn(p["Dimensions"]), fnID) {
				return true
			}
		}
		return false
	}
	for _, name := range route.Functions() {
		for _, metric := range []string{"Errors", "Throttles"} {
			t.Run(fmt.Sprintf("%s %s raise an alarm", name, metric), func(t *testing.T) {
				if !alarmOn(metric, FunctionLogicalID(name)) {
					t.Errorf("no alarm on %s of %s", metric, name)
				}
			})
		}
	}
	for _, spec := range prod.specs {
		t.Run(spec.Name+" taking 80% of its timeout raises an alarm", func(t *testing.T) {
			found := false
			for _, a := range alarms {
				p := props(a)
				if p["MetricName"] == "Duration" && slices.Contains(refsIn(p["Dimensions"]), FunctionLogicalID(spec.Name)) {
					found = true
					if p["Threshold"] != 0.8*float64(spec.TimeoutSeconds)*1000 || p["Statistic"] != "Maximum" {
						t.Errorf("threshold %v statistic %v, want the maximum against %v ms", p["Threshold"], p["Statistic"], 0.8*float64(spec.TimeoutSeconds)*1000)
					}
				}
			}
			if !found {
				t.Error("no duration alarm")
			}
		})
	}
	// plain returns the alarms on one metric of a namespace (not an
	// expression), by logical id.
	plain := func(s *synthesized, namespace, metric string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for id, a := range s.resources("AWS::CloudWatch::Alarm") {
			if p := props(a); p["Namespace"] == namespace && p["MetricName"] == metric {
				out[id] = p
			}
		}
		return out
	}
	for _, metric := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		t.Run("the table's and the index's "+metric+" raise alarms", func(t *testing.T) {
			var table, index bool
			for _, p := range plain(prod, "AWS/DynamoDB", metric) {
				b, _ := json.Marshal(p["Dimensions"])
				if !slices.Contains(refsIn(p["Dimensions"]), TableLogicalID) || p["Threshold"] != float64(1) {
					continue
				}
				if strings.Contains(string(b), `"GlobalSecondaryIndexName"`) {
					index = index || strings.Contains(string(b), `"Value":"`+IndexName+`"`)
				} else {
					table = true
				}
			}
			if !table || !index {
				t.Errorf("alarm on the table %v, on the index %v", table, index)
			}
		})
	}
	t.Run("the table's system errors raise an alarm, over every operation the functions call", func(t *testing.T) {
		var ops []string
		for _, a := range alarms {
			b, _ := json.Marshal(props(a)["Metrics"])
			if !strings.Contains(string(b), `"MetricName":"SystemErrors"`) {
				continue
			}
			for _, m := range props(a)["Metrics"].([]any) {
				stat, _ := m.(map[string]any)["MetricStat"].(map[string]any)
				if stat == nil {
					continue
				}
				for _, d := range stat["Metric"].(map[string]any)["Dimensions"].([]any) {
					if d.(map[string]any)["Name"] == "Operation" {
						ops = append(ops, d.(map[string]any)["Value"].(string))
					}
				}
			}
		}
		for _, spec := range prod.specs {
			for _, a := range spec.DynamoDB {
				if !slices.Contains(ops, a) {
					t.Errorf("the system errors of %s are not watched (watched: %v)", a, ops)
				}
			}
		}
	})
	for _, r := range []struct {
		metric    string
		threshold float64
	}{{"Reputation.BounceRate", 0.05}, {"Reputation.ComplaintRate", 0.001}} {
		t.Run("with mail, the SES "+r.metric+" raises an alarm at its review threshold", func(t *testing.T) {
			got := plain(prod, "AWS/SES", r.metric)
			if len(got) != 1 {
				t.Fatalf("%d alarms on %s, want 1", len(got), r.metric)
			}
			for _, p := range got {
				if p["Threshold"] != r.threshold || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
					t.Errorf("threshold %v %v, want ≥ %v", p["ComparisonOperator"], p["Threshold"], r.threshold)
				}
			}
		})
		t.Run("without mail, the SES "+r.metric+" raises no alarm", func(t *testing.T) {
			if got := plain(dev, "AWS/SES", r.metric); len(got) != 0 {
				t.Errorf("alarms %v", got)
			}
		})
	}
	t.Run("a record in the jobs' dead-letter queue raises an alarm", func(t *testing.T) {
		found := false
		for _, p := range plain(prod, "AWS/SQS", "ApproximateNumberOfMessagesVisible") {
			found = found || (slices.Contains(refsIn(p["Dimensions"]), jobsDeadLetterLogicalID) && p["Threshold"] == float64(1))
		}
		if !found {
			t.Error("no alarm on the dead-letter queue")
		}
	})
	t.Run("the alarm topic accepts TLS requests only", func(t *testing.T) {
		topics := prod.resources("AWS::SNS::Topic")
		if len(topics) != 1 {
			t.Fatalf("%d topics", len(topics))
		}
		for id := range topics {
			if !denesInsecureTransport(prod.resources("AWS::SNS::TopicPolicy"), "Topics", id) {
				t.Error("the topic's policy does not deny requests without TLS")
			}
		}
	})
	t.Run("the API's 5xx rate raises an alarm", func(t *testing.T) {
		found := false
		for _, a := range alarms {
			b, _ := json.Marshal(props(a)["Metrics"])
			found = found || (strings.Contains(string(b), `"MetricName":"5xx"`) && strings.Contains(string(b), `"MetricName":"Count"`))
		}
		if !found {
			t.Error("no alarm computes the 5xx rate")
		}
	})
	t.Run("every alarm notifies the alarm topic", func(t *testing.T) {
		topics := prod.resources("AWS::SNS::Topic")
		for id, a := range alarms {
			actions := refsIn(props(a)["AlarmActions"])
			if len(actions) != 1 || topics[actions[0]] == nil {
				t.Errorf("alarm %s notifies %v", id, props(a)["AlarmActions"])
			}
		}
	})
}

func TestLogGroups(t *testing.T) {
	for _, s := range []struct {
		name   string
		s      *synthesized
		policy string
	}{{"production", prod, "Retain"}, {"throw-away", dev, "Delete"}} {
		t.Run("the "+s.name+" stack's log groups are kept per the production flag, for the retention of the props", func(t *testing.T) {
			groups := s.s.resources("AWS::Logs::LogGroup")
			if len(groups) != len(route.Functions())+1 {
				t.Errorf("%d log groups, want one per function and the access logs", len(groups))
			}
			for id, g := range groups {
				if g["DeletionPolicy"] != s.policy || g["UpdateReplacePolicy"] != s.policy {
					t.Errorf("%s: DeletionPolicy %v UpdateReplacePolicy %v, want %s", id, g["DeletionPolicy"], g["UpdateReplacePolicy"], s.policy)
				}
				if props(g)["RetentionInDays"] != float64(s.s.props.LogRetentionDays) {
					t.Errorf("%s: RetentionInDays %v", id, props(g)["RetentionInDays"])
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	for _, name := range []string{"ApiUrl", "TableName"} {
		t.Run(name+" is an output", func(t *testing.T) {
			prod.tmpl.HasOutput(jsii.String(name), &map[string]any{"Value": assertions.Match_AnyValue()})
		})
	}
}

func TestProps(t *testing.T) {
	t.Run("a stack without a build directory is refused", func(t *testing.T) {
		p := DefaultProps("")
		if err := p.validate(); err == nil {
			t.Error("validate accepted an empty BuildDir")
		}
	})
	t.Run("a log retention CloudWatch does not offer is refused", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		p.LogRetentionDays = 31
		if err := p.validate(); err == nil {
			t.Error("validate accepted 31 days")
		}
	})
	t.Run("an auth throttle that is not positive is refused", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		p.AuthThrottleBurstLimit = 0
		if err := p.validate(); err == nil {
			t.Error("validate accepted a zero auth burst")
		}
	})
	t.Run("the defaults are valid", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		if err := p.validate(); err != nil {
			t.Error(err)
		}
	})
}

func TestTheMFAKey(t *testing.T) {
	for _, s := range []struct {
		name   string
		s      *synthesized
		policy string
	}{{"production", prod, "Retain"}, {"throw-away", dev, "Delete"}} {
		secrets := s.s.resources("AWS::SecretsManager::Secret")
		t.Run("the "+s.name+" stack generates one 43-character alphanumeric key", func(t *testing.T) {
			r, ok := secrets[MFAKeyLogicalID]
			if _, jwt := secrets[JWTKeysLogicalID]; !ok || !jwt || len(secrets) != 2 {
				t.Fatalf("secrets %v, want %s and %s", secrets, MFAKeyLogicalID, JWTKeysLogicalID)
			}
			gen, _ := props(r)["GenerateSecretString"].(map[string]any)
			if gen["PasswordLength"] != float64(43) || gen["ExcludePunctuation"] != true || gen["IncludeSpace"] != false {
				t.Errorf("GenerateSecretString = %v", gen)
			}
			if gen["SecretStringTemplate"] != nil || gen["GenerateStringKey"] != nil {
				t.Errorf("the key must be the whole secret string, not a JSON field: %v", gen)
			}
			if r["DeletionPolicy"] != s.policy || r["UpdateReplacePolicy"] != s.policy {
				t.Errorf("DeletionPolicy %v UpdateReplacePolicy %v, want %s", r["DeletionPolicy"], r["UpdateReplacePolicy"], s.policy)
			}
		})
		fns := s.s.resources("AWS::Lambda::Function")
		stmts := s.s.roleStatements(t)
		for _, name := range route.Functions() {
			spec := specOf(s.s.specs, name)
			env, _ := props(fns[FunctionLogicalID(name)])["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			t.Run(fmt.Sprintf("%s in the %s stack never has the key in its environment", name, s.name), func(t *testing.T) {
				if v, has := vars["MFA_ENCRYPTION_KEY"]; has {
					t.Errorf("MFA_ENCRYPTION_KEY = %v", v)
				}
				if b, _ := json.Marshal(vars); strings.Contains(string(b), "resolve:secretsmanager") {
					t.Errorf("environment %s resolves a secret", b)
				}
			})
			t.Run(fmt.Sprintf("%s in the %s stack is told the key's secret only if its spec says so", name, s.name), func(t *testing.T) {
				v, has := vars[mfaKeySecretEnv]
				if has != spec.MFAKey {
					t.Fatalf("%s set %v, spec says %v", mfaKeySecretEnv, has, spec.MFAKey)
				}
				if has && ref(v) != MFAKeyLogicalID {
					t.Errorf("%s = %v, want the ARN of %s", mfaKeySecretEnv, v, MFAKeyLogicalID)
				}
			})
			t.Run(fmt.Sprintf("%s in the %s stack may read the keys only if its spec says so, and no other secret", name, s.name), func(t *testing.T) {
				got := map[string][]string{}
				for _, st := range stmts[name] {
					for _, a := range st.Actions {
						if !strings.HasPrefix(a, "secretsmanager:") && !strings.HasPrefix(a, "kms:") {
							continue
						}
						refs := refsIn(st.Resources)
						if len(st.Resources) != 1 || len(refs) != 1 || (refs[0] != MFAKeyLogicalID && refs[0] != JWTKeysLogicalID) {
							t.Errorf("%s on %v, want one of the keys' secrets", a, st.Resources)
							continue
						}
						got[refs[0]] = append(got[refs[0]], a)
					}
				}
				var wantMFA, wantJWT []string
				if spec.MFAKey {
					wantMFA = []string{"secretsmanager:GetSecretValue"}
				}
				if spec.SignsJWT {
					wantJWT = []string{"secretsmanager:GetSecretValue"}
				}
				if spec.RotatesKeys {
					wantJWT = []string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}
				}
				if !slices.Equal(got[MFAKeyLogicalID], wantMFA) || !slices.Equal(got[JWTKeysLogicalID], wantJWT) {
					t.Errorf("secret actions %v, want MFA key %v, signing keys %v", got, wantMFA, wantJWT)
				}
			})
			t.Run(fmt.Sprintf("%s in the %s stack is told the signing keys' secret only if it signs or rotates", name, s.name), func(t *testing.T) {
				v, has := vars[jwtKeysSecretEnv]
				if has != (spec.SignsJWT || spec.RotatesKeys) {
					t.Fatalf("%s set %v, spec says signs %v rotates %v", jwtKeysSecretEnv, has, spec.SignsJWT, spec.RotatesKeys)
				}
				if has && ref(v) != JWTKeysLogicalID {
					t.Errorf("%s = %v, want the ARN of %s", jwtKeysSecretEnv, v, JWTKeysLogicalID)
				}
			})
		}
		t.Run("the "+s.name+" template resolves no secret anywhere", func(t *testing.T) {
			if b, _ := json.Marshal(s.s.doc); strings.Contains(string(b), "resolve:secretsmanager") {
				t.Error("the template has a {{resolve:secretsmanager:…}} reference")
			}
		})
	}
	t.Run("only the functions that sign in, enroll or check a code before making a key need the key", func(t *testing.T) {
		var got []string
		for _, s := range route.Specs() {
			if s.MFAKey {
				got = append(got, s.Name)
			}
		}
		if !slices.Equal(got, []string{route.Auth, route.Profile, route.Pages, route.APIKeys}) {
			t.Errorf("functions with the key: %v", got)
		}
	})
	t.Run("only the functions that open sessions sign, and only the jobs function rotates", func(t *testing.T) {
		var signs, rotates []string
		for _, s := range route.Specs() {
			if s.SignsJWT {
				signs = append(signs, s.Name)
			}
			if s.RotatesKeys {
				rotates = append(rotates, s.Name)
			}
		}
		if !slices.Equal(signs, []string{route.Auth, route.Pages, route.Invitations}) || !slices.Equal(rotates, []string{route.Jobs}) {
			t.Errorf("sign: %v; rotate: %v", signs, rotates)
		}
	})
}
