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
	"regexp"
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

// keyPattern is the form of every key Key makes; a store refuses others,
// so no key reaches outside exports/ or into another's directory.
var keyPattern = regexp.MustCompile(`^exports/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{22}\.(csv|jsonl)$`)

// ValidKey says whether key is of the form Key makes.
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

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
