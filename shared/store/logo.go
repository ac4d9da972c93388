package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Logo is an organization's logo: the image itself, at most a few hundred
// KiB so it fits one item (DynamoDB's limit is 400 KB), keyed ORG#<org>,
// LOGO. Reading it is one GetItem.
type Logo struct {
	key
	ContentType string    `dynamodbav:"content_type"`
	Data        []byte    `dynamodbav:"data"` // a binary attribute
	ETag        string    `dynamodbav:"etag"`
	Updated     time.Time `dynamodbav:"updated"`
}

// LogoRef is what the organization item records of its logo.
type LogoRef struct {
	ContentType string    `dynamodbav:"content_type"`
	Size        int       `dynamodbav:"size"`
	ETag        string    `dynamodbav:"etag"`
	Updated     time.Time `dynamodbav:"updated"`
}

// Key is the logo's key in its shared URL: its ETag (the SHA-256 of its
// bytes) unquoted. Knowing it means having been given the URL, or the
// image itself.
func (r LogoRef) Key() string { return strings.Trim(r.ETag, `"`) }

// Key is the logo's key in its shared URL (LogoRef.Key).
func (l Logo) Key() string { return strings.Trim(l.ETag, `"`) }

func logoKey(org string) key { return key{"ORG#" + org, "LOGO"} }

// PutLogo replaces an organization's logo, records it on the organization
// item and writes the audit event, in one transaction. It returns a
// Conflict on OrgGone when the organization does not exist.
func (s *Store) PutLogo(ctx context.Context, org string, l Logo, a Audit) error {
	l.key = logoKey(org)
	ref := LogoRef{ContentType: l.ContentType, Size: len(l.Data), ETag: l.ETag, Updated: l.Updated}
	up, err := s.update(orgKey(org), map[string]any{"logo": ref, "updated": l.Updated}, exists)
	a.Org = org
	if err := s.transact(ctx, s.tx().set(l).addErr(OrgGone, up, err).audit(a)); err != nil {
		return fmt.Errorf("put logo: %w", err)
	}
	return nil
}

// GetLogo reads an organization's logo; ErrNotFound when it has none.
func (s *Store) GetLogo(ctx context.Context, org string) (Logo, error) {
	return getAs[Logo](ctx, s, logoKey(org), "get logo")
}
