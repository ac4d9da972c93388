// Package guichet is Guichet's CDK construct: the whole backend (table,
// functions, HTTP API with its authorizer, mail, jobs, alarms) in a stack
// of the caller's, and the application's own routes added to the same API
// behind Guichet's authorizer (AddRoute). The standalone Guichet stack
// (infra/main.go) is built with it. See infra/README.md.
package guichet

import (
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

// Names inside the table and the template that code outside infra relies on.
const (
	// IndexName is the table's one global secondary index.
	IndexName = "gsi1"
	// TableLogicalID is fixed so that refactoring the construct tree can never
	// make CloudFormation replace (and so empty) the table.
	TableLogicalID = "Table"
	// authorizerID names the API Gateway authorizer and its construct.
	authorizerID = "Authorizer"
	// credentialKeyPrefix starts the partition key of every credential item;
	// the authorizer may read and write those items only.
	credentialKeyPrefix = "CRED#"
)

// indexActions are the DynamoDB actions that can target an index; only they
// are granted on the index ARN.
var indexActions = []string{"Query", "Scan"}

// Defaults of DefaultProps.
const (
	defaultThrottleRate  = 50
	defaultThrottleBurst = 100
	// defaultAuthThrottle* limit each credential route (login, reset, …)
	// for all callers together.
	defaultAuthThrottleRate  = 10
	defaultAuthThrottleBurst = 20
	defaultLogRetention      = 30
	defaultLogLevel          = "info"
)

// Props configures Guichet. The standalone app (infra/main.go) fills it
// from the CDK context; an application's CDK app starts from DefaultProps.
type Props struct {
	// APIName names the HTTP API. Empty means the enclosing stack's name.
	APIName string
	// Production retains and deletion-protects the table. Off, the table is
	// destroyed with the stack (for throw-away stacks).
	Production bool
	// CorsOrigins are the browser origins allowed to call the API. Empty
	// turns CORS off.
	CorsOrigins []string
	// ThrottleRateLimit (requests per second) and ThrottleBurstLimit apply to
	// every route of the default stage.
	ThrottleRateLimit  float64
	ThrottleBurstLimit float64
	// AuthThrottleRateLimit and AuthThrottleBurstLimit apply instead to each
	// public route that checks a credential or mails a link (login, token,
	// refresh, two-step answers, reset request and completion, invitation
	// acceptance, and their hosted pages).
	AuthThrottleRateLimit  float64
	AuthThrottleBurstLimit float64
	// AuthorizerCacheTTLSeconds caches authorizer results per Authorization
	// header. 0 (the default) makes every request re-check its credential, so
	// revocation takes effect at once.
	AuthorizerCacheTTLSeconds int
	// LogRetentionDays applies to every function's logs and the access logs.
	// It must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ...).
	LogRetentionDays int
	// LogLevel is passed to every function as LOG_LEVEL.
	LogLevel string
	// MailFrom is the sender of every e-mail ("Guichet <no-reply@example.com>").
	// Empty means no mail: no SES resources and no SES permissions.
	MailFrom string
	// MailIdentity is the SES identity to create and send as: a domain
	// ("example.com") or an address. Empty means MailFrom's address.
	MailIdentity string
	// PublicURL is the base URL of links in e-mails and hosted pages. Empty
	// means the API's own endpoint.
	PublicURL string
	// BuildDir holds one directory per function with its bootstrap binary
	// (make build writes build/<name>/bootstrap).
	BuildDir string
	// AppPermissions are the application's own permissions, added to
	// Guichet's catalog (APP_PERMISSIONS of every function).
	AppPermissions []AppPermission
	// MemberPermissions are the application permissions the built-in member
	// role holds (MEMBER_PERMISSIONS of every function); each must be one of
	// AppPermissions. Empty: none.
	MemberPermissions []string
	// OIDCClients is the JSON of the OpenID Connect clients (OIDC_CLIENTS of
	// the functions that serve OpenID Connect and the hosted pages: a JSON
	// array of registry.Client), checked at synth as the functions check it.
	OIDCClients string
	// Routes are the application's routes, added as AddRoute adds them.
	Routes []AppRoute

	// specs replaces route.Specs() in tests that need a case the table does
	// not have yet (a function that sends mail).
	specs []route.Spec
}

// DefaultProps returns the properties of a production deployment: table
// retained and deletion protected, no CORS, no mail, no authorizer caching,
// and function assets from buildDir (an absolute path).
func DefaultProps(buildDir string) Props {
	return Props{
		Production:                true,
		ThrottleRateLimit:         defaultThrottleRate,
		ThrottleBurstLimit:        defaultThrottleBurst,
		AuthThrottleRateLimit:     defaultAuthThrottleRate,
		AuthThrottleBurstLimit:    defaultAuthThrottleBurst,
		AuthorizerCacheTTLSeconds: 0,
		LogRetentionDays:          defaultLogRetention,
		LogLevel:                  defaultLogLevel,
		BuildDir:                  buildDir,
	}
}

// Guichet is the construct and the resources an application (and the
// tests) use.
type Guichet struct {
	constructs.Construct
	// Table is the one DynamoDB table. Its items are Guichet's: an
	// application reads the principal from its requests, not the table.
	Table awsdynamodb.Table
	// API is the HTTP API; AddRoute adds the application's routes to it.
	API awsapigatewayv2.HttpApi
	// Stage is the API's $default stage, and URL its base URL.
	Stage awsapigatewayv2.HttpStage
	URL   *string
	// Authorizer is Guichet's Lambda authorizer of the API.
	Authorizer awsapigatewayv2authorizers.HttpLambdaAuthorizer
	// Functions are the Lambdas by function name (route.Functions()).
	Functions map[string]awslambda.Function
	// MFAKey is the secret holding the key that seals TOTP secrets.
	MFAKey awssecretsmanager.Secret
	// JWTKeys is the secret holding the key set signing access tokens.
	JWTKeys awssecretsmanager.Secret
	// Exports is the bucket of large exports (objects under exports/).
	Exports awss3.Bucket
	// AlarmTopic is the topic every alarm notifies.
	AlarmTopic awssns.Topic

	props      Props
	app        appRoutes
	publicAuth awsapigatewayv2authorizers.HttpLambdaAuthorizer
	// routeKeyedAuth serves the application's other routes when results
	// are cached.
	routeKeyedAuth awsapigatewayv2authorizers.HttpLambdaAuthorizer
	// jwtAuth is API Gateway's JWT authorizer of the application's fast
	// routes, made with the first; publicURL is its issuer and audience.
	jwtAuth   awsapigatewayv2authorizers.HttpJwtAuthorizer
	publicURL string
}

// Environment variables the stack sets for the code in functions/.
const (
	// mfaKeySecretEnv is the ARN of the secret holding MFA_ENCRYPTION_KEY;
	// the function reads it from Secrets Manager at init.
	mfaKeySecretEnv = "MFA_ENCRYPTION_KEY_SECRET"
	// jwtKeysSecretEnv is the ARN of the secret holding the signing key
	// set; the functions that sign read it at init, the jobs function
	// rotates it.
	jwtKeysSecretEnv = "JWT_KEYS_SECRET"
	// exportBucketEnv names the bucket large exports are written to.
	exportBucketEnv = "EXPORT_BUCKET"
)

// FunctionLogicalID is the CloudFormation logical id of a function's Lambda,
// fixed so that `sam local invoke <id>` and the docs can name it:
// "auth" → "AuthFunction", "passwordreset" → "PasswordresetFunction".
func FunctionLogicalID(name string) string { return camel(name) + "Function" }

// New builds the whole backend in scope from the route table: one Lambda
// per function, the HTTP API with every route, the table, mail, jobs and
// alarms; then props.Routes, as AddRoute adds them. Many logical ids are
// fixed (the table, the functions, ...), so a stack holds one Guichet.
// Under the id "Default" the construct adds nothing to the logical ids of
// its resources, which is how the standalone stack keeps them.
func New(scope constructs.Construct, id string, props Props) (*Guichet, error) {
	if err := props.validate(); err != nil {
		return nil, err
	}
	node := constructs.NewConstruct(scope, jsii.String(id))
	s := &Guichet{Construct: node, Functions: map[string]awslambda.Function{}, props: props}
	retention := retentionDays[props.LogRetentionDays]

	s.Table = newTable(node, props.Production)

	// The API exists before the functions so that PUBLIC_URL can default to
	// its endpoint; the API resource itself refers to no function.
	name := props.APIName
	if name == "" {
		name = *awscdk.Stack_Of(node).StackName()
	}
	cors := corsOptions(props.CorsOrigins)
	s.API = awsapigatewayv2.NewHttpApi(node, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(name),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      cors,
	})
	publicURL := props.PublicURL
	if publicURL == "" {
		publicURL = *s.API.ApiEndpoint()
	}
	s.publicURL = publicURL

	m, err := newMail(node, props)
	if err != nil {
		return nil, err
	}

	specs := props.specs
	if specs == nil {
		specs = route.Specs()
	}
	s.MFAKey = newMFAKey(node, props.Production)
	s.JWTKeys = newJWTKeys(node, props.Production)
	s.Exports = newExportBucket(node, props.Production)
	appEnv, err := props.permissionEnv()
	if err != nil {
		return nil, err
	}
	if err := props.checkOIDCClients(); err != nil {
		return nil, err
	}
	for _, spec := range specs {
		env := map[string]*string{
			"TABLE_NAME": s.Table.TableName(),
			"PUBLIC_URL": jsii.String(publicURL),
			"LOG_LEVEL":  jsii.String(props.LogLevel),
		}
		for k, v := range appEnv {
			env[k] = jsii.String(v)
		}
		// Without mail the variables are absent, which the functions read
		// as "no mail".
		if m != nil {
			env["MAIL_FROM"] = jsii.String(props.MailFrom)
			env["MAIL_CONFIGURATION_SET"] = m.configSet.ConfigurationSetName()
		}
		if props.OIDCClients != "" && (spec.Name == route.Auth || spec.Name == route.Pages) {
			env[oidcClientsEnv] = jsii.String(props.OIDCClients)
		}
		if spec.MFAKey {
			// The function reads the key from Secrets Manager at init: the
			// key itself is never in the function's configuration.
			env[mfaKeySecretEnv] = s.MFAKey.SecretArn()
		}
		if spec.SignsJWT || spec.RotatesKeys {
			env[jwtKeysSecretEnv] = s.JWTKeys.SecretArn()
		}
		if spec.Name == exportFunction() {
			env[exportBucketEnv] = s.Exports.BucketName()
		}
		fn := newFunction(node, spec, props, env, retention)
		if spec.SignsJWT || spec.RotatesKeys {
			actions := jsii.Strings("secretsmanager:GetSecretValue")
			if spec.RotatesKeys {
				actions = jsii.Strings("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
			}
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("JWTSigningKeys"),
				Actions:   actions,
				Resources: &[]*string{s.JWTKeys.SecretArn()},
			}))
		}
		if spec.MFAKey {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ReadMFAKey"),
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &[]*string{s.MFAKey.SecretArn()},
			}))
		}
		if spec.Name == exportFunction() {
			s.grantExports(fn)
		}
		if st := dynamoStatement(spec, s.Table); st != nil {
			fn.AddToRolePolicy(st)
		}
		if m != nil && spec.SendsMail {
			fn.AddToRolePolicy(m.sendStatement())
		}
		s.Functions[spec.Name] = fn
	}
	for _, name := range route.Functions() {
		if s.Functions[name] == nil {
			return nil, fmt.Errorf("function %q has no entry in route.Specs()", name)
		}
	}

	routes := s.addRoutes(props)
	s.Stage = s.addStage(props, retention, routes)
	s.URL = s.Stage.Url()
	alarms := s.newAlarms()
	dlq := s.addJobs(alarms)
	alarms.add(s.Stage, specs, m, dlq)

	awscdk.NewCfnOutput(node, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value:       s.URL,
		Description: jsii.String("Base URL of the HTTP API"),
	})
	awscdk.NewCfnOutput(node, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Value:       s.Table.TableName(),
		Description: jsii.String("The DynamoDB table"),
	})
	for _, r := range props.Routes {
		if err := s.AddRoute(r); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p Props) validate() error {
	var errs []error
	if p.BuildDir == "" || !filepath.IsAbs(p.BuildDir) {
		errs = append(errs, fmt.Errorf("BuildDir must be an absolute path, got %q", p.BuildDir))
	}
	if _, ok := retentionDays[p.LogRetentionDays]; !ok {
		errs = append(errs, fmt.Errorf("LogRetentionDays %d is not a CloudWatch Logs retention", p.LogRetentionDays))
	}
	if p.AuthorizerCacheTTLSeconds < 0 || p.AuthorizerCacheTTLSeconds > 3600 {
		errs = append(errs, fmt.Errorf("AuthorizerCacheTTLSeconds %d is outside 0..3600", p.AuthorizerCacheTTLSeconds))
	}
	if p.ThrottleRateLimit <= 0 || p.ThrottleBurstLimit <= 0 {
		errs = append(errs, fmt.Errorf("throttle rate %v and burst %v must be positive", p.ThrottleRateLimit, p.ThrottleBurstLimit))
	}
	if p.AuthThrottleRateLimit <= 0 || p.AuthThrottleBurstLimit <= 0 {
		errs = append(errs, fmt.Errorf("auth throttle rate %v and burst %v must be positive", p.AuthThrottleRateLimit, p.AuthThrottleBurstLimit))
	}
	if err := p.checkEnvSize(0); err != nil {
		errs = append(errs, err)
	}
	if err := p.checkRoutes(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func newTable(stack constructs.Construct, production bool) awsdynamodb.Table {
	str := awsdynamodb.AttributeType_STRING
	t := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: str},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: str},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expires"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(production),
		RemovalPolicy:      removal(production),
		// The jobs function runs from the stream; it rereads each job item,
		// so the keys are enough.
		Stream: awsdynamodb.StreamViewType_KEYS_ONLY,
	})
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(IndexName),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String("gsi1pk"), Type: str},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String("gsi1sk"), Type: str},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	t.Node().DefaultChild().(awsdynamodb.CfnTable).OverrideLogicalId(jsii.String(TableLogicalID))
	return t
}

// MFAKeyLogicalID is fixed so that refactoring the construct tree can never
// replace the key: a new key would make every enrolled authenticator's
// sealed secret unreadable.
const MFAKeyLogicalID = "MfaEncryptionKey"

// newMFAKey makes the secret key sealing TOTP secrets (MFA_ENCRYPTION_KEY):
// 43 alphanumeric characters, which decode as the unpadded base64 of 32
// bytes (about 250 bits of entropy). It is kept with the table in
// production: losing it loses every enrollment.
func newMFAKey(stack constructs.Construct, production bool) awssecretsmanager.Secret {
	secret := keptSecret(stack, MFAKeyLogicalID, production, &awssecretsmanager.SecretProps{
		Description: jsii.String("Guichet: AES-256 key sealing the TOTP secrets of two-step verification (unpadded base64 of 32 bytes)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(43),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
	})
	suppress(secret, "AwsSolutions-SMG4", "The key seals every enrolled TOTP secret: rotating it needs every sealed secret opened and sealed again, which no rotation function does; a new key is a planned migration")
	return secret
}

// JWTKeysLogicalID is fixed so that refactoring the construct tree never
// replaces the signing keys (every token they signed would stop
// verifying).
const JWTKeysLogicalID = "JwtSigningKeys"

// newJWTKeys makes the secret holding the key set signing JWT access
// tokens (signing.KeySet's JSON). It is created with a placeholder, which
// is no key set: the jobs function's first sweep (or guichet keys init)
// writes the first key set and its JWKS; the rotation schedule
// (addKeyRotation) rotates it.
func newJWTKeys(stack constructs.Construct, production bool) awssecretsmanager.Secret {
	secret := keptSecret(stack, JWTKeysLogicalID, production, &awssecretsmanager.SecretProps{
		Description: jsii.String("Guichet: the key set signing JWT access tokens (RS256 by default) (written by guichet keys init and the rotation schedule)"),
	})
	suppress(secret, "AwsSolutions-SMG4", "The key set is rotated by the stack's own schedule (KeyRotationSchedule → the jobs function), which also publishes the JWKS; Secrets Manager's rotation would not publish it")
	return secret
}

// keptSecret makes a secret whose logical id is fixed (id), kept with a
// production stack.
func keptSecret(stack constructs.Construct, id string, production bool, props *awssecretsmanager.SecretProps) awssecretsmanager.Secret {
	props.RemovalPolicy = removal(production)
	secret := awssecretsmanager.NewSecret(stack, jsii.String(id), props)
	secret.Node().DefaultChild().(awssecretsmanager.CfnSecret).OverrideLogicalId(jsii.String(id))
	return secret
}

// removal keeps what a production stack must not lose (its table, keys,
// exports and logs) and deletes it with a throw-away stack.
func removal(production bool) awscdk.RemovalPolicy {
	if production {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// newFunction makes the function's Lambda, its log group and its role. The
// role may write to that log group only (no managed policy, no logs:* on
// *); callers add the statements of the function's spec.
func newFunction(stack constructs.Construct, spec route.Spec, props Props, env map[string]*string, retention awslogs.RetentionDays) awslambda.Function {
	id := FunctionLogicalID(spec.Name)
	logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: removal(props.Production),
	})
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Guichet " + spec.Name + ": its log group and the actions of its spec"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Logs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	fn := awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String("Guichet " + spec.Name),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(props.BuildDir, spec.Name)), nil),
		MemorySize:   jsii.Number(spec.MemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
		Environment:  &env,
		LogGroup:     logs,
		Role:         role,
	})
	fn.Node().DefaultChild().(awslambda.CfnFunction).OverrideLogicalId(jsii.String(id))
	return fn
}

// dynamoStatement grants exactly the function's DynamoDB actions, on the
// table and, for actions that can use it, on the index. The authorizer's
// are limited to credential items (a dynamodb:LeadingKeys condition): it
// reads one credential per request, and may record an API key's use. A
// function whose spec has no action gets no statement (nil).
func dynamoStatement(spec route.Spec, table awsdynamodb.Table) awsiam.PolicyStatement {
	var actions []*string
	onIndex := false
	for _, a := range spec.IAMActions() {
		actions = append(actions, jsii.String("dynamodb:"+a))
		onIndex = onIndex || slices.Contains(indexActions, a)
	}
	if len(actions) == 0 {
		return nil
	}
	resources := []*string{table.TableArn()}
	if onIndex {
		resources = append(resources, jsii.String(*table.TableArn()+"/index/"+IndexName))
	}
	st := &awsiam.PolicyStatementProps{
		Sid:       jsii.String("Table"),
		Actions:   &actions,
		Resources: &resources,
	}
	if spec.Name == route.Authorizer {
		st.Sid = jsii.String("Credentials")
		st.Conditions = &map[string]any{
			"ForAllValues:StringLike": map[string]any{
				"dynamodb:LeadingKeys": []string{credentialKeyPrefix + "*"},
			},
		}
	}
	return awsiam.NewPolicyStatement(st)
}

// mailResources are the SES identity and configuration set functions that
// send mail may use.
type mailResources struct {
	identity  awsses.EmailIdentity
	configSet awsses.ConfigurationSet
	stack     awscdk.Stack
}

func newMail(stack constructs.Construct, props Props) (*mailResources, error) {
	if props.MailFrom == "" {
		return nil, nil
	}
	from, err := mail.ParseAddress(props.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("MailFrom %q: %w", props.MailFrom, err)
	}
	name := props.MailIdentity
	if name == "" {
		name = from.Address
	}
	var identity awsses.Identity
	if strings.Contains(name, "@") {
		identity = awsses.Identity_Email(jsii.String(name))
	} else {
		identity = awsses.Identity_Domain(jsii.String(name))
	}
	cs := awsses.NewConfigurationSet(stack, jsii.String("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		ReputationMetrics: jsii.Bool(true),
	})
	id := awsses.NewEmailIdentity(stack, jsii.String("MailIdentity"), &awsses.EmailIdentityProps{
		Identity:         identity,
		ConfigurationSet: cs,
	})
	return &mailResources{identity: id, configSet: cs, stack: awscdk.Stack_Of(stack)}, nil
}

// sendStatement allows SES v2 SendEmail as the identity with the
// configuration set, and nothing else.
func (m *mailResources) sendStatement() awsiam.PolicyStatement {
	csArn := m.stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ses"),
		Resource:     jsii.String("configuration-set"),
		ResourceName: m.configSet.ConfigurationSetName(),
	})
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SendMail"),
		Actions:   jsii.Strings("ses:SendEmail"),
		Resources: &[]*string{m.identity.EmailIdentityArn(), csArn},
	})
}

// addRoutes adds every route of the table, plus $default for the fallback.
// The authorizer never denies: it tells the function whether the caller is
// authenticated, and the function answers 401 as problem+json itself.
func (s *Guichet) addRoutes(props Props) map[string]awsapigatewayv2.HttpRoute {
	routes := map[string]awsapigatewayv2.HttpRoute{}
	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	integration := func(fn string) awsapigatewayv2integrations.HttpLambdaIntegration {
		if integrations[fn] == nil {
			integrations[fn] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(camel(fn)+"Integration"), s.Functions[fn], nil)
		}
		return integrations[fn]
	}

	ttl := props.AuthorizerCacheTTLSeconds
	identity := []*string{jsii.String("$request.header.Authorization")}
	if ttl == 0 {
		// With an identity source, API Gateway answers a request without
		// it 401 on its own, before the authorizer runs. Without caching the
		// HTTP API needs none; the CfnAuthorizer override below removes it.
		identity = []*string{}
	}
	authorizer := awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String(authorizerID), s.Functions[route.Authorizer],
		&awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
			AuthorizerName:  jsii.String(authorizerID),
			ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
			IdentitySource:  &identity,
			ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(ttl)),
		})
	s.Authorizer = authorizer
	s.app.integrations = integrations

	for _, r := range route.All() {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration(r.Function),
		}
		if !r.Public {
			opts.Authorizer = authorizer
		}
		for _, rt := range *s.API.AddRoutes(opts) {
			routes[r.Key()] = rt
			if r.Public {
				suppress(rt, "AwsSolutions-APIG4", "A public route: it is how a caller gets a credential (login, refresh, reset, invitation) or reads what needs none; the function checks its token or form itself")
			}
		}
	}
	def := awsapigatewayv2.NewHttpRoute(s.Construct, jsii.String("DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
		HttpApi:     s.API,
		RouteKey:    awsapigatewayv2.HttpRouteKey_DEFAULT(),
		Integration: integration(route.Fallback.Function),
	})
	suppress(def, "AwsSolutions-APIG4", "$default answers every path outside the route table with a 404 problem+json and reads nothing")

	if ttl == 0 {
		removeIdentitySource(s.API, authorizerID)
	}
	return routes
}

// accessLogFormat is one JSON object per request. It leaves out headers so
// no credential ever reaches the logs.
const accessLogFormat = `{"requestId":"$context.requestId","requestTime":"$context.requestTime",` +
	`"ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",` +
	`"method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey",` +
	`"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}`

// throttledOperations are the public routes that check a credential or
// mail one, and the switch, which issues tokens from a session: each gets its own, lower, stage throttle (AuthThrottle*) on top
// of the default, so that guessing passwords or tokens, or mailing links,
// cannot use the whole API's rate.
var throttledOperations = []route.OperationID{
	route.OpLogin, route.OpServiceToken, route.OpRefresh,
	route.OpMFALogin, route.OpChooseOrganization, route.OpSwitchOrganization, route.OpEmailProof, route.OpMFAEnroll, route.OpMFAEnrollConfirm,
	route.OpRequestPasswordReset, route.OpCompletePasswordReset, route.OpAcceptInvitation,
	route.OpConfirmEmailChange,
	route.OpLoginSubmitPage, route.OpLoginStepPage, route.OpRequestResetPage, route.OpCompleteResetPage,
	route.OpAcceptInvitePage, route.OpConfirmEmailPage,
}

// throttledRouteKeys returns the route keys of throttledOperations, in the
// table's order.
func throttledRouteKeys() []string {
	var keys []string
	for _, r := range route.All() {
		if slices.Contains(throttledOperations, r.Operation) {
			keys = append(keys, r.Key())
		}
	}
	return keys
}

func (s *Guichet) addStage(props Props, retention awslogs.RetentionDays, routes map[string]awsapigatewayv2.HttpRoute) awsapigatewayv2.HttpStage {
	logs := awslogs.NewLogGroup(s.Construct, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: removal(props.Production),
	})
	stage := awsapigatewayv2.NewHttpStage(s.Construct, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    s.API,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(props.ThrottleRateLimit),
			BurstLimit: jsii.Number(props.ThrottleBurstLimit),
		},
	})
	// The L2 stage takes access log settings only as a jsii interface; the
	// L1 property is plain data.
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	settings := map[string]any{}
	for _, key := range throttledRouteKeys() {
		settings[key] = map[string]any{
			"ThrottlingRateLimit":  props.AuthThrottleRateLimit,
			"ThrottlingBurstLimit": props.AuthThrottleBurstLimit,
		}
		// A stage's route settings must name routes that exist.
		stage.Node().AddDependency(routes[key])
	}
	cfn.SetRouteSettings(settings)
	return stage
}

// alarms makes alarms that notify one topic operators subscribe to.
type alarms struct {
	s      *Guichet
	action awscloudwatch.IAlarmAction
}

func (s *Guichet) newAlarms() *alarms {
	s.AlarmTopic = awssns.NewTopic(s.Construct, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Guichet alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	suppress(s.AlarmTopic, "AwsSolutions-SNS2", "Alarm notifications carry alarm names and metric values, no data of users; CloudWatch can publish to an encrypted topic only with a customer-managed KMS key, which this stack does not create")
	return &alarms{s: s, action: awscloudwatchactions.NewSnsAction(s.AlarmTopic)}
}

// alarm raises id when metric reaches threshold for periods in a row.
func (a *alarms) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) {
	al := awscloudwatch.NewAlarm(a.s.Construct, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(periods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	al.AddAlarmAction(a.action)
}

// Alarm thresholds that are not 1.
const (
	// durationShare of its timeout is how long a function may take before
	// its duration raises an alarm.
	durationShare = 0.8
	// sesBounceRate and sesComplaintRate are where SES starts reviewing
	// an account (5 % and 0.1 %); it pauses sending at twice as much.
	sesBounceRate    = 0.05
	sesComplaintRate = 0.001
)

// add watches the API's 5xx rate; every function's errors, throttles and
// duration near its timeout (the authorizer's included); the table's
// throttles and system errors; the SES reputation when the stack sends
// mail; and the jobs' dead-letter queue.
func (a *alarms) add(stage awsapigatewayv2.HttpStage, specs []route.Spec, m *mailResources, dlq awssqs.Queue) {
	s := a.s
	five := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five}
	max := &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five}

	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   stage.MetricServerError(sum),
			"requests": stage.MetricCount(sum),
		},
		Label:  jsii.String("5xx rate (%)"),
		Period: five,
	})
	a.alarm("Api5xxRateAlarm", "More than 1% of API requests answered 5xx, two 5-minute periods in a row", rate, 1, 2)

	for _, spec := range specs {
		name := spec.Name
		fn := s.Functions[name]
		id := camel(name)
		a.alarm(id+"ErrorsAlarm", "Lambda "+name+" failed (Errors ≥ 1 in 5 minutes)", fn.MetricErrors(sum), 1, 1)
		a.alarm(id+"ThrottlesAlarm", "Lambda "+name+" was throttled (Throttles ≥ 1 in 5 minutes)", fn.MetricThrottles(sum), 1, 1)
		limit := durationShare * float64(spec.TimeoutSeconds) * 1000
		a.alarm(id+"DurationAlarm", fmt.Sprintf("Lambda %s took %.0f ms or more, %d%% of its %d s timeout (maximum in 5 minutes)",
			name, limit, int(durationShare*100), spec.TimeoutSeconds), fn.MetricDuration(max), limit, 1)
	}

	for _, metric := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		a.alarm("Table"+metric+"Alarm", "DynamoDB throttled the table ("+metric+" ≥ 1 in 5 minutes)", s.Table.Metric(jsii.String(metric), sum), 1, 1)
		a.alarm("Index"+metric+"Alarm", "DynamoDB throttled the index "+IndexName+" ("+metric+" ≥ 1 in 5 minutes)",
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:  jsii.String("AWS/DynamoDB"),
				MetricName: jsii.String(metric),
				DimensionsMap: &map[string]*string{
					"TableName":                s.Table.TableName(),
					"GlobalSecondaryIndexName": jsii.String(IndexName),
				},
				Statistic: jsii.String("Sum"),
				Period:    five,
			}), 1, 1)
	}
	a.alarm("TableSystemErrorsAlarm", "DynamoDB answered the table's requests with a 500 (SystemErrors ≥ 1 in 5 minutes)",
		s.Table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{
			Operations: tableOperations(specs), Period: five,
		}), 1, 1)

	if m != nil {
		fifteen := awscdk.Duration_Minutes(jsii.Number(15))
		for _, r := range []struct {
			metric    string
			threshold float64
		}{{"Reputation.BounceRate", sesBounceRate}, {"Reputation.ComplaintRate", sesComplaintRate}} {
			a.alarm(strings.ReplaceAll(r.metric, ".", "")+"Alarm",
				fmt.Sprintf("SES %s of the account reached %g%% (SES reviews the account from there)", r.metric, r.threshold*100),
				awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(r.metric),
					Statistic: jsii.String("Maximum"), Period: fifteen,
				}), r.threshold, 1)
		}
	}

	a.alarm("JobsDeadLetterAlarm", "Jobs stream records failed every retry and wait in the dead-letter queue (the sweep still runs their jobs)",
		dlq.MetricApproximateNumberOfMessagesVisible(max), 1, 1)
}

// tableOperations are the DynamoDB operations some function calls: those
// whose system errors are watched (at most 10 make one metric expression).
func tableOperations(specs []route.Spec) *[]awsdynamodb.Operation {
	var ops []awsdynamodb.Operation
	for _, spec := range specs {
		for _, a := range spec.DynamoDB {
			// The CDK's members are upper snake case: BatchGetItem is
			// BATCH_GET_ITEM.
			var b strings.Builder
			for i, r := range a {
				if i > 0 && unicode.IsUpper(r) {
					b.WriteByte('_')
				}
				b.WriteRune(unicode.ToUpper(r))
			}
			if op := awsdynamodb.Operation(b.String()); !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
	}
	slices.Sort(ops)
	return &ops
}

func corsOptions(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	var methods []awsapigatewayv2.CorsHttpMethod
	seen := map[string]bool{}
	for _, r := range route.All() {
		if !seen[r.Method] {
			seen[r.Method] = true
			methods = append(methods, awsapigatewayv2.CorsHttpMethod(r.Method))
		}
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &methods,
		AllowHeaders: jsii.Strings("Authorization", "Content-Type"),
		// Rate-limited answers say when to retry; browsers hide the header
		// from scripts unless it is exposed.
		ExposeHeaders: jsii.Strings("Retry-After"),
		MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// retentionDays are the retentions CloudWatch Logs accepts, by days.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS, 0: awslogs.RetentionDays_INFINITE,
}

// camel turns a function name into an identifier part: "password-reset" and
// "password_reset" → "PasswordReset", "profile" → "Profile".
func camel(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
