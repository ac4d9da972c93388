package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/config/profiles"
	"github.com/guichet/guichet/shared/keyring"
)

// keysCommand runs `keys init` (the first key set, at the first deploy;
// again, it only publishes the JWKS) and `keys rotate` (what the stack's
// schedule runs): the key set lives in the secret JWT_KEYS_SECRET names,
// or in --file (a local stack's), and the JWKS item in the table.
func keysCommand(ctx context.Context, verb string, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("keys "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "", "the key set's file, instead of the secret JWT_KEYS_SECRET names")
	if err := fs.Parse(args); err != nil {
		return errors.New(usage)
	}
	d, err := app.LoadWith(ctx, getenv, profiles.AWS)
	if err != nil {
		return err
	}
	var v keyring.Vault = keyring.File(*file)
	if *file == "" {
		if v, err = d.KeyVault(); err != nil {
			return err
		}
	}
	if verb == "init" {
		made, err := keyring.Init(ctx, v, d.Store, d.Config.JWTAlgorithm, d.Now())
		if err != nil {
			return err
		}
		if made {
			_, err = fmt.Fprintln(out, "keys: a new key set was made and its JWKS published")
		} else {
			_, err = fmt.Fprintln(out, "keys: the key set exists; its JWKS was published again")
		}
		return err
	}
	ks, err := d.RotateKeys(ctx, v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "keys: rotated; %s signs, %s is next, %d previous key(s) published\n", ks.Current.ID, ks.Next.ID, len(ks.Previous))
	return err
}
