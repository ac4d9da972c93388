// Command guichet administers a Guichet deployment against the table the
// environment names (TABLE_NAME, DYNAMODB_ENDPOINT, AWS credentials).
//
//	guichet org create --name N --code C --owner-email E [--language fr|en|nl]
//	guichet users import --org CODE --file F [--format csv|jsonl] [--dry-run] [--send-invitations]
//	guichet users export --org CODE [--format csv|jsonl] [--include-password-hashes] [--out F]
//	guichet oidc client-secret  prints a new OIDC client secret, once, and its hash for OIDC_CLIENTS
//	guichet keys init|rotate [--file F]  the JWT signing keys (JWT_KEYS_SECRET or a file)
//	guichet openapi      prints the API's OpenAPI 3.1 description
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/config/profiles"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/problem"
)

func main() {
	if err := runWith(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "guichet:", err)
		os.Exit(2)
	}
}

const usage = `usage:
  guichet org create --name NAME --code CODE --owner-email EMAIL [--language fr|en|nl]
  guichet users import --org CODE --file FILE [--format csv|jsonl] [--dry-run] [--send-invitations]
  guichet users export --org CODE [--format csv|jsonl] [--include-password-hashes] [--out FILE]
  guichet users reindex --org CODE
  guichet migrate [--batch N] [--cursor CURSOR]
  guichet oidc client-secret
  guichet keys init|rotate [--file FILE]
  guichet openapi`

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	return runWith(ctx, args, out, io.Discard, getenv)
}

// runWith runs a command; progress goes to errOut.
func runWith(ctx context.Context, args []string, out, errOut io.Writer, getenv func(string) string) error {
	if len(args) >= 2 && args[0] == "users" && args[1] == "reindex" {
		return reindexCommand(ctx, args[2:], out, getenv)
	}
	if len(args) >= 2 && args[0] == "users" && (args[1] == "import" || args[1] == "export") {
		return usersCommand(ctx, args[1], args[2:], out, errOut, getenv)
	}
	if len(args) >= 2 && args[0] == "keys" && (args[1] == "init" || args[1] == "rotate") {
		return keysCommand(ctx, args[1], args[2:], out, getenv)
	}
	if len(args) >= 1 && args[0] == "migrate" {
		return migrateCommand(ctx, args[1:], out, getenv)
	}
	if len(args) == 2 && args[0] == "oidc" && args[1] == "client-secret" {
		secret, hash, err := registry.NewSecret()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "secret (give it to the client, it is shown once): %s\nsecret_hash (put it in OIDC_CLIENTS): %s\n", secret, hash)
		return err
	}
	if len(args) == 1 && args[0] == "openapi" {
		doc, err := app.OpenAPI()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", doc)
		return err
	}
	if len(args) < 2 || args[0] != "org" || args[1] != "create" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "organization name")
	code := fs.String("code", "", "organization code (immutable)")
	email := fs.String("owner-email", "", "owner's e-mail address")
	lang := fs.String("language", "en", "default language")
	if err := fs.Parse(args[2:]); err != nil {
		return fmt.Errorf("%v\n%s", err, usage)
	}
	d, err := deps(ctx, getenv)
	if err != nil {
		return err
	}
	o, inv, err := d.Invitations().CreateOrganization(ctx, organization.CreateInput{
		Name: *name, Code: *code, Language: *lang, OwnerEmail: *email})
	if err != nil {
		return explain(err)
	}
	sent := "not sent (no mail configured): give the owner the link"
	if inv.MailSent {
		sent = "sent to " + inv.Email
	}
	fmt.Fprintf(out, "organization %s (%s) created\nowner's invitation link (valid until %s, mail %s):\n%s\n",
		o.Code, o.ID, inv.ExpiresAt.Format("2006-01-02 15:04 UTC"), sent, inv.Link)
	return nil
}

// deps builds the functions' dependencies against the table and mail the
// environment names.
func deps(ctx context.Context, getenv func(string) string) (app.Deps, error) {
	d, err := app.LoadWith(ctx, getenv, profiles.AWS)
	if err != nil {
		return d, err
	}
	return d.WithSES(ctx, profiles.AWS)
}

// explain turns a problem into a message naming the flags at fault.
func explain(err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	msg := p.Detail
	for _, f := range p.Errors {
		msg += fmt.Sprintf("\n  --%s %s", strings.ReplaceAll(f.Field, "_", "-"), f.Message)
	}
	return errors.New(msg)
}
