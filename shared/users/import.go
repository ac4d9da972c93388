package users

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Links makes and mails the set-password links of users imported without
// a password and of persons an admin creates (the password reset service
// does).
type Links interface {
	SetupLink(u store.User) (string, store.Credential, error)
	SendSetup(ctx context.Context, u store.User, org, inviter, role, link string, expires time.Time) bool
	SendWelcome(ctx context.Context, u store.User, org, inviter, role, link string, expires time.Time) bool
}

// ImportOptions say how to import.
type ImportOptions struct {
	// Format is CSV or JSONL.
	Format string
	// DryRun validates every row, against the table too, and writes nothing.
	DryRun bool
	// SendInvitations mails each user imported without a password hash a
	// link to set one (valid 7 days).
	SendInvitations bool
	// Progress, when set, is told how many rows were written so far.
	Progress func(done, total int)
	// MaxRows is the most rows taken; MaxRows when 0. The admin command,
	// which no function timeout bounds, takes more.
	MaxRows int
}

// ImportReport says what an import did with each row: every row is either
// accepted (written, or writable in a dry run) or rejected, once per
// broken rule.
type ImportReport struct {
	DryRun   bool          `json:"dry_run"`
	Accepted []AcceptedRow `json:"accepted"`
	Rejected []RejectedRow `json:"rejected"`
	// Invited counts the set-password links mailed.
	Invited int `json:"invited"`
	// Audited is false when the import's audit event could not be written
	// (the users were written nonetheless).
	Audited bool `json:"audited" doc:"Whether the import's audit event (users.import, with counts) was written; false in a dry run or when nothing was written."`
}

// AcceptedRow is a row imported (or importable, in a dry run).
type AcceptedRow struct {
	Line           int    `json:"line"`
	ID             string `json:"id,omitempty" doc:"The new user's id; absent in a dry run."`
	Email          string `json:"email,omitempty"`
	Username       string `json:"username,omitempty"`
	UserCode       string `json:"user_code,omitempty"`
	Status         string `json:"status" enum:"active|inactive|pending"`
	InvitationSent bool   `json:"invitation_sent,omitempty" doc:"A set-password link was mailed to the user."`
}

// RejectedRow is one reason a row was not imported.
type RejectedRow struct {
	Line   int    `json:"line"`
	Field  string `json:"field" doc:"The column at fault, or row for the row as a whole."`
	Reason string `json:"reason"`
}

// importWorkers is how many group transactions run at once: enough to
// import 10,000 users well within the function's timeout, few enough not
// to make the groups' shared counters (units, roles) contend much.
const importWorkers = 4

// importMargin is the time an import keeps in hand before its context's
// deadline: rows not written by then are reported as not written.
const importMargin = 2 * time.Second

// candidate is a row that passed the rules, ready to write.
type candidate struct {
	line    int
	new     store.NewUser
	link    string
	written bool
	sent    bool
}

// Import creates the users of an import file. Each row is validated with
// the rules of POST /v1/users (one build function), then rows are written
// in transactions of up to 100 items, each user with its login guard; a
// group that fails is retried row by row, so that only the culprits are
// rejected. No row is ever half-written.
func (s *Service) Import(ctx context.Context, p principal.Principal, body []byte, o ImportOptions) (ImportReport, error) {
	max := o.MaxRows
	if max == 0 {
		max = MaxRows
	}
	// An import writes rows with units and roles a unit-limited caller
	// could not give one by one; it goes through POST /v1/users instead.
	if sc, err := scope.Of(ctx, s.store, p); err != nil {
		return ImportReport{}, err
	} else if sc.Limited() {
		return ImportReport{}, problem.New(http.StatusForbidden, "unit_limited_role",
			"Your role acts only within your units: create users one at a time (POST /v1/users) instead of importing them.")
	}
	rows, err := ParseRows(body, o.Format, max)
	if err != nil {
		return ImportReport{}, err
	}
	org, err := s.store.GetOrg(ctx, p.Org)
	if err != nil {
		return ImportReport{}, err
	}
	rep := ImportReport{DryRun: o.DryRun, Accepted: []AcceptedRow{}, Rejected: []RejectedRow{}}
	reject := func(line int, field, format string, args ...any) {
		rep.Rejected = append(rep.Rejected, RejectedRow{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	roles, units, err := s.references(ctx, p.Org, rows)
	if err != nil {
		return ImportReport{}, err
	}
	now := s.now().UTC()
	var cands []*candidate
	firstLine := map[string]int{}
	for _, row := range rows {
		if row.Err != nil {
			reject(row.Line, row.Err.Field, "%s", row.Err.Message)
			continue
		}
		var v validate.Errors
		u, _, err := build(org, draftOf(row.Record), s.clients, &v)
		if err != nil {
			return ImportReport{}, err
		}
		assign(&u, row.Record.Role, s.importRole(p, row.Record.Role, roles, &v), s.clients, &v)
		for _, x := range u.Units {
			if units[x] == "" {
				v.Add("units", "lists %s, which is not a unit of this organization", x)
			}
		}
		if d := u.DefaultUnit; d != "" && len(u.UnitKinds) > 0 && !u.AllUnits && !slices.Contains(u.Units, d) && !slices.Contains(u.UnitKinds, units[d]) {
			v.Add("default_unit", "must be one of the user's units, or a unit of one of its unit kinds")
		}
		if field, login := loginOf(u); login != "" {
			if first, dup := firstLine[login]; dup {
				v.Add(field, "repeats the login of line %d", first)
			} else {
				firstLine[login] = row.Line
			}
		}
		if err := v.Err(); err != nil {
			pr, _ := problem.As(err)
			for _, f := range pr.Errors {
				reject(row.Line, f.Field, "%s", f.Message)
			}
			continue
		}
		u.Created, u.Updated = now, now
		c := &candidate{line: row.Line, new: store.NewUser{User: u}}
		if o.SendInvitations && u.Status == store.UserPending && !o.DryRun {
			link, cred, err := s.links.SetupLink(u)
			if err != nil {
				return ImportReport{}, err
			}
			c.link, c.new.Link = link, &cred
		}
		cands = append(cands, c)
	}
	cands, err = s.dropTaken(ctx, p.Org, cands, reject)
	if err != nil {
		return ImportReport{}, err
	}
	if !o.DryRun {
		if n := invitations(cands); n > 0 {
			// Taken before anything is written: a refused import writes nothing.
			if err := s.mails.Take(ctx, ratelimit.Mail{Org: p.Org, N: n}); err != nil {
				return ImportReport{}, err
			}
		}
		s.write(ctx, cands, o.Progress, reject)
		rep.Invited = s.invite(ctx, p, org, cands, roles)
	}
	for _, c := range cands {
		if !c.written && !o.DryRun {
			continue
		}
		u := c.new.User
		a := AcceptedRow{Line: c.line, Email: u.Email, Username: u.Username, UserCode: u.Code, Status: u.Status,
			InvitationSent: c.sent}
		if !o.DryRun {
			a.ID = u.ID
		}
		rep.Accepted = append(rep.Accepted, a)
	}
	slices.SortStableFunc(rep.Rejected, func(a, b RejectedRow) int { return a.Line - b.Line })
	if !o.DryRun && len(rep.Accepted) > 0 {
		counts := map[string]int{"accepted": len(rep.Accepted), "rejected_rows": rejectedRows(rep.Rejected)}
		if rep.Invited > 0 {
			counts["invited"] = rep.Invited
		}
		a := auditOf(p, s.now(), "users.import", "", "kind", "login", "names", "language", "role", "units", "unit_kinds", "status")
		a.Target, a.Counts = "import:"+store.NewID("imp_"), counts
		rep.Audited = s.store.AddAudit(context.WithoutCancel(ctx), a) == nil
	}
	return rep, nil
}

// invitations counts the candidates to mail a set-password link.
func invitations(cands []*candidate) int {
	n := 0
	for _, c := range cands {
		if c.link != "" {
			n++
		}
	}
	return n
}

func rejectedRows(rs []RejectedRow) int {
	n, last := 0, -1
	for _, r := range rs {
		if r.Line != last {
			n, last = n+1, r.Line
		}
	}
	return n
}

// draftOf is the creation request a record makes.
func draftOf(r Record) draft {
	return draft{Imported: true, PasswordHash: r.PasswordHash, CreateRequest: CreateRequest{
		Kind: r.Kind, Email: r.Email, Username: r.Username, UserCode: r.UserCode, Client: r.Client,
		Status: r.Status, FirstName: r.FirstName, LastName: r.LastName, Language: r.Language, Role: r.Role,
		Units: r.Units, UnitKinds: r.UnitKinds, AllUnits: r.AllUnits, DefaultUnit: r.DefaultUnit}}
}

// loginOf returns the login key of a built user and the column it comes
// from, or "" when its login is not valid.
func loginOf(u store.User) (field, login string) {
	switch {
	case u.Email != "":
		return "email", u.LoginKey()
	case u.Code != "":
		return "user_code", u.LoginKey()
	case u.Username != "":
		return "username", u.LoginKey()
	}
	return "", ""
}

// references reads what the rows refer to: the organization's custom
// roles and units (id → kind), each in one Query, and only when a row
// names one (or a default unit).
func (s *Service) references(ctx context.Context, org string, rows []Row) (map[string]store.Role, map[string]string, error) {
	needRoles, needUnits := false, false
	for _, r := range rows {
		if !permission.IsBuiltIn(r.Record.Role) && r.Record.Role != "" && r.Err == nil {
			needRoles = true
		}
		if (len(r.Record.Units) > 0 || r.Record.DefaultUnit != "") && r.Err == nil {
			needUnits = true
		}
	}
	roles, units := map[string]store.Role{}, map[string]string{}
	if needRoles {
		rs, err := s.store.ListRoles(ctx, org)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			roles[r.ID] = r
		}
	}
	if needUnits {
		us, err := s.store.AllUnits(ctx, org)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range us {
			units[u.ID] = u.Kind
		}
	}
	return roles, units, nil
}

// importRole resolves a row's role as roleFor does, from the roles read
// once (store.GrantFrom): it must exist, not be owner, and grant nothing p
// lacks.
func (s *Service) importRole(p principal.Principal, id string, roles map[string]store.Role, v *validate.Errors) store.Grant {
	switch id {
	case permission.RoleOwner:
		v.Add("role", "owner is not assigned: the target organization has its owner (import this user as admin)")
		return store.Grant{}
	case "":
		v.Add("role", "is required")
		return store.Grant{}
	}
	g, ok := store.GrantFrom(s.perms, id, roles)
	if !ok {
		v.Add("role", "is not a role of this organization")
		return store.Grant{}
	}
	for _, x := range g.Permissions {
		if !p.Can(permission.Permission(x)) {
			v.Add("role", "gives the %q permission, which you do not hold", x)
			break
		}
	}
	return g
}

// dropTaken rejects the candidates whose login already names a user of org.
func (s *Service) dropTaken(ctx context.Context, org string, cands []*candidate, reject func(int, string, string, ...any)) ([]*candidate, error) {
	logins := make([]string, len(cands))
	for i, c := range cands {
		logins[i] = c.new.User.LoginKey()
	}
	taken, err := s.store.TakenLogins(ctx, org, logins)
	if err != nil {
		return nil, err
	}
	out := cands[:0]
	for _, c := range cands {
		if taken[c.new.User.LoginKey()] {
			field, _ := loginOf(c.new.User)
			reject(c.line, field, "%s", takenReason(field))
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func takenReason(field string) string {
	switch field {
	case "email":
		return "a user with this e-mail address already exists"
	case "user_code":
		return "this user code is already used in the organization"
	}
	return "this username is already used in the organization"
}

// write writes the candidates in groups, importWorkers at a time, and
// marks those written. A group that loses a condition is retried one row
// at a time to find the culprits; rows that could not be written for
// another reason (the table unavailable, time running out) are rejected
// as not written, so the report says exactly what is in the table.
func (s *Service) write(ctx context.Context, cands []*candidate, progress func(int, int), reject func(int, string, string, ...any)) {
	news := make([]store.NewUser, len(cands))
	for i, c := range cands {
		news[i] = c.new
	}
	groups := store.GroupUsers(news)
	var mu sync.Mutex
	done := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	at := make([]int, len(groups)) // index in cands of each group's first row
	for i, n := 1, 0; i < len(groups); i++ {
		n += len(groups[i-1])
		at[i] = n
	}
	for range importWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				rows := cands[at[g] : at[g]+len(groups[g])]
				reasons := s.writeGroup(ctx, groups[g], rows)
				mu.Lock()
				for i, r := range reasons {
					if r != nil {
						reject(rows[i].line, r.Field, "%s", r.Reason)
					}
				}
				done += len(rows)
				if progress != nil {
					progress(done, len(cands))
				}
				mu.Unlock()
			}
		}()
	}
	for g := range groups {
		jobs <- g
	}
	close(jobs)
	wg.Wait()
}

// writeGroup writes one group and returns, per row, why it was not
// written (nil: written).
func (s *Service) writeGroup(ctx context.Context, group []store.NewUser, rows []*candidate) []*RejectedRow {
	reasons := make([]*RejectedRow, len(rows))
	notWritten := func(i int, why string) {
		reasons[i] = &RejectedRow{Field: "row", Reason: "was not written (" + why + "); import it again"}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < importMargin {
		for i := range rows {
			notWritten(i, "the import ran out of time")
		}
		return reasons
	}
	err := s.store.CreateUsers(ctx, group)
	if err == nil {
		for _, c := range rows {
			c.written = true
		}
		return reasons
	}
	if !errors.Is(err, store.ErrConflict) {
		for i := range rows {
			notWritten(i, "the table was unavailable")
		}
		return reasons
	}
	for i, n := range group {
		err := s.store.CreateUsers(ctx, []store.NewUser{n})
		switch {
		case err == nil:
			rows[i].written = true
		case store.Lost(err, store.LoginTaken):
			field, _ := loginOf(n.User)
			reasons[i] = &RejectedRow{Field: field, Reason: takenReason(field)}
		case errors.Is(err, store.ErrConflict):
			reasons[i] = &RejectedRow{Field: "units", Reason: "lists a unit (or a role) that was deleted meanwhile"}
		default:
			notWritten(i, "the table was unavailable")
		}
	}
	return reasons
}

// invite mails the set-password links of the users written with one, a
// few at a time, and returns how many were sent.
func (s *Service) invite(ctx context.Context, p principal.Principal, org store.Org, cands []*candidate, roles map[string]store.Role) int {
	var todo []*candidate
	for _, c := range cands {
		if c.written && c.link != "" {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return 0
	}
	inviter := org.Name
	if me, err := s.store.GetUser(ctx, p.Org, p.User); err == nil {
		inviter = signature(me, org)
	}
	var mu sync.Mutex
	sent := 0
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, c := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			u := c.new.User
			role := roleName(u.Role, roles[u.Role], u.Language)
			ok := s.links.SendSetup(ctx, u, org.Name, inviter, role, c.link, time.Unix(c.new.Link.Expires, 0))
			mu.Lock()
			c.sent = ok
			if ok {
				sent++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return sent
}

// signature is how the user who acts on others is named in their mail:
// its names, else its e-mail or username, else the organization's name.
func signature(u store.User, org store.Org) string {
	for _, s := range []string{strings.TrimSpace(u.FirstName + " " + u.LastName), u.Email, u.Username} {
		if s != "" {
			return s
		}
	}
	return org.Name
}

// roleName is how a role is named to people: a built-in role's name in
// lang, a custom role's name (custom, read), else its id.
func roleName(role string, custom store.Role, lang string) string {
	if name, builtIn := permission.BuiltInName(role, lang); builtIn {
		return name
	}
	if custom.Name != "" {
		return custom.Name
	}
	return role
}

// MaxImportBody is the largest import body, in bytes: far above the JSON
// limit, under a function's 6 MB payload.
const MaxImportBody = 5 << 20

// ImportBody is POST /v1/users/import: the format from the body's media
// type, the body read within MaxImportBody.
func (s *Service) ImportBody(ctx context.Context, p principal.Principal, q ImportQuery, b router.Body) (ImportReport, error) {
	format := ""
	switch mt, _, _ := mime.ParseMediaType(b.ContentType); mt {
	case CSVType:
		format = CSV
	case JSONLType, "application/jsonl", "application/x-jsonlines":
		format = JSONL
	default:
		return ImportReport{}, problem.New(http.StatusUnsupportedMediaType, "unsupported_format",
			"An import is text/csv (with a header row) or application/x-ndjson (JSON Lines).")
	}
	body, err := io.ReadAll(io.LimitReader(b, MaxImportBody+1))
	if err != nil {
		return ImportReport{}, problem.BadRequest("unreadable_body", "The request body could not be read.")
	}
	if len(body) > MaxImportBody {
		return ImportReport{}, problem.New(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("An import body is at most %d MiB; split the file.", MaxImportBody>>20))
	}
	return s.Import(ctx, p, body, ImportOptions{Format: format, DryRun: q.DryRun, SendInvitations: q.SendInvitations})
}
