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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/logging"
	"github.com/guichet/guichet/shared/password"
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
	log := logging.New(os.Stderr, cfg.LogLevel)
	st, err := devstack.Start(ctx, devstack.Options{Config: cfg, Log: log})
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
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprint(out, banner(cfg.PublicURL, email, pw, created, invitation))
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
	return cfg, nil
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

func banner(url, email, pw string, created bool, invitation string) string {
	who := fmt.Sprintf("  owner:    %s\n  password: %s\n", email, pw)
	if !created {
		who = fmt.Sprintf("  owner:    %s (organization already existed: its password is unchanged)\n", email)
	}
	if invitation != "" {
		who += fmt.Sprintf("A pending invitation to %s (open it in a browser to accept it):\n  %s\n", sampleInvitee, invitation)
	}
	return fmt.Sprintf(`
Guichet is running at %[1]s
Demo organization "demo":
%[2]s
Try it:
  curl -s %[1]s/v1/auth/login -H "Content-Type: application/json" -d '{"login":"%[3]s","password":"%[4]s"}'
  curl -s %[1]s/v1/me -H "Authorization: Bearer <access_token>"
Sign in on the hosted pages: %[1]s/login (forgot password: %[1]s/forgot)
Mail sent by the API: %[1]s/_local/mail
Stop with Ctrl-C.
`, url, who, email, pw)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
