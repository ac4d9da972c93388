package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API keys are two items, always written and deleted in one transaction:
//
//	CRED#<sha256(key)>  CRED            the credential: kind "apikey", org, user,
//	                                    user_kind, role, permissions (the scopes
//	                                    within the role), scopes, key_id, name,
//	                                    client, prefix, created, expires,
//	                                    last_used; gsi1 USER#<user> /
//	                                    CRED#apikey#<id>
//	ORG#<org>           APIKEY#<id>     the key's entry in its organization's
//	                                    list: hash, user, name, client, scopes,
//	                                    prefix, created, expires, rotated,
//	                                    announced; for a key that expires,
//	                                    gsi1 KEYEXPIRY#<yyyy-mm-dd> /
//	                                    <org>#<id>
//
// The authorizer reads the credential (one GetItem); the entry lists an
// organization's keys (one Query) and finds a key's hash from its id. Neither
// holds the key. A key without expiry has expires = NoExpiry, as an expires
// of 0 would make DynamoDB's TTL delete it; the authorizer checks expires
// itself, since TTL deletes late. The entry of a key that expires is
// indexed by its expiry's day (UTC), so that the keys about to expire are
// found by a Query per day, without a scan; as the index entry is the
// key's entry, whatever deletes the entry (revocation, rotation, the end
// of its user's credentials, TTL) takes the key out of the index too.
// When a user's credentials are revoked
// (deactivation, deletion), Revoke derives each key's entry from its
// credential, so both go. last_used lives on the credential only: functions
// set it (RecordKeyUse) at most once a minute, and listings read it there.

// NoExpiry is the expires of a key that does not expire:
// 9999-12-31T23:59:59Z, never reached and never deleted by TTL.
const NoExpiry int64 = 253402300799

// KeyEntry is an API key's entry in its organization's list.
type KeyEntry struct {
	key
	ID      string    `dynamodbav:"id"`
	Org     string    `dynamodbav:"org"`
	User    string    `dynamodbav:"user"`
	Hash    string    `dynamodbav:"hash"`
	Name    string    `dynamodbav:"name"`
	Client  string    `dynamodbav:"client"`
	Scopes  Perms     `dynamodbav:"scopes"`
	Prefix  string    `dynamodbav:"prefix"`
	Created time.Time `dynamodbav:"created"`
	Expires int64     `dynamodbav:"expires"`
	// Rotated is when the key was replaced by a new one (epoch seconds); it
	// lives on until Expires, the end of its grace period.
	Rotated int64 `dynamodbav:"rotated,omitempty"`
	// Announced is when its owner was told that it expires soon (epoch
	// seconds).
	Announced int64 `dynamodbav:"announced,omitempty"`
	// GSI1PK and GSI1SK index a key that expires by its expiry's day.
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"`
}

// keyExpiryPrefix begins the index key of the keys expiring on a day.
const keyExpiryPrefix = "KEYEXPIRY#"

// expiryDay is the index partition of the keys expiring on t's day (UTC).
func expiryDay(t time.Time) string { return keyExpiryPrefix + t.UTC().Format(time.DateOnly) }

const keyEntryPrefix = "APIKEY#"

func keyEntryKey(org, id string) key { return key{"ORG#" + org, keyEntryPrefix + id} }

// NewAPIKey returns the two items of an API key: its credential and its
// entry. perms are the scopes within the user's role.
func NewAPIKey(hash, id, org string, u User, name, client, prefix string, scopes, perms []string, created time.Time, expires int64) (Credential, KeyEntry) {
	c := Credential{
		key: credKey(hash), Kind: APIKey, Org: org, User: u.ID, UserKind: u.Kind, Role: u.Role,
		Permissions: perms, Scopes: scopes, KeyID: id, Name: name, Client: client, Prefix: prefix,
		Created: created, Expires: expires,
		GSI1PK: "USER#" + u.ID, GSI1SK: "CRED#" + APIKey + "#" + id,
	}.WithUnits(u)
	e := KeyEntry{key: keyEntryKey(org, id), ID: id, Org: org, User: u.ID, Hash: hash, Name: name,
		Client: client, Scopes: scopes, Prefix: prefix, Created: created, Expires: expires}
	if expires != NoExpiry {
		e.GSI1PK, e.GSI1SK = expiryDay(time.Unix(expires, 0)), org+"#"+id
	}
	return c, e
}

// Limit returns the permissions of perms that scopes name: what the
// tokens of an OpenID Connect client limited to its scopes carry.
func Limit(perms, scopes []string) []string {
	out := []string{}
	for _, p := range perms {
		if slices.Contains(scopes, p) {
			out = append(out, p)
		}
	}
	return out
}

// Regrant returns the credentials among creds that carry a role's
// permissions, with the role and permissions they get when their user's
// role becomes role with perms: a session's access token gets perms, an
// API key its scopes within perms.
func Regrant(creds []Credential, role string, perms []string) []Credential {
	var out []Credential
	for _, c := range creds {
		switch c.Kind {
		case AccessToken:
			c.Role, c.Permissions = role, perms
			if c.Limited {
				c.Permissions = Limit(perms, c.OIDCScopes)
			}
		case APIKey:
			var within []string
			for _, s := range c.Scopes {
				if slices.Contains(perms, s) {
					within = append(within, s)
				}
			}
			c.Role, c.Permissions = role, within
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

// userIn is the transaction item checking that a user exists in one of
// statuses: what a link or a challenge made for it asks.
func (s *Store) userIn(org, user string, statuses ...string) types.TransactWriteItem {
	names, values := []string{}, map[string]types.AttributeValue{}
	for i, st := range statuses {
		v := fmt.Sprintf(":st%d", i)
		names, values[v] = append(names, v), str(st)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: userKey(org, user).av(),
		ConditionExpression:       aws.String("#st IN (" + strings.Join(names, ", ") + ")"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}
}

// activeUser is the transaction item checking that a user is still active
// in the role its credential was made for.
func (s *Store) activeUser(org, user, role string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: userKey(org, user).av(),
		ConditionExpression:      aws.String("#st = :active AND #ro = :role"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#ro": "role"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":active": str(Active), ":role": str(role),
		},
	}}
}

// CreateAPIKey writes a key's credential and entry with its audit event,
// on the condition that its user is still active in the role the key's
// permissions come from (else a Conflict on UserChanged).
func (s *Store) CreateAPIKey(ctx context.Context, c Credential, e KeyEntry, a Audit) error {
	if err := s.transact(ctx, s.newKeyItems(c, e, a)); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// newKeyItems are the items writing a new key: credential, entry, user
// check, then the audit events.
func (s *Store) newKeyItems(c Credential, e KeyEntry, events ...Audit) *tx {
	t := s.tx().put(IDTaken, c, e).add(UserChanged, s.activeUser(c.Org, c.User, c.Role)).roleAt(c.Org, c.Role, c.RoleVersion)
	for _, a := range events {
		t.audit(a)
	}
	return t
}

// GetKeyEntry reads the entry of an organization's key.
func (s *Store) GetKeyEntry(ctx context.Context, org, id string) (KeyEntry, error) {
	return getAs[KeyEntry](ctx, s, keyEntryKey(org, id), "get api key")
}

// RevokeAPIKey deletes a key's credential and entry with the audit event.
// A Conflict on KeyGone means the key was revoked meanwhile. With w (a
// unit-limited admin revoking another user's key), it is written only
// while the caller's reach and the key's user are as checked
// (UserChanged, TreeChanged).
func (s *Store) RevokeAPIKey(ctx context.Context, e KeyEntry, a Audit, w *Within) error {
	t := s.tx().add(KeyGone, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: e.key.av(),
		ConditionExpression: aws.String("attribute_exists(pk)")}}).
		del(credKey(e.Hash)).audit(a)
	if w != nil {
		t.reach(w.Reach, e.User).add(UserChanged, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: userKey(e.Org, e.User).av(),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(w.Version))},
		}})
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// RotateAPIKey writes a new key (as CreateAPIKey) in place of old, with the
// audit events of both, in one transaction: old ends at until, or is
// deleted when until is not after now. A Conflict on KeyGone means old was
// revoked or rotated meanwhile; on UserChanged, that the user changed.
func (s *Store) RotateAPIKey(ctx context.Context, old KeyEntry, until, now time.Time, c Credential, e KeyEntry, rotated, created Audit) error {
	t := s.newKeyItems(c, e, rotated, created)
	unrotated := aws.String("attribute_exists(pk) AND attribute_not_exists(rotated)")
	if !until.After(now) {
		t.add(KeyGone, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: old.key.av(),
			ConditionExpression: unrotated}}).
			del(credKey(old.Hash))
	} else {
		set := func(k key, cond *string) types.TransactWriteItem {
			return types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: k.av(), ConditionExpression: cond,
				UpdateExpression: aws.String("SET expires = :exp, rotated = :now"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":exp": num(epoch(until)), ":now": num(epoch(now)),
				},
			}}
		}
		t.add(KeyGone, set(old.key, unrotated), set(credKey(old.Hash), aws.String("attribute_exists(pk)")))
	}
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("rotate api key: %w", err)
	}
	return nil
}

// UserAPIKeys returns the credentials of a user's API keys: one Query of
// gsi1, which is eventually consistent (a key made a moment ago may be
// missing).
func (s *Store) UserAPIKeys(ctx context.Context, user string) ([]Credential, error) {
	return queryAll[Credential](ctx, s, "user api keys", s.userIndexItems(user, "CRED#"+APIKey+"#"))
}

// ListAPIKeys returns a page of an organization's key entries, at most
// limit, after the sort key start; next is "" after the last page.
func (s *Store) ListAPIKeys(ctx context.Context, org, start string, limit int) ([]KeyEntry, string, error) {
	in := s.orgItems(org, keyEntryPrefix)
	in.Limit = aws.Int32(int32(limit))
	return queryPage[KeyEntry](ctx, s, "list api keys", in, "ORG#"+org, start)
}

// KeysLastUsed returns when each of the keys of these hashes was last used
// (epoch seconds), by hash: one BatchGetItem for up to 100 keys. Keys never
// used, or gone, are absent.
func (s *Store) KeysLastUsed(ctx context.Context, hashes []string) (map[string]int64, error) {
	out := map[string]int64{}
	for chunk := range slices.Chunk(hashes, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, h := range chunk {
			keys[i] = credKey(h).av()
		}
		items, err := s.batchGet(ctx, types.KeysAndAttributes{
			Keys: keys, ProjectionExpression: aws.String("pk, last_used"), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("keys last used: %w", err)
		}
		for _, item := range items {
			var c struct {
				PK       string `dynamodbav:"pk"`
				LastUsed int64  `dynamodbav:"last_used"`
			}
			if err := attributevalue.UnmarshalMap(item, &c); err != nil {
				return nil, fmt.Errorf("keys last used: %w", err)
			}
			if c.LastUsed > 0 {
				out[c.PK[len("CRED#"):]] = c.LastUsed
			}
		}
	}
	return out, nil
}

// RecordKeyUse sets an API key's last_used to now unless it was set less
// than a minute ago: one conditional UpdateItem. It reports whether it
// wrote; a key used meanwhile, or gone, is no error.
func (s *Store) RecordKeyUse(ctx context.Context, hash string, now time.Time) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 credKey(hash).av(),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(last_used) OR last_used < :minuteAgo)"),
		UpdateExpression:    aws.String("SET last_used = :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(epoch(now)), ":minuteAgo": num(epoch(now) - 59),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record api key use: %w", err)
	}
	return true, nil
}

// ExpiringKeys returns the entries of the keys whose expiry falls on day
// (UTC), of every organization: a Query of gsi1 per page, which is
// eventually consistent (a key made a moment ago may be missing).
func (s *Store) ExpiringKeys(ctx context.Context, day time.Time) ([]KeyEntry, error) {
	return queryAll[KeyEntry](ctx, s, "expiring api keys", &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("gsi1"),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(expiryDay(day))},
	})
}

// MarkKeyAnnounced records that e's owner is being told of its coming
// expiry: one conditional UpdateItem. It reports whether it wrote: false
// when the key was announced already (by a concurrent run), rotated, or is
// gone, so that each key is announced once.
func (s *Store) MarkKeyAnnounced(ctx context.Context, e KeyEntry, now time.Time) (bool, error) {
	return s.setAnnounced(ctx, e, "(attribute_not_exists(announced) OR announced = :zero)", epoch(now), 0)
}

// UnmarkKeyAnnounced undoes the MarkKeyAnnounced made at at, when the
// announcement could not go (the mail limits refused it), so that a later
// run announces the key. (announced is set to 0, not removed.)
func (s *Store) UnmarkKeyAnnounced(ctx context.Context, e KeyEntry, at time.Time) error {
	_, err := s.setAnnounced(ctx, e, "announced = :at", 0, epoch(at))
	return err
}

// setAnnounced sets the announced of e's entry to v on the condition cond
// (with :zero and :at), and that e is still live, unrotated, with its
// expiry.
func (s *Store) setAnnounced(ctx context.Context, e KeyEntry, cond string, v, at int64) (bool, error) {
	values := map[string]types.AttributeValue{":v": num(v), ":exp": num(e.Expires)}
	if strings.Contains(cond, ":zero") {
		values[":zero"] = num(0)
	}
	if strings.Contains(cond, ":at") {
		values[":at"] = num(at)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       keyEntryKey(e.Org, e.ID).av(),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(rotated) AND expires = :exp AND " + cond),
		UpdateExpression:          aws.String("SET announced = :v"),
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark api key announced: %w", err)
	}
	return true, nil
}
