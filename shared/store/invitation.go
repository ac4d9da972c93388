package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/permission"
)

// Invitation statuses. An invitation past its expiry while pending shows
// as expired; the stored status stays pending.
const (
	Pending  = "pending"
	Accepted = "accepted"
	Revoked  = "revoked"
	Expired  = "expired"
)

// Invitation invites an e-mail address into an organization with a role
// and units. Its link's token is a credential (kind invite) whose hash is
// TokenHash; a new link replaces it.
type Invitation struct {
	key
	Org       string    `dynamodbav:"org"`
	ID        string    `dynamodbav:"id"`
	Email     string    `dynamodbav:"email"`
	Role      string    `dynamodbav:"role"`
	Units     []string  `dynamodbav:"units,omitempty"`
	AllUnits  bool      `dynamodbav:"all_units,omitempty"`
	UnitKinds []string  `dynamodbav:"unit_kinds,omitempty"`
	Language  string    `dynamodbav:"language"`
	Status    string    `dynamodbav:"status"`
	InvitedBy string    `dynamodbav:"invited_by"`
	TokenHash string    `dynamodbav:"token_hash"`
	Created   time.Time `dynamodbav:"created"`
	// ExpiresAt is when the link stops working. It is not the TTL
	// attribute: expired invitations stay listed.
	ExpiresAt time.Time `dynamodbav:"expires_at"`
	Accepted  time.Time `dynamodbav:"accepted,omitempty"`
	User      string    `dynamodbav:"user,omitempty"`
	// Client and ReturnTo are the application the invitation page leads
	// back to once accepted (a registered URI of the client).
	Client   string `dynamodbav:"client,omitempty"`
	ReturnTo string `dynamodbav:"return_to,omitempty"`
}

// State is the status to show at now.
func (i Invitation) State(now time.Time) string {
	if i.Status == Pending && !now.Before(i.ExpiresAt) {
		return Expired
	}
	return i.Status
}

func inviteKey(org, id string) key { return key{"ORG#" + org, "INVITE#" + id} }

// inviteGuard makes pending invitations unique per e-mail in an
// organization; it points at the pending invitation.
type inviteGuard struct {
	key
	Invitation string `dynamodbav:"invitation"`
}

func inviteGuardKey(org, email string) key {
	return key{"ORG#" + org, "INVITEMAIL#" + EmailLogin(email)}
}

// InvitationContext is what creating an invitation must know: whether the
// address is a user of the organization already, and the pending
// invitation to it, if any.
type InvitationContext struct {
	Org Org
	// UserExists is true when the address is the login, proved or not, of
	// a user of the organization; another organization's is not told.
	UserExists bool
	// Pending is the invitation the address's guard points at, if any.
	Pending *Invitation
}

// InvitationContextOf reads the organization, the login guard of email,
// the organization's claim on it and its invitation guard in one call,
// then the guarded invitation if there is one.
func (s *Store) InvitationContextOf(ctx context.Context, org, email string) (InvitationContext, error) {
	var c InvitationContext
	login := EmailLogin(email)
	items, err := s.getMany(ctx, orgKey(org), loginKey(login), claimKey(login, org), memberKey(login, org), inviteGuardKey(org, email))
	if err != nil {
		return c, fmt.Errorf("invitation context: %w", err)
	}
	if err := attributevalue.UnmarshalMap(items[orgKey(org)], &c.Org); err != nil || items[orgKey(org)] == nil {
		return c, fmt.Errorf("invitation context: organization: %w", ErrNotFound)
	}
	var g LoginGuard
	if it := items[loginKey(login)]; it != nil {
		if err := attributevalue.UnmarshalMap(it, &g); err != nil {
			return c, fmt.Errorf("invitation context: %w", err)
		}
	}
	c.UserExists = g.Org == org || items[claimKey(login, org)] != nil || items[memberKey(login, org)] != nil
	if g := items[inviteGuardKey(org, email)]; g != nil {
		var guard inviteGuard
		if err := attributevalue.UnmarshalMap(g, &guard); err != nil {
			return c, err
		}
		inv, err := s.GetInvitation(ctx, org, guard.Invitation)
		if err != nil {
			return c, err
		}
		c.Pending = &inv
	}
	return c, nil
}

// getMany reads items by key in one BatchGetItem (strongly consistent),
// more when DynamoDB leaves keys unprocessed (see batchGet).
func (s *Store) getMany(ctx context.Context, keys ...key) (map[key]map[string]types.AttributeValue, error) {
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = k.av()
	}
	items, err := s.batchGet(ctx, types.KeysAndAttributes{Keys: req, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	out := map[key]map[string]types.AttributeValue{}
	for _, item := range items {
		var k key
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			return nil, err
		}
		out[k] = item
	}
	return out, nil
}

// GetInvitation reads an invitation.
func (s *Store) GetInvitation(ctx context.Context, org, id string) (Invitation, error) {
	return getAs[Invitation](ctx, s, inviteKey(org, id), "get invitation")
}

// CreateInvitation writes an invitation, its link's token and its guard,
// on the conditions that the address is no login of a user of the
// organization, proved or not (UserExists), and
// has no other pending invitation (InvitationPending; replaced, when
// given, must be an expired one, which is then closed), and that each of
// its units exists in its organization (UnitGone); takes, the limits of its
// mail, are counted with it (LimitReached). With reach (a unit-limited
// inviter's), it is written only while the inviter's units and the unit
// tree are as its check read them (UserChanged, TreeChanged).
func (s *Store) CreateInvitation(ctx context.Context, inv Invitation, cred Credential, replaced *Invitation, reach *Reach, a Audit, takes ...Take) error {
	inv.key = inviteKey(inv.Org, inv.ID)
	t := s.tx().add(UserExists, s.noLoginIn(inv.Org, inv.Email)...)
	guard, err := marshal(inviteGuard{inviteGuardKey(inv.Org, inv.Email), inv.ID})
	if err != nil {
		return err
	}
	put := &types.Put{TableName: &s.table, Item: guard, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if replaced != nil {
		put.ConditionExpression = aws.String("invitation = :old")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":old": str(replaced.ID)}
	}
	t.add(InvitationPending, types.TransactWriteItem{Put: put}).put(IDTaken, inv, cred)
	for _, u := range inv.Units {
		t.add(UnitGone, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: unitKey(inv.Org, u).av(), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	if replaced != nil {
		t.del(credKey(replaced.TokenHash))
	}
	if reach != nil {
		t.reach(*reach, "")
	}
	if err := s.transact(ctx, t.take(takes).audit(a)); err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	return nil
}

// noLogin is the check that an e-mail address is no user's login.
func (s *Store) noLogin(email string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: loginKey(EmailLogin(email)).av(),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
}

// noLoginIn is the check that an e-mail address is the login of no user of
// org, proved (the login guard) or not (the organization's claim).
func (s *Store) noLoginIn(org, email string) []types.TransactWriteItem {
	login := EmailLogin(email)
	return []types.TransactWriteItem{{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: loginKey(login).av(),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR org <> :org"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":org": str(org)},
	}}, {ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: claimKey(login, org).av(),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}, s.noMember(login, org)}
}

// ListInvitations returns a page of an organization's invitations, oldest
// first, from after the sort key start.
func (s *Store) ListInvitations(ctx context.Context, org, start string, limit int) ([]Invitation, string, error) {
	in := s.orgItems(org, "INVITE#")
	in.Limit = aws.Int32(int32(limit))
	return queryPage[Invitation](ctx, s, "list invitations", in, "ORG#"+org, start)
}

// pendingUpdate returns the item updating an invitation that must still
// be pending with its current token (InvitationChanged).
func (s *Store) pendingUpdate(inv Invitation, expr string, values map[string]types.AttributeValue) types.TransactWriteItem {
	values[":pending"] = str(Pending)
	values[":hash"] = str(inv.TokenHash)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: inviteKey(inv.Org, inv.ID).av(),
		ConditionExpression:       aws.String("#st = :pending AND token_hash = :hash"),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}
}

// RevokeInvitation closes a pending invitation: its token and guard go.
// A Conflict on InvitationChanged: it is no longer pending (or its link
// changed meanwhile).
func (s *Store) RevokeInvitation(ctx context.Context, inv Invitation, a Audit) error {
	t := s.tx().add(InvitationChanged, s.pendingUpdate(inv, "SET #st = :revoked", map[string]types.AttributeValue{":revoked": str(Revoked)})).
		del(credKey(inv.TokenHash), inviteGuardKey(inv.Org, inv.Email)).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// RenewInvitation gives a pending invitation a new link: the new token
// replaces the old, which stops working, and the expiry moves.
// A Conflict on InvitationChanged: it is no longer pending as read.
func (s *Store) RenewInvitation(ctx context.Context, inv Invitation, cred Credential, expires time.Time, a Audit) error {
	t := s.tx().add(InvitationChanged, s.pendingUpdate(inv, "SET token_hash = :new, expires_at = :exp", map[string]types.AttributeValue{
		":new": str(cred.Hash()), ":exp": str(expires.UTC().Format(time.RFC3339Nano)),
	})).del(credKey(inv.TokenHash)).put(IDTaken, cred).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("renew invitation: %w", err)
	}
	return nil
}

// AcceptInvitation turns an invitation into a user and its first session,
// in one transaction: the token is marked used (exactly one accept wins),
// the invitation accepted, its guard removed, and the user, its login
// guard, its references, the session and its tokens written. A Conflict
// on LinkUsed: the token was used meanwhile; InvitationChanged: the
// invitation changed; LoginTaken: the address became a user's login;
// UnitGone or RoleGone: a unit or role of the invitation is gone;
// OwnerChanged: the organization has an owner already.
//
// inviter, when set, is the user who invited, read at acceptance: it must
// still be active in that role (else a Conflict on UserChanged), so an
// invitation never grants more than its inviter may at that moment.
func (s *Store) AcceptInvitation(ctx context.Context, inv Invitation, inviter *User, u User, then Next, a Audit) error {
	now := u.Created
	accept := s.pendingUpdate(inv, "SET #st = :accepted, accepted = :at, #u = :user", map[string]types.AttributeValue{
		":accepted": str(Accepted), ":at": str(now.UTC().Format(time.RFC3339Nano)), ":user": str(u.ID),
	})
	accept.Update.ExpressionAttributeNames["#u"] = "user"
	u = withPerson(u)
	u.key = userKey(u.Org, u.ID)
	u.Search = u.searchText()
	t := s.tx().add(LinkUsed, s.consume(inv.TokenHash, now)).add(InvitationChanged, accept).
		del(inviteGuardKey(inv.Org, inv.Email)).put(IDTaken, u).put(LoginTaken, loginGuardFor(u)).newPerson(u)
	if err := s.transact(ctx, t.joined(u, inviter, then, a)); err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	return nil
}

// joined adds to an invitation's acceptance what follows the new user u:
// the first owner's guard, the inviter still active in its role (nil: no
// inviter to check), the role's and units' counts, the filter entries,
// then's session or challenge, and the audit.
func (t *tx) joined(u User, inviter *User, then Next, a Audit) *tx {
	if u.Role == permission.RoleOwner {
		t.add(OwnerChanged, t.s.firstOwner(u))
	}
	if inviter != nil {
		t.add(UserChanged, t.s.activeUser(inviter.Org, inviter.ID, inviter.Role))
	}
	return t.refs(u.Org, u.Role, u.Units, 1).entries(u).next(then).audit(a)
}

// firstOwner makes u the first owner of an organization created by
// invitation, on the condition that it has none (OwnerChanged).
func (s *Store) firstOwner(u User) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: orgKey(u.Org).av(),
		ConditionExpression:       aws.String("attribute_not_exists(owner_id) OR owner_id = :none"),
		UpdateExpression:          aws.String("SET owner_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":none": str(""), ":u": str(u.ID)},
	}}
}

// InvitationOf reads an invitation with its organization in one call.
func (s *Store) InvitationOf(ctx context.Context, org, id string) (Invitation, Org, error) {
	ik, ok := inviteKey(org, id), orgKey(org)
	var inv Invitation
	var o Org
	items, err := s.getMany(ctx, ik, ok)
	if err != nil {
		return inv, o, fmt.Errorf("invitation: %w", err)
	}
	if items[ik] == nil || items[ok] == nil {
		return inv, o, fmt.Errorf("invitation: %w", ErrNotFound)
	}
	if err := attributevalue.UnmarshalMap(items[ik], &inv); err != nil {
		return inv, o, err
	}
	return inv, o, attributevalue.UnmarshalMap(items[ok], &o)
}

// CreateOrgInvited writes an organization without an owner yet, with the
// invitation of its first owner, in one transaction: the organization and
// its code guard, the invitation, its guard and its token. A Conflict on
// OrgCodeTaken: the code is taken. The owner's address may be a person's
// login already: accepting then adds the membership to that person.
func (s *Store) CreateOrgInvited(ctx context.Context, o Org, inv Invitation, cred Credential, a Audit) error {
	o.key = orgKey(o.ID)
	inv.key = inviteKey(o.ID, inv.ID)
	a.Org = o.ID
	t := s.tx().put(IDTaken, o).put(OrgCodeTaken, orgCode{orgCodeKey(o.Code), o.ID}).put(IDTaken, inv).
		put(InvitationPending, inviteGuard{inviteGuardKey(o.ID, inv.Email), inv.ID}).put(IDTaken, cred).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create organization %s: %w", o.Code, err)
	}
	return nil
}

// PendingInvitationsBy returns the pending invitations user made in org:
// one Query of the organization's invitations.
func (s *Store) PendingInvitationsBy(ctx context.Context, org, user string) ([]Invitation, error) {
	var out []Invitation
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                &s.table,
		KeyConditionExpression:   aws.String("pk = :pk AND begins_with(sk, :sk)"),
		FilterExpression:         aws.String("#st = :pending AND invited_by = :user"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("ORG#" + org), ":sk": str("INVITE#"), ":pending": str(Pending), ":user": str(user),
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("pending invitations: %w", err)
		}
		var invs []Invitation
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &invs); err != nil {
			return nil, fmt.Errorf("pending invitations: %w", err)
		}
		out = append(out, invs...)
	}
	return out, nil
}

// revokeItems adds to t the revocation of pending invitations: each must
// still be pending with its link (InvitationChanged); its token and guard go.
func (s *Store) revokeItems(t *tx, invs []Invitation) {
	for _, inv := range invs {
		t.add(InvitationChanged, s.pendingUpdate(inv, "SET #st = :revoked", map[string]types.AttributeValue{":revoked": str(Revoked)})).
			del(credKey(inv.TokenHash), inviteGuardKey(inv.Org, inv.Email))
	}
}
