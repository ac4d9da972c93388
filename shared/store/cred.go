package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Credential kinds.
const (
	AccessToken  = "access"
	RefreshToken = "refresh"
	// PasswordChallenge lets a user who must change its password do so.
	PasswordChallenge = "password_change"
	// EmailProofChallenge asks a user whose address is unproved for the
	// code mailed to it; Ref holds the code's hash.
	EmailProofChallenge = "email_proof"
	// InviteToken is the token of an invitation link.
	InviteToken = "invite"
	// ResetToken is the token of a password reset link.
	ResetToken = "reset"
	// APIKey is a scoped key for a client application (see apikey.go).
	APIKey = "apikey"
)

// Credential is a secret's record, keyed by the secret's SHA-256. Verifying
// a secret is one GetItem of CRED#<hash>.
type Credential struct {
	key
	Kind     string `dynamodbav:"kind"`
	Org      string `dynamodbav:"org"`
	OrgCode  string `dynamodbav:"org_code,omitempty"`
	User     string `dynamodbav:"user"`
	UserKind string `dynamodbav:"user_kind,omitempty"`
	// Person is, on an access token, its user's person (person.go).
	Person      string `dynamodbav:"person,omitempty"`
	Role        string `dynamodbav:"role,omitempty"`
	Permissions Perms  `dynamodbav:"permissions"`
	// RoleVersion is the version of the custom role Permissions were read
	// from: the credential is written only while the role is still at it.
	RoleVersion int `dynamodbav:"role_version,omitempty"`
	// Units, AllUnits and DefaultUnit are the user's, copied onto an access
	// token or API key so that the authorizer's one GetItem gives the
	// principal whole; every change of the user's units rewrites them.
	Units       Perms  `dynamodbav:"units,omitempty"`
	AllUnits    bool   `dynamodbav:"all_units,omitempty"`
	DefaultUnit string `dynamodbav:"default_unit,omitempty"`
	// UnitKinds are the user's unit kinds (User.UnitKinds), copied with
	// its units for the principal.
	UnitKinds Perms `dynamodbav:"unit_kinds,omitempty"`
	// Session is the session family of an access or refresh token.
	Session string    `dynamodbav:"session,omitempty"`
	Created time.Time `dynamodbav:"created"`
	Expires int64     `dynamodbav:"expires"`
	// Rotated is when a refresh token was exchanged (epoch seconds); a
	// rotated token presented again revokes its session.
	Rotated int64 `dynamodbav:"rotated,omitempty"`
	// Pair is, on a refresh token, the hash of the access token issued with
	// it, so that rotation can end that access token without a read.
	Pair string `dynamodbav:"pair,omitempty"`
	// PairExpires is, on a refresh token, when its Pair expires (epoch
	// seconds): a refresh keeps that access token until then.
	PairExpires int64 `dynamodbav:"pair_expires,omitempty"`
	// Kept are, on a refresh token, the session's previous access tokens
	// still live, as "<hash>:<expires>": a refresh does not break the
	// requests in flight (see RotateSession).
	Kept Perms `dynamodbav:"kept,omitempty"`
	// Verified is, on a refresh token, that its session proved a code of
	// two-step verification when it opened.
	Verified bool `dynamodbav:"verified,omitempty"`
	// AuthTime is, on a browser session's refresh token, when the person
	// last signed in with a password (epoch seconds) when that was before
	// the session opened: an invitation joined with the browser's session
	// keeps the sign-in's time. Zero: the token's Created.
	AuthTime int64 `dynamodbav:"auth_time,omitempty"`
	// Ref is what a link token is for: an invitation's id.
	Ref string `dynamodbav:"ref,omitempty"`
	// Used is when a one-time link token was used (epoch seconds); a used
	// token is kept until it expires so that its reuse is told apart from
	// an unknown token.
	Used int64 `dynamodbav:"used,omitempty"`
	// OIDCClient is, on a refresh or access token, the OpenID Connect
	// client it was issued to; empty for the JSON login API's and the
	// hosted pages' access tokens. Only that client refreshes or revokes
	// it. OIDCScopes are the scopes granted that client (what userinfo
	// answers), kept from refresh token to refresh token.
	OIDCClient string `dynamodbav:"oidc_client,omitempty"`
	OIDCScopes Perms  `dynamodbav:"oidc_scopes,omitempty"`
	// Limited is, on an OpenID Connect client's tokens, that they carry
	// only the permissions among OIDCScopes (Limit): a client that is not
	// the deployment's own, or one that asked for permissions as scopes.
	// Every regrant keeps the limit.
	Limited bool `dynamodbav:"limited,omitempty"`
	// The fields of an API key (Kind APIKey); Permissions are its Scopes
	// within its user's role, LastUsed is epoch seconds (see apikey.go).
	// Client is also a service user's client application on its access
	// tokens.
	KeyID    string `dynamodbav:"key_id,omitempty"`
	Name     string `dynamodbav:"name,omitempty"`
	Client   string `dynamodbav:"client,omitempty"`
	Prefix   string `dynamodbav:"prefix,omitempty"`
	Scopes   Perms  `dynamodbav:"scopes,omitempty"`
	LastUsed int64  `dynamodbav:"last_used,omitempty"`
	GSI1PK   string `dynamodbav:"gsi1pk"`
	GSI1SK   string `dynamodbav:"gsi1sk"`
}

func credKey(hash string) key { return key{"CRED#" + hash, "CRED"} }

// NewCredential returns a credential item for the secret hash, indexed
// under its user.
func NewCredential(hash, kind, org, user string, created time.Time, expires time.Time) Credential {
	return Credential{
		key: credKey(hash), Kind: kind, Org: org, User: user,
		Created: created, Expires: epoch(expires),
		GSI1PK: "USER#" + user, GSI1SK: "CRED#" + kind + "#" + hash,
	}
}

// WithUnits returns c carrying u's organization code and units.
func (c Credential) WithUnits(u User) Credential {
	c.OrgCode, c.Units, c.UnitKinds, c.AllUnits, c.DefaultUnit = u.OrgCode, u.Units, u.UnitKinds, u.AllUnits, u.DefaultUnit
	return c
}

// Hash is the SHA-256 the credential is keyed by.
func (c Credential) Hash() string { return c.PK[len("CRED#"):] }

// Valid reports whether the credential is still in force at now.
func (c Credential) Valid(now time.Time) bool { return c.Expires > now.Unix() }

// GetCredential reads the credential of a secret's hash.
func (s *Store) GetCredential(ctx context.Context, hash string) (Credential, error) {
	var c Credential
	if err := s.get(ctx, credKey(hash), &c); err != nil {
		return c, fmt.Errorf("get credential: %w", err)
	}
	return c, nil
}

// Session is a login's family of tokens: its current access and refresh
// tokens, replaced together at each refresh.
type Session struct {
	key
	ID          string    `dynamodbav:"id"`
	Org         string    `dynamodbav:"org"`
	User        string    `dynamodbav:"user"`
	Created     time.Time `dynamodbav:"created"`
	LastUsed    time.Time `dynamodbav:"last_used"`
	IP          string    `dynamodbav:"ip,omitempty"`
	UserAgent   string    `dynamodbav:"user_agent,omitempty"`
	AccessHash  string    `dynamodbav:"access_hash"`
	RefreshHash string    `dynamodbav:"refresh_hash"`
	// KeptAccess are the hashes of the previous access tokens a refresh
	// kept until their expiry: ending the session ends them too.
	KeptAccess Perms  `dynamodbav:"kept_access,omitempty"`
	Expires    int64  `dynamodbav:"expires"`
	GSI1PK     string `dynamodbav:"gsi1pk"`
	GSI1SK     string `dynamodbav:"gsi1sk"`
}

func sessionKey(id string) key { return key{"SESSION#" + id, "SESSION"} }

// CreateSession writes a session and its two tokens in one transaction,
// on the condition that the user is still active in the role its access
// token carries (else a Conflict on UserChanged): a deactivation that
// read the user's credentials before this write cannot miss it.
func (s *Store) CreateSession(ctx context.Context, sess Session, access, refresh Credential) error {
	t := s.tx().session(sess, access, refresh).add(UserChanged, s.activeUser(access.Org, access.User, access.Role))
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// session adds the puts of a new session and its two tokens.
func (t *tx) session(sess Session, access, refresh Credential) *tx {
	sess.key = sessionKey(sess.ID)
	sess.GSI1PK, sess.GSI1SK = "USER#"+sess.User, "SESSION#"+sess.ID
	sess.AccessHash, sess.RefreshHash = access.Hash(), refresh.Hash()
	sess.Expires = refresh.Expires
	refresh.Pair, refresh.PairExpires = access.Hash(), access.Expires
	return t.put(IDTaken, sess, access, refresh).roleAt(access.Org, access.Role, access.RoleVersion)
}

// GetSession reads a session.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	var sess Session
	if err := s.get(ctx, sessionKey(id), &sess); err != nil {
		return sess, fmt.Errorf("get session: %w", err)
	}
	return sess, nil
}

// rotatedToken is what is kept of a refresh token once rotated: what
// reuse detection reads (its kind, its session, that it was rotated,
// until when), out of the user's index and without permissions, so that
// a session refreshed every few minutes leaves nothing that ending the
// user must delete. It moves to its session's partition of gsi1 rather
// than leaving the index: the embedded DynamoDB keeps a stale index entry
// of an item replaced without its index keys, and its queries then fail.
type rotatedToken struct {
	key
	GSI1PK  string `dynamodbav:"gsi1pk"`
	GSI1SK  string `dynamodbav:"gsi1sk"`
	Kind    string `dynamodbav:"kind"`
	Org     string `dynamodbav:"org"`
	User    string `dynamodbav:"user"`
	Session string `dynamodbav:"session"`
	Rotated int64  `dynamodbav:"rotated"`
	Expires int64  `dynamodbav:"expires"`
	// OIDCClient stays: reuse detection answers only the token's client.
	OIDCClient string `dynamodbav:"oidc_client,omitempty"`
}

// MaxKept bounds the previous access tokens a session keeps live: a
// client refreshing faster than its tokens expire ends the oldest.
const MaxKept = 3

// RotateSession replaces a session's tokens by access and refresh, and
// the old refresh token by its rotated form (rotatedToken), kept until
// the old token's own expiry: as long as the token would have been
// accepted, presenting it is reuse and ends the session. The old access
// token stays until its own expiry (the requests in flight with it still
// pass), listed on the session so that ending the session ends it; of
// more than MaxKept live ones, the oldest are deleted. It returns a
// Conflict on TokenRotated when the old refresh token was rotated
// meanwhile or is no longer the session's: of concurrent rotations of one
// token, exactly one wins; on UserChanged when the user is no longer
// active in the role read (a deactivation racing the refresh).
func (s *Store) RotateSession(ctx context.Context, old Credential, access, refresh Credential, now time.Time) error {
	sk := sessionKey(old.Session)
	refresh.Pair, refresh.PairExpires = access.Hash(), access.Expires
	var drop []string
	refresh.Kept, drop = kept(old, now)
	hashes := make(Perms, len(refresh.Kept))
	for i, k := range refresh.Kept {
		hashes[i], _, _ = strings.Cut(k, ":")
	}
	// A Put, not an Update with REMOVE, takes the old token out of the
	// index: the embedded DynamoDB ignores REMOVE.
	rotated, err := marshal(rotatedToken{key: old.key, GSI1PK: "ROTATED#" + old.Session, GSI1SK: "CRED#" + old.Hash(),
		Kind: old.Kind, Org: old.Org, User: old.User,
		Session: old.Session, Rotated: now.Unix(), Expires: old.Expires, OIDCClient: old.OIDCClient})
	if err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	set := "SET access_hash = :a, refresh_hash = :r, last_used = :now, expires = :exp"
	values := map[string]types.AttributeValue{
		":old": str(old.Hash()), ":a": str(access.Hash()), ":r": str(refresh.Hash()),
		":now": str(now.UTC().Format(time.RFC3339Nano)), ":exp": num(refresh.Expires),
	}
	if len(hashes) > 0 {
		set += ", kept_access = :kept"
		values[":kept"] = str(strings.Join(hashes, " "))
	}
	t := s.tx().put(IDTaken, access, refresh).add(TokenRotated,
		types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: rotated,
			ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(rotated)"),
		}},
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: sk.av(),
			ConditionExpression:       aws.String("refresh_hash = :old"),
			UpdateExpression:          aws.String(set),
			ExpressionAttributeValues: values,
		}},
	).roleAt(access.Org, access.Role, access.RoleVersion).
		add(UserChanged, s.activeUser(access.Org, access.User, access.Role))
	for _, h := range drop {
		t.del(credKey(h))
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	return nil
}

// kept returns the access tokens a rotation of the refresh token old
// keeps ("<hash>:<expires>", oldest first: its kept ones still live,
// then its pair), and the hashes of those past MaxKept, to delete.
func kept(old Credential, now time.Time) (keep Perms, drop []string) {
	all := append(slices.Clone(old.Kept), fmt.Sprintf("%s:%d", old.Pair, old.PairExpires))
	for _, k := range all {
		h, exp, _ := strings.Cut(k, ":")
		if e, err := strconv.ParseInt(exp, 10, 64); h == "" || err != nil || e <= now.Unix() {
			continue // expired: its own expiry refuses it, TTL deletes it
		}
		keep = append(keep, k)
	}
	for len(keep) > MaxKept {
		h, _, _ := strings.Cut(keep[0], ":")
		drop, keep = append(drop, h), keep[1:]
	}
	return keep, drop
}

// endKeys are the keys ending a session deletes: the session, its current
// tokens and the access tokens its refreshes kept.
func (sess Session) endKeys() []key {
	keys := []key{sess.key, credKey(sess.AccessHash), credKey(sess.RefreshHash)}
	for _, h := range sess.KeptAccess {
		keys = append(keys, credKey(h))
	}
	return keys
}

// DeleteSession ends a session: the session, its current tokens and the
// access tokens it kept go in one transaction. Its rotated refresh tokens, which no index lists, stay
// until they expire, so their reuse is still recognized; they point at a
// session that is gone.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	sess, err := s.GetSession(ctx, id)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if err := s.transact(ctx, s.tx().del(sess.endKeys()...)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue  { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

// PutCredential writes a credential on its own (a one-time challenge of a
// login), on the condition that its user is still active (else a
// Conflict on UserChanged): a deactivation that read the user's
// credentials before this write cannot miss it.
func (s *Store) PutCredential(ctx context.Context, c Credential) error {
	t := s.tx().put(IDTaken, c).add(UserChanged, s.userIn(c.Org, c.User, Active))
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("put credential: %w", err)
	}
	return nil
}

// CompletePasswordChange consumes a password challenge: the user's new
// password, the challenge's deletion and what comes next (a new session, or
// an enrollment challenge), in one transaction. A Conflict on
// ChallengeGone means the challenge was used; on VersionChanged, that the
// user changed meanwhile.
func (s *Store) CompletePasswordChange(ctx context.Context, challenge string, change UserChange, next Next) error {
	if err := s.preparePerson(ctx, &change); err != nil {
		return fmt.Errorf("complete password change: %w", err)
	}
	first, rest := s.changeItems(change)
	t := s.tx().add(ChallengeGone, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
		Key: credKey(challenge).av(), ConditionExpression: aws.String("attribute_exists(pk)")}})
	return s.commit(ctx, t.join(first).next(next), rest)
}

// Perms is a list of permissions stored as one space-separated string, so
// that a change never writes an empty list (which the embedded DynamoDB
// mishandles) and an update never needs REMOVE.
type Perms []string

// MarshalDynamoDBAttributeValue stores the list as a string.
func (p Perms) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return str(strings.Join(p, " ")), nil
}

// UnmarshalDynamoDBAttributeValue reads the list from its string.
func (p *Perms) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*p = strings.Fields(v.Value)
	case *types.AttributeValueMemberNULL:
		*p = nil
	case *types.AttributeValueMemberL:
		// Roles written before their permissions were a string.
		var list []string
		if err := attributevalue.Unmarshal(v, &list); err != nil {
			return fmt.Errorf("store: permissions: %w", err)
		}
		*p = list
	default:
		return fmt.Errorf("store: permissions: want a string, got %T", av)
	}
	return nil
}
