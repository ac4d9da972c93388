package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/store"
)

// condition is one way to lose a named condition: setup makes the table
// such that the condition fails and returns the store operation to run.
type condition struct {
	part  store.Part
	name  string
	setup func(t *testing.T, e *env) func() error
}

// conditions is the store's contract for conflicts: every named part,
// reached against the embedded DynamoDB through the SDK, and nothing else
// failing with it.
var conditions = []condition{
	{store.IDTaken, "a session written twice", func(t *testing.T, e *env) func() error {
		sess, access, refresh := e.newSession(e.owner)
		if err := e.st.CreateSession(bg, sess, access, refresh); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.CreateSession(bg, sess, access, refresh) }
	}},
	{store.IDTaken, "a challenge credential put twice", func(t *testing.T, e *env) func() error {
		c := e.cred(store.PasswordChallenge, e.owner)
		if err := e.st.PutCredential(bg, c); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.PutCredential(bg, c) }
	}},
	{store.LoginTaken, "a new user with another user's e-mail", func(t *testing.T, e *env) func() error {
		return func() error {
			return e.st.CreateUser(bg, e.person("owner@acme.example", "member"), e.audit("user.create"))
		}
	}},
	{store.LoginTaken, "an import of a user with another user's e-mail", func(t *testing.T, e *env) func() error {
		return func() error {
			return e.st.CreateUsers(bg, []store.NewUser{{User: e.person("new@acme.example", "member")}, {User: e.person("owner@acme.example", "member")}})
		}
	}},
	{store.LoginTaken, "an e-mail change to an address that became a login", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "mover@acme.example", "member")
		link := e.cred(store.EmailChangeToken, u)
		if err := e.st.CreateEmailChange(bg, link, ""); err != nil {
			t.Fatal(err)
		}
		next := u
		next.Email = "owner@acme.example"
		return func() error {
			return e.st.ChangeLogin(bg, store.UserChange{Old: u, New: &next, Consume: link.Hash(), At: e.now, Audit: e.audit("user.email_change")})
		}
	}},
	{store.UserExists, "an invitation to a user's address", func(t *testing.T, e *env) func() error {
		inv, cred := e.invitation("owner@acme.example")
		return func() error { return e.st.CreateInvitation(bg, inv, cred, nil, nil, e.audit("invitation.create")) }
	}},
	{store.OrgCodeTaken, "a new organization with an invited owner and a taken code", func(t *testing.T, e *env) func() error {
		o := store.Org{ID: store.NewID("org_"), Name: "Beta", Code: "acme", Language: "en", Created: e.now, Updated: e.now}
		inv, cred := e.invitation("owner@beta.example")
		inv.Org, cred.Org = o.ID, o.ID
		return func() error { return e.st.CreateOrgInvited(bg, o, inv, cred, e.audit("organization.create")) }
	}},
	{store.OrgCodeTaken, "a new organization with a taken code", func(t *testing.T, e *env) func() error {
		o := store.Org{ID: store.NewID("org_"), Name: "Other", Code: "acme", Language: "en", Created: e.now, Updated: e.now}
		owner := e.person("other@other.example", "owner")
		return func() error { return e.st.CreateOrg(bg, o, owner, e.audit("organization.create")) }
	}},
	{store.OrgGone, "an update of an organization that does not exist", func(t *testing.T, e *env) func() error {
		name := "Gone"
		return func() error {
			return e.st.UpdateOrg(bg, store.NewID("org_"), store.OrgChanges{Name: &name, Updated: e.now}, e.audit("organization.update"))
		}
	}},
	{store.OrgGone, "a logo for an organization that does not exist", func(t *testing.T, e *env) func() error {
		return func() error {
			return e.st.PutLogo(bg, store.NewID("org_"), store.Logo{ContentType: "image/png", Data: []byte{1}, ETag: "x", Updated: e.now}, e.audit("logo.put"))
		}
	}},
	{store.OwnerChanged, "an ownership transfer from an owner read before another transfer", func(t *testing.T, e *env) func() error {
		heir := e.addUser(t, "heir@acme.example", "admin")
		stale := e.org
		stale.OwnerID = store.NewID("usr_")
		from, to := e.owner, heir
		from.Role, to.Role = "admin", "owner"
		return func() error {
			return e.st.TransferOwnership(bg, stale, heir.ID,
				store.UserChange{Old: e.owner, New: &from, Audit: e.audit("user.role")},
				store.UserChange{Old: heir, New: &to, Audit: e.audit("user.role")})
		}
	}},
	{store.OwnerChanged, "an owner's invitation accepted when the organization has an owner", func(t *testing.T, e *env) func() error {
		inv, cred := e.invitation("second.owner@acme.example")
		inv.Role = "owner"
		if err := e.st.CreateInvitation(bg, inv, cred, nil, nil, e.audit("invitation.create")); err != nil {
			t.Fatal(err)
		}
		u := e.person(inv.Email, "owner")
		sess, access, refresh := e.newSession(u)
		return func() error {
			return e.st.AcceptInvitation(bg, inv, nil, u, store.Next{Session: &sess, Access: access, Refresh: refresh}, e.audit("invitation.accept"))
		}
	}},
	{store.VersionChanged, "a change of a user read before another change", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "ada@acme.example", "member")
		if err := e.st.ChangeUser(bg, e.renamed(u)); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.ChangeUser(bg, e.renamed(u)) }
	}},
	{store.VersionChanged, "a deletion of a user read before a change", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "ada@acme.example", "member")
		if err := e.st.ChangeUser(bg, e.renamed(u)); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.ChangeUser(bg, store.UserChange{Old: u, Audit: e.audit("user.delete")}) }
	}},
	{store.PersonChanged, "a membership joined with a person read before its password changed", func(t *testing.T, e *env) func() error {
		owner, err := e.st.GetUser(bg, e.org.ID, e.owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.st.GetPerson(bg, owner.Person)
		if err != nil {
			t.Fatal(err)
		}
		g, _, _, err := e.st.FindLogin(bg, owner.LoginKey(), "test")
		if err != nil {
			t.Fatal(err)
		}
		next := owner
		next.PasswordHash = "$changed$"
		if err := e.st.ChangeUser(bg, store.UserChange{Old: owner, New: &next, Audit: e.audit("user.password_change")}); err != nil {
			t.Fatal(err)
		}
		beta := store.Org{ID: store.NewID("org_"), Name: "Beta", Code: "beta", Language: "en", Created: e.now, Updated: e.now}
		betaOwner := e.person("owner@beta.example", "owner")
		a := e.audit("organization.create")
		a.Org = beta.ID
		if err := e.st.CreateOrg(bg, beta, betaOwner, a); err != nil {
			t.Fatal(err)
		}
		inv, cred := e.invitation(owner.Email)
		inv.Org, cred.Org = beta.ID, beta.ID
		if err := e.st.CreateInvitation(bg, inv, cred, nil, nil, a); err != nil {
			t.Fatal(err)
		}
		u := store.User{Org: beta.ID, OrgCode: "beta", ID: store.NewID("usr_"), Kind: store.Person, Role: "member",
			Status: store.Active, Language: "en", Created: e.now, Updated: e.now}
		return func() error { return e.st.JoinInvitation(bg, inv, nil, p, g, u, store.Next{}, a) }
	}},
	{store.UserChanged, "an API key for a user whose role changed", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "ada@acme.example", "member")
		u.Role = "admin" // as the principal's token says; the user is a member now
		c, k := e.apiKey(u)
		return func() error { return e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")) }
	}},
	{store.PasswordChanged, "a re-hash of a password changed meanwhile", func(t *testing.T, e *env) func() error {
		return func() error { return e.st.ReplacePasswordHash(bg, e.org.ID, e.owner.ID, "$not-the-hash$", "$new$") }
	}},
	{store.LinkUsed, "a password reset with a used link", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "ada@acme.example", "member")
		link := e.cred(store.ResetToken, u)
		if err := e.st.CreateReset(bg, u.LoginKey(), link, "", nil); err != nil {
			t.Fatal(err)
		}
		c := e.renamed(u)
		c.Consume, c.At = link.Hash(), e.now
		if err := e.st.ChangeUser(bg, c); err != nil {
			t.Fatal(err)
		}
		again, err := e.st.GetUser(bg, u.Org, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		c = e.renamed(again)
		c.Consume, c.At = link.Hash(), e.now
		return func() error { return e.st.ChangeUser(bg, c) }
	}},
	{store.LinkUsed, "an invitation accepted with a token that is gone", func(t *testing.T, e *env) func() error {
		// The invitation pending, its token gone: DynamoDB names every
		// condition a transaction lost, so only the token's may fail.
		inv := e.addInvitation(t, "invitee@acme.example")
		if _, err := e.db.DeleteItem(bg, &dynamodb.DeleteItemInput{TableName: &e.table, Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "CRED#" + inv.TokenHash}, "sk": &types.AttributeValueMemberS{Value: "CRED"}}}); err != nil {
			t.Fatal(err)
		}
		u := e.person(inv.Email, "member")
		sess, access, refresh := e.newSession(u)
		return func() error {
			return e.st.AcceptInvitation(bg, inv, nil, u, store.Next{Session: &sess, Access: access, Refresh: refresh}, e.audit("invitation.accept"))
		}
	}},
	{store.ChallengeGone, "a password change answering a challenge already answered", func(t *testing.T, e *env) func() error {
		n := store.Next{}
		n.Session = new(store.Session)
		*n.Session, n.Access, n.Refresh = e.newSession(e.owner)
		return func() error { return e.st.CompletePasswordChange(bg, store.NewID("h"), e.renamed(e.owner), n) }
	}},
	{store.ChallengeGone, "a code answering an expired two-step challenge", func(t *testing.T, e *env) func() error {
		return func() error { return e.st.WriteMFA(bg, store.MFAWrite{Challenge: store.NewID("h")}) }
	}},
	{store.CodeUsed, "a recovery code used twice", func(t *testing.T, e *env) func() error {
		return func() error { return e.st.WriteMFA(bg, store.MFAWrite{UseCode: store.NewID("h")}) }
	}},
	{store.CodeUsed, "a TOTP time step used twice", func(t *testing.T, e *env) func() error {
		return func() error {
			return e.st.WriteMFA(bg, store.MFAWrite{Step: &store.StepUse{Org: e.org.ID, User: e.owner.ID, Secret: "sealed", Step: 1}})
		}
	}},
	{store.TokenRotated, "a refresh token rotated twice", func(t *testing.T, e *env) func() error {
		old := e.session(t, e.owner)
		if err := e.st.RotateSession(bg, old, e.cred(store.AccessToken, e.owner), e.cred(store.RefreshToken, e.owner), e.now); err != nil {
			t.Fatal(err)
		}
		return func() error {
			return e.st.RotateSession(bg, old, e.cred(store.AccessToken, e.owner), e.cred(store.RefreshToken, e.owner), e.now)
		}
	}},
	{store.CredentialGone, "a role change regranting a credential that expired", func(t *testing.T, e *env) func() error {
		c := e.renamed(e.owner)
		c.Grant = []store.Credential{e.cred(store.AccessToken, e.owner)}
		return func() error { return e.st.ChangeUser(bg, c) }
	}},
	{store.KeyGone, "an API key revoked twice", func(t *testing.T, e *env) func() error {
		c, k := e.apiKey(e.owner)
		if err := e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")); err != nil {
			t.Fatal(err)
		}
		if err := e.st.RevokeAPIKey(bg, k, e.audit("apikey.revoke"), nil); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.RevokeAPIKey(bg, k, e.audit("apikey.revoke"), nil) }
	}},
	{store.KeyGone, "an API key rotated twice", func(t *testing.T, e *env) func() error {
		c, k := e.apiKey(e.owner)
		if err := e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")); err != nil {
			t.Fatal(err)
		}
		rotate := func() error {
			nc, nk := e.apiKey(e.owner)
			return e.st.RotateAPIKey(bg, k, e.now.Add(time.Hour), e.now, nc, nk, e.audit("apikey.rotate"), e.audit("apikey.create"))
		}
		if err := rotate(); err != nil {
			t.Fatal(err)
		}
		return func() error { return rotate() }
	}},
	{store.InvitationPending, "a second invitation to one address", func(t *testing.T, e *env) func() error {
		e.addInvitation(t, "invitee@acme.example")
		inv, cred := e.invitation("invitee@acme.example")
		return func() error { return e.st.CreateInvitation(bg, inv, cred, nil, nil, e.audit("invitation.create")) }
	}},
	{store.InvitationChanged, "an invitation revoked twice", func(t *testing.T, e *env) func() error {
		inv := e.addInvitation(t, "invitee@acme.example")
		if err := e.st.RevokeInvitation(bg, inv, e.audit("invitation.revoke")); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.RevokeInvitation(bg, inv, e.audit("invitation.revoke")) }
	}},
	{store.InvitationChanged, "an invitation renewed from a link replaced meanwhile", func(t *testing.T, e *env) func() error {
		inv := e.addInvitation(t, "invitee@acme.example")
		renew := func() error {
			_, cred := e.invitation(inv.Email)
			return e.st.RenewInvitation(bg, inv, cred, e.now.Add(time.Hour), e.audit("invitation.renew"))
		}
		if err := renew(); err != nil {
			t.Fatal(err)
		}
		return func() error { return renew() }
	}},
	{store.LimitReached, "a take past a counter's maximum", func(t *testing.T, e *env) func() error {
		take := []store.Take{{Key: "mail-test", N: 1, Max: 1, Expires: e.now.Add(time.Hour)}}
		if err := e.st.TakeAll(bg, take); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.TakeAll(bg, take) }
	}},
	{store.UserChanged, "a session of a user deactivated since it was read", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "leaver@acme.example", "member")
		sess, access, refresh := e.newSession(u)
		next := u
		next.Status = store.Inactive
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.deactivate")}); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.CreateSession(bg, sess, access, refresh) }
	}},
	{store.JobChanged, "a batch of a job replaced meanwhile", func(t *testing.T, e *env) func() error {
		j := store.NewJob("test", e.org.ID, "target", 1, e.now)
		if err := e.st.PutJob(bg, j); err != nil {
			t.Fatal(err)
		}
		if err := e.st.PutJob(bg, store.NewJob("test", e.org.ID, "target", 2, e.now.Add(time.Second))); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.AdvanceJob(bg, j, "next", e.now.Add(2*time.Second)) }
	}},
	{store.JobChanged, "the end of a job finished meanwhile", func(t *testing.T, e *env) func() error {
		j := store.NewJob("test", e.org.ID, "target", 1, e.now)
		if err := e.st.PutJob(bg, j); err != nil {
			t.Fatal(err)
		}
		if err := e.st.FinishJob(bg, j); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.st.FinishJob(bg, j) }
	}},
	{store.UnitGone, "a new user in a unit that does not exist", func(t *testing.T, e *env) func() error {
		u := e.person("ada@acme.example", "member")
		u.Units = []string{store.NewID("unt_")}
		return func() error { return e.st.CreateUser(bg, u, e.audit("user.create")) }
	}},
	{store.UnitGone, "a new unit under a parent that does not exist", func(t *testing.T, e *env) func() error {
		u := store.Unit{Org: e.org.ID, ID: store.NewID("unt_"), Name: "Orphan", Kind: "site", Parent: store.NewID("unt_"), Created: e.now, Updated: e.now}
		return func() error { return e.st.CreateUnit(bg, u, e.audit("unit.create")) }
	}},
	{store.UnitGone, "a user moved into a unit deleted meanwhile", func(t *testing.T, e *env) func() error {
		u := e.addUser(t, "ada@acme.example", "member")
		c := e.renamed(u)
		c.New.Units = []string{store.NewID("unt_")}
		return func() error { return e.st.ChangeUser(bg, c) }
	}},
	{store.UnitChanged, "an update of a unit that does not exist", func(t *testing.T, e *env) func() error {
		name := "Gone"
		return func() error {
			return e.st.UpdateUnit(bg, e.org.ID, store.NewID("unt_"), store.UnitChanges{Name: &name, Updated: e.now}, e.audit("unit.update"))
		}
	}},
	{store.UnitChanged, "a move of a unit from a parent it left meanwhile", func(t *testing.T, e *env) func() error {
		parent := e.addUnit(t, "")
		u := e.addUnit(t, "")
		return func() error {
			return e.st.UpdateUnit(bg, e.org.ID, u.ID, store.UnitChanges{Move: &store.UnitMove{From: parent.ID}, Updated: e.now}, e.audit("unit.update"))
		}
	}},
	{store.UnitInUse, "a deletion of a unit a user holds", func(t *testing.T, e *env) func() error {
		u := e.addUnit(t, "")
		e.addUser(t, "ada@acme.example", "member", u.ID)
		return func() error { return e.st.DeleteUnit(bg, u, e.audit("unit.delete")) }
	}},
	{store.UnitInUse, "a deletion of a unit with a child unit", func(t *testing.T, e *env) func() error {
		u := e.addUnit(t, "")
		e.addUnit(t, u.ID)
		return func() error { return e.st.DeleteUnit(bg, u, e.audit("unit.delete")) }
	}},
	{store.TreeChanged, "a move checked against a unit tree that changed meanwhile", func(t *testing.T, e *env) func() error {
		u := e.addUnit(t, "")
		return func() error {
			return e.st.UpdateUnit(bg, e.org.ID, u.ID, store.UnitChanges{Move: &store.UnitMove{TreeVersion: 7}, Updated: e.now}, e.audit("unit.update"))
		}
	}},
	{store.RoleGone, "a new user with a custom role that does not exist", func(t *testing.T, e *env) func() error {
		return func() error {
			return e.st.CreateUser(bg, e.person("ada@acme.example", store.NewID("rol_")), e.audit("user.create"))
		}
	}},
	{store.RoleNameTaken, "a new role with a taken name", func(t *testing.T, e *env) func() error {
		e.addRole(t, "Clerks")
		r := store.Role{Org: e.org.ID, ID: store.NewID("rol_"), Name: " clerks ", Created: e.now, Updated: e.now}
		return func() error { return e.st.CreateRole(bg, r, e.audit("role.create")) }
	}},
	{store.RoleNameTaken, "a role renamed to a taken name", func(t *testing.T, e *env) func() error {
		e.addRole(t, "Clerks")
		r := e.addRole(t, "Tellers")
		next := r
		next.Name, next.Updated = "Clerks", e.now.Add(time.Second)
		return func() error { return e.st.UpdateRole(bg, r, next, e.audit("role.update"), nil) }
	}},
	{store.RoleChanged, "a role updated from a stale read", func(t *testing.T, e *env) func() error {
		r := e.addRole(t, "Clerks")
		next := r
		next.Permissions, next.Updated = []string{}, e.now.Add(time.Second)
		if err := e.st.UpdateRole(bg, r, next, e.audit("role.update"), nil); err != nil {
			t.Fatal(err)
		}
		next.Updated = e.now.Add(2 * time.Second)
		return func() error { return e.st.UpdateRole(bg, r, next, e.audit("role.update"), nil) }
	}},
	{store.RoleChanged, "a session whose permissions were read from an older version of its role", func(t *testing.T, e *env) func() error {
		r := e.addRole(t, "Clerks")
		u := e.addUser(t, "ada@acme.example", r.ID)
		e.bumpRole(t, r)
		sess, access, refresh := e.newSession(u)
		access.Role, access.RoleVersion = r.ID, r.Version
		return func() error { return e.st.CreateSession(bg, sess, access, refresh) }
	}},
	{store.RoleChanged, "an acceptance whose session was read from an older version of its role", func(t *testing.T, e *env) func() error {
		r := e.addRole(t, "Clerks")
		inv, link := e.invitation("ada@acme.example")
		inv.Role = r.ID
		if err := e.st.CreateInvitation(bg, inv, link, nil, nil, e.audit("invitation.create")); err != nil {
			t.Fatal(err)
		}
		e.bumpRole(t, r)
		u := e.person("ada@acme.example", r.ID)
		sess, access, refresh := e.newSession(u)
		access.Role, access.RoleVersion = r.ID, r.Version
		return func() error {
			return e.st.AcceptInvitation(bg, inv, nil, u, store.Next{Session: &sess, Access: access, Refresh: refresh}, e.audit("invitation.accept"))
		}
	}},
	{store.RoleChanged, "a regrant batch of a version a newer change superseded", func(t *testing.T, e *env) func() error {
		r := e.addRole(t, "Clerks")
		u := e.addUser(t, "ada@acme.example", r.ID)
		e.bumpRole(t, r)
		stale := r
		stale.Permissions = []string{"users:read", "users:write"}
		return func() error {
			_, err := e.st.RegrantHolders(bg, stale, []store.Holder{{User: u, Perms: stale.Permissions}}, e.now)
			return err
		}
	}},
	{store.AttemptsSpent, "an attempt past a counter's limit", func(t *testing.T, e *env) func() error {
		a := store.Attempt{Counter: "login#x", Max: 1, Client: "192.0.2.1", ClientMax: 1, Window: time.Minute}
		if _, err := e.st.Reserve(bg, a, e.now); err != nil {
			t.Fatal(err)
		}
		return func() error { _, err := e.st.Reserve(bg, a, e.now); return err }
	}},
	{store.RoleInUse, "a deletion of a role a user holds", func(t *testing.T, e *env) func() error {
		r := e.addRole(t, "Clerks")
		e.addUser(t, "ada@acme.example", r.ID)
		return func() error { return e.st.DeleteRole(bg, r, e.audit("role.delete")) }
	}},
}

func TestEveryNamedConditionComesBackByName(t *testing.T) {
	for _, c := range conditions {
		t.Run(string(c.part)+" is lost by "+c.name, func(t *testing.T) {
			e := newEnv(t)
			lose := c.setup(t, e)
			before := scan(t, e)
			err := lose()
			var conflict *store.Conflict
			if !errors.As(err, &conflict) {
				t.Fatalf("want a *store.Conflict, got %v", err)
			}
			if !slices.Equal(conflict.Parts, []store.Part{c.part}) {
				t.Fatalf("parts %v, want [%s]", conflict.Parts, c.part)
			}
			if !errors.Is(err, store.ErrConflict) || !store.Lost(err, c.part) || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%v: Is(ErrConflict)=%v Lost=%v", err, errors.Is(err, store.ErrConflict), store.Lost(err, c.part))
			}
			if after := scan(t, e); !slices.Equal(before, after) {
				t.Fatalf("the lost transaction wrote:\n%v\n%v", before, after)
			}
		})
	}
	t.Run("every part has a case, and every case a known part", func(t *testing.T) {
		all := store.AllParts()
		for _, p := range all {
			if !slices.ContainsFunc(conditions, func(c condition) bool { return c.part == p }) {
				t.Errorf("no case loses %s", p)
			}
		}
		for _, c := range conditions {
			if !slices.Contains(all, c.part) {
				t.Errorf("%s is not in AllParts", c.part)
			}
		}
	})
}
