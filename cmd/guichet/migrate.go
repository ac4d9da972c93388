package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/config/profiles"
)

// migrateCommand runs `migrate`: the table's users with a proved e-mail
// login become persons' memberships (store.Migrate), a batch at a time.
// Each batch prints the cursor to resume from should the run stop; running
// it again from the start is harmless.
func migrateCommand(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	batch := fs.Int("batch", 100, "items read per batch")
	cursor := fs.String("cursor", "", "resume from this cursor (printed by an interrupted run)")
	if err := fs.Parse(args); err != nil || *batch < 1 || *batch > 1000 {
		return errors.New(usage)
	}
	d, err := app.LoadWith(ctx, getenv, profiles.AWS)
	if err != nil {
		return err
	}
	var moved, counted, skipped, scanned int
	for {
		b, err := d.Store.Migrate(ctx, *cursor, *batch)
		moved, counted, skipped, scanned = moved+b.Moved, counted+b.Counted, skipped+b.Skipped, scanned+b.Scanned
		if err != nil {
			return fmt.Errorf("%w\nresume with: guichet migrate --cursor %s", err, strconv.Quote(*cursor))
		}
		if b.Cursor == "" {
			break
		}
		*cursor = b.Cursor
	}
	_, err = fmt.Fprintf(out, "migrated: %d items read, %d users became persons, %d were already, %d memberships were counted\n", scanned, moved, skipped, counted)
	return err
}
