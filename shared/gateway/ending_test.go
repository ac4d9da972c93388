package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// leaver is a user about to be deactivated or deleted, with many
// sessions and API keys.
type leaver struct {
	user     store.User
	sessions []apitest.Tokens
	keys     []string
}

// newLeaver adds an admin with the given numbers of sessions and API keys.
func newLeaver(t *testing.T, e *apitest.Env, email string, sessions, keys int) leaver {
	t.Helper()
	l := leaver{user: e.AddUser(t, email, "admin")}
	for range sessions {
		l.sessions = append(l.sessions, e.Login(t, email, apitest.UserPassword))
	}
	for i := range keys {
		r := e.Do("POST", "/v1/me/api-keys", l.sessions[0].AccessToken, map[string]any{"name": fmt.Sprintf("K%d", i),
			"client": "internal", "current_password": apitest.UserPassword, "scopes": []string{"users:read"}})
		l.keys = append(l.keys, r.Object(t, http.StatusCreated)["key"].(string))
	}
	return l
}

// indexed counts what is indexed under the user: its credentials and
// sessions.
func indexed(t *testing.T, e *apitest.Env, user string) int {
	t.Helper()
	creds, sessions, err := e.Store.UserCredentials(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return len(creds) + len(sessions)
}

// working counts the keys and access tokens the authorizer still
// accepts: anything but 401 (a deleted user's key lists users, its
// session's /v1/me answers 404).
func working(t *testing.T, e *apitest.Env, tokens ...string) int {
	t.Helper()
	n := 0
	for _, tok := range tokens {
		if r := e.Do("GET", "/v1/users", tok, nil); r.Status != http.StatusUnauthorized {
			n++
		}
	}
	return n
}

// jobLeft reports whether the ending job of user is in the table.
func jobLeft(t *testing.T, e *apitest.Env, user string) bool {
	t.Helper()
	_, err := e.Store.GetJob(context.Background(), store.EndingJob, e.Org.Org.ID, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// failHalfway runs the request with every transaction after its first
// failing, and checks that it answers 503.
func failHalfway(t *testing.T, e *apitest.Env, method, path, tok string, body any) {
	t.Helper()
	e.Faults.FailAfter("TransactWriteItems", 1)
	r := e.Do(method, path, tok, body)
	e.Faults.Clear()
	if p := r.Problem(t, http.StatusServiceUnavailable); p.Code != "unavailable" {
		t.Fatalf("code %s", p.Code)
	}
}

// leftHalfway checks what a request failing halfway left: credentials
// indexed, keys still accepted, and the ending job.
func leftHalfway(t *testing.T, e *apitest.Env, l leaver) {
	t.Helper()
	if n := indexed(t, e, l.user.ID); n == 0 {
		t.Fatal("nothing left indexed: the failure came too late to test anything")
	}
	if working(t, e, l.keys...) == 0 {
		t.Fatal("no key works: the failure came too late to test anything")
	}
	if !jobLeft(t, e, l.user.ID) {
		t.Fatal("no ending job")
	}
}

// endedAll checks that nothing of l works or is indexed; then, past the
// grace its job waits for the user's index (users.EndingGrace), that the
// jobs finish the job.
func endedAll(t *testing.T, e *apitest.Env, l leaver) {
	t.Helper()
	toks := append([]string{}, l.keys...)
	for _, s := range l.sessions {
		toks = append(toks, s.AccessToken)
	}
	if n := working(t, e, toks...); n != 0 {
		t.Errorf("%d keys or access tokens still work", n)
	}
	if n := indexed(t, e, l.user.ID); n != 0 {
		t.Errorf("%d items still indexed under the user", n)
	}
	settle(t, e)
	if jobLeft(t, e, l.user.ID) {
		t.Error("the ending job is still there past its grace")
	}
}

// settle moves the clock past the grace of every ending job and runs the
// jobs, as the next sweep does.
func settle(t *testing.T, e *apitest.Env) {
	t.Helper()
	e.Clock.Advance(users.EndingGrace)
	if err := e.RunJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The sessions make the deletes of one deactivation span four
// transactions; the keys come after the sessions' access tokens in the
// user's index, so the first transaction leaves them.
const leaverSessions, leaverKeys = 100, 3

func TestADeactivationFailingHalfwayIsFinishedByItsRetry(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", leaverSessions, leaverKeys)
	path := "/v1/users/" + l.user.ID + "/status"
	inactive := map[string]string{"status": "inactive"}
	failHalfway(t, e, "POST", path, owner, inactive)
	t.Run("the failure leaves the user inactive, keys working and its job", func(t *testing.T) {
		u, err := e.Store.GetUser(context.Background(), e.Org.Org.ID, l.user.ID)
		if err != nil || u.Status != store.Inactive {
			t.Fatalf("%v %s", err, u.Status)
		}
		leftHalfway(t, e, l)
	})
	left := indexed(t, e, l.user.ID)
	t.Run("the retry answers 200 and ends everything", func(t *testing.T) {
		e.ResetCounters()
		r := e.Do("POST", path, owner, inactive)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		// The user's read, the job's, then per batch of 100 index items one
		// Query and at most two transactions, the last Query finding
		// nothing, and the job's deletion.
		calls, most := e.Counters[routeOf(t, "setUserStatus").Function].Calls(), 4+3*((left+99)/100)
		t.Logf("retry ending %d items: %d DynamoDB calls (%v)", left, calls, e.Counters[routeOf(t, "setUserStatus").Function].Operations())
		if calls > most {
			t.Errorf("%d DynamoDB calls, want at most %d", calls, most)
		}
		endedAll(t, e, l)
	})
	t.Run("a retry once everything is ended and the job finished costs two reads", func(t *testing.T) {
		e.ResetCounters()
		if r := e.Do("POST", path, owner, inactive); r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if calls := e.Counters[routeOf(t, "setUserStatus").Function].Calls(); calls != 2 {
			t.Errorf("%d DynamoDB calls, want 2", calls)
		}
	})
}

func TestADeactivationFailingHalfwayIsFinishedInTheBackground(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", leaverSessions, leaverKeys)
	failHalfway(t, e, "POST", "/v1/users/"+l.user.ID+"/status", owner, map[string]string{"status": "inactive"})
	leftHalfway(t, e, l)
	ctx := context.Background()
	t.Run("a batch run twice ends nothing twice and fails nothing", func(t *testing.T) {
		j, err := e.Store.GetJob(ctx, store.EndingJob, e.Org.Org.ID, l.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		before := indexed(t, e, l.user.ID)
		for range 2 {
			// The second run is the first run's batch again, its end
			// unrecorded: the job it read was advanced meanwhile.
			if _, err := e.Jobs.Run(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if after := indexed(t, e, l.user.ID); after >= before || after < before-200 {
			t.Fatalf("%d indexed items before, %d after two batches of at most 100", before, after)
		}
	})
	t.Run("a batch whose writes fail is run again by the next sweep", func(t *testing.T) {
		before := indexed(t, e, l.user.ID)
		e.Faults.FailAfter("TransactWriteItems", 0)
		err := e.RunJobs(ctx)
		e.Faults.Clear()
		if err == nil {
			t.Fatal("the sweep reported no failure")
		}
		if after := indexed(t, e, l.user.ID); after != before || !jobLeft(t, e, l.user.ID) {
			t.Fatalf("%d indexed before, %d after; job left %v", before, after, jobLeft(t, e, l.user.ID))
		}
	})
	t.Run("the jobs end everything", func(t *testing.T) {
		left := indexed(t, e, l.user.ID)
		e.ResetCounters()
		if err := e.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("jobs ending %d items: %d DynamoDB calls (%v)", left, e.Counters[route.Jobs].Calls(), e.Counters[route.Jobs].Operations())
		endedAll(t, e, l)
	})
}

func TestADeletionFailingHalfwayIsFinishedByItsRetry(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", leaverSessions, leaverKeys)
	path := "/v1/users/" + l.user.ID
	failHalfway(t, e, "DELETE", path, owner, nil)
	t.Run("the failure leaves the user deleted, keys working and its job", func(t *testing.T) {
		e.Do("GET", path, owner, nil).Problem(t, http.StatusNotFound)
		leftHalfway(t, e, l)
	})
	t.Run("another organization's admin cannot tell the leftover apart", func(t *testing.T) {
		if _, _, err := e.Seed(context.Background(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
			t.Fatal(err)
		}
		other := e.Login(t, "boss@other.example", "other-password-123").AccessToken
		e.Do("DELETE", path, other, nil).Problem(t, http.StatusNotFound)
		if !jobLeft(t, e, l.user.ID) || working(t, e, l.keys...) == 0 {
			t.Fatal("another organization's call ended the leftover")
		}
	})
	t.Run("the retry answers 204 and ends everything", func(t *testing.T) {
		if r := e.Do("DELETE", path, owner, nil); r.Status != http.StatusNoContent {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		endedAll(t, e, l)
	})
	t.Run("once nothing is left the user is not found", func(t *testing.T) {
		e.Do("DELETE", path, owner, nil).Problem(t, http.StatusNotFound)
	})
}

func TestADeletionFailingHalfwayIsFinishedInTheBackground(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", leaverSessions, leaverKeys)
	failHalfway(t, e, "DELETE", "/v1/users/"+l.user.ID, owner, nil)
	leftHalfway(t, e, l)
	if err := e.RunJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	endedAll(t, e, l)
}

func TestReactivationFinishesTheEndingFirst(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", leaverSessions, leaverKeys)
	path := "/v1/users/" + l.user.ID + "/status"
	failHalfway(t, e, "POST", path, owner, map[string]string{"status": "inactive"})
	leftHalfway(t, e, l)
	if r := e.Do("POST", path, owner, map[string]string{"status": "active"}); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	old := append([]string{}, l.keys...)
	for _, s := range l.sessions {
		old = append(old, s.AccessToken)
	}
	if n := working(t, e, old...); n != 0 {
		t.Fatalf("%d keys or access tokens from before the deactivation work again", n)
	}
	t.Run("the user logs in again within the grace, and the jobs leave its new session", func(t *testing.T) {
		tok := e.Login(t, "leaver@acme.example", apitest.UserPassword)
		if !jobLeft(t, e, l.user.ID) {
			t.Fatal("the job finished within its grace")
		}
		settle(t, e)
		if working(t, e, tok.AccessToken) != 1 {
			t.Fatal("the new session was ended")
		}
		if jobLeft(t, e, l.user.ID) {
			t.Fatal("the job is still there past its grace")
		}
	})
}

func TestADeactivationEndsEverythingAtOnceAndItsJobConfirms(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", 5, 2)
	if r := e.Do("POST", "/v1/users/"+l.user.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if n := working(t, e, l.keys...); n != 0 {
		t.Fatalf("%d keys work after the answer", n)
	}
	if n := indexed(t, e, l.user.ID); n != 0 {
		t.Fatalf("%d items indexed after the answer", n)
	}
	j, err := e.Store.GetJob(context.Background(), store.EndingJob, e.Org.Org.ID, l.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.ResetCounters()
	if err := e.Jobs.Drain(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	// Within its grace, the job's one batch: the user's read, a Query
	// finding nothing; then it waits, unwritten.
	if calls := e.Counters[route.Jobs].Calls(); calls != 2 {
		t.Errorf("the job made %d DynamoDB calls (%v), want 2", calls, e.Counters[route.Jobs].Operations())
	}
	if again, err := e.Store.GetJob(context.Background(), store.EndingJob, e.Org.Org.ID, l.user.ID); err != nil || again.Updated != j.Updated {
		t.Fatalf("the waiting job was written (%v): the stream would run it again at once", err)
	}
	e.Clock.Advance(users.EndingGrace)
	e.ResetCounters()
	if err := e.Jobs.Drain(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	// Past it: the user's read, a Query finding nothing, the job's deletion.
	if calls := e.Counters[route.Jobs].Calls(); calls != 3 {
		t.Errorf("the job made %d DynamoDB calls (%v), want 3", calls, e.Counters[route.Jobs].Operations())
	}
	endedAll(t, e, l)
}

func TestADeactivationEndsAThousandAtOnceAndLeavesTheRestToItsJob(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", 1, 1)
	ctx := context.Background()
	now := e.Clock.Now()
	const seeded = 1500
	for i := range seeded {
		h := sha256.Sum256(fmt.Appendf(nil, "token %d", i))
		c := store.NewCredential(hex.EncodeToString(h[:]), store.AccessToken, e.Org.Org.ID, l.user.ID, now, now.Add(time.Hour))
		if err := e.Store.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.ResetCounters()
	if r := e.Do("POST", "/v1/users/"+l.user.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// Three reads (the user, its index, its invitations) and eleven
	// transactions, however many credentials the user holds.
	calls := e.Counters[routeOf(t, "setUserStatus").Function].Calls()
	t.Logf("deactivating a user of %d items: %d DynamoDB calls", seeded+4, calls)
	if calls > 14 {
		t.Errorf("%d DynamoDB calls (%v), want at most 14", calls, e.Counters[routeOf(t, "setUserStatus").Function].Operations())
	}
	// The request's deletes after its first transaction are bounded; the
	// first of them is the user's old status entry.
	if n := indexed(t, e, l.user.ID); n == 0 || n > seeded+4-(1000-1) {
		t.Fatalf("%d items left indexed", n)
	}
	if err := e.RunJobs(ctx); err != nil {
		t.Fatal(err)
	}
	endedAll(t, e, l)
}

// lagging writes, as an index lagging behind the table shows it, an
// access token of user made a moment before its change: the item is
// written directly, at its creation's time, past the checks of the paths
// that make one now. It returns the token.
func lagging(t *testing.T, e *apitest.Env, u store.User, created time.Time) string {
	t.Helper()
	secret, hash := e.AccessToken(t, "ses_lagging", created.Add(time.Hour))
	c := store.NewCredential(hash, store.AccessToken, u.Org, u.ID, created, created.Add(time.Hour))
	c.UserKind, c.Role, c.Permissions, c.Session = u.Kind, u.Role, []string{"users:read"}, "ses_lagging"
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &e.Config.Table, Item: item}); err != nil {
		t.Fatal(err)
	}
	if working(t, e, secret) != 1 {
		t.Fatal("the lagging token does not work: it tests nothing")
	}
	return secret
}

func TestACredentialTheIndexShowsLateIsStillEnded(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	l := newLeaver(t, e, "leaver@acme.example", 2, 1)
	before := e.Clock.Now()
	if r := e.Do("POST", "/v1/users/"+l.user.ID+"/status", owner, map[string]string{"status": "inactive"}); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	t.Run("within its grace, an empty batch leaves the job waiting", func(t *testing.T) {
		if err := e.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if !jobLeft(t, e, l.user.ID) {
			t.Fatal("the job finished at its first empty batch")
		}
	})
	late := lagging(t, e, l.user, before)
	t.Run("a sweep within the grace ends it, and the job still waits", func(t *testing.T) {
		e.Clock.Advance(users.EndingGrace / 2)
		if err := e.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if working(t, e, late) != 0 || !jobLeft(t, e, l.user.ID) {
			t.Fatalf("token works: %d; job left: %v", working(t, e, late), jobLeft(t, e, l.user.ID))
		}
	})
	late = lagging(t, e, l.user, before)
	t.Run("past the grace, the sweep ends it and finishes the job", func(t *testing.T) {
		settle(t, e)
		if working(t, e, late) != 0 {
			t.Fatal("the token shown late outlived the deactivation")
		}
		endedAll(t, e, l)
	})
}

func TestAPasswordChangeFailingHalfwayIsFinishedInTheBackground(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	l := newLeaver(t, e, "changer@acme.example", leaverSessions, leaverKeys)
	caller, others := l.sessions[0].AccessToken, []string{}
	for _, s := range l.sessions[1:] {
		others = append(others, s.AccessToken)
	}
	const next = "new-password-5678"
	failHalfway(t, e, "POST", "/v1/me/password", caller, map[string]string{"current_password": apitest.UserPassword, "new_password": next})
	ctx := context.Background()
	if _, err := e.Store.GetJob(ctx, store.SessionsEndingJob, e.Org.Org.ID, l.user.ID); err != nil {
		t.Fatalf("no ending job: %v", err)
	}
	if working(t, e, others...) == 0 {
		t.Fatal("no other session works: the failure came too late to test anything")
	}
	fresh := e.Login(t, "changer@acme.example", next).AccessToken
	t.Run("the jobs end the other sessions, and keep the caller's, the keys and the session opened since", func(t *testing.T) {
		if err := e.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if n := working(t, e, others...); n != 0 {
			t.Fatalf("%d sessions from before the change still work", n)
		}
		if n := working(t, e, append([]string{caller, fresh}, l.keys...)...); n != 2+leaverKeys {
			t.Fatalf("%d of the caller's session, the new one and the keys work, want %d", n, 2+leaverKeys)
		}
	})
	t.Run("past its grace the job is done, and ended nothing more", func(t *testing.T) {
		settle(t, e)
		if _, err := e.Store.GetJob(ctx, store.SessionsEndingJob, e.Org.Org.ID, l.user.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the job is left: %v", err)
		}
		if n := working(t, e, append([]string{caller, fresh}, l.keys...)...); n != 2+leaverKeys {
			t.Fatalf("%d work, want %d", n, 2+leaverKeys)
		}
	})
}
