package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Org is an organization (tenant).
type Org struct {
	key
	ID       string `dynamodbav:"id"`
	Name     string `dynamodbav:"name"`
	Code     string `dynamodbav:"code"`
	Language string `dynamodbav:"language"`
	OwnerID  string `dynamodbav:"owner_id"`
	// Contact is the organization's referent contact, HeadOffice its
	// registered address; both optional.
	Contact    *Contact `dynamodbav:"contact,omitempty"`
	HeadOffice *Address `dynamodbav:"head_office,omitempty"`
	// Logo describes the logo item (ORG#<org>, LOGO) when there is one,
	// so that reading the organization says whether it has a logo.
	Logo *LogoRef `dynamodbav:"logo,omitempty"`
	// MFARequiredFor lists the roles whose users must use two-step
	// verification (stored as one string: an emptied list is never an
	// empty list attribute).
	MFARequiredFor Perms     `dynamodbav:"mfa_required_for,omitempty"`
	Created        time.Time `dynamodbav:"created"`
	Updated        time.Time `dynamodbav:"updated"`
}

// Contact is a person to reach at an organization.
type Contact struct {
	Name  string `dynamodbav:"name"`
	Email string `dynamodbav:"email"`
	Phone string `dynamodbav:"phone,omitempty"`
}

// Address is a postal address; Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1      string `dynamodbav:"line1"`
	Line2      string `dynamodbav:"line2,omitempty"`
	PostalCode string `dynamodbav:"postal_code"`
	City       string `dynamodbav:"city"`
	Region     string `dynamodbav:"region,omitempty"`
	Country    string `dynamodbav:"country"`
}

// OrgChanges lists the settings an update sets; nil fields stay as they are.
type OrgChanges struct {
	Name       *string
	Language   *string
	Contact    *Contact
	HeadOffice *Address
	// MFARequiredFor, when set, replaces the roles requiring two-step
	// verification.
	MFARequiredFor *[]string
	Updated        time.Time
}

func orgKey(id string) key       { return key{"ORG#" + id, "ORG"} }
func orgCodeKey(code string) key { return key{"ORGCODE#" + code, "ORGCODE"} }

// orgCode reserves an organization code.
type orgCode struct {
	key
	Org string `dynamodbav:"org"`
}

// CreateOrg writes an organization with its owner in one transaction: the
// organization, its code guard, the owner, the owner's login guard, filter
// entries and role count. It
// returns a Conflict on OrgCodeTaken or LoginTaken when the code or the
// owner's login is taken.
func (s *Store) CreateOrg(ctx context.Context, o Org, owner User, a Audit) error {
	o.key = orgKey(o.ID)
	owner.key = userKey(o.ID, owner.ID)
	owner.Org, owner.OrgCode = o.ID, o.Code
	owner = withPerson(owner)
	owner.Search = owner.searchText()
	a.Org = o.ID
	t := s.tx().put(IDTaken, o).put(OrgCodeTaken, orgCode{orgCodeKey(o.Code), o.ID}).
		put(IDTaken, owner).put(LoginTaken, loginGuardFor(owner)).newPerson(owner).
		refs(o.ID, owner.Role, nil, 1).entries(owner).audit(a)
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("create organization %s: %w", o.Code, err)
	}
	return nil
}

// GetOrg reads an organization.
func (s *Store) GetOrg(ctx context.Context, id string) (Org, error) {
	return getAs[Org](ctx, s, orgKey(id), "get organization")
}

// UpdateOrg sets the changed settings of an existing organization and
// writes the audit event, in one transaction. Only the attributes named
// change, so a concurrent change of other attributes (the owner, the logo)
// is kept. It returns a Conflict on OrgGone when the organization does not
// exist.
func (s *Store) UpdateOrg(ctx context.Context, id string, c OrgChanges, a Audit) error {
	set := map[string]any{"updated": c.Updated}
	if c.Name != nil {
		set["name"] = *c.Name
	}
	if c.Language != nil {
		set["language"] = *c.Language
	}
	if c.Contact != nil {
		set["contact"] = *c.Contact
	}
	if c.HeadOffice != nil {
		set["head_office"] = *c.HeadOffice
	}
	if c.MFARequiredFor != nil {
		set["mfa_required_for"] = Perms(*c.MFARequiredFor)
	}
	up, err := s.update(orgKey(id), set, exists)
	a.Org = id
	if err := s.transact(ctx, s.tx().addErr(OrgGone, up, err).audit(a)); err != nil {
		return fmt.Errorf("update organization: %w", err)
	}
	return nil
}

// condition is a condition expression with its placeholders. Attribute
// names are always placeholders (#name), so none clashes with a DynamoDB
// reserved word.
type condition struct {
	expr   string
	names  map[string]string
	values map[string]types.AttributeValue
}

// exists is the condition that the item exists.
var exists = condition{expr: "attribute_exists(pk)"}

// update returns the transaction item setting the attributes of set on
// the item k, on condition c (expr may be empty). It never removes an
// attribute: the embedded DynamoDB ignores REMOVE, so an attribute that
// goes away is set to its empty value instead.
func (s *Store) update(k key, set map[string]any, c condition) (types.TransactWriteItem, error) {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	for n, v := range c.names {
		names[n] = v
	}
	for n, v := range c.values {
		vals[n] = v
	}
	attrs := make([]string, 0, len(set))
	for a := range set {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs) // a stable expression, for readable logs and tests
	var sets []string
	for i, a := range attrs {
		av, err := attributevalue.Marshal(set[a])
		if err != nil {
			return types.TransactWriteItem{}, fmt.Errorf("marshal %s: %w", a, err)
		}
		names[fmt.Sprintf("#s%d", i)] = a
		vals[fmt.Sprintf(":s%d", i)] = av
		sets = append(sets, fmt.Sprintf("#s%d = :s%d", i, i))
	}
	var expr []string
	if len(sets) > 0 {
		expr = append(expr, "SET "+strings.Join(sets, ", "))
	}
	u := &types.Update{
		TableName:        &s.table,
		Key:              k.av(),
		UpdateExpression: aws.String(strings.Join(expr, " ")),
	}
	if c.expr != "" {
		u.ConditionExpression = aws.String(c.expr)
	}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	if len(vals) > 0 {
		u.ExpressionAttributeValues = vals
	}
	return types.TransactWriteItem{Update: u}, nil
}
