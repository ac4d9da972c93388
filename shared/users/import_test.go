package users_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/crypto/scrypt"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// send posts a body of a content type with a token.
func send(e *apitest.Env, method, path, token, contentType string, body []byte) *apitest.Response {
	h := map[string]string{"Content-Type": contentType, "User-Agent": "apitest"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return e.DoHeader(method, path, h, body)
}

func importFile(t *testing.T, e *apitest.Env, token, query, contentType, body string) users.ImportReport {
	t.Helper()
	r := send(e, "POST", "/v1/users/import"+query, token, contentType, []byte(body))
	if r.Status != http.StatusOK {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	var rep users.ImportReport
	r.Decode(t, &rep)
	return rep
}

// htpasswdHash is the bcrypt hash Debian's htpasswd made, and its password.
func htpasswdHash(t *testing.T) (pw, hash string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/htpasswd-bcrypt.txt")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	_, hash, _ = strings.Cut(lines[1], ":")
	return lines[0], hash
}

// scryptHash hashes pw with golang.org/x/crypto/scrypt directly, written
// in passlib's format.
func scryptHash(t *testing.T, pw string) string {
	t.Helper()
	salt := []byte("sixteen-byte-slt")
	key, err := scrypt.Key([]byte(pw), salt, 1<<14, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$scrypt$ln=14,r=8,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
}

// items returns every item of the table as pk|sk.
func items(t *testing.T, e *apitest.Env) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	p := dynamodb.NewScanPaginator(e.DB, &dynamodb.ScanInput{TableName: &e.Config.Table})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var k struct {
				PK string `dynamodbav:"pk"`
				SK string `dynamodbav:"sk"`
			}
			attributevalue.UnmarshalMap(it, &k)
			out[k.PK+"|"+k.SK] = true
		}
	}
	return out
}

// userByLogin is the user a login names: its login guard's, or for an
// unproved address the first organization's claim on it.
func userByLogin(t *testing.T, e *apitest.Env, login string) store.User {
	t.Helper()
	g, _, found, err := e.Store.FindLogin(context.Background(), login, "none")
	if err == nil && !found {
		var claims []store.LoginGuard
		claims, err = e.Store.Claims(context.Background(), login, 1)
		if found = len(claims) == 1; found {
			g = claims[0]
		}
	}
	if err != nil || !found {
		t.Fatalf("login %s: found=%v %v", login, found, err)
	}
	u, err := e.Store.GetUser(context.Background(), g.Org, g.User)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := apitest.New(t)
	owner := src.LoginOwner(t).AccessToken
	bcryptPW, bcryptHash := htpasswdHash(t)
	scryptPW := "scrypt-password-42"
	// Users from another system, with its hashes, then users made here.
	legacy := "email,first_name,last_name,role,language,password_hash\n" +
		"legacy.bcrypt@example.com,Bea,Crypt,member,fr," + bcryptHash + "\n" +
		"legacy.scrypt@example.com,Sam,Crypt,admin,nl,\"" + scryptHash(t, scryptPW) + "\"\n" +
		"legacy.nohash@example.com,Noa,Hash,member,en,\n"
	rep := importFile(t, src, owner, "", "text/csv", legacy)
	if len(rep.Accepted) != 3 || len(rep.Rejected) != 0 {
		t.Fatalf("%+v", rep)
	}
	welcomed(t, src, owner, map[string]any{"email": "argon@example.com",
		"first_name": "Ari", "last_name": "Gon", "role": "member", "language": "nl"}, "argon-password-42")
	create(t, src, owner, map[string]any{"username": "pin.user", "password": "482913", "first_name": "Pi",
		"last_name": "N", "role": "member", "require_password_change": false})
	svc := create(t, src, owner, map[string]any{"kind": "service", "user_code": "SVC0042", "client": "comax",
		"role": "member", "first_name": "Sync", "last_name": "Bot", "unit_kinds": []string{"company", "level"}})
	off := welcomed(t, src, owner, map[string]any{"email": "off@example.com",
		"first_name": "Of", "last_name": "F", "role": "member"}, "off-password-42")
	if r := src.Do("POST", "/v1/users/"+off.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != 200 {
		t.Fatal(r.Status)
	}

	var exports = map[string][]byte{}
	for _, f := range []string{"csv", "jsonl"} {
		r := src.Do("GET", "/v1/users/export?include_password_hashes=true&format="+f, owner, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		exports[f] = r.Body
	}
	if !strings.HasPrefix(string(exports["csv"]), "id,kind,email,username,user_code,client,first_name,last_name,language,role,status,units,unit_kinds,all_units,default_unit,created,password_hash,password_hash_omitted\n") {
		t.Fatalf("header: %.200s", exports["csv"])
	}
	srcUsers := map[string]store.User{}
	srcUsersList := []store.User{}
	for _, login := range []string{"legacy.bcrypt@example.com", "legacy.scrypt@example.com", "legacy.nohash@example.com",
		"argon@example.com", "acme#pin.user", "acme#svc0042", "off@example.com"} {
		u := userByLogin(t, src, login)
		srcUsers[login] = u
		srcUsersList = append(srcUsersList, u)
	}

	for _, f := range []string{"csv", "jsonl"} {
		t.Run("a "+f+" export imports into another organization of another deployment as the same users", func(t *testing.T) {
			dst := apitest.New(t)
			ctx := context.Background()
			beta, _, err := dst.Seed(ctx, "Beta", "beta", "owner@beta.example", "beta-owner-password-1")
			if err != nil {
				t.Fatal(err)
			}
			tok := dst.Login(t, "owner@beta.example", "beta-owner-password-1").AccessToken
			ct := map[string]string{"csv": "text/csv", "jsonl": "application/x-ndjson"}[f]
			rep := importFile(t, dst, tok, "", ct, string(exports[f]))
			// The source's owner is the one row refused: its address is
			// taken here (by the seeded acme's owner) and owner is not given.
			if len(rep.Accepted) != len(srcUsersList) || rejectedLines(rep) != 1 {
				t.Fatalf("%+v", rep)
			}
			if !slices.ContainsFunc(rep.Rejected, func(r users.RejectedRow) bool { return r.Field == "role" }) {
				t.Fatalf("%+v", rep.Rejected)
			}
			for login, su := range srcUsers {
				login = strings.Replace(login, "acme#", "beta#", 1)
				du := userByLogin(t, dst, login)
				if du.Org != beta.Org.ID {
					t.Fatalf("%s in %s", login, du.Org)
				}
				type same struct {
					Kind, Email, Username, Code, Client, First, Last, Lang, Role, Status, Default, Hash string
					All                                                                                 bool
					Units, Kinds                                                                        string
				}
				of := func(u store.User) same {
					return same{u.Kind, u.Email, u.Username, u.Code, u.Client, u.FirstName, u.LastName, u.Language,
						u.Role, u.Status, u.DefaultUnit, u.PasswordHash, u.AllUnits, strings.Join(u.Units, ";"), strings.Join(u.UnitKinds, ";")}
				}
				want := of(su)
				if su.PasswordHash == "" && su.Kind == store.Person {
					want.Status = store.UserPending // no hash: pending until its link is used
				}
				if got := of(du); got != want {
					t.Errorf("%s:\n got %+v\nwant %+v", login, got, want)
				}
			}
			t.Run("old passwords log in, and the stored hash becomes argon2id", func(t *testing.T) {
				for _, c := range []struct{ login, pw string }{
					{"legacy.bcrypt@example.com", bcryptPW}, {"legacy.scrypt@example.com", scryptPW},
					{"argon@example.com", "argon-password-42"},
				} {
					before := userByLogin(t, dst, c.login).PasswordHash
					proveLogin(t, dst, c.login, c.pw)
					after := userByLogin(t, dst, c.login).PasswordHash
					if !strings.HasPrefix(after, apitest.HashPrefix(dst.Config.Password)) {
						t.Fatalf("%s: stored %q", c.login, after)
					}
					if strings.HasPrefix(before, "$argon2id$") != (before == after) {
						t.Fatalf("%s: re-hashed %v from %.10s", c.login, before != after, before)
					}
					dst.Login(t, c.login, c.pw) // the new hash verifies
				}
				r := dst.Do("POST", "/v1/auth/login", "", map[string]string{"login": "pin.user", "organization": "beta", "password": "482913"})
				if r.Status != 200 || !strings.Contains(string(r.Body), "access_token") {
					t.Fatalf("pin user: %d %s", r.Status, r.Body)
				}
				r = dst.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "beta", "user_code": "SVC0042", "password": svc.Password})
				if r.Status != 200 {
					t.Fatalf("service user: %d %s", r.Status, r.Body)
				}
				dst.Do("POST", "/v1/auth/login", "", map[string]string{"login": "off@example.com", "password": "off-password-42"}).Problem(t, 403)
				dst.Do("POST", "/v1/auth/login", "", map[string]string{"login": "legacy.nohash@example.com", "password": "anything-at-all"}).Problem(t, 401)
			})
		})
	}
}

func rejectedLines(rep users.ImportReport) int {
	seen := map[int]bool{}
	for _, r := range rep.Rejected {
		seen[r.Line] = true
	}
	return len(seen)
}

func TestImportRejectsBadRows(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	e.AddUser(t, "existing@example.com", "member")
	_, bcryptHash := htpasswdHash(t)
	long := strings.Repeat("x", 101)
	csvFile := strings.Join([]string{
		"email,first_name,last_name,role,password_hash",
		"good.one@example.com,Good,One,member," + bcryptHash,   // 2
		"not-an-email,Bad,Mail,member,",                        // 3
		"role@example.com,Bad,Role,nosuchrole,",                // 4
		"cols@example.com,Too,Many,member,,extra",              // 5
		"utf8@example.com,Bad\xff,Utf,member,",                 // 6
		"long@example.com," + long + ",Name,member,",           // 7
		"hash@example.com,Bad,Hash,member,$1$md5$notsupported", // 8
		"Good.One@example.com,Dup,InFile,member,",              // 9
		"existing@example.com,Dup,Existing,member,",            // 10
		"owner2@example.com,New,Owner,owner,",                  // 11
		"good.two@example.com,Good,Two,admin,",                 // 12
	}, "\n") + "\n"
	want := map[int]string{3: "email", 4: "role", 5: "row", 6: "first_name", 7: "first_name", 8: "password_hash",
		9: "email", 10: "email", 11: "role"}
	check := func(t *testing.T, rep users.ImportReport, accepted ...int) {
		t.Helper()
		var got []int
		for _, a := range rep.Accepted {
			got = append(got, a.Line)
		}
		if fmt.Sprint(got) != fmt.Sprint(accepted) {
			t.Fatalf("accepted %v, want %v: %+v", got, accepted, rep)
		}
		byLine := map[int]string{}
		for _, r := range rep.Rejected {
			if r.Reason == "" {
				t.Fatalf("no reason: %+v", r)
			}
			byLine[r.Line] = r.Field
		}
		if fmt.Sprint(byLine) != fmt.Sprint(want) {
			t.Fatalf("rejected %v, want %v: %+v", byLine, want, rep.Rejected)
		}
	}
	t.Run("a dry run reports every bad row and writes nothing", func(t *testing.T) {
		before := items(t, e)
		rep := importFile(t, e, owner, "?dry_run=true", "text/csv", csvFile)
		check(t, rep, 2, 12)
		if !rep.DryRun || rep.Accepted[0].ID != "" || len(items(t, e)) != len(before) {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("an import writes the good rows only, each with its login guard and one audit event", func(t *testing.T) {
		before := items(t, e)
		rep := importFile(t, e, owner, "", "text/csv", csvFile)
		check(t, rep, 2, 12)
		after := items(t, e)
		var added []string
		for k := range after {
			if !before[k] {
				switch pk, sk, _ := strings.Cut(k, "|"); {
				case strings.HasPrefix(pk, "LOGIN#"):
					added = append(added, "login")
				case strings.HasSuffix(pk, "#AUDIT"):
					added = append(added, "audit")
				case strings.Contains(pk, "#USERS#"):
					added = append(added, "entry")
				case strings.HasPrefix(sk, "ROLECOUNT#"):
					added = append(added, "count")
				case strings.HasPrefix(sk, "USER#"):
					added = append(added, "user")
				default:
					added = append(added, k)
				}
			}
		}
		sort.Strings(added)
		// two users, two login guards, their six filter entries (status,
		// kind, role each), the admin role's first holder count, one audit
		// event; nothing of a rejected row
		if fmt.Sprint(added) != "[audit count entry entry entry entry entry entry login login user user]" {
			t.Fatalf("added %v", added)
		}
		for _, login := range []string{"not-an-email", "role@example.com", "cols@example.com", "utf8@example.com",
			"long@example.com", "hash@example.com", "owner2@example.com"} {
			if after["LOGIN#"+login+"|LOGIN"] {
				t.Fatalf("%s written", login)
			}
		}
		if !rep.Audited {
			t.Fatal("not audited")
		}
		r := e.Do("GET", "/v1/audit?limit=10", owner, nil)
		if !strings.Contains(string(r.Body), `"users.import"`) || !strings.Contains(string(r.Body), `"accepted":2`) {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("JSON Lines rows are checked the same way", func(t *testing.T) {
		jl := strings.Join([]string{
			`{"email":"jl.good@example.com","first_name":"J","last_name":"L","role":"member"}`,
			`{"email":"jl.bad","first_name":"J","last_name":"L","role":"member"}`,
			`{"email":"jl.x@example.com","first_name":"J","last_name":"L","role":"member","color":"red"}`,
			`not json`,
			"{\"email\":\"jl.u@example.com\",\"first_name\":\"\xff\",\"last_name\":\"L\",\"role\":\"member\"}",
			``,
			`{"email":"jl.good@example.com","first_name":"J","last_name":"L","role":"member"}`,
		}, "\n")
		rep := importFile(t, e, owner, "", "application/x-ndjson", jl)
		lines := map[int]string{}
		for _, r := range rep.Rejected {
			lines[r.Line] = r.Field
		}
		if len(rep.Accepted) != 1 || fmt.Sprint(lines) != "map[2:email 3:row 4:row 5:row 7:email]" {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("a file over 5 MiB is refused whole (413), writing nothing", func(t *testing.T) {
		before := len(items(t, e))
		big := "email,first_name,last_name,role\n" + strings.Repeat("big@example.com,"+strings.Repeat("b", 90)+",x,member\n", 5<<20/100+10)
		send(e, "POST", "/v1/users/import", owner, "text/csv", []byte(big)).Problem(t, 413)
		if len(items(t, e)) != before {
			t.Fatal("written")
		}
	})
	t.Run("more than 10,000 rows are refused whole (422)", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("email,first_name,last_name,role\n")
		for i := range 10001 {
			fmt.Fprintf(&b, "u%d@example.com,A,B,member\n", i)
		}
		before := len(items(t, e))
		p := send(e, "POST", "/v1/users/import", owner, "text/csv", []byte(b.String())).Problem(t, 422)
		if p.Code != "too_many_rows" || len(items(t, e)) != before {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("a bad header, or another content type, is refused whole", func(t *testing.T) {
		p := send(e, "POST", "/v1/users/import", owner, "text/csv", []byte("email,colour\nx@example.com,red\n")).Problem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Field != "header" {
			t.Fatalf("%+v", p)
		}
		send(e, "POST", "/v1/users/import", owner, "application/json", []byte(`{}`)).Problem(t, 415)
	})
	t.Run("a member may neither import nor export", func(t *testing.T) {
		_, tok := e.AddUserLogin(t, "member@example.com", "member")
		send(e, "POST", "/v1/users/import", tok, "text/csv", []byte("email\n")).Problem(t, 403)
		e.Do("GET", "/v1/users/export", tok, nil).Problem(t, 403)
	})
}

func TestExport(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	create(t, e, owner, map[string]any{"email": "=cmd@example.com", "first_name": "=HYPERLINK(\"x\")", "last_name": "@SUM", "role": "member"})
	t.Run("without hashes by default, formula-looking cells escaped", func(t *testing.T) {
		r := e.Do("GET", "/v1/users/export", owner, nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if bytes.Contains(r.Body, []byte("password_hash")) || bytes.Contains(r.Body, []byte("$argon2id$")) {
			t.Fatalf("%s", r.Body)
		}
		if !bytes.Contains(r.Body, []byte(`'=cmd@example.com`)) || !bytes.Contains(r.Body, []byte(`'@SUM`)) {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("JSON Lines on Accept", func(t *testing.T) {
		r := e.DoHeader("GET", "/v1/users/export", map[string]string{"Authorization": "Bearer " + owner, "Accept": "application/x-ndjson"}, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/x-ndjson" || bytes.Count(r.Body, []byte("\n")) != 2 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("hashes need users:export, which a custom role may lack", func(t *testing.T) {
		r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Readers", "permissions": []string{"users:read"}})
		var role users.Role
		r.Decode(t, &role)
		e.AddUser(t, "reader@example.com", role.ID)
		tok := e.Login(t, "reader@example.com", apitest.UserPassword).AccessToken
		if r := e.Do("GET", "/v1/users/export", tok, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/users/export?include_password_hashes=true", tok, nil).Problem(t, 403)
	})
	t.Run("an export with hashes is audited with its columns", func(t *testing.T) {
		r := e.Do("GET", "/v1/users/export?include_password_hashes=true", owner, nil)
		if r.Status != 200 || !bytes.Contains(r.Body, []byte("$argon2id$")) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		a := e.Do("GET", "/v1/audit?limit=10", owner, nil)
		if !bytes.Contains(a.Body, []byte(`"users.export"`)) || !bytes.Contains(a.Body, []byte(`"password_hash"`)) {
			t.Fatalf("%s", a.Body)
		}
	})
}

func TestImportedUsersWithoutPasswordGetALink(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	rep := importFile(t, e, owner, "?send_invitations=true", "text/csv",
		"email,first_name,last_name,role,language\ninvitee@example.com,In,Vitee,member,fr\n")
	if len(rep.Accepted) != 1 || rep.Invited != 1 || !rep.Accepted[0].InvitationSent || rep.Accepted[0].Status != "pending" {
		t.Fatalf("%+v", rep)
	}
	msgs := e.Outbox.Messages()
	if len(msgs) != 1 || len(msgs[0].Links) == 0 || msgs[0].To[0] != "invitee@example.com" {
		t.Fatalf("%+v", msgs)
	}
	link := msgs[0].Links[0]
	if !strings.HasPrefix(link, "http://guichet.test/reset?token=grs_") {
		t.Fatal(link)
	}
	t.Run("the pending user cannot log in", func(t *testing.T) {
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "invitee@example.com", "password": "whatever-password"}).Problem(t, 401)
	})
	t.Run("the link still works after six days, sets the password and activates the user", func(t *testing.T) {
		e.Clock.Advance(6 * 24 * 60 * 60 * 1e9)
		token := strings.TrimPrefix(link, "http://guichet.test/reset?token=")
		r := e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": token, "password": "my-own-password-9"})
		if r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if u := userByLogin(t, e, "invitee@example.com"); u.Status != store.Active {
			t.Fatal(u.Status)
		}
		e.Login(t, "invitee@example.com", "my-own-password-9")
	})
}
