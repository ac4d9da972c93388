package guichet

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/route"
)

// The access an application route declares (route.Access).
const (
	// Public: anybody; the application's code still receives the principal
	// when the request carries a valid credential.
	Public = route.Public
	// Authenticated: any valid credential of the deployment.
	Authenticated = route.Authenticated
	// Permission: a valid credential whose principal holds the route's
	// permission.
	Permission = route.Permission
)

// The modes of an application route (route.Mode).
const (
	// Strict: Guichet's Lambda authorizer, one GetItem a request; a
	// revocation counts from the next request. The mode when none is set.
	Strict = route.Strict
	// Fast: API Gateway's JWT authorizer (issuer and audience: the
	// stack's public URL), no Lambda and no DynamoDB call; a revocation
	// counts once the access token expires. Not for access Public.
	Fast = route.Fast
)

// Environment variables of the application's routes and permissions.
const (
	// appRoutesEnv holds the application's routes (JSON []route.AppRoute);
	// the authorizer denies, for those route keys, callers the route's
	// access does not admit.
	appRoutesEnv = "APP_ROUTES"
	// appPermissionsEnv and memberPermissionsEnv hold the application's
	// permissions and the member role's share of them, for every function.
	appPermissionsEnv    = "APP_PERMISSIONS"
	memberPermissionsEnv = "MEMBER_PERMISSIONS"
	oidcClientsEnv       = "OIDC_CLIENTS"
)

// AppRoute is one of the application's routes: requests to Method Path on
// Guichet's API go to Handler once Guichet's authorizer admits them under
// Access (and Permission, for access Permission).
type AppRoute struct {
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY.
	Method string
	// Path is an API Gateway path pattern ("/projects/{id}",
	// "/files/{proxy+}") outside Guichet's /v1.
	Path string
	// Handler is the application's Lambda; it receives the API Gateway v2
	// event with the principal in the authorizer context.
	Handler awslambda.IFunction
	// Access is Public, Authenticated or Permission.
	Access route.Access
	// Permission is the permission access Permission requires
	// ("projects:write"): one of Guichet's or of Props.AppPermissions.
	Permission string
	// Mode is Strict (also when empty) or Fast. A fast route is attached
	// to API Gateway's JWT authorizer: the handler receives the token's
	// claims (the principal claim among them) instead of the Lambda
	// authorizer's context.
	Mode route.Mode
}

func (r AppRoute) spec() route.AppRoute {
	return route.AppRoute{Method: r.Method, Path: r.Path, Access: r.Access, Permission: r.Permission, Mode: r.Mode}
}

// AppPermission is one of the application's permissions, with its
// description by language ("en" required; "fr", "nl").
type AppPermission struct {
	Name        string            `json:"name"`
	Description map[string]string `json:"description"`
}

// appRoutes is what AddRoute has added.
type appRoutes struct {
	specs []route.AppRoute
	// integrations are by function name for Guichet's functions, by
	// construct path for the application's.
	integrations map[string]awsapigatewayv2integrations.HttpLambdaIntegration
	ids          map[string]bool
	corsMethods  []string
}

// AddRoute adds one of the application's routes to Guichet's API behind
// Guichet's authorizer, and its spec to the authorizer's APP_ROUTES. Every
// strict route, public ones included, goes through the authorizer: it
// passes the principal of a valid credential to the handler and denies
// what the route's access does not admit. A fast route goes through API
// Gateway's JWT authorizer instead, its permission as its one
// authorization scope; it is in APP_ROUTES too (the local gateway reads
// it there), and the Lambda authorizer denies it if ever invoked for it.
// AddRoute refuses a route route.AppRoute.Check refuses, a route key
// already added and a permission outside the catalog, naming the route.
func (s *Guichet) AddRoute(r AppRoute) error {
	if err := s.props.checkRoute(r, s.app.specs); err != nil {
		return fmt.Errorf("guichet: %w", err)
	}
	spec := r.spec()
	specs := append(slices.Clone(s.app.specs), spec)
	raw, err := json.Marshal(specs)
	if err != nil {
		return fmt.Errorf("guichet: %s: %w", appRoutesEnv, err)
	}
	if err := s.props.checkEnvSize(len(raw)); err != nil {
		return fmt.Errorf("guichet: route %q: %w", spec.Key(), err)
	}

	opts := &awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(r.Path),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
		Integration: s.appIntegration(r.Handler),
	}
	if r.Mode == Fast {
		opts.Authorizer = s.jwtAuthorizer()
		if r.Access == Permission {
			opts.AuthorizationScopes = jsii.Strings(r.Permission)
		}
		s.API.AddRoutes(opts)
	} else {
		authorizer := s.Authorizer
		if s.props.AuthorizerCacheTTLSeconds > 0 {
			authorizer = s.routeKeyedAuthorizer()
			if r.Access == Public {
				// A cached authorizer needs an identity source, and API
				// Gateway answers 401 itself to a request without it: a
				// public route uses an authorizer of the same function
				// without one (and so without caching).
				authorizer = s.publicAuthorizer()
			}
		}
		opts.Authorizer = authorizer
		s.API.AddRoutes(opts)
		if authorizer == s.publicAuth {
			removeIdentitySource(s.API, publicAuthorizerID)
		}
	}
	s.app.specs = specs
	s.Functions[route.Authorizer].AddEnvironment(jsii.String(appRoutesEnv), jsii.String(string(raw)), nil)
	s.allowCORSMethod(r.Method)
	return nil
}

// routeKeyedAuthorizerID names the authorizer of the application's other
// routes when the main one caches its results.
const routeKeyedAuthorizerID = "AppAuthorizer"

// routeKeyedAuthorizer caches as Guichet's authorizer does, keyed on the
// route as well as the credential: its simple answer admits or denies one
// request, and an answer cached per credential alone would admit a caller
// on a route needing a permission because another route admitted them.
func (s *Guichet) routeKeyedAuthorizer() awsapigatewayv2authorizers.HttpLambdaAuthorizer {
	if s.routeKeyedAuth == nil {
		s.routeKeyedAuth = awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String(routeKeyedAuthorizerID), s.Functions[route.Authorizer],
			&awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
				AuthorizerName:  jsii.String(routeKeyedAuthorizerID),
				ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
				IdentitySource:  jsii.Strings("$request.header.Authorization", "$context.routeKey"),
				ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(s.props.AuthorizerCacheTTLSeconds)),
			})
	}
	return s.routeKeyedAuth
}

// jwtAuthorizerID names API Gateway's JWT authorizer of the fast routes.
const jwtAuthorizerID = "JwtAuthorizer"

// jwtAuthorizer verifies Guichet's access tokens as any relying party
// does: signed by a key of the JWKS the issuer's discovery names, issued
// by the stack's public URL, for it (ACCESS_TOKEN_AUDIENCE is not set by
// the stack: the audience is PUBLIC_URL).
func (s *Guichet) jwtAuthorizer() awsapigatewayv2authorizers.HttpJwtAuthorizer {
	if s.jwtAuth == nil {
		s.jwtAuth = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String(jwtAuthorizerID), jsii.String(s.publicURL),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String(jwtAuthorizerID),
				JwtAudience:    jsii.Strings(s.publicURL),
				IdentitySource: jsii.Strings("$request.header.Authorization"),
			})
	}
	return s.jwtAuth
}

// publicAuthorizerID names the authorizer of public application routes
// when the main one caches its results.
const publicAuthorizerID = "PublicAuthorizer"

func (s *Guichet) publicAuthorizer() awsapigatewayv2authorizers.HttpLambdaAuthorizer {
	if s.publicAuth == nil {
		s.publicAuth = awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String(publicAuthorizerID), s.Functions[route.Authorizer],
			&awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
				AuthorizerName:  jsii.String(publicAuthorizerID),
				ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
				IdentitySource:  &[]*string{},
				ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(0)),
			})
	}
	return s.publicAuth
}

// removeIdentitySource deletes the identity source of the authorizer id of
// api, which exists once a route uses it: without one, API Gateway runs the
// authorizer for every request, a credential or not.
func removeIdentitySource(api awsapigatewayv2.HttpApi, id string) {
	if c, ok := api.Node().TryFindChild(jsii.String(id)).(awsapigatewayv2.HttpAuthorizer); ok {
		c.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("IdentitySource"))
	}
}

// appIntegration returns the one integration of an application handler:
// its Lambda permission lets this API, and only it, invoke the handler.
func (s *Guichet) appIntegration(fn awslambda.IFunction) awsapigatewayv2integrations.HttpLambdaIntegration {
	path := "app:" + *fn.Node().Path()
	if in := s.app.integrations[path]; in != nil {
		return in
	}
	if s.app.ids == nil {
		s.app.ids = map[string]bool{}
	}
	base := "App" + camel(*fn.Node().Id()) + "Integration"
	id := base
	for n := 2; s.app.ids[id]; n++ {
		id = fmt.Sprintf("%s%d", base, n)
	}
	s.app.ids[id] = true
	in := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id), fn, nil)
	s.app.integrations[path] = in
	return in
}

// allowCORSMethod adds method to the API's CORS preflight methods when
// CORS is on and Guichet's own routes do not use it.
func (s *Guichet) allowCORSMethod(method string) {
	if len(s.props.CorsOrigins) == 0 {
		return
	}
	if s.app.corsMethods == nil {
		for _, r := range route.All() {
			if !slices.Contains(s.app.corsMethods, r.Method) {
				s.app.corsMethods = append(s.app.corsMethods, r.Method)
			}
		}
	}
	if method == "ANY" {
		method = "*"
	}
	if slices.Contains(s.app.corsMethods, method) {
		return
	}
	s.app.corsMethods = append(s.app.corsMethods, method)
	s.API.Node().DefaultChild().(awscdk.CfnResource).AddPropertyOverride(
		jsii.String("CorsConfiguration.AllowMethods"), s.app.corsMethods)
}

// checkRoute reports what is wrong with r, naming it, next to the routes
// added before.
func (p Props) checkRoute(r AppRoute, added []route.AppRoute) error {
	spec := r.spec()
	if err := spec.Check(); err != nil {
		return err
	}
	if r.Handler == nil {
		return fmt.Errorf("route %q: no handler", spec.Key())
	}
	if slices.ContainsFunc(added, func(o route.AppRoute) bool { return o.Key() == spec.Key() }) {
		return fmt.Errorf("route %q is added twice", spec.Key())
	}
	if r.Access == Permission && !p.knows(r.Permission) {
		return fmt.Errorf("route %q: permission %q is neither Guichet's nor one of AppPermissions", spec.Key(), r.Permission)
	}
	return nil
}

// checkRoutes checks Routes before anything is built.
func (p Props) checkRoutes() error {
	var added []route.AppRoute
	var errs []error
	for _, r := range p.Routes {
		if err := p.checkRoute(r, added); err != nil {
			errs = append(errs, fmt.Errorf("Props.Routes: %w", err))
			continue
		}
		added = append(added, r.spec())
	}
	if _, err := p.permissionEnv(); err == nil && len(errs) == 0 && len(added) > 0 {
		raw, err := json.Marshal(added)
		if err != nil {
			return fmt.Errorf("Props.Routes: %w", err)
		}
		if err := p.checkEnvSize(len(raw)); err != nil {
			return fmt.Errorf("Props.Routes: %w", err)
		}
	}
	return errors.Join(errs...)
}

// appEnvBudget is how many bytes of a function's environment the
// application's variables may take: Lambda allows 4 KB for all of them,
// and Guichet's own (table, URLs, ARNs) take under 1 KB.
const appEnvBudget = 3 << 10

// checkEnvSize refuses application variables (the permissions, and
// routes bytes of APP_ROUTES on the authorizer) that would not fit in a
// Lambda environment: deploying would fail, after the synthesis.
func (p Props) checkEnvSize(routes int) error {
	env, err := p.permissionEnv()
	if err != nil {
		return err
	}
	n := 0
	if routes > 0 {
		n += len(appRoutesEnv) + routes
	}
	for k, v := range env {
		n += len(k) + len(v)
	}
	if n > appEnvBudget {
		return fmt.Errorf("the application's routes and permissions take %d bytes of the authorizer's environment, more than the %d Lambda leaves them", n, appEnvBudget)
	}
	return nil
}

// catalog is the permission catalog the functions will build from p's
// permissions (permission.NewCatalog, the same checks, so that synth fails
// where the functions' start would).
func (p Props) catalog() (permission.Catalog, error) {
	entries := make([]permission.Entry, len(p.AppPermissions))
	for i, a := range p.AppPermissions {
		entries[i] = permission.Entry{Name: permission.Permission(a.Name), Description: a.Description}
	}
	member := make([]permission.Permission, len(p.MemberPermissions))
	for i, m := range p.MemberPermissions {
		member[i] = permission.Permission(m)
	}
	c, err := permission.NewCatalog(entries, member)
	if err != nil {
		return c, fmt.Errorf("AppPermissions: %w", err)
	}
	return c, nil
}

// knows reports whether p is Guichet's permission or the application's.
func (p Props) knows(name string) bool {
	c, err := p.catalog()
	return err == nil && c.Valid(permission.Permission(name))
}

// permissionEnv checks the application's permissions as the functions'
// catalog will and returns their variables: none when the application
// declares none.
func (p Props) permissionEnv() (map[string]string, error) {
	env := map[string]string{}
	if _, err := p.catalog(); err != nil {
		return nil, err
	}
	if len(p.AppPermissions) > 0 {
		raw, err := json.Marshal(p.AppPermissions)
		if err != nil {
			return nil, fmt.Errorf("AppPermissions: %w", err)
		}
		env[appPermissionsEnv] = string(raw)
	}
	if len(p.MemberPermissions) > 0 {
		raw, err := json.Marshal(p.MemberPermissions)
		if err != nil {
			return nil, fmt.Errorf("MemberPermissions: %w", err)
		}
		env[memberPermissionsEnv] = string(raw)
	}
	return env, nil
}

// checkOIDCClients checks p.OIDCClients as the functions' start will.
func (p Props) checkOIDCClients() error {
	if p.OIDCClients == "" {
		return nil
	}
	c, err := p.catalog()
	if err != nil {
		return err
	}
	if _, err := registry.Parse([]byte(p.OIDCClients), c); err != nil {
		return fmt.Errorf("OIDCClients: %w", err)
	}
	return nil
}
