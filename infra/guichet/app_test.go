package guichet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

// The application stacks: Guichet inside an application's stack "Shop"
// with its Lambdas and routes, without authorizer caching (app) and with
// (appCached).
var (
	app       *synthesized
	appCached *synthesized
	// appFunctions are the logical ids of the application's Lambdas by
	// construct id, in app and appCached alike.
	appFunctions = map[string]string{}
)

// The application's permissions and routes of the application stacks.
var (
	testAppPermissions = []AppPermission{
		{Name: "projects:write", Description: map[string]string{"en": "Create and change projects", "fr": "Créer et modifier les projets"}},
		{Name: "projects:read", Description: map[string]string{"en": "Read projects"}},
	}
	// testAppRoutes name their handler by construct id.
	testAppRoutes = []struct {
		route   route.AppRoute
		handler string
	}{
		{route.AppRoute{Method: "POST", Path: "/projects", Access: Permission, Permission: "projects:write"}, "ProjectsFunction"},
		{route.AppRoute{Method: "GET", Path: "/projects/{id}", Access: Authenticated}, "ProjectsFunction"},
		{route.AppRoute{Method: "ANY", Path: "/files/{proxy+}", Access: Authenticated}, "ProjectsFunction"},
		{route.AppRoute{Method: "GET", Path: "/status", Access: Public}, "StatusFunction"},
		{route.AppRoute{Method: "GET", Path: "/reports/{id}", Access: Permission, Permission: "projects:read", Mode: Fast}, "ProjectsFunction"},
		{route.AppRoute{Method: "POST", Path: "/events", Access: Authenticated, Mode: Fast}, "StatusFunction"},
	}
)

const testAppStack, testAppConstruct = "Shop", "Guichet"

// synthesizeApp builds the application stack: two inline Lambdas of the
// application and testAppRoutes, given in Props.Routes.
func synthesizeApp(buildDir string, ttl int) (*synthesized, error) {
	p := DefaultProps(buildDir)
	p.Production = false
	p.AuthorizerCacheTTLSeconds = ttl
	p.CorsOrigins = []string{"https://shop.example.com"}
	p.AppPermissions = testAppPermissions
	p.MemberPermissions = []string{"projects:read"}
	p.OIDCClients = testOIDCClients
	return synthesizeIn(testAppStack, testAppConstruct, p, func(stack awscdk.Stack, p *Props) {
		fns := map[string]awslambda.Function{}
		for _, id := range []string{"ProjectsFunction", "StatusFunction"} {
			fns[id] = awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
				Runtime: awslambda.Runtime_NODEJS_22_X(),
				Handler: jsii.String("index.handler"),
				Code:    awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({statusCode: 200})")),
			})
			appFunctions[id] = *stack.GetLogicalId(fns[id].Node().DefaultChild().(awscdk.CfnElement))
		}
		for _, r := range testAppRoutes {
			p.Routes = append(p.Routes, AppRoute{
				Method: r.route.Method, Path: r.route.Path, Access: r.route.Access,
				Permission: r.route.Permission, Mode: r.route.Mode, Handler: fns[r.handler],
			})
		}
	})
}

// envOf returns the environment variables of the Lambda with logical id id.
func (s *synthesized) envOf(t *testing.T, id string) map[string]any {
	t.Helper()
	fn, ok := s.resources("AWS::Lambda::Function")[id]
	if !ok {
		t.Fatalf("no function %s", id)
	}
	env, _ := props(fn)["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

// authorizerProps returns the authorizer a route uses.
func (s *synthesized) authorizerOf(t *testing.T, rt map[string]any) map[string]any {
	t.Helper()
	if got := rt["AuthorizationType"]; got != "CUSTOM" {
		t.Fatalf("AuthorizationType = %v, want CUSTOM", got)
	}
	a, ok := s.resources("AWS::ApiGatewayV2::Authorizer")[ref(rt["AuthorizerId"])]
	if !ok {
		t.Fatalf("AuthorizerId %v is no authorizer", rt["AuthorizerId"])
	}
	return props(a)
}

// testOIDCClients are the application stack's OpenID Connect clients: a
// single-page application asking for one of the application's permissions.
const testOIDCClients = `[{"id":"shop","name":"Shop","type":"spa","redirect_uris":["https://shop.example.com/cb"],"scopes":["openid","projects:read"]}]`

func TestOIDCClients(t *testing.T) {
	t.Run("the functions serving OpenID Connect and the hosted pages get OIDC_CLIENTS, the others not", func(t *testing.T) {
		for _, name := range route.Functions() {
			got, ok := app.envOf(t, FunctionLogicalID(name))[oidcClientsEnv]
			want := name == route.Auth || name == route.Pages
			if ok != want || (want && got != testOIDCClients) {
				t.Errorf("%s: %s = %v (set %v), want set %v", name, oidcClientsEnv, got, ok, want)
			}
		}
	})
	t.Run("a client the functions would refuse fails the synth, naming the entry", func(t *testing.T) {
		p := DefaultProps(t.TempDir())
		p.OIDCClients = `[{"id":"shop","name":"Shop","type":"spa","redirect_uris":["https://shop.example.com/cb"],"scopes":["rockets:launch"]}]`
		err := p.checkOIDCClients()
		if err == nil || !strings.Contains(err.Error(), `entry 0 ("shop"): unknown scope "rockets:launch"`) {
			t.Fatalf("checkOIDCClients: %v", err)
		}
	})
}

// authorizersOfType returns the logical ids of the authorizers of type
// typ (REQUEST: a Lambda's; JWT: API Gateway's).
func (s *synthesized) authorizersOfType(typ string) []string {
	var ids []string
	for id, a := range s.resources("AWS::ApiGatewayV2::Authorizer") {
		if props(a)["AuthorizerType"] == typ {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestFastApplicationRoutes(t *testing.T) {
	for name, s := range map[string]*synthesized{"without caching": app, "with caching": appCached} {
		jwt := s.authorizersOfType("JWT")
		if len(jwt) != 1 {
			t.Fatalf("%s: JWT authorizers %v, want one for every fast route", name, jwt)
		}
		a := props(s.resources("AWS::ApiGatewayV2::Authorizer")[jwt[0]])
		env := s.envOf(t, FunctionLogicalID(route.Authorizer))["PUBLIC_URL"]
		if env == nil {
			t.Fatalf("%s: the authorizer has no PUBLIC_URL", name)
		}
		publicURL, _ := json.Marshal(env)
		t.Run(name+": the JWT authorizer accepts the tokens of the stack's issuer, for its audience, from the Authorization header", func(t *testing.T) {
			cfg, _ := a["JwtConfiguration"].(map[string]any)
			issuer, _ := json.Marshal(cfg["Issuer"])
			aud, _ := cfg["Audience"].([]any)
			if string(issuer) != string(publicURL) || len(aud) != 1 {
				t.Fatalf("JwtConfiguration %v, want issuer and audience %s", cfg, publicURL)
			}
			if b, _ := json.Marshal(aud[0]); string(b) != string(publicURL) {
				t.Errorf("audience %s, want %s", b, publicURL)
			}
			if got := strs(a["IdentitySource"]); !slices.Equal(got, []string{"$request.header.Authorization"}) {
				t.Errorf("IdentitySource = %v", got)
			}
		})
		for _, r := range testAppRoutes {
			rt := s.routeByKey(t, r.route.Key())
			if r.route.Mode != Fast {
				t.Run(name+": "+r.route.Key()+" keeps Guichet's Lambda authorizer", func(t *testing.T) {
					if got := rt["AuthorizationType"]; got != "CUSTOM" || ref(rt["AuthorizerId"]) == jwt[0] {
						t.Errorf("AuthorizationType = %v, authorizer %v", got, rt["AuthorizerId"])
					}
				})
				continue
			}
			t.Run(name+": "+r.route.Key()+" is behind the JWT authorizer, its permission (if any) its one scope", func(t *testing.T) {
				if got := rt["AuthorizationType"]; got != "JWT" {
					t.Errorf("AuthorizationType = %v, want JWT", got)
				}
				if got := ref(rt["AuthorizerId"]); got != jwt[0] {
					t.Errorf("authorizer = %q, want the JWT authorizer %q", got, jwt[0])
				}
				var want []string
				if r.route.Access == Permission {
					want = []string{r.route.Permission}
				}
				if got := strs(rt["AuthorizationScopes"]); !slices.Equal(got, want) {
					t.Errorf("AuthorizationScopes = %v, want %v", got, want)
				}
				if got, want := s.integrationFunction(t, rt), appFunctions[r.handler]; got != want {
					t.Errorf("integration invokes %q, want %q", got, want)
				}
			})
		}
	}
}

func TestApplicationRoutes(t *testing.T) {
	lambdas := app.authorizersOfType("REQUEST")
	if len(lambdas) != 1 {
		t.Fatalf("Lambda authorizers %v, want Guichet's alone", lambdas)
	}
	authorizer := lambdas[0]
	for _, r := range testAppRoutes {
		if r.route.Mode == Fast {
			continue // TestFastApplicationRoutes
		}
		t.Run(fmt.Sprintf("%s (%s %s) is served by the application's %s behind Guichet's authorizer", r.route.Key(), r.route.Access, r.route.Permission, r.handler), func(t *testing.T) {
			rt := app.routeByKey(t, r.route.Key())
			if got, want := app.integrationFunction(t, rt), appFunctions[r.handler]; got != want {
				t.Errorf("integration invokes %q, want %q", got, want)
			}
			if got := rt["AuthorizationType"]; got != "CUSTOM" {
				t.Errorf("AuthorizationType = %v, want CUSTOM", got)
			}
			if got := ref(rt["AuthorizerId"]); got != authorizer {
				t.Errorf("authorizer = %q, want Guichet's %q", got, authorizer)
			}
		})
	}

	t.Run("the authorizer's APP_ROUTES lists every application route, as the authorizer parses it", func(t *testing.T) {
		raw, ok := app.envOf(t, FunctionLogicalID(route.Authorizer))[appRoutesEnv].(string)
		if !ok {
			t.Fatalf("the authorizer has no %s", appRoutesEnv)
		}
		got, err := route.ParseAppRoutes(raw)
		if err != nil {
			t.Fatalf("route.ParseAppRoutes(%s): %v", raw, err)
		}
		var want []route.AppRoute
		for _, r := range testAppRoutes {
			want = append(want, r.route)
		}
		if !slices.Equal(got, want) {
			t.Errorf("APP_ROUTES = %v, want %v", got, want)
		}
	})

	t.Run("no function but the authorizer has APP_ROUTES", func(t *testing.T) {
		for _, name := range route.Functions() {
			if _, ok := app.envOf(t, FunctionLogicalID(name))[appRoutesEnv]; ok && name != route.Authorizer {
				t.Errorf("%s has %s", name, appRoutesEnv)
			}
		}
	})

	t.Run("every function has the application's permissions and the member role's", func(t *testing.T) {
		for _, name := range route.Functions() {
			env := app.envOf(t, FunctionLogicalID(name))
			var perms []AppPermission
			if err := json.Unmarshal([]byte(fmt.Sprint(env[appPermissionsEnv])), &perms); err != nil || len(perms) != len(testAppPermissions) || perms[0].Description["fr"] == "" {
				t.Errorf("%s: %s = %v (%v)", name, appPermissionsEnv, env[appPermissionsEnv], err)
			}
			var member []string
			if err := json.Unmarshal([]byte(fmt.Sprint(env[memberPermissionsEnv])), &member); err != nil || !slices.Equal(member, []string{"projects:read"}) {
				t.Errorf("%s: %s = %v (%v)", name, memberPermissionsEnv, env[memberPermissionsEnv], err)
			}
		}
	})

	t.Run("the standalone stack sets no application variable", func(t *testing.T) {
		for _, name := range route.Functions() {
			env := prod.envOf(t, FunctionLogicalID(name))
			for _, v := range []string{appRoutesEnv, appPermissionsEnv, memberPermissionsEnv} {
				if _, ok := env[v]; ok {
					t.Errorf("%s has %s", name, v)
				}
			}
		}
	})

	api := ""
	for id := range app.resources("AWS::ApiGatewayV2::Api") {
		api = id
	}
	for id, logical := range appFunctions {
		t.Run("the application's "+id+" may be invoked by Guichet's API only, on its routes", func(t *testing.T) {
			var paths []string
			for pid, p := range app.resources("AWS::Lambda::Permission") {
				pp := props(p)
				if ref(pp["FunctionName"]) != logical {
					continue
				}
				if pp["Principal"] != "apigateway.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" {
					t.Errorf("%s: principal %v, action %v", pid, pp["Principal"], pp["Action"])
				}
				if !slices.Contains(refsIn(pp["SourceArn"]), api) {
					t.Errorf("%s: SourceArn %v is not the API %s's", pid, pp["SourceArn"], api)
				}
				b, _ := json.Marshal(pp["SourceArn"])
				paths = append(paths, string(b))
			}
			for _, r := range testAppRoutes {
				if appFunctions[r.handler] != logical {
					continue
				}
				path := strings.SplitN(r.route.Path, "{", 2)[0]
				if !slices.ContainsFunc(paths, func(p string) bool { return strings.Contains(p, path) }) {
					t.Errorf("no permission's SourceArn names %s: %v", path, paths)
				}
			}
			if len(paths) == 0 {
				t.Error("no permission lets the API invoke it")
			}
		})
	}

	t.Run("the CORS preflight allows the application's methods", func(t *testing.T) {
		cors, _ := props(app.resources("AWS::ApiGatewayV2::Api")[api])["CorsConfiguration"].(map[string]any)
		if got := strs(cors["AllowMethods"]); !slices.Contains(got, "*") || !slices.Contains(got, "GET") {
			t.Errorf("AllowMethods = %v, want Guichet's and * (ANY)", got)
		}
	})

	t.Run("Guichet's resources in the application's stack have no unsuppressed AwsSolutions finding", func(t *testing.T) {
		ann := assertions.Annotations_FromStack(app.stack)
		rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		prefix := "/" + testAppStack + "/" + testAppConstruct + "/"
		for _, found := range [][]any{toAny(ann.FindError(jsii.String("*"), rule)), toAny(ann.FindWarning(jsii.String("*"), rule))} {
			for _, f := range found {
				b, _ := json.Marshal(f)
				if strings.Contains(string(b), `"id":"`+prefix) {
					t.Errorf("%s", b)
				}
			}
		}
	})
}

func TestApplicationRoutesWithCaching(t *testing.T) {
	t.Run("a public route's authorizer needs no header and caches nothing", func(t *testing.T) {
		a := appCached.authorizerOf(t, appCached.routeByKey(t, "GET /status"))
		if got, ok := a["IdentitySource"]; ok {
			t.Errorf("IdentitySource = %v: API Gateway would answer 401 to an anonymous caller", got)
		}
		if got := a["AuthorizerResultTtlInSeconds"]; got != float64(0) {
			t.Errorf("AuthorizerResultTtlInSeconds = %v, want 0", got)
		}
		if !slices.Contains(refsIn(a["AuthorizerUri"]), FunctionLogicalID(route.Authorizer)) {
			t.Errorf("AuthorizerUri %v is not Guichet's authorizer function", a["AuthorizerUri"])
		}
	})
	for _, key := range []string{"GET /projects/{id}", "POST /projects"} {
		t.Run(key+" caches the authorizer's answer per credential and route", func(t *testing.T) {
			// Keyed on the credential alone, the answer admitting a caller
			// on GET /projects/{id} would admit them on POST /projects
			// without projects:write.
			a := appCached.authorizerOf(t, appCached.routeByKey(t, key))
			if got := a["AuthorizerResultTtlInSeconds"]; got != float64(300) {
				t.Errorf("AuthorizerResultTtlInSeconds = %v, want 300", got)
			}
			if got := strs(a["IdentitySource"]); !slices.Equal(got, []string{"$request.header.Authorization", "$context.routeKey"}) {
				t.Errorf("IdentitySource = %v, want the Authorization header and the route key", got)
			}
			if !slices.Contains(refsIn(a["AuthorizerUri"]), FunctionLogicalID(route.Authorizer)) {
				t.Errorf("AuthorizerUri %v is not Guichet's authorizer function", a["AuthorizerUri"])
			}
		})
	}
	t.Run("Guichet's own routes keep their authorizer", func(t *testing.T) {
		a := appCached.authorizerOf(t, appCached.routeByKey(t, "GET /v1/me"))
		if got := strs(a["IdentitySource"]); !slices.Equal(got, []string{"$request.header.Authorization"}) {
			t.Errorf("IdentitySource = %v", got)
		}
	})
}

func TestBadApplicationRoutes(t *testing.T) {
	handler := app.g.Functions[route.Fallback.Function]
	good := AppRoute{Method: "GET", Path: "/reports", Handler: handler, Access: Authenticated}
	for _, tc := range []struct {
		name  string
		route AppRoute
		want  string
	}{
		{"a method API Gateway does not know", AppRoute{Method: "FETCH", Path: "/reports", Handler: handler, Access: Authenticated}, `"FETCH /reports"`},
		{"a path of Guichet's API", AppRoute{Method: "GET", Path: "/v1/users", Handler: handler, Access: Public}, `"GET /v1/users"`},
		{"access permission without a permission", AppRoute{Method: "POST", Path: "/reports", Handler: handler, Access: Permission}, `"POST /reports"`},
		{"a permission outside the catalog", AppRoute{Method: "POST", Path: "/reports", Handler: handler, Access: Permission, Permission: "reports:write"}, `"reports:write"`},
		{"an unknown access", AppRoute{Method: "GET", Path: "/reports", Handler: handler, Access: "staff"}, `"GET /reports"`},
		{"no handler", AppRoute{Method: "GET", Path: "/reports", Access: Public}, `"GET /reports"`},
		{"a fast public route", AppRoute{Method: "GET", Path: "/reports", Handler: handler, Access: Public, Mode: Fast}, `"GET /reports"`},
		{"a route key already added", AppRoute{Method: "GET", Path: "/status", Handler: handler, Access: Public}, `"GET /status"`},
	} {
		t.Run(tc.name+" is refused by AddRoute, naming it, and adds nothing", func(t *testing.T) {
			before := len(app.g.app.specs)
			err := app.g.AddRoute(tc.route)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddRoute = %v, want an error naming %s", err, tc.want)
			}
			if len(app.g.app.specs) != before {
				t.Errorf("AddRoute added the route")
			}
		})
		if tc.name == "a route key already added" {
			continue
		}
		t.Run(tc.name+" in Props.Routes stops New before anything is built", func(t *testing.T) {
			p := DefaultProps("/tmp/build")
			p.Routes = []AppRoute{good, tc.route}
			err := p.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	t.Run("more routes than the authorizer's environment holds are refused, before deploying", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		for i := range 60 {
			p.Routes = append(p.Routes, AppRoute{Method: "GET", Path: fmt.Sprintf("/reports/%02d/{id}/details", i), Handler: handler, Access: Authenticated})
		}
		if err := p.validate(); err == nil || !strings.Contains(err.Error(), "more than the 3072") {
			t.Errorf("validate = %v", err)
		}
		p.Routes = p.Routes[:10]
		if err := p.validate(); err != nil {
			t.Errorf("10 routes: %v", err)
		}
	})
	t.Run("a route twice in Props.Routes is refused", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		p.Routes = []AppRoute{good, good}
		if err := p.validate(); err == nil || !strings.Contains(err.Error(), `"GET /reports" is added twice`) {
			t.Errorf("validate = %v", err)
		}
	})
}

func TestApplicationPermissions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		perms  []AppPermission
		member []string
		want   string
	}{
		{"a name that is not resource:action", []AppPermission{{Name: "projects", Description: map[string]string{"en": "x"}}}, nil, `"projects"`},
		{"upper case", []AppPermission{{Name: "Projects:write", Description: map[string]string{"en": "x"}}}, nil, `"Projects:write"`},
		{"a resource of Guichet's", []AppPermission{{Name: "users:export", Description: map[string]string{"en": "x"}}}, nil, `"users:export"`},
		{"no English description", []AppPermission{{Name: "projects:write", Description: map[string]string{"fr": "x"}}}, nil, `"projects:write"`},
		{"a permission twice", []AppPermission{{Name: "projects:write", Description: map[string]string{"en": "x"}}, {Name: "projects:write", Description: map[string]string{"en": "y"}}}, nil, "twice"},
		{"a member permission outside the application's", testAppPermissions, []string{"users:write"}, `"users:write"`},
	} {
		t.Run(tc.name+" is refused, naming it", func(t *testing.T) {
			p := DefaultProps("/tmp/build")
			p.AppPermissions, p.MemberPermissions = tc.perms, tc.member
			if err := p.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	t.Run("a route may require one of Guichet's permissions or the application's", func(t *testing.T) {
		p := DefaultProps("/tmp/build")
		p.AppPermissions = testAppPermissions
		h := app.g.Functions[route.Fallback.Function]
		p.Routes = []AppRoute{
			{Method: "GET", Path: "/audit-report", Handler: h, Access: Permission, Permission: "audit:read"},
			{Method: "POST", Path: "/projects", Handler: h, Access: Permission, Permission: "projects:write"},
		}
		if err := p.validate(); err != nil {
			t.Error(err)
		}
	})
}
