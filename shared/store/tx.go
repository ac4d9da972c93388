package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Part names a condition of a write: what it means when the condition
// fails. Every conditional item of a transaction carries its part, and a
// cancelled transaction comes back as a *Conflict listing the parts that
// failed, so callers tell failures apart by name, never by position.
type Part string

// The named conditions. One part may guard items of several transactions
// when a failure means the same thing to callers.
const (
	// IDTaken: a new item's key exists already. Keys of new items are
	// fresh random identifiers or hashes of fresh secrets, so this only
	// happens when the same item is written twice.
	IDTaken Part = "id_taken"
	// LoginTaken: the login name a new login guard reserves is a user's.
	LoginTaken Part = "login_taken"
	// UserExists: the e-mail address to invite is a user's login already.
	UserExists Part = "user_exists"
	// OrgCodeTaken: another organization has this code.
	OrgCodeTaken Part = "org_code_taken"
	// OrgGone: the organization to change does not exist.
	OrgGone Part = "org_gone"
	// OwnerChanged: the organization's owner is no longer the one read (or
	// it has one already, for the first owner's acceptance).
	OwnerChanged Part = "owner_changed"
	// VersionChanged: the user changed (or went) since it was read.
	VersionChanged Part = "version_changed"
	// UserChanged: the user an API key is made for (or the inviter of an
	// invitation accepted) is no longer active in the role read.
	UserChanged Part = "user_changed"
	// PasswordChanged: the password hash to replace is no longer the
	// user's.
	PasswordChanged Part = "password_changed"
	// LinkUsed: the one-time link token was used meanwhile, or is gone.
	LinkUsed Part = "link_used"
	// ChallengeGone: the login challenge was answered meanwhile, or expired.
	ChallengeGone Part = "challenge_gone"
	// CodeUsed: the two-step verification code was used (its time step,
	// or the recovery code), or the authenticator changed.
	CodeUsed Part = "code_used"
	// TokenRotated: the refresh token was rotated meanwhile, or is no
	// longer its session's.
	TokenRotated Part = "token_rotated"
	// CredentialGone: a credential to regrant vanished (expired, revoked).
	CredentialGone Part = "credential_gone"
	// KeyGone: the API key was revoked or rotated meanwhile.
	KeyGone Part = "key_gone"
	// InvitationPending: the address has another pending invitation.
	InvitationPending Part = "invitation_pending"
	// InvitationChanged: the invitation is no longer pending with the link
	// read (accepted, revoked or renewed meanwhile).
	InvitationChanged Part = "invitation_changed"
	// UnitGone: a unit the write counts on (a user's unit, a unit's
	// parent) does not exist.
	UnitGone Part = "unit_gone"
	// UnitChanged: the unit to update is gone, or was moved meanwhile.
	UnitChanged Part = "unit_changed"
	// UnitInUse: the unit to delete is gone, or users or child units hold it.
	UnitInUse Part = "unit_in_use"
	// TreeChanged: another unit moved since the unit tree was read.
	TreeChanged Part = "tree_changed"
	// RoleGone: a custom role the write gives a user does not exist.
	RoleGone Part = "role_gone"
	// RoleNameTaken: another role of the organization has this name.
	RoleNameTaken Part = "role_name_taken"
	// RoleChanged: the role changed (or went) since it was read.
	RoleChanged Part = "role_changed"
	// RoleInUse: the role to delete is gone, or users hold it.
	RoleInUse Part = "role_in_use"
	// AttemptsSpent: the attempts a counter allows (or its client's) are
	// spent, or the next attempt must still wait.
	AttemptsSpent Part = "attempts_spent"
	// LimitReached: a rate-limit counter would pass its maximum.
	LimitReached Part = "limit_reached"
	// PersonChanged: the person (its credentials or its memberships)
	// changed since it was read.
	PersonChanged Part = "person_changed"
	// JobChanged: the job was replaced by a newer one, or finished,
	// since it was read.
	JobChanged Part = "job_changed"
)

// AllParts returns every named condition, for tests that must cover each.
func AllParts() []Part {
	return []Part{IDTaken, LoginTaken, UserExists, OrgCodeTaken, OrgGone, OwnerChanged,
		VersionChanged, UserChanged, PasswordChanged, LinkUsed, ChallengeGone, CodeUsed,
		TokenRotated, CredentialGone, KeyGone, InvitationPending, InvitationChanged,
		UnitGone, UnitChanged, UnitInUse, TreeChanged, RoleGone, RoleNameTaken, RoleChanged, RoleInUse,
		AttemptsSpent, LimitReached, PersonChanged, JobChanged}
}

// ErrNotFound is returned when an item does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is what every *Conflict matches with errors.Is: a
// conditional write lost, and nothing was written.
var ErrConflict = errors.New("store: conflict")

// ErrUnavailable is matched by every failure of DynamoDB itself:
// throttling, an internal error, a timeout, a call that got no answer, or
// a transaction still racing others after its retries. Trying again later
// may work.
var ErrUnavailable = errors.New("store: unavailable")

// Conflict is a lost condition: the parts whose conditions failed, at
// least one. It matches ErrConflict.
type Conflict struct {
	Parts []Part
}

func (c *Conflict) Error() string {
	names := make([]string, len(c.Parts))
	for i, p := range c.Parts {
		names[i] = string(p)
	}
	return "store: conflict: " + strings.Join(names, ", ")
}

// Unwrap makes a Conflict match ErrConflict.
func (c *Conflict) Unwrap() error { return ErrConflict }

// Lost reports whether err is a Conflict in which part's condition failed.
func Lost(err error, part Part) bool {
	var c *Conflict
	return errors.As(err, &c) && slices.Contains(c.Parts, part)
}

// item is one item of a transaction with the part its condition names
// ("" for an item without a condition).
type item struct {
	w    types.TransactWriteItem
	part Part
}

// tx builds a transaction. Building errors (an item that does not
// marshal) are kept and returned by transact, so that building reads as a
// list of items.
type tx struct {
	s     *Store
	items []item
	err   error
}

func (s *Store) tx() *tx { return &tx{s: s} }

// add appends items whose conditions part names ("" for none).
func (t *tx) add(p Part, ws ...types.TransactWriteItem) *tx {
	for _, w := range ws {
		t.items = append(t.items, item{w, p})
	}
	return t
}

// addErr appends w unless err is set, which is kept.
func (t *tx) addErr(p Part, w types.TransactWriteItem, err error) *tx {
	if err != nil {
		t.fail(err)
		return t
	}
	return t.add(p, w)
}

// fail keeps the first building error.
func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// join appends the items of o.
func (t *tx) join(o *tx) *tx {
	if o.err != nil {
		t.fail(o.err)
	}
	t.items = append(t.items, o.items...)
	return t
}

// put appends a write of a new item (its key must not exist), whose
// condition part names.
func (t *tx) put(p Part, vs ...any) *tx {
	for _, v := range vs {
		w, err := t.s.put(v, true)
		t.addErr(p, w, err)
	}
	return t
}

// set appends writes of items, replacing any with their keys.
func (t *tx) set(vs ...any) *tx {
	for _, v := range vs {
		w, err := t.s.put(v, false)
		t.addErr("", w, err)
	}
	return t
}

// del appends deletions of items, present or not.
func (t *tx) del(ks ...key) *tx {
	for _, k := range ks {
		t.add("", t.s.del(k))
	}
	return t
}

// audit appends an audit event.
func (t *tx) audit(a Audit) *tx {
	w, err := t.s.audit(a)
	return t.addErr(IDTaken, w, err)
}

// check reports an item whose condition has no part, or whose part
// guards no condition: each would make a failure unnamed or misnamed.
func (t *tx) check() error {
	for i, it := range t.items {
		conditional := it.w.ConditionCheck != nil ||
			(it.w.Put != nil && it.w.Put.ConditionExpression != nil) ||
			(it.w.Update != nil && it.w.Update.ConditionExpression != nil) ||
			(it.w.Delete != nil && it.w.Delete.ConditionExpression != nil)
		if conditional != (it.part != "") {
			return fmt.Errorf("store: transaction item %d: condition and part %q do not go together", i, it.part)
		}
	}
	return t.checkHolders()
}

// checkHolders reports a credential written for a user without a
// condition on that user's item in the same transaction: a credential
// written with no look at its user may outlive the user's deactivation
// (which read the user's credentials before it was written), so every
// path that writes one checks that the user may still hold it.
func (t *tx) checkHolders() error {
	checked := map[key]bool{}
	for _, it := range t.items {
		switch w := it.w; {
		case w.ConditionCheck != nil:
			checked[keyOf(w.ConditionCheck.Key)] = true
		case w.Put != nil && w.Put.ConditionExpression != nil:
			checked[keyOf(w.Put.Item)] = true
		case w.Update != nil && w.Update.ConditionExpression != nil:
			checked[keyOf(w.Update.Key)] = true
		}
	}
	for i, it := range t.items {
		if it.w.Put == nil {
			continue
		}
		item := it.w.Put.Item
		k, org, user := keyOf(item), attrS(item, "org"), attrS(item, "user")
		if !strings.HasPrefix(k.PK, "CRED#") || user == "" {
			continue
		}
		if !checked[userKey(org, user)] {
			return fmt.Errorf("store: transaction item %d: a credential of user %s written without a condition on the user", i, user)
		}
	}
	return nil
}

// keyOf returns the table key among an item's attributes.
func keyOf(item map[string]types.AttributeValue) key {
	return key{attrS(item, "pk"), attrS(item, "sk")}
}

// attrS returns an item's string attribute name, or "".
func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// transactRetries bounds the re-runs of a transaction that DynamoDB
// cancelled because another transaction was working on one of its items.
const transactRetries = 3

// transact runs t's items as one transaction. A lost condition is a
// *Conflict naming the failed parts. A transaction cancelled by a
// concurrent one wrote nothing and is run again, at most transactRetries
// times after a short random wait: the race's loser then loses its
// condition (a Conflict), or succeeds if the winner left it nothing to
// lose. Still cancelled, it is ErrUnavailable.
func (s *Store) transact(ctx context.Context, t *tx) error {
	if t.err != nil {
		return t.err
	}
	if err := t.check(); err != nil {
		return err
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, len(t.items))}
	for i, it := range t.items {
		in.TransactItems[i] = it.w
	}
	for attempt := 0; ; attempt++ {
		_, err := s.db.c.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		if c := t.conflict(err); c != nil {
			return c
		}
		if !transactionConflict(err) {
			return unavailable(err)
		}
		if attempt == transactRetries {
			return fmt.Errorf("%w: still racing after %d retries: %w", ErrUnavailable, transactRetries, err)
		}
		// Full jitter over a window that doubles: 10, 20, 40 ms.
		wait := time.Duration(rand.Int64N(int64(10*time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// batchRetries bounds the re-reads of the keys a BatchGetItem left
// unprocessed (DynamoDB does when it throttles a partition or the answer
// passes 16 MB).
const batchRetries = 5

// batchGet reads the keys of one BatchGetItem request of the table (at
// most 100), asking again for the keys DynamoDB leaves unprocessed, after
// a wait that doubles (full jitter over 10, 20, 40, 80, 160 ms). Keys still
// unprocessed after batchRetries re-reads are ErrUnavailable.
func (s *Store) batchGet(ctx context.Context, req types.KeysAndAttributes) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for attempt := 0; ; attempt++ {
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.table: req},
		})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		out = append(out, res.Responses[s.table]...)
		left, ok := res.UnprocessedKeys[s.table]
		if !ok || len(left.Keys) == 0 {
			return out, nil
		}
		if attempt == batchRetries {
			return nil, fmt.Errorf("%w: batch get: %d keys still unprocessed after %d retries", ErrUnavailable, len(left.Keys), batchRetries)
		}
		req.Keys = left.Keys
		wait := time.Duration(rand.Int64N(int64(10*time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// conflict returns the Conflict of a transaction cancelled by failed
// conditions, or nil.
func (t *tx) conflict(err error) *Conflict {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	var c Conflict
	for i, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) != "ConditionalCheckFailed" || i >= len(t.items) {
			continue
		}
		if p := t.items[i].part; !slices.Contains(c.Parts, p) {
			c.Parts = append(c.Parts, p)
		}
	}
	if len(c.Parts) == 0 {
		return nil
	}
	return &c
}

// transactionConflict reports whether a transaction was cancelled because
// another one was working on one of its items: nothing was written and it
// may simply be run again.
func transactionConflict(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "TransactionConflictException"
}

// lost turns the failed condition of a single-item write into a Conflict
// naming part; other errors are kept.
func lost(part Part, err error) error {
	if conditionFailed(err) {
		return &Conflict{Parts: []Part{part}}
	}
	return err
}

// conditionFailed reports whether a single-item write lost its condition.
func conditionFailed(err error) bool {
	var cc *types.ConditionalCheckFailedException
	return errors.As(err, &cc)
}

// unavailable marks a failure of DynamoDB itself as ErrUnavailable, and
// keeps every other error (a lost condition, a malformed request) as it is.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InternalServerError", "ServiceUnavailable", "ThrottlingException",
			"ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"TransactionConflictException", "TransactionCanceledException",
			"TransactionInProgressException":
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err) // the call never got an answer
	}
	return err
}

// dynamo is the store's one door to DynamoDB: every call's failure of
// DynamoDB itself comes out as ErrUnavailable. TransactWriteItems goes
// through transact, which tells conflicts apart first.
type dynamo struct{ c *dynamodb.Client }

func (d dynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := d.c.GetItem(ctx, in, o...)
	return out, unavailable(err)
}

func (d dynamo) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := d.c.BatchGetItem(ctx, in, o...)
	return out, unavailable(err)
}

func (d dynamo) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := d.c.Query(ctx, in, o...)
	return out, unavailable(err)
}

func (d dynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := d.c.PutItem(ctx, in, o...)
	return out, unavailable(err)
}

func (d dynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := d.c.UpdateItem(ctx, in, o...)
	return out, unavailable(err)
}

func (d dynamo) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := d.c.DeleteItem(ctx, in, o...)
	return out, unavailable(err)
}
