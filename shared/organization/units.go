package organization

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/address"
	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Unit is a company, establishment, site or structure level of the
// organization. Units form a tree through their parent.
type Unit struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Kind      string           `json:"kind" enum:"company|establishment|site|level"`
	Parent    string           `json:"parent,omitempty" doc:"The parent unit's id; absent for a top-level unit"`
	Address   *address.Address `json:"address,omitempty"`
	Latitude  *float64         `json:"latitude,omitempty" doc:"Degrees, -90 to 90; given with longitude"`
	Longitude *float64         `json:"longitude,omitempty" doc:"Degrees, -180 to 180; given with latitude"`
	UserCount int              `json:"user_count" doc:"Users assigned to the unit (read-only)"`
	Created   time.Time        `json:"created"`
	Updated   time.Time        `json:"updated"`
}

// UnitPage is a page of units.
type UnitPage struct {
	Items      []Unit `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last"`
}

// CreateUnitRequest is the body of POST /v1/organization/units.
type CreateUnitRequest struct {
	Name      string           `json:"name"`
	Kind      string           `json:"kind" enum:"company|establishment|site|level"`
	Parent    string           `json:"parent,omitempty" doc:"A unit of the organization; absent for a top-level unit"`
	Address   *address.Address `json:"address,omitempty"`
	Latitude  *float64         `json:"latitude,omitempty"`
	Longitude *float64         `json:"longitude,omitempty"`
}

// UpdateUnitRequest is the body of PATCH /v1/organization/units/{id}:
// only the fields present change; the address is replaced whole.
type UpdateUnitRequest struct {
	Name      *string          `json:"name,omitempty"`
	Kind      *string          `json:"kind,omitempty" enum:"company|establishment|site|level"`
	Parent    *string          `json:"parent,omitempty" doc:"A unit of the organization that is not this unit nor below it; \"\" moves the unit to the top level"`
	Address   *address.Address `json:"address,omitempty"`
	Latitude  *float64         `json:"latitude,omitempty"`
	Longitude *float64         `json:"longitude,omitempty"`
}

var unitKinds = map[string]bool{"company": true, "establishment": true, "site": true, "level": true}

// unitID is the shape store.NewID("unt_") gives. Anything else is no unit,
// and is answered without asking the table.
var unitID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^unt_[a-z2-7]{16}$`) })

// Paging of the units list. A page of 1000 units is well under the 1 MB a
// Query returns, so the default answers nearly every organization at once.
const (
	unitsDefaultLimit = 1000
	unitsMaxLimit     = 1000
)

func unitView(u store.Unit) Unit {
	return Unit{ID: u.ID, Name: u.Name, Kind: u.Kind, Parent: u.Parent, Address: address.View(u.Address),
		Latitude: u.Latitude, Longitude: u.Longitude, UserCount: u.Refs, Created: u.Created, Updated: u.Updated}
}

func noSuchUnit() *problem.Problem { return problem.NotFound("No such unit.") }

// checkCoordinates validates a latitude and longitude, which go together.
func checkCoordinates(v *validate.Errors, lat, lng *float64) {
	if lat != nil && (*lat < -90 || *lat > 90) {
		v.Add("latitude", "must be between -90 and 90")
	}
	if lng != nil && (*lng < -180 || *lng > 180) {
		v.Add("longitude", "must be between -180 and 180")
	}
	if lat == nil && lng != nil {
		v.Add("latitude", "is required with longitude")
	}
	if lng == nil && lat != nil {
		v.Add("longitude", "is required with latitude")
	}
}

// ListUnits returns a page of units: one Query.
func (s *Service) ListUnits(ctx context.Context, p principal.Principal, pg router.Page) (UnitPage, error) {
	after, err := cursor.DecodePrefix(p.Org, "units", store.UnitSortKeyPrefix, pg.Cursor)
	if err != nil {
		return UnitPage{}, err
	}
	units, next, err := s.store.ListUnits(ctx, p.Org, after, pg.Limit)
	if err != nil {
		return UnitPage{}, err
	}
	page := UnitPage{Items: make([]Unit, len(units)), NextCursor: cursor.Encode(p.Org, "units", next)}
	for i, u := range units {
		page.Items[i] = unitView(u)
	}
	return page, nil
}

// CreateUnit adds a unit: one TransactWriteItems, which also counts
// the unit as a child of its parent, on condition that the parent exists.
func (s *Service) CreateUnit(ctx context.Context, p principal.Principal, req CreateUnitRequest) (Unit, error) {
	var v validate.Errors
	v.Name("name", req.Name, 200)
	if !unitKinds[req.Kind] {
		v.Add("kind", "must be one of company, establishment, site, level")
	}
	if req.Parent != "" && !unitID().MatchString(req.Parent) {
		v.Add("parent", "is not a unit of the organization")
	}
	now := s.now().UTC()
	u := store.Unit{Org: p.Org, ID: store.NewID("unt_"), Name: req.Name, Kind: req.Kind, Parent: req.Parent,
		Latitude: req.Latitude, Longitude: req.Longitude, Created: now, Updated: now}
	fields := []string{"name", "kind"}
	if req.Parent != "" {
		fields = append(fields, "parent")
	}
	if req.Address != nil {
		a := address.Check(&v, "address", *req.Address)
		u.Address = &a
		fields = append(fields, "address")
	}
	checkCoordinates(&v, req.Latitude, req.Longitude)
	if req.Latitude != nil {
		fields = append(fields, "latitude", "longitude")
	}
	if err := v.Err(); err != nil {
		return Unit{}, err
	}
	a := s.event(p, now, "unit.create", "unit:"+u.ID, fields)
	if err := s.store.CreateUnit(ctx, u, a); err != nil {
		if errors.Is(err, store.ErrConflict) && u.Parent != "" {
			return Unit{}, problem.Invalid(problem.FieldError{Field: "parent", Message: "is not a unit of the organization"})
		}
		return Unit{}, err
	}
	return unitView(u), nil
}

// UpdateUnit changes a unit. Without a parent in the request it reads
// the unit (one GetItem); with one it reads the tree version (one GetItem)
// and every unit (one Query per MB) to refuse a cycle. Then one
// TransactWriteItems when something changed.
func (s *Service) UpdateUnit(ctx context.Context, p principal.Principal, id string, req UpdateUnitRequest) (Unit, error) {
	if !unitID().MatchString(id) {
		return Unit{}, noSuchUnit()
	}
	var v validate.Errors
	if req.Name != nil {
		v.Name("name", *req.Name, 200)
	}
	if req.Kind != nil && !unitKinds[*req.Kind] {
		v.Add("kind", "must be one of company, establishment, site, level")
	}
	if req.Parent != nil && *req.Parent != "" && !unitID().MatchString(*req.Parent) {
		v.Add("parent", "is not a unit of the organization")
	}
	var addr store.Address
	if req.Address != nil {
		addr = address.Check(&v, "address", *req.Address)
	}
	if err := v.Err(); err != nil {
		return Unit{}, err
	}

	var (
		u       store.Unit
		all     []store.Unit
		version int64
		err     error
	)
	if req.Parent != nil {
		if version, err = s.store.UnitTreeVersion(ctx, p.Org); err != nil {
			return Unit{}, err
		}
		if all, err = s.store.AllUnits(ctx, p.Org); err != nil {
			return Unit{}, err
		}
		found := false
		for _, x := range all {
			if x.ID == id {
				u, found = x, true
			}
		}
		if !found {
			return Unit{}, noSuchUnit()
		}
	} else {
		u, err = s.store.GetUnit(ctx, p.Org, id)
		if errors.Is(err, store.ErrNotFound) {
			return Unit{}, noSuchUnit()
		}
		if err != nil {
			return Unit{}, err
		}
	}

	var c store.UnitChanges
	var fields []string
	patchValue(&fields, "name", req.Name, &u.Name, &c.Name)
	patchValue(&fields, "kind", req.Kind, &u.Kind, &c.Kind)
	patchPointer(&fields, "address", req.Address != nil, &addr, &u.Address, &c.Address)
	patchPointer(&fields, "latitude", req.Latitude != nil, req.Latitude, &u.Latitude, &c.Latitude)
	patchPointer(&fields, "longitude", req.Longitude != nil, req.Longitude, &u.Longitude, &c.Longitude)
	checkCoordinates(&v, u.Latitude, u.Longitude)
	if req.Parent != nil && *req.Parent != u.Parent {
		if err := checkParent(&v, all, id, *req.Parent); err == nil {
			c.Move = &store.UnitMove{From: u.Parent, To: *req.Parent, TreeVersion: version}
			u.Parent = *req.Parent
			fields = append(fields, "parent")
		}
	}
	if err := v.Err(); err != nil {
		return Unit{}, err
	}
	if len(fields) == 0 {
		return unitView(u), nil
	}
	now := s.now().UTC()
	c.Updated, u.Updated = now, now
	a := s.event(p, now, "unit.update", "unit:"+id, fields)
	if err := s.store.UpdateUnit(ctx, p.Org, id, c, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Unit{}, problem.Conflict("conflict", "The unit, its parent or the tree of units changed meanwhile; read them again and retry.")
		}
		return Unit{}, err
	}
	return unitView(u), nil
}

// checkParent records an error unless moving unit id under parent keeps
// the units a tree: the parent must exist and must not be the unit itself
// or one of its descendants.
func checkParent(v *validate.Errors, all []store.Unit, id, parent string) error {
	if parent == "" {
		return nil
	}
	parentOf := make(map[string]string, len(all))
	for _, x := range all {
		parentOf[x.ID] = x.Parent
	}
	if _, ok := parentOf[parent]; !ok {
		v.Add("parent", "is not a unit of the organization")
		return errors.New("no such parent")
	}
	// Walk up from the new parent; meeting the unit means a cycle. The
	// bound stops the walk even on a tree already damaged.
	for x, steps := parent, 0; x != "" && steps <= len(all); x, steps = parentOf[x], steps+1 {
		if x == id {
			v.Add("parent", "would make the unit its own ancestor: it is the unit itself or one of its descendants")
			return errors.New("cycle")
		}
	}
	return nil
}

// DeleteUnit deletes a unit no user is assigned to and with no child
// unit: one GetItem to explain a refusal, then one TransactWriteItems whose
// conditions on the counts decide.
func (s *Service) DeleteUnit(ctx context.Context, p principal.Principal, id string) error {
	if !unitID().MatchString(id) {
		return noSuchUnit()
	}
	u, err := s.deletable(ctx, p.Org, id)
	if err != nil {
		return err
	}
	a := s.event(p, s.now().UTC(), "unit.delete", "unit:"+id, nil)
	err = s.store.DeleteUnit(ctx, u, a)
	if errors.Is(err, store.ErrConflict) {
		// A user was assigned or a child added meanwhile: say which.
		if _, err := s.deletable(ctx, p.Org, id); err != nil {
			return err
		}
		return problem.Conflict("conflict", "The unit changed meanwhile; read it again and retry.")
	}
	if err != nil {
		return err
	}
	return nil
}

// deletable reads a unit and returns the problem that forbids deleting it.
func (s *Service) deletable(ctx context.Context, org, id string) (store.Unit, error) {
	u, err := s.store.GetUnit(ctx, org, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, noSuchUnit()
	case err != nil:
		return u, err
	case u.Refs > 0:
		return u, problem.Conflict("unit_in_use",
			fmt.Sprintf("%d user(s) are assigned to the unit; assign them elsewhere first.", u.Refs))
	case u.Children > 0:
		return u, problem.Conflict("unit_has_children",
			fmt.Sprintf("The unit has %d child unit(s); move or delete them first.", u.Children))
	}
	return u, nil
}
