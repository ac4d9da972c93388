// Package app wires Guichet's functions: from the configuration and the
// AWS clients it builds each function's handler, the value lambda.Start
// receives in AWS and the local gateway invokes on a developer's machine.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/guichet/guichet/shared/apikeys"
	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/awscall"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/exports"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/jobs"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/logging"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/oidc"
	"github.com/guichet/guichet/shared/openapi"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/pages"
	"github.com/guichet/guichet/shared/passwordreset"
	"github.com/guichet/guichet/shared/profile"
	"github.com/guichet/guichet/shared/reauth"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// Deps is what every function is built from.
type Deps struct {
	Config config.Config
	Store  *store.Store
	Mail   *mail.Notifier
	Log    *slog.Logger
	Now    func() time.Time
	// Exports holds exports too large for an answer (function bulk); nil:
	// they are refused.
	Exports exports.Store
	// aws is the SDK configuration the DynamoDB client was built from
	// (LoadWith), which the Secrets Manager read reuses.
	aws aws.Config
	// signer is the signing key set read from JWT_KEYS_SECRET and read
	// again every keyring.Reload (nil: the configuration's JWT_KEYS).
	signer keyring.Source
}

// FromEnv builds the dependencies of a function running in AWS (or against
// the endpoints the environment names), without mail.
func FromEnv(ctx context.Context) (Deps, error) { return LoadWith(ctx, os.Getenv, config.AWS) }

// FromEnvWithMail is FromEnv for a function that sends mail: it adds the
// SES client when MAIL_FROM is set. Only these functions build an SES
// client (and only they get SES permissions in the stack).
func FromEnvWithMail(ctx context.Context) (Deps, error) {
	d, err := FromEnv(ctx)
	if err != nil {
		return d, err
	}
	return d.WithSES(ctx, config.AWS)
}

// LoadWith builds the dependencies from the configuration getenv reads,
// loading the AWS configuration with load (config.AWS in Lambda,
// profiles.AWS for an administrator's command).
func LoadWith(ctx context.Context, getenv func(string) string, load config.AWSLoader) (Deps, error) {
	cfg, err := config.Parse(getenv)
	if err != nil {
		return Deps{}, err
	}
	awsCfg, err := load(ctx, cfg.DynamoDBEndpoint, cfg.RetryMaxBackoff)
	if err != nil {
		return Deps{}, fmt.Errorf("store: %w", err)
	}
	loaded := func(context.Context, string, time.Duration) (aws.Config, error) { return awsCfg, nil }
	db, err := store.NewClient(ctx, store.ClientConfig{Endpoint: cfg.DynamoDBEndpoint, MaxBackoff: cfg.RetryMaxBackoff, Load: loaded})
	if err != nil {
		return Deps{}, err
	}
	d := New(cfg, db, logging.New(os.Stderr, cfg.LogLevel), time.Now)
	d.aws = awsCfg
	return d, nil
}

// WithMFAKeySecret returns d with the MFA key read from the Secrets
// Manager secret MFA_ENCRYPTION_KEY_SECRET names, when it names one; the
// key set in MFA_ENCRYPTION_KEY (local use) otherwise stays.
func (d Deps) WithMFAKeySecret(ctx context.Context) (Deps, error) {
	if d.Config.MFAKeySecret == "" {
		return d, nil
	}
	key, err := d.Config.MFAKeyFromSecret(ctx, d.aws)
	if err != nil {
		return d, err
	}
	d.Config.MFAKey = key
	return d, nil
}

// WithJWTKeysSecret returns d with the signing keys read from the Secrets
// Manager secret JWT_KEYS_SECRET names, when it names one, and read again
// every keyring.Reload; the keys set in JWT_KEYS (local use) otherwise
// stay.
func (d Deps) WithJWTKeysSecret(ctx context.Context) (Deps, error) {
	if d.Config.JWTKeysSecret == "" {
		return d, nil
	}
	v := keyring.Secret{Config: d.Config, AWS: d.aws}
	ks, err := keyring.Load(ctx, v)
	if err != nil {
		return d, fmt.Errorf("app: JWT_KEYS_SECRET %s: %w", d.Config.JWTKeysSecret, err)
	}
	d.Config.JWTKeys = &ks
	return d.WithKeys(keyring.NewReloading(v, ks, d.Now)), nil
}

// WithKeys returns d signing access tokens and id_tokens with the key set
// src gives at the time (WithJWTKeysSecret's: the secret read again every
// keyring.Reload).
func (d Deps) WithKeys(src keyring.Source) Deps {
	d.signer = src
	return d
}

// KeyVault is where the signing keys live: the secret JWT_KEYS_SECRET
// names.
func (d Deps) KeyVault() (keyring.Vault, error) {
	if d.Config.JWTKeysSecret == "" {
		return nil, errors.New("app: JWT_KEYS_SECRET is not set")
	}
	return keyring.Secret{Config: d.Config, AWS: d.aws}, nil
}

// RotateKeys rotates the signing keys in v (keyring.Rotate), keeping the
// previous key as long as a token it signed may live.
func (d Deps) RotateKeys(ctx context.Context, v keyring.Vault) (signing.KeySet, error) {
	return keyring.Rotate(ctx, v, d.Store, d.Config.JWTAlgorithm, keyring.Keep(d.Config.AccessTTL, authorizer.Skew), d.Now())
}

// WithSES returns d sending mail through SES v2 when the configuration
// names a sender; without one, mail stays off and links are only returned.
func (d Deps) WithSES(ctx context.Context, load config.AWSLoader) (Deps, error) {
	if d.Config.MailFrom == "" {
		return d, nil
	}
	awsCfg, err := load(ctx, d.Config.SESEndpoint, d.Config.RetryMaxBackoff)
	if err != nil {
		return d, err
	}
	return d.WithMail(mail.SES(awsCfg, d.Config.SESEndpoint)), nil
}

// New builds the dependencies from a ready DynamoDB client, without mail.
func New(cfg config.Config, db *dynamodb.Client, log *slog.Logger, now func() time.Time) Deps {
	return Deps{Config: cfg, Store: store.New(db, cfg.Table), Log: log, Now: now}
}

// WithMail returns d sending mail through ses, from the configured sender.
func (d Deps) WithMail(ses *awscall.Client) Deps {
	d.Mail = mail.NewNotifier(mail.New(ses, d.Config.MailFrom, d.Config.MailConfigSet), mail.Embedded(), d.Log)
	return d
}

// Invitations returns the invitation service (function invitations).
func (d Deps) Invitations() *invitations.Service {
	sessions := d.Sessions()
	return invitations.New(d.Store, sessions, authorizer.New(d.Store, d.Config.Permissions, d.Log, d.Now, nil, d.tokens()), d.Mail, d.Config.PublicURL, d.appURL(), d.SessionConfig().Password, d.Config.Permissions, d.Now).
		WithClients(d.Config.OIDCClients)
}

// appURL is where people go once signed in: APP_URL, else PUBLIC_URL.
func (d Deps) appURL() string {
	if d.Config.AppURL != "" {
		return d.Config.AppURL
	}
	return d.Config.PublicURL
}

// SessionConfig is the session policy the configuration sets.
func (d Deps) SessionConfig() session.Config {
	c := session.DefaultConfig()
	c.Password, c.Clients, c.Permissions = d.Config.Password, d.Config.Clients, d.Config.Permissions
	c.AccessTTL, c.RefreshTTL, c.BrowserTTL = d.Config.AccessTTL, d.Config.RefreshTTL, d.Config.BrowserTTL
	c.Issuer, c.Audience, c.Keys = d.Config.PublicURL, d.Config.Audience(), d.signer
	if d.signer == nil {
		c.Keys = keyring.Static{Keys: d.Config.JWTKeys}
	}
	c.MaxFailures, c.LockWindow = d.Config.MaxFailures, d.Config.LockWindow
	c.AccountMaxFailures, c.MaxWait = d.Config.AccountMaxFailures, d.Config.LoginMaxWait
	return c
}

// ProfileConfig is the profile policy the configuration sets: wrong
// passwords lock like logins.
func (d Deps) ProfileConfig() profile.Config {
	c := profile.DefaultConfig()
	c.Password = d.SessionConfig().Password
	c.MaxFailures, c.LockWindow = d.Config.MaxFailures, d.Config.LockWindow
	return c
}

// MFA is the two-step verification service, sealing secrets with the
// configured key.
func (d Deps) MFA() *mfa.Service {
	return mfa.New(d.Store, d.Config.MFAKey, mfa.DefaultConfig(), d.Now)
}

// Operations returns the operations of function fn, served by d's
// services. A Lambda's main calls the one constructor it needs instead
// (d.Users().Operations(), …) so that its binary links only its own
// feature packages; the local gateway uses this.
func (d Deps) Operations(fn string) (router.Operations, error) { return d.operations(fn, true) }

// operations returns function fn's operations table; with serve false its
// services are nil pointers, whose methods only serving would call, so the
// table describes the operations without building anything behind them.
func (d Deps) operations(fn string, serve bool) (router.Operations, error) {
	switch fn {
	case route.Auth:
		return authOperations(service(serve, d.Sessions), service(serve, d.OIDC)), nil
	case route.Profile:
		return service(serve, d.Profile).Operations(), nil
	case route.Organization:
		return service(serve, d.Organizations).Operations(), nil
	case route.Users:
		return service(serve, d.Users).Operations(), nil
	case route.Bulk:
		return service(serve, d.Bulk).BulkOperations(), nil
	case route.Invitations:
		return service(serve, d.Invitations).Operations(), nil
	case route.PasswordReset:
		return service(serve, d.Resets).Operations(), nil
	case route.APIKeys:
		return service(serve, d.APIKeys).Operations(), nil
	case route.Pages:
		return pagesOperations(service(serve, d.pages)), nil
	}
	return nil, fmt.Errorf("app: unknown function %q", fn)
}

// service is build's service when serving, else nil.
func service[S any](serve bool, build func() *S) *S {
	if !serve {
		return nil
	}
	return build()
}

// Sessions returns the session service (function auth).
func (d Deps) Sessions() *session.Service {
	return session.New(d.Store, d.MFA(), d.Mail, d.SessionConfig(), d.Now)
}

// OIDC returns the OpenID Connect provider (function auth).
func (d Deps) OIDC() *oidc.Provider {
	return oidc.New(oidc.Config{Issuer: d.Config.PublicURL, Clients: d.Config.OIDCClients, IDTokenTTL: d.Config.AccessTTL,
		Cookie: session.NewBrowserCookie(d.Config.PublicURL), AuthorizeLimit: d.Config.OIDCAuthorizeLimit},
		d.Store, d.Sessions(), d.SessionConfig().Keys, authorizer.New(d.Store, d.Config.Permissions, d.Log, d.Now, nil, d.tokens()), d.Now)
}

// AuthOperations are function auth's operations: the JSON login API's and
// OpenID Connect's.
func (d Deps) AuthOperations() router.Operations { return authOperations(d.Sessions(), d.OIDC()) }

func authOperations(s *session.Service, p *oidc.Provider) router.Operations {
	ops := s.Operations()
	for id, op := range p.Operations() {
		ops[id] = op
	}
	return ops
}

// Profile returns the profile service (function profile).
func (d Deps) Profile() *profile.Service {
	return profile.New(d.Store, d.MFA(), d.Mail, d.Config.PublicURL, d.ProfileConfig(), d.Now)
}

// Organizations returns the organization service (function organization).
func (d Deps) Organizations() *organization.Service {
	return organization.New(d.Store, d.SessionConfig().Password, d.Config.Permissions, d.Now)
}

// Users returns the users service (function users).
func (d Deps) Users() *users.Service {
	return users.New(d.Store, d.SessionConfig().Password, d.Config.Clients, d.Config.Permissions, nil, d.Now)
}

// Bulk returns the users service with what imports and creations need to
// mail set-up and welcome links (function bulk).
func (d Deps) Bulk() *users.Service {
	return users.New(d.Store, d.SessionConfig().Password, d.Config.Clients, d.Config.Permissions, d.Resets(), d.Now).
		WithExports(d.Exports, d.Config.ExportMaxBody)
}

// WithExports returns d writing large exports to the S3 bucket the
// configuration names (EXPORT_BUCKET, reached with load), else to local
// (the local stack's directory; nil: large exports are refused).
func (d Deps) WithExports(ctx context.Context, load config.AWSLoader, local exports.Store) (Deps, error) {
	if d.Config.ExportBucket == "" {
		d.Exports = local
		return d, nil
	}
	awsCfg, err := load(ctx, d.Config.S3Endpoint, d.Config.RetryMaxBackoff)
	if err != nil {
		return d, err
	}
	d.Exports = exports.NewS3(awsCfg, d.Config.ExportBucket, d.Config.S3Endpoint)
	return d, nil
}

// BulkLambda builds the bulk function's handler from the environment, for
// lambda.Start: it sends mail and writes large exports to EXPORT_BUCKET.
func BulkLambda() lambdahttp.Handler {
	return lambdaHandler(route.Bulk, true, func(ctx context.Context) (Deps, error) {
		d, err := FromEnvWithMail(ctx)
		if err != nil {
			return d, err
		}
		return d.WithExports(ctx, config.AWS, nil)
	}, func(d Deps) router.Operations { return d.Bulk().BulkOperations() })
}

// Resets returns the password reset service (function passwordreset).
func (d Deps) Resets() *passwordreset.Service {
	rc := passwordreset.DefaultConfig()
	rc.Floor, rc.Permissions = d.Config.ResetFloor, d.Config.Permissions
	return passwordreset.New(d.Store, d.Mail, d.Config.PublicURL, d.SessionConfig().Password, rc, d.Now).
		WithClients(d.Config.OIDCClients)
}

// APIKeys returns the API key service (function apikeys).
func (d Deps) APIKeys() *apikeys.Service {
	pc := d.ProfileConfig()
	r := reauth.New(d.Store, d.MFA(), reauth.Config{Password: pc.Password, MaxFailures: pc.MaxFailures, LockWindow: pc.LockWindow}, d.Now)
	return apikeys.New(d.Store, d.Config.Clients, d.Config.Permissions, r, d.Mail, d.Config.PublicURL, d.Now)
}

// Pages returns the operations of the pages function: the hosted pages and
// the API description (the committed one, embedded: a test keeps it equal
// to what OpenAPI builds).
func (d Deps) Pages() router.Operations { return pagesOperations(d.pages()) }

func (d Deps) pages() *pages.Service {
	sessions := d.Sessions()
	az := authorizer.New(d.Store, d.Config.Permissions, d.Log, d.Now, nil, d.tokens()).Warm(context.Background())
	return pages.New(pages.Config{PublicURL: d.Config.PublicURL, AppURL: d.Config.AppURL, Clients: d.Config.OIDCClients,
		Permissions: d.Config.Permissions},
		pages.Deps{
			Invitations: invitations.New(d.Store, sessions, az, d.Mail, d.Config.PublicURL, d.appURL(), d.SessionConfig().Password, d.Config.Permissions, d.Now).WithClients(d.Config.OIDCClients),
			Resets:      d.Resets(), Sessions: sessions, Profile: d.Profile(), Store: d.Store, Log: d.Log, Now: d.Now,
			Authorizer: az, OIDC: d.OIDC(),
		})
}

func pagesOperations(s *pages.Service) router.Operations {
	ops := s.Operations()
	ops[route.OpOpenAPI] = router.Op{Handle: openapi.Serve, Response: map[string]any{}}
	return ops
}

// OpenAPI builds the API's description from every function's operations
// table, with no service, store or configuration behind them.
func OpenAPI() ([]byte, error) {
	all := router.Operations{}
	for _, fn := range route.Functions() {
		if !route.ServesRoutes(fn) {
			continue
		}
		ops, err := Deps{}.operations(fn, false)
		if err != nil {
			return nil, err
		}
		for name, op := range ops {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("app: operation %q is in two functions", name)
			}
			all[name] = op
		}
	}
	return openapi.Build(all)
}

// Function returns the handler of function fn serving ops.
func Function(fn string, d Deps, ops router.Operations) (lambdahttp.Handler, error) {
	// Every function records the use of the API keys it is called with
	// (at most once a minute per key): the authorizer only reads.
	h, err := router.New(fn, ops, d.Log, httpapi.StoreProblem, router.WithKeyUse(d.APIKeys().RecordUse))
	if err != nil {
		return nil, err
	}
	return lambdahttp.New(h), nil
}

// Jobs returns the runner of the jobs changes leave behind them and of
// the scheduled tasks (function jobs).
func (d Deps) Jobs() *jobs.Runner {
	r := jobs.New(d.Store, d.Log, d.Now)
	for _, kind := range []string{store.EndingJob, store.SessionsEndingJob, store.LinksEndingJob} {
		r.Handle(kind, d.Users().RunEnding)
	}
	r.Handle(store.RegrantJob, d.Users().RegrantBatch)
	r.Every("api_key_expiring", d.APIKeys().AnnounceExpiring)
	return r
}

// RotateKeysTask is the task of the event the rotation schedule sends the
// jobs function: {"task": "rotate_keys"}.
const RotateKeysTask = "rotate_keys"

// JobsLambda builds the jobs function's handler from the environment, for
// lambda.Start: a DynamoDB stream event runs a batch of each job it
// records; any other event (the schedule's) sweeps the jobs idle for a
// minute and runs the scheduled tasks.
func JobsLambda() func(context.Context, json.RawMessage) (any, error) {
	d, err := FromEnvWithMail(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	r := d.Jobs()
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err == nil && len(ev.Records) > 0 {
			return r.Stream(ctx, ev)
		}
		var task struct {
			Task string `json:"task"`
		}
		if json.Unmarshal(raw, &task) == nil && task.Task == RotateKeysTask {
			// The rotation schedule's event (see the CDK stack).
			v, err := d.KeyVault()
			if err != nil {
				return nil, err
			}
			if _, err := d.RotateKeys(ctx, v); err != nil {
				return nil, err
			}
			return struct{}{}, nil
		}
		if d.Config.JWTKeysSecret != "" {
			// A new deployment's first key set (guichet keys init does it
			// at once); afterwards one secret read per sweep.
			v, err := d.KeyVault()
			if err != nil {
				return nil, err
			}
			if _, err := keyring.Ensure(ctx, v, d.Store, d.Config.JWTAlgorithm, d.Now()); err != nil {
				return nil, err
			}
		}
		return struct{}{}, r.Sweep(ctx, time.Minute)
	}
}

// tokens are what the access tokens of this deployment say.
func (d Deps) tokens() authorizer.Tokens {
	return authorizer.Tokens{Issuer: d.Config.PublicURL, Audience: d.Config.Audience()}
}

// Authorizer returns the authorizer's handler.
func Authorizer(d Deps) lambdahttp.Authorizer {
	return authorizer.New(d.Store, d.Config.Permissions, d.Log, d.Now, d.Config.AppRoutes, d.tokens()).Warm(context.Background()).Handle
}

// Lambda builds the handler of function fn, which sends no mail, from the
// environment, with the operations ops makes from its dependencies, for
// lambda.Start. A function that cannot start logs why and exits: Lambda
// reports an init error.
func Lambda(fn string, ops func(Deps) router.Operations) lambdahttp.Handler {
	return lambdaHandler(fn, false, FromEnv, ops)
}

// LambdaWithMail is Lambda for a function that sends mail. The two are
// apart so that only these functions build an SES client; the choice is
// checked against the function's spec at start.
func LambdaWithMail(fn string, ops func(Deps) router.Operations) lambdahttp.Handler {
	return lambdaHandler(fn, true, FromEnvWithMail, ops)
}

func lambdaHandler(fn string, mail bool, load func(context.Context) (Deps, error), ops func(Deps) router.Operations) lambdahttp.Handler {
	if spec, ok := route.SpecOf(fn); !ok || spec.SendsMail != mail {
		log.Fatalf("app: function %s: its spec and its main disagree on mail", fn)
	}
	d, err := load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	if spec, _ := route.SpecOf(fn); spec.MFAKey {
		if d, err = d.WithMFAKeySecret(context.Background()); err != nil {
			log.Fatalf("app: function %s: %v", fn, err)
		}
	}
	if spec, _ := route.SpecOf(fn); spec.SignsJWT {
		if d, err = d.WithJWTKeysSecret(context.Background()); err != nil {
			log.Fatalf("app: function %s: %v", fn, err)
		}
	}
	h, err := Function(fn, d, ops(d))
	if err != nil {
		log.Fatal(err)
	}
	return h
}
