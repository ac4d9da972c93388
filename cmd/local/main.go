// Command local runs the whole Guichet API on one local port, with an
// embedded DynamoDB and an embedded SES outbox, through the same function
// handlers Lambda runs. It creates a demo organization with a pending
// invitation and prints how to log in and the invitation's link. `make run`
// starts it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/logging"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	addr := net.JoinHostPort("127.0.0.1", or(getenv("PORT"), "8080"))
	cfg, err := localConfig(getenv, addr)
	if err != nil {
		return err
	}
	demoSecret := ""
	if len(cfg.OIDCClients) == 0 {
		if cfg.OIDCClients, demoSecret, err = demoClients(); err != nil {
			return err
		}
	}
	gw, err := gatewayOptions(getenv, cfg)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogLevel)
	st, err := devstack.Start(ctx, devstack.Options{Config: cfg, Log: log, Gateway: gw})
	if err != nil {
		return err
	}
	defer st.Close()
	email := or(getenv("LOCAL_OWNER_EMAIL"), "owner@demo.example")
	pw := getenv("LOCAL_OWNER_PASSWORD")
	if pw == "" {
		if pw, err = password.Generate(16); err != nil {
			return err
		}
	}
	org, created, err := st.Seed(ctx, "Demo", "demo", email, pw)
	if err != nil {
		return fmt.Errorf("seed demo organization: %w", err)
	}
	invitation := ""
	if created {
		if invitation, err = st.SeedInvitation(ctx, org, sampleInvitee); err != nil {
			return err
		}
		// A second organization, which the demo owner belongs to as well.
		second, _, err := st.Seed(ctx, "Second", "second", secondOwner, pw)
		if err != nil {
			return fmt.Errorf("seed second organization: %w", err)
		}
		if err := st.SeedMembership(ctx, second, email, pw); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprint(out, banner(cfg.PublicURL, email, pw, created, invitation, extras(st.Config, gw)+oidcBanner(cfg.PublicURL, demoSecret)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go runJobs(ctx, st, jobsInterval)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "\nstopping…")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// jobsInterval is how often `make run` runs the jobs changes leave behind
// them and the scheduled tasks (in AWS: the table's stream at once, and a
// schedule).
const jobsInterval = time.Second

// runJobs runs the stack's jobs and tasks every interval until ctx ends;
// failures are in the log.
func runJobs(ctx context.Context, st *devstack.Stack, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = st.RunJobs(ctx)
		}
	}
}

// localConfig is the environment's configuration with local defaults:
// mail goes to the embedded outbox, links point at this server, and the
// application declares the demo permissions unless APP_PERMISSIONS says
// otherwise ([] for none).
func localConfig(getenv func(string) string, addr string) (config.Config, error) {
	cfg, err := config.Parse(func(k string) string {
		if v := getenv(k); v != "" || k != "APP_PERMISSIONS" {
			return v
		}
		return demoPermissions
	})
	if err != nil {
		return cfg, err
	}
	if getenv("PUBLIC_URL") == "" {
		cfg.PublicURL = "http://" + addr
	}
	if cfg.MailFrom == "" {
		cfg.MailFrom = "guichet@localhost.localdomain"
	}
	if cfg.JWTKeys == nil && cfg.JWTKeysSecret == "" {
		ks, err := localKeys(getenv)
		if err != nil {
			return cfg, err
		}
		cfg.JWTKeys = &ks
	}
	if cfg.JWTKeys != nil && cfg.JWTKeys.Current.Alg != signing.RS256 && slices.ContainsFunc(cfg.AppRoutes, route.AppRoute.IsFast) {
		return cfg, fmt.Errorf("local: fast application routes need RS256 keys (API Gateway's JWT authorizer verifies RSA only), "+
			"and the key set signs %s: unset JWT_ALGORITHM and remove the key set's file (JWT_KEYS_FILE; "+
			"by default guichet/jwt-keys.json in the user's cache directory)", cfg.JWTKeys.Current.Alg)
	}
	return cfg, nil
}

// localKeys is the signing key set of `make run`, made once and kept in
// JWT_KEYS_FILE (default: guichet/jwt-keys.json in the user's cache
// directory, readable by its owner only), so that the tokens of a
// DynamoDB Local kept between runs still verify after a restart. The
// stack publishes its JWKS at start.
func localKeys(getenv func(string) string) (signing.KeySet, error) {
	file := getenv("JWT_KEYS_FILE")
	if file == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return signing.KeySet{}, fmt.Errorf("local: JWT_KEYS_FILE unset and no cache directory: %w", err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "guichet"), 0o700); err != nil {
			return signing.KeySet{}, err
		}
		file = filepath.Join(dir, "guichet", "jwt-keys.json")
	}
	v := keyring.File(file)
	ks, found, err := v.Read(context.Background())
	if err != nil || found {
		return ks, err
	}
	alg, err := config.JWTAlgorithm(getenv)
	if err != nil {
		return ks, err
	}
	if ks, err = signing.NewKeySet(alg, time.Now()); err != nil {
		return ks, err
	}
	return ks, v.Write(context.Background(), ks)
}

// demoPermissions are the application permissions of `make run` when
// APP_PERMISSIONS is unset.
const demoPermissions = `[
 {"name": "projects:read", "description": {"en": "See projects", "fr": "Voir les projets", "nl": "Projecten bekijken"}},
 {"name": "projects:write", "description": {"en": "Create and change projects", "fr": "Créer et modifier des projets", "nl": "Projecten aanmaken en wijzigen"}},
 {"name": "invoices:read", "description": {"en": "See invoices", "fr": "Voir les factures", "nl": "Facturen bekijken"}}]`

// sampleInvitee is the address of the pending invitation the demo
// organization starts with.
const sampleInvitee = "new.colleague@demo.example"

// gatewayOptions are what the local gateway does besides Guichet's API:
// front the developer's application (APP_UPSTREAM with APP_ROUTES, which
// the configuration read), CORS (CORS_ORIGINS, comma-separated, as the
// stack's corsOrigins), and API Gateway's own 401 of an authorizer with an
// identity source (AUTHORIZER_CACHE_TTL_SECONDS above 0, as the stack's
// authorizerCacheTtlSeconds).
func gatewayOptions(getenv func(string) string, cfg config.Config) (gateway.Options, error) {
	var o gateway.Options
	if v := strings.TrimSpace(getenv("APP_UPSTREAM")); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("APP_UPSTREAM: want a URL such as http://127.0.0.1:3000, got %q", v)
		}
		if len(cfg.AppRoutes) == 0 {
			return o, errors.New("APP_UPSTREAM is set but APP_ROUTES lists no route: nothing would reach it")
		}
		o.Upstream = u
	} else if len(cfg.AppRoutes) > 0 {
		return o, errors.New("APP_ROUTES is set but APP_UPSTREAM is not: where do its routes go?")
	}
	for _, origin := range strings.Split(getenv("CORS_ORIGINS"), ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			o.CORSOrigins = append(o.CORSOrigins, origin)
		}
	}
	if v := getenv("AUTHORIZER_CACHE_TTL_SECONDS"); v != "" {
		ttl, err := strconv.Atoi(v)
		if err != nil || ttl < 0 || ttl > 3600 {
			return o, fmt.Errorf("AUTHORIZER_CACHE_TTL_SECONDS: want 0 to 3600, got %q", v)
		}
		o.IdentitySource = ttl > 0
	}
	return o, nil
}

// extras is the banner's part about the embedded DynamoDB and the
// application in front of which the gateway runs.
func extras(cfg config.Config, o gateway.Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Embedded DynamoDB: %s (table %s); create another organization with:\n", cfg.DynamoDBEndpoint, cfg.Table)
	fmt.Fprintf(&b, "  DYNAMODB_ENDPOINT=%s TABLE_NAME=%s PUBLIC_URL=%s go run ./cmd/guichet org create --name \"Globex\" --code globex --owner-email boss@globex.example\n", cfg.DynamoDBEndpoint, cfg.Table, cfg.PublicURL)
	if o.Upstream != nil {
		fmt.Fprintf(&b, "Your application at %s, behind Guichet's authorizer (JWT authorizer on fast routes):\n", o.Upstream)
		for _, r := range cfg.AppRoutes {
			who := string(r.Access)
			if r.Access == route.Permission {
				who = r.Permission
			}
			if r.IsFast() {
				who += ", fast: the token alone, revocations seen at its expiry"
			}
			fmt.Fprintf(&b, "  %-7s %s%s  (%s)\n", r.Method, cfg.PublicURL, r.Path, who)
		}
	}
	if len(o.CORSOrigins) > 0 {
		fmt.Fprintf(&b, "CORS allowed for: %s\n", strings.Join(o.CORSOrigins, ", "))
	}
	return b.String()
}

// demoClients are the OpenID Connect clients of `make run` when
// OIDC_CLIENTS is unset: a single-page application on the loopback and a
// service client (it may introspect tokens), whose secret is new on every
// start.
func demoClients() (registry.Registry, string, error) {
	secret, hash, err := registry.NewSecret()
	if err != nil {
		return nil, "", err
	}
	return registry.Registry{
		{ID: "demo-spa", Name: "Demo single-page app", Type: registry.SPA, FirstParty: true,
			RedirectURIs:           []string{"http://127.0.0.1:5173/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:5173/"},
			Scopes:                 []string{"openid", "profile", "email", "offline_access", "projects:read", "projects:write"}},
		{ID: "demo-service", Name: "Demo service", Type: registry.Service, SecretHash: hash,
			Scopes: []string{"users:read", "organization:read", "projects:read"}},
	}, secret, nil
}

// oidcBanner is the banner's part about the demo OpenID Connect clients;
// empty when OIDC_CLIENTS names the clients.
func oidcBanner(url, serviceSecret string) string {
	if serviceSecret == "" {
		return ""
	}
	return fmt.Sprintf("OpenID Connect: %[1]s/.well-known/openid-configuration\n"+
		"  client demo-spa (public, PKCE): redirect http://127.0.0.1:5173/callback\n"+
		"  client demo-service, secret %[2]s:\n"+
		"  curl -s %[1]s/oauth/introspect -u demo-service:%[2]s -d token=<access_token or API key>\n", url, serviceSecret)
}

// secondOwner owns the demo's second organization, "second", which the
// demo owner is a member of too.
const secondOwner = "owner@second.example"

func banner(url, email, pw string, created bool, invitation, extras string) string {
	who := fmt.Sprintf("  owner:    %s\n  password: %s\n", email, pw)
	if !created {
		who = fmt.Sprintf("  owner:    %s (organization already existed: its password is unchanged)\n", email)
	}
	if invitation != "" {
		who += fmt.Sprintf("A pending invitation to %s (open it in a browser to accept it):\n  %s\n", sampleInvitee, invitation)
		who += fmt.Sprintf("Organization \"second\" (owner %s, same password); %s is a member of both:\n"+
			"  its login answers the organization challenge (both listed); \"organization\":\"demo\" picks directly,\n"+
			"  and POST /v1/auth/switch {\"organization\":\"second\"} moves a session over.\n", secondOwner, email)
	}
	return fmt.Sprintf(`
Guichet is running at %[1]s
Demo organization "demo":
%[2]s
Try it:
  curl -s %[1]s/v1/auth/login -H "Content-Type: application/json" -d '{"login":"%[3]s","password":"%[4]s"}'
  curl -s %[1]s/v1/auth/organization -H "Content-Type: application/json" -d '{"challenge_token":"<challenge_token>","organization":"demo"}'
  curl -s %[1]s/v1/me -H "Authorization: Bearer <access_token>"
Sign in on the hosted pages: %[1]s/login (forgot password: %[1]s/forgot)
Mail sent by the API: %[1]s/_local/mail
%[5]sStop with Ctrl-C.
`, url, who, email, pw, extras)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
