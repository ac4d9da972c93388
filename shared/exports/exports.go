// Package exports holds the files of exports too large for a function's
// answer, and short-lived links to read them: an S3 bucket in AWS, a
// directory the local gateway serves under `make run` and in tests.
package exports

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"path"
	"strings"
	"time"
)

// Store holds export files under keys made by Key.
type Store interface {
	// Put stores what r holds under key, whole or not at all. r is read
	// once; an S3 store needs it seekable (a file) to know its length.
	Put(ctx context.Context, key string, r io.Reader) error
	// Link returns a URL that reads key without credentials until ttl
	// has passed.
	Link(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// LinkTTL is how long a link to an export works: long enough to follow it
// at once, short enough that a link left in a log or a history is dead.
const LinkTTL = 15 * time.Minute

// Key returns a new key for an export of organization org in format ext
// ("csv" or "jsonl"): exports/<org>/<128 random bits>.<ext>. The bucket's
// policy and lifecycle (objects expire after a day) apply to exports/.
func Key(org, ext string) string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand panics first)
	return "exports/" + org + "/" + base64.RawURLEncoding.EncodeToString(b) + "." + ext
}

// ValidKey says whether key is of the form Key makes,
// exports/<org>/<22 base64url characters>.csv|jsonl with an organization
// of 1 to 64 base64url characters; a store refuses others, so no key
// reaches outside exports/ or into another's directory.
func ValidKey(key string) bool {
	rest, ok := strings.CutPrefix(key, "exports/")
	org, file, ok2 := strings.Cut(rest, "/")
	name, ext, ok3 := strings.Cut(file, ".")
	return ok && ok2 && ok3 && len(org) >= 1 && len(org) <= 64 && urlSafe(org) &&
		len(name) == 22 && urlSafe(name) && (ext == "csv" || ext == "jsonl")
}

// urlSafe reports whether s holds only base64url characters.
func urlSafe(s string) bool {
	for _, r := range s {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ContentType is the media type of the file under key, by its extension.
func ContentType(key string) string {
	if strings.HasSuffix(key, ".jsonl") {
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// disposition is the Content-Disposition of the file under key: an
// attachment named users.csv or users.jsonl.
func disposition(key string) string {
	return `attachment; filename="users` + path.Ext(key) + `"`
}
