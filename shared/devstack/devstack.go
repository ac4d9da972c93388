// Package devstack runs the whole of Guichet in one process with embedded
// stand-ins for AWS: DynamoDB is a minidyn server and SES v2 an outbox, both
// reached over HTTP by the real SDK clients, and API Gateway is the local
// gateway. `make run` and the tests use it; the functions cannot tell it
// from AWS.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/go-jose/go-jose/v4"
	miniserver "github.com/truora/minidyn/server"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/exports"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/jobs"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/outbox"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
)

// Options configure a stack. The zero value is usable.
type Options struct {
	// Config is the functions' configuration. An empty DynamoDBEndpoint
	// starts the embedded DynamoDB; another is reached through the same
	// checks and fault injection. An empty SESEndpoint starts the outbox.
	Config config.Config
	// Now is the clock of every function; time.Now when nil.
	Now func() time.Time
	// Log receives the functions' logs; discarded when nil. The DynamoDB
	// requests Strict refuses are logged there too, or on stderr when nil.
	Log *slog.Logger
	// Gateway are the local gateway's options; its App routes are the
	// configuration's (APP_ROUTES), which the authorizer decides on.
	Gateway gateway.Options
}

// Stack is a running Guichet.
type Stack struct {
	Config config.Config
	// Gateway is the local API Gateway serving every route.
	Gateway *gateway.Gateway
	// Functions are the handlers the gateway invokes, by function name: the
	// values lambda.Start receives in AWS.
	Functions map[string]lambdahttp.Handler
	// Authorizer is the authorizer's handler.
	Authorizer lambdahttp.Authorizer
	// DynamoDB is the embedded DynamoDB; nil when the configuration names
	// another endpoint.
	DynamoDB *miniserver.Server
	// Faults fails chosen operations of the DynamoDB, embedded or not.
	Faults *Faults
	// Outbox holds the mail sent; nil when SESEndpoint names another.
	Outbox *outbox.Outbox
	// Counters counts each function's DynamoDB calls, by function name
	// (the authorizer included).
	Counters map[string]*store.Counter
	// Jobs runs the jobs changes leave behind them and the scheduled
	// tasks: RunJobs runs them all now; `make run` does every second.
	Jobs *jobs.Runner
	// Store is an uncounted store for seeding and inspecting the table.
	Store *store.Store
	// DB is the uncounted client behind Store.
	DB *dynamodb.Client
	// Exports holds the exports too large for an answer, in a temporary
	// directory, served under /_local/exports/; nil with an EXPORT_BUCKET.
	Exports *exports.Local

	servers    []*http.Server
	exportsDir string
	now        func() time.Time
}

// Start starts the embedded services, creates the table and builds every
// function.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	cfg := opts.Config
	if cfg.Table == "" { // the zero Options: every default
		var err error
		if cfg, err = config.Parse(func(string) string { return "" }); err != nil {
			return nil, err
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if cfg.MFAKey == nil {
		// A key for this run: secrets sealed with it do not open after a
		// restart with another one (set MFA_ENCRYPTION_KEY to keep them).
		cfg.MFAKey = mfa.NewKey()
	}
	if cfg.JWTKeys == nil && cfg.JWTKeysSecret == "" {
		// Signing keys for this run (cmd/local keeps its own with the
		// embedded data and sets JWT_KEYS).
		ks, err := signing.NewKeySet(cfg.JWTAlgorithm, opts.Now())
		if err != nil {
			return nil, err
		}
		cfg.JWTKeys = &ks
	}
	refusals := opts.Log
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
		refusals = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s := &Stack{Counters: map[string]*store.Counter{}, now: opts.Now}
	backend, embedded, err := Backend(cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	s.DynamoDB = embedded
	s.Faults = NewFaults(backend)
	url, err := s.serve(NewStrict(s.Faults, embedded != nil, refusals))
	if err != nil {
		return nil, err
	}
	cfg.DynamoDBEndpoint = url
	if cfg.SESEndpoint == "" {
		s.Outbox = outbox.New()
		url, err := s.serve(s.Outbox)
		if err != nil {
			s.Close()
			return nil, err
		}
		cfg.SESEndpoint = url
	}
	s.Config = cfg
	if err := s.build(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) build(ctx context.Context, opts Options) error {
	cfg := s.Config
	var err error
	if s.DB, err = store.NewClient(ctx, store.ClientConfig{Endpoint: cfg.DynamoDBEndpoint, MaxBackoff: cfg.RetryMaxBackoff}); err != nil {
		return err
	}
	s.Store = store.New(s.DB, cfg.Table)
	if err := CreateTable(ctx, s.DB, cfg.Table); err != nil {
		return err
	}
	if cfg.JWTKeys != nil {
		if err := keyring.Publish(ctx, s.Store, *cfg.JWTKeys, opts.Now()); err != nil {
			return err
		}
	}
	awsCfg, err := config.AWS(ctx, cfg.SESEndpoint, cfg.RetryMaxBackoff)
	if err != nil {
		return err
	}
	ses := mail.SES(awsCfg, cfg.SESEndpoint)
	s.Functions = map[string]lambdahttp.Handler{}
	var local exports.Store
	if cfg.ExportBucket == "" {
		dir, err := os.MkdirTemp("", "guichet-exports-")
		if err != nil {
			return err
		}
		s.exportsDir, s.Exports = dir, exports.NewLocal(dir, cfg.PublicURL, opts.Now)
		local = s.Exports
	}
	for _, fn := range route.Functions() {
		c := &store.Counter{}
		s.Counters[fn] = c
		db, err := store.NewClient(ctx, store.ClientConfig{Endpoint: cfg.DynamoDBEndpoint, Counter: c, MaxBackoff: cfg.RetryMaxBackoff})
		if err != nil {
			return err
		}
		deps, err := app.New(cfg, db, opts.Log, opts.Now).WithMail(ses).WithExports(ctx, config.AWS, local)
		if err != nil {
			return err
		}
		switch fn {
		case route.Authorizer:
			s.Authorizer = app.Authorizer(deps)
			continue
		case route.Jobs:
			s.Jobs = deps.Jobs()
			continue
		}
		ops, err := deps.Operations(fn)
		if err != nil {
			return err
		}
		if s.Functions[fn], err = app.Function(fn, deps, ops); err != nil {
			return err
		}
	}
	gw := opts.Gateway
	gw.App = cfg.AppRoutes
	if cfg.JWTKeys != nil && gw.JWT.Keys == nil {
		// API Gateway's JWT authorizer reads the JWKS the stack publishes;
		// the local one, that of the key set the stack signs with.
		set := cfg.JWTKeys.JWKS()
		gw.JWT = gateway.JWTAuthorizer{Issuer: cfg.PublicURL, Audience: cfg.Audience(),
			Keys: func(context.Context) (jose.JSONWebKeySet, error) { return set, nil }}
	}
	s.Gateway, err = gateway.NewWith(s.Functions, s.Authorizer, opts.Log, opts.Now, gw)
	return err
}

// serve runs h on a loopback port and returns its URL.
func (s *Stack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("devstack: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Handler serves the API and, under /_local/, the captured mail.
func (s *Stack) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Outbox != nil {
		mux.Handle("GET /_local/", s.Outbox.ListHandler())
	}
	if s.Exports != nil {
		mux.Handle("GET "+exports.LocalPath, s.Exports.Handler())
	}
	mux.Handle("/", s.Gateway)
	return mux
}

// RunJobs runs every job left unfinished, however recent (in AWS the
// table's stream runs them as they are written), and every scheduled task.
func (s *Stack) RunJobs(ctx context.Context) error { return s.Jobs.Sweep(ctx, 0) }

// Calls returns the DynamoDB calls made by all functions since the last
// ResetCounters.
func (s *Stack) Calls() int {
	n := 0
	for _, c := range s.Counters {
		n += c.Calls()
	}
	return n
}

// ResetCounters sets every function's call count to zero.
func (s *Stack) ResetCounters() {
	for _, c := range s.Counters {
		c.Reset()
	}
}

// Close stops the embedded services.
func (s *Stack) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
	if s.exportsDir != "" {
		os.RemoveAll(s.exportsDir)
	}
}

// Seed creates the organization code with an owner of the given e-mail
// and password unless it exists, at the stack's time (Options.Now). It returns the organization created, or
// created=false when it was there already.
func (s *Stack) Seed(ctx context.Context, name, code, email, pw string) (organization.Created, bool, error) {
	svc := organization.New(s.Store, s.Config.Password, s.Config.Permissions, s.now)
	c, err := svc.Create(ctx, organization.CreateInput{Name: name, Code: code, OwnerEmail: email, OwnerPassword: pw})
	if p, ok := problem.As(err); ok && p.Code == "already_exists" {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	return c, true, nil
}

// SeedInvitation invites email as a member of the organization c, as its
// owner, without sending mail, and returns the invitation's link.
func (s *Stack) SeedInvitation(ctx context.Context, c organization.Created, email string) (string, error) {
	perms, _ := s.Config.Permissions.BuiltIn(permission.RoleOwner)
	owner := principal.Principal{Org: c.Org.ID, User: c.Owner.ID, Kind: store.Person, Role: permission.RoleOwner,
		Permissions: perms, Credential: principal.Session, CredentialID: "seed"}
	d := app.New(s.Config, s.DB, slog.New(slog.NewJSONHandler(io.Discard, nil)), s.now)
	inv, err := d.Invitations().Create(ctx, owner, invitations.CreateRequest{Email: email, Role: permission.RoleMember})
	if err != nil {
		return "", fmt.Errorf("devstack: seed invitation: %w", err)
	}
	return inv.Link, nil
}

// SeedMembership makes the person of an existing login (email, pw) a
// member of the organization c too: c's owner invites the address and
// the person accepts with its password, as the API does.
func (s *Stack) SeedMembership(ctx context.Context, c organization.Created, email, pw string) error {
	link, err := s.SeedInvitation(ctx, c, email)
	if err != nil {
		return err
	}
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("devstack: seed membership: %w", err)
	}
	d := app.New(s.Config, s.DB, slog.New(slog.NewJSONHandler(io.Discard, nil)), s.now)
	if _, err := d.Invitations().Accept(ctx, invitations.AcceptRequest{Token: u.Query().Get("token"), Password: pw}, session.Client{IP: "127.0.0.1"}); err != nil {
		return fmt.Errorf("devstack: seed membership: %w", err)
	}
	return nil
}

// Backend returns the DynamoDB at endpoint, as a reverse proxy, or a new
// embedded one (returned as embedded too) when endpoint is empty.
func Backend(endpoint string) (h http.Handler, embedded *miniserver.Server, err error) {
	if endpoint == "" {
		srv := miniserver.NewServer()
		return srv, srv, nil
	}
	target, err := url.Parse(endpoint)
	if err != nil || target.Host == "" {
		return nil, nil, fmt.Errorf("devstack: DynamoDB endpoint %q is no URL", endpoint)
	}
	// One connection a request: a single-threaded server (moto's, run
	// so) serves one connection at a time and would wait on an idle one.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }, Transport: tr}, nil, nil
}

// DeleteTable deletes table: the end of a test's own table on a shared
// DynamoDB.
func DeleteTable(ctx context.Context, db *dynamodb.Client, table string) error {
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
		return fmt.Errorf("devstack: delete table: %w", err)
	}
	return nil
}

// CreateTable creates the table with its index unless it exists.
func CreateTable(ctx context.Context, db *dynamodb.Client, table string) error {
	str := types.ScalarAttributeTypeS
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   &table,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: str},
			{AttributeName: aws.String("sk"), AttributeType: str},
			{AttributeName: aws.String("gsi1pk"), AttributeType: str},
			{AttributeName: aws.String("gsi1sk"), AttributeType: str},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("gsi1"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("gsi1pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("gsi1sk"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("devstack: create table: %w", err)
	}
	return nil
}
