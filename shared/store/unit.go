package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Unit is a company, establishment, site or structure level of an
// organization. Refs counts the users assigned to it: it is changed in the
// same transaction as those users, and a unit is deleted only while it is 0.
// Children counts the units whose parent it is, kept the same way, so that
// a unit is deleted only while it has none and no unit is left orphaned.
//
// Units live in their organization's partition (ORG#<org>, UNIT#<unit>):
// listing them all is one Query of that partition's UNIT# range.
type Unit struct {
	key
	Org       string    `dynamodbav:"org"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Kind      string    `dynamodbav:"kind"`
	Parent    string    `dynamodbav:"parent,omitempty"`
	Address   *Address  `dynamodbav:"address,omitempty"`
	Latitude  *float64  `dynamodbav:"lat,omitempty"`
	Longitude *float64  `dynamodbav:"lng,omitempty"`
	Refs      int       `dynamodbav:"refs"`
	Children  int       `dynamodbav:"children"`
	Created   time.Time `dynamodbav:"created"`
	Updated   time.Time `dynamodbav:"updated"`
}

func unitKey(org, id string) key { return key{"ORG#" + org, "UNIT#" + id} }

// UnitSortKeyPrefix starts the sort key of every unit item.
const UnitSortKeyPrefix = "UNIT#"

// unitTreeKey is the item whose version every change of a unit's parent
// bumps (ORG#<org>, UNITTREE). A move checks the whole tree for cycles and
// then commits only if no other move happened since it read the version,
// so two concurrent moves cannot together close a cycle.
func unitTreeKey(org string) key { return key{"ORG#" + org, "UNITTREE"} }

type unitTree struct {
	key
	Version int64 `dynamodbav:"version"`
}

// refs returns the transaction item adding delta to the reference count of
// an item that must exist (a unit or a custom role): assigning a user to a
// deleted unit or role fails the whole transaction.
func (s *Store) refs(k key, delta int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:           &s.table,
		Key:                 k.av(),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression:    aws.String("ADD refs :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberN{Value: fmt.Sprint(delta)},
		},
	}}
}

// children returns the transaction item adding delta to the child count of
// the unit parent, which must exist.
func (s *Store) children(org, parent string, delta int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       unitKey(org, parent).av(),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("ADD #c :d"),
		ExpressionAttributeNames:  map[string]string{"#c": "children"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(delta))},
	}}
}

// CreateUnit writes a new unit, counts it as a child of its parent and
// writes the audit event, in one transaction. It returns a Conflict on
// UnitGone when the parent does not exist (in the unit's organization).
func (s *Store) CreateUnit(ctx context.Context, u Unit, a Audit) error {
	u.key = unitKey(u.Org, u.ID)
	u.Refs, u.Children = 0, 0
	t := s.tx().put(IDTaken, u)
	if u.Parent != "" {
		t.add(UnitGone, s.children(u.Org, u.Parent, 1))
	}
	a.Org = u.Org
	if err := s.transact(ctx, t.audit(a)); err != nil {
		return fmt.Errorf("create unit: %w", err)
	}
	return nil
}

// GetUnit reads a unit of an organization; ErrNotFound when absent.
func (s *Store) GetUnit(ctx context.Context, org, id string) (Unit, error) {
	return getAs[Unit](ctx, s, unitKey(org, id), "get unit")
}

// ListUnits returns a page of at most limit units of an organization in
// id order, starting after the unit whose sort key is after (empty: the
// first), and the sort key to resume after ("" at the end). One Query.
func (s *Store) ListUnits(ctx context.Context, org, after string, limit int) ([]Unit, string, error) {
	in := s.orgItems(org, UnitSortKeyPrefix)
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	return queryPage[Unit](ctx, s, "list units", in, "ORG#"+org, after)
}

// AllUnits returns every unit of an organization: one Query per MB of
// units, so one for any organization of a few thousand units.
func (s *Store) AllUnits(ctx context.Context, org string) ([]Unit, error) {
	return queryAll[Unit](ctx, s, "list units", s.orgItems(org, UnitSortKeyPrefix))
}

// UnitTreeVersion reads the version of an organization's unit tree (0
// before the first move); a move passes it back to UpdateUnit.
func (s *Store) UnitTreeVersion(ctx context.Context, org string) (int64, error) {
	var t unitTree
	err := s.get(ctx, unitTreeKey(org), &t)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("get unit tree: %w", err)
	}
	return t.Version, nil
}

// UnitChanges lists what an update of a unit sets; nil fields stay.
type UnitChanges struct {
	Name      *string
	Kind      *string
	Address   *Address
	Latitude  *float64
	Longitude *float64
	// Move, when set, changes the parent.
	Move    *UnitMove
	Updated time.Time
}

// UnitMove changes a unit's parent from From to To ("" is the top level).
// TreeVersion is the version read before checking the tree for cycles.
type UnitMove struct {
	From, To    string
	TreeVersion int64
}

// UpdateUnit sets the changed attributes of a unit and writes the audit
// event in one transaction; a move also moves the child count from the old
// parent to the new and bumps the tree version. Only the attributes named
// change, so the reference count users keep is never overwritten. It
// returns a Conflict on UnitChanged when the unit is gone (or was moved
// meanwhile), on UnitGone when a parent does not exist, on TreeChanged
// when another move happened since the tree was read.
func (s *Store) UpdateUnit(ctx context.Context, org, id string, c UnitChanges, a Audit) error {
	set := map[string]any{"updated": c.Updated}
	if c.Name != nil {
		set["name"] = *c.Name
	}
	if c.Kind != nil {
		set["kind"] = *c.Kind
	}
	if c.Address != nil {
		set["address"] = *c.Address
	}
	if c.Latitude != nil {
		set["lat"] = *c.Latitude
	}
	if c.Longitude != nil {
		set["lng"] = *c.Longitude
	}
	cond := exists
	more := s.tx()
	if m := c.Move; m != nil {
		// A unit at the top level has no parent attribute (created so) or
		// an empty one (moved there: SET, since the embedded DynamoDB
		// ignores REMOVE). parent is no key of the table or its index, so
		// DynamoDB takes the empty string.
		set["parent"] = m.To
		if m.To != "" {
			more.add(UnitGone, s.children(org, m.To, 1))
		}
		if m.From == "" {
			cond = condition{expr: "attribute_exists(pk) AND (attribute_not_exists(#p) OR #p = :top)", names: map[string]string{"#p": "parent"},
				values: map[string]types.AttributeValue{":top": str("")}}
		} else {
			cond = condition{expr: "attribute_exists(pk) AND #p = :from", names: map[string]string{"#p": "parent"},
				values: map[string]types.AttributeValue{":from": str(m.From)}}
			more.add(UnitGone, s.children(org, m.From, -1))
		}
		tree := condition{expr: "attribute_not_exists(#v)", names: map[string]string{"#v": "version"}}
		if m.TreeVersion != 0 {
			tree = condition{expr: "#v = :v", names: map[string]string{"#v": "version"},
				values: map[string]types.AttributeValue{":v": num(m.TreeVersion)}}
		}
		bump, err := s.update(unitTreeKey(org), map[string]any{"version": m.TreeVersion + 1}, tree)
		more.addErr(TreeChanged, bump, err)
	}
	up, err := s.update(unitKey(org, id), set, cond)
	a.Org = org
	if err := s.transact(ctx, s.tx().addErr(UnitChanged, up, err).join(more).audit(a)); err != nil {
		return fmt.Errorf("update unit: %w", err)
	}
	return nil
}

// DeleteUnit deletes a unit no user is assigned to and that has no child
// units, uncounts it from its parent and writes the audit event, in one
// transaction. The conditions on the counts make a concurrent assignment
// or child creation either land before (and the delete fails) or fail
// itself. It returns a Conflict on UnitInUse when the unit is gone or in
// use.
func (s *Store) DeleteUnit(ctx context.Context, u Unit, a Audit) error {
	del := types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 &s.table,
		Key:                       unitKey(u.Org, u.ID).av(),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #r = :zero AND (attribute_not_exists(#c) OR #c = :zero)"),
		ExpressionAttributeNames:  map[string]string{"#r": "refs", "#c": "children"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	}}
	t := s.tx().add(UnitInUse, del)
	if u.Parent != "" {
		t.add(UnitGone, s.children(u.Org, u.Parent, -1))
	}
	a.Org = u.Org
	if err := s.transact(ctx, t.audit(a)); err != nil {
		return fmt.Errorf("delete unit: %w", err)
	}
	return nil
}

// ExpandUnits returns every unit of units (an organization's, as AllUnits
// reads them) that access to list and kinds reaches: the units of list,
// the units whose kind is one of kinds, and the descendants of both, in
// the order of units (all companies reach their establishments, as a
// listed company does). Ids of list that are no unit of units reach
// nothing. The walk is bounded by the number of units, so a damaged tree
// (a cycle) ends too.
func ExpandUnits(units []Unit, list, kinds []string) []string {
	children := make(map[string][]string, len(units))
	for _, u := range units {
		if u.Parent != "" {
			children[u.Parent] = append(children[u.Parent], u.ID)
		}
	}
	known := make(map[string]bool, len(units))
	for _, u := range units {
		known[u.ID] = true
	}
	var stack []string
	for _, u := range units {
		if slices.Contains(kinds, u.Kind) {
			stack = append(stack, u.ID)
		}
	}
	for _, id := range list {
		if known[id] {
			stack = append(stack, id)
		}
	}
	in := make(map[string]bool, len(units))
	seen := map[string]bool{}
	for len(stack) > 0 && len(seen) <= len(units) {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		in[id] = true
		stack = append(stack, children[id]...)
	}
	out := []string{}
	for _, u := range units {
		if in[u.ID] {
			out = append(out, u.ID)
		}
	}
	return out
}

// ExpandedUnits returns the units that access to list and kinds reaches
// in org (see ExpandUnits): one Query of the organization's units (one per
// MB), none when list and kinds are empty.
func (s *Store) ExpandedUnits(ctx context.Context, org string, list, kinds []string) ([]string, error) {
	if len(list) == 0 && len(kinds) == 0 {
		return []string{}, nil
	}
	units, err := s.AllUnits(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("expand units: %w", err)
	}
	return ExpandUnits(units, list, kinds), nil
}

// ValidUnitKind reports whether k is a kind a unit may have: company,
// establishment, site or level.
func ValidUnitKind(k string) bool {
	switch k {
	case "company", "establishment", "site", "level":
		return true
	}
	return false
}
