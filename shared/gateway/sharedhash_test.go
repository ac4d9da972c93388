package gateway_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/apitest"
)

// exportRow is a row of a users export with hashes.
type exportRow struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Hash    string `json:"password_hash"`
	Omitted string `json:"password_hash_omitted"`
}

// hashExport is tok's JSON Lines export with hashes, by e-mail.
func hashExport(t *testing.T, e *apitest.Env, tok string) map[string]exportRow {
	t.Helper()
	r := e.Do("GET", "/v1/users/export?include_password_hashes=true&format=jsonl", tok, nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	out := map[string]exportRow{}
	for _, line := range strings.Split(strings.TrimSpace(string(r.Body)), "\n") {
		var row exportRow
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		out[row.Email] = row
	}
	return out
}

// TestAnExportNeverHoldsTheHashOfAPersonOfOtherOrganizations: the hash of
// a person who is a member of other organizations too opens those as well,
// so no organization exports it (password_hash_omitted says why); the
// count that tells it is on each membership, kept by the joins and
// removals of memberships and set by guichet migrate, so the export reads
// no person.
func TestAnExportNeverHoldsTheHashOfAPersonOfOtherOrganizations(t *testing.T) {
	t.Parallel()
	o := newTwoOrgs(t)
	e := o.e
	e.AddUser(t, "solo@acme.example", "member")
	shared := func(t *testing.T, tok string) {
		t.Helper()
		rows := hashExport(t, e, tok)
		if ann := rows[o.annEmail]; ann.ID == "" || ann.Hash != "" || ann.Omitted != "shared_person" {
			t.Fatalf("ann's row: %+v", ann)
		}
	}
	alone := func(t *testing.T, tok, email string) {
		t.Helper()
		if row := hashExport(t, e, tok)[email]; row.Hash == "" || row.Omitted != "" {
			t.Fatalf("%s's row: %+v", email, row)
		}
	}
	t.Run("neither organization exports the shared person's hash; the others' are there", func(t *testing.T) {
		shared(t, o.acmeOwner)
		shared(t, o.betaOwner)
		alone(t, o.acmeOwner, "solo@acme.example")
		alone(t, o.acmeOwner, "owner@acme.example")
		alone(t, o.betaOwner, "owner@beta.example")
	})
	t.Run("the CSV export says so in its row", func(t *testing.T) {
		r := e.Do("GET", "/v1/users/export?include_password_hashes=true", o.acmeOwner, nil)
		recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if r.Status != 200 || err != nil {
			t.Fatalf("%d %v", r.Status, err)
		}
		col := map[string]int{}
		for i, c := range recs[0] {
			col[c] = i
		}
		found := false
		for _, rec := range recs[1:] {
			if rec[col["email"]] == o.annEmail {
				found = true
				if rec[col["password_hash"]] != "" || rec[col["password_hash_omitted"]] != "shared_person" {
					t.Fatalf("ann's row: %v", rec)
				}
			}
		}
		if !found {
			t.Fatalf("no row of ann in %s", r.Body)
		}
	})
	t.Run("its hash comes back with the end of its other membership, and goes with a new one", func(t *testing.T) {
		if r := e.Do("DELETE", "/v1/users/"+o.annBeta, o.betaOwner, nil); r.Status >= 300 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		alone(t, o.acmeOwner, o.annEmail)
		inv := created(t, e, o.betaOwner, "/v1/invitations", map[string]any{"email": o.annEmail, "role": "member", "all_units": true})
		apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/invitations/accept", "", map[string]string{
			"token": apitest.LinkToken(t, inv["link"].(string)), "password": o.annPassword}), 200, "join beta again")
		shared(t, o.acmeOwner)
		shared(t, o.betaOwner)
	})
	t.Run("a membership written before the count is held back until guichet migrate counts it", func(t *testing.T) {
		ctx := context.Background()
		solo := userByEmail(t, e, o.acmeOwner, "solo@acme.example")
		for _, id := range []string{o.annAcme, solo} {
			got, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.Config.Table, Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "ORG#" + e.Org.Org.ID},
				"sk": &types.AttributeValueMemberS{Value: "USER#" + id},
			}})
			if err != nil || got.Item["members"] == nil {
				t.Fatalf("%s: %v %v", id, got.Item["members"], err)
			}
			delete(got.Item, "members")
			if _, err := e.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.Config.Table, Item: got.Item}); err != nil {
				t.Fatal(err)
			}
		}
		shared(t, o.acmeOwner)
		if row := hashExport(t, e, o.acmeOwner)["solo@acme.example"]; row.Hash != "" || row.Omitted != "shared_person" {
			t.Fatalf("an uncounted membership's hash: %+v", row)
		}
		counted, cursor := 0, ""
		for {
			b, err := e.Store.Migrate(ctx, cursor, 50)
			if err != nil {
				t.Fatal(err)
			}
			counted += b.Counted
			if cursor = b.Cursor; cursor == "" {
				break
			}
		}
		if counted != 2 {
			t.Fatalf("counted %d memberships, want 2", counted)
		}
		shared(t, o.acmeOwner)
		alone(t, o.acmeOwner, "solo@acme.example")
		if u, err := e.Store.GetUser(ctx, e.Org.Org.ID, o.annAcme); err != nil || u.Members != 2 {
			t.Fatalf("ann's count: %d %v", u.Members, err)
		}
	})
}

// userByEmail is the id of the user of tok's organization with email.
func userByEmail(t *testing.T, e *apitest.Env, tok, email string) string {
	t.Helper()
	if row := hashExport(t, e, tok)[email]; row.ID != "" {
		return row.ID
	}
	t.Fatalf("no user %s", email)
	return ""
}
