package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// cliMaxRows is the most rows the command imports at once: no function
// timeout bounds it, only the memory of the machine.
const cliMaxRows = 1_000_000

// usersCommand runs `users import` and `users export` against the table:
// the same rules as the API, as the organization's system actor holding
// every permission.
func usersCommand(ctx context.Context, cmd string, args []string, out, errOut io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("users "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	code := fs.String("org", "", "organization code")
	format := fs.String("format", "", "csv or jsonl (default: from the file's extension, else csv)")
	file := fs.String("file", "", "file to import")
	dry := fs.Bool("dry-run", false, "validate only")
	invite := fs.Bool("send-invitations", false, "mail users without a password hash a link to set one")
	hashes := fs.Bool("include-password-hashes", false, "export password hashes")
	outFile := fs.String("out", "", "file to export to (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%v\n%s", err, usage)
	}
	if *code == "" || (cmd == "import" && *file == "") {
		return errors.New(usage)
	}
	d, org, err := orgDeps(ctx, getenv, *code)
	if err != nil {
		return err
	}
	p := principal.Principal{Org: org.ID, User: "system", Kind: store.Person, Role: permission.RoleOwner,
		Permissions: d.Config.Permissions.All(), Credential: "cli"}
	f := strings.ToLower(*format)
	if f == "" {
		f = users.CSV
		if ext := strings.ToLower(filepath.Ext(*file + *outFile)); ext == ".jsonl" || ext == ".ndjson" {
			f = users.JSONL
		}
	}
	bar := &progress{w: errOut, label: cmd}
	if cmd == "export" {
		return exportUsers(ctx, d.Users(), p, users.ExportOptions{Format: f, Hashes: *hashes, Progress: bar.count}, *outFile, out, errOut)
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	rep, err := d.Users().Import(ctx, p, body, users.ImportOptions{Format: f, DryRun: *dry, SendInvitations: *invite,
		Progress: bar.ratio, MaxRows: cliMaxRows})
	bar.done()
	if err != nil {
		return explain(err)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	verb := "imported"
	if *dry {
		verb = "would import"
	}
	fmt.Fprintf(errOut, "%s %d users into %s; %d rows rejected; %d invitations sent\n",
		verb, len(rep.Accepted), org.Code, len(rejected(rep)), rep.Invited)
	if n := len(rejected(rep)); n > 0 {
		return fmt.Errorf("%d rows rejected (see the report's rejected list)", n)
	}
	return nil
}

// reindexCommand runs `users reindex`: the filter entries and built-in
// role counts of an organization's users written before they existed
// (store.Reindex), audited as users.reindex.
func reindexCommand(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("users reindex", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	code := fs.String("org", "", "organization code")
	if err := fs.Parse(args); err != nil || *code == "" {
		return errors.New(usage)
	}
	d, org, err := orgDeps(ctx, getenv, *code)
	if err != nil {
		return err
	}
	rep, err := d.Store.Reindex(ctx, org.ID)
	if err != nil {
		return err
	}
	if err := d.Store.AddAudit(ctx, store.Audit{Org: org.ID, Time: time.Now().UTC(), Actor: "system", Via: "cli",
		Action: "users.reindex", Target: "organization:" + org.ID,
		Counts: map[string]int{"users": rep.Users, "entries": rep.Entries}}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "reindexed %d users of %s: %d filter entries; built-in role holders %v\n",
		rep.Users, org.Code, rep.Entries, rep.Counts)
	return err
}

func rejected(rep users.ImportReport) map[int]bool {
	lines := map[int]bool{}
	for _, r := range rep.Rejected {
		lines[r.Line] = true
	}
	return lines
}

func exportUsers(ctx context.Context, svc *users.Service, p principal.Principal, o users.ExportOptions, path string, out, errOut io.Writer) error {
	w := out
	var f *os.File
	if path != "" {
		var err error
		// Hashes are secrets: the file is the user's alone.
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	n, err := svc.Export(ctx, p, o, bw)
	if err != nil {
		return explain(err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(errOut, "\nexported %d users\n", n)
	return nil
}

// progress draws a progress bar on a terminal or a log alike: a carriage
// return and the bar, no cursor control.
type progress struct {
	w     io.Writer
	label string
	drawn bool
}

func (b *progress) ratio(done, total int) {
	const width = 30
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d", b.label, strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	b.drawn = true
}

func (b *progress) count(n int) {
	fmt.Fprintf(b.w, "\r%s: %d users read", b.label, n)
	b.drawn = true
}

func (b *progress) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// orgDeps builds the dependencies from the environment and reads the
// organization of code.
func orgDeps(ctx context.Context, getenv func(string) string, code string) (app.Deps, store.Org, error) {
	d, err := deps(ctx, getenv)
	if err != nil {
		return d, store.Org{}, err
	}
	org, err := d.Store.OrgByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return d, org, fmt.Errorf("no organization has the code %q", code)
	}
	return d, org, err
}
