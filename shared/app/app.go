// Package app wires Guichet's functions: from the configuration and the
// AWS clients it builds each function's handler, the value lambda.Start
// receives in AWS and the local gateway invokes on a developer's machine.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/logging"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/openapi"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/passwordreset"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/profile"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
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
}

// FromEnv builds the dependencies of a function running in AWS (or against
// the endpoints the environment names).
func FromEnv(ctx context.Context) (Deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return Deps{}, err
	}
	db, err := store.NewClient(ctx, store.ClientConfig{Endpoint: cfg.DynamoDBEndpoint})
	if err != nil {
		return Deps{}, err
	}
	var ses *sesv2.Client
	if cfg.MailFrom != "" {
		awsCfg, err := config.AWS(ctx, cfg.SESEndpoint)
		if err != nil {
			return Deps{}, err
		}
		ses = sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
			if cfg.SESEndpoint != "" {
				o.BaseEndpoint = aws.String(cfg.SESEndpoint)
			}
		})
	}
	return New(cfg, db, ses, logging.New(os.Stderr, cfg.LogLevel), time.Now), nil
}

// New builds the dependencies from ready clients.
func New(cfg config.Config, db *dynamodb.Client, ses *sesv2.Client, log *slog.Logger, now func() time.Time) Deps {
	return Deps{
		Config: cfg,
		Store:  store.New(db, cfg.Table),
		Mail:   mail.NewNotifier(mail.New(ses, cfg.MailFrom, cfg.MailConfigSet), templates(), log),
		Log:    log,
		Now:    now,
	}
}

// Invitations returns the invitation service.
func (d Deps) Invitations() *invitations.Service {
	sessions := session.New(d.Store, d.SessionConfig(), d.Now)
	return invitations.New(d.Store, sessions, d.Mail, d.Config.PublicURL, d.SessionConfig().Password, d.Now)
}

// PasswordReset returns the password reset service.
func (d Deps) PasswordReset() *passwordreset.Service {
	rc := passwordreset.DefaultConfig()
	rc.Floor = d.Config.ResetFloor
	return passwordreset.New(d.Store, d.Mail, d.Config.PublicURL, d.SessionConfig().Password, rc, d.Now)
}

// Users returns the users service.
func (d Deps) Users() *users.Service {
	return users.New(d.Store, d.SessionConfig().Password, d.Config.Clients, d.PasswordReset(), d.Now)
}

// SessionConfig is the session policy the configuration sets.
func (d Deps) SessionConfig() session.Config {
	c := session.DefaultConfig()
	c.AccessTTL, c.RefreshTTL = d.Config.AccessTTL, d.Config.RefreshTTL
	c.MaxFailures, c.LockWindow = d.Config.MaxFailures, d.Config.LockWindow
	return c
}

// operationsOf returns the handlers of a function's routes. A route whose
// operation is not built yet answers 501 not_implemented (and fails
// TestEveryRouteIsServed): work in progress is visible, never silent.
func (d Deps) operationsOf(fn string) (router.Operations, error) {
	ops, err := d.operations(fn)
	if err != nil {
		return nil, err
	}
	for _, rt := range route.ByFunction(fn) {
		if _, ok := ops[rt.Operation]; !ok {
			ops[rt.Operation] = router.Op{Handle: func(w http.ResponseWriter, r *http.Request) error {
				return problem.New(http.StatusNotImplemented, "not_implemented", "This route is not built yet.")
			}}
		}
	}
	return ops, nil
}

// operations returns the handlers of a function's routes.
func (d Deps) operations(fn string) (router.Operations, error) {
	switch fn {
	case route.Auth:
		return session.New(d.Store, d.SessionConfig(), d.Now).Operations(), nil
	case route.Profile:
		return profile.New(d.Store).Operations(), nil
	case route.Organization:
		return organization.New(d.Store, d.SessionConfig().Password, d.Now).Operations(), nil
	case route.Users:
		return d.Users().Operations(), nil
	case route.Invitations:
		return d.Invitations().Operations(), nil
	case route.PasswordReset:
		return d.PasswordReset().Operations(), nil
	case route.APIKeys:
		return router.Operations{}, nil
	case route.Pages:
		return router.Operations{
			"openapi": {Handle: openapi.Handler(func() ([]byte, error) { return OpenAPI(d) }), Response: map[string]any{}},
		}, nil
	}
	return nil, fmt.Errorf("app: unknown function %q", fn)
}

// OpenAPI returns the API's description, built from every function's
// operations.
func OpenAPI(d Deps) ([]byte, error) {
	all := router.Operations{}
	for _, fn := range route.Functions() {
		if fn == route.Authorizer {
			continue
		}
		ops, err := d.operationsOf(fn)
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

// Function returns the handler of function fn.
func Function(fn string, d Deps) (lambdahttp.Handler, error) {
	ops, err := d.operationsOf(fn)
	if err != nil {
		return nil, err
	}
	h, err := router.New(fn, ops, d.Log, store.Problem)
	if err != nil {
		return nil, err
	}
	return lambdahttp.New(h), nil
}

// Authorizer returns the authorizer's handler.
func Authorizer(d Deps) lambdahttp.Authorizer {
	return authorizer.New(d.Store, d.Log, d.Now).Handle
}

// templates returns the embedded mail templates. They are checked by the
// mail package's tests, so failing to load them is a build defect.
func templates() *mail.Templates {
	t, err := mail.LoadTemplates()
	if err != nil {
		panic(err)
	}
	return t
}
