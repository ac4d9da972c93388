package organization

import (
	"context"
	"time"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
)

// AuditEvent is one entry of the organization's audit trail.
type AuditEvent struct {
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Actor  string         `json:"actor" doc:"The user who acted, or system"`
	Via    string         `json:"via" doc:"The credential used: session:<id>, apikey:<id>, or cli"`
	Action string         `json:"action" doc:"Such as organization.update, unit.create, user.create"`
	Target string         `json:"target" doc:"What the action was done to, as <kind>:<id>"`
	Fields []string       `json:"fields" doc:"The fields the action changed (never their values)"`
	Counts map[string]int `json:"counts,omitempty" doc:"The sums of a bulk action, such as an import's accepted and rejected rows"`
}

// AuditPage is a page of the audit trail, newest first.
type AuditPage struct {
	Items      []AuditEvent `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last"`
}

const (
	auditDefaultLimit = 50
	auditMaxLimit     = 100
)

// ListAudit returns a page of the audit trail: one Query. A page may
// carry a next_cursor whose page is empty, when the trail ends exactly at
// the limit.
func (s *Service) ListAudit(ctx context.Context, p principal.Principal, pg router.Page) (AuditPage, error) {
	after, err := cursor.Decode(p.Org, "audit", pg.Cursor)
	if err != nil {
		return AuditPage{}, err
	}
	events, next, err := s.store.ListAudit(ctx, p.Org, after, pg.Limit)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Items: make([]AuditEvent, len(events)), NextCursor: cursor.Encode(p.Org, "audit", next)}
	for i, e := range events {
		fields := e.Fields
		if fields == nil {
			fields = []string{}
		}
		page.Items[i] = AuditEvent{ID: e.ID, Time: e.Time, Actor: e.Actor, Via: e.Via, Action: e.Action,
			Target: e.Target, Fields: fields, Counts: e.Counts}
	}
	return page, nil
}
