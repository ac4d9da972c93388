// Package cursor makes the opaque pagination cursors of list endpoints.
//
// A cursor is base64url (no padding) of the JSON object
// {"o": org, "l": list, "k": sort key}: the organization and the list it
// was made for, and the sort key of the last item of the page. It is not
// signed and need not be: every list queries the caller's own partition,
// so the sort key only says where to resume inside data the caller may
// read anyway. What the envelope prevents is replay across organizations
// or lists (a users cursor handed to the units list, say), and Decode
// checks that the sort key has the shape the list expects, so a crafted
// cursor cannot start a query outside the list's key range.
//
// Clients must treat cursors as opaque; the format may change.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/problem"
)

// MaxLen is the longest cursor Decode reads; longer ones are refused
// before any decoding work.
const MaxLen = 1024

// maxKey bounds the sort key a cursor may carry (DynamoDB allows 1 KiB).
const maxKey = 512

type envelope struct {
	Org  string `json:"o"`
	List string `json:"l"`
	Key  string `json:"k"`
}

var enc = base64.RawURLEncoding.Strict()

// Encode returns the cursor resuming list of org after the item whose sort
// key is sk. An empty sk (the last page) gives the empty cursor.
func Encode(org, list, sk string) string {
	if sk == "" {
		return ""
	}
	b, err := json.Marshal(envelope{Org: org, List: list, Key: sk})
	if err != nil {
		panic("cursor: marshal: " + err.Error()) // strings always marshal
	}
	return enc.EncodeToString(b)
}

// Decode returns the sort key a cursor made by Encode for the same org and
// list holds. The empty cursor means the first page and gives "". Decode
// refuses, with a 400 problem coded invalid_cursor, a cursor that is
// malformed or made for another organization or list, or whose key is
// empty. A list that queries a key range (begins_with on the sort key)
// must use DecodePrefix instead: DynamoDB answers a start key outside the
// range with an error, which would be a 500 rather than a 400.
func Decode(org, list, c string) (string, error) {
	return DecodePrefix(org, list, "", c)
}

// DecodePrefix is Decode that also refuses a sort key that does not start
// with prefix and continue past it, such as "UNIT#" for the units list.
func DecodePrefix(org, list, prefix, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	if len(c) > MaxLen {
		return "", invalid("The cursor is too long.")
	}
	raw, err := enc.DecodeString(c)
	if err != nil {
		return "", invalid("The cursor is not one this API made.")
	}
	var e envelope
	if err := httpapi.DecodeStrict(raw, &e); err != nil { // the request decoder: exact keys, no duplicates
		return "", invalid("The cursor is not one this API made.")
	}
	if e.Org != org || e.List != list {
		return "", invalid("The cursor belongs to another list; start again from the first page.")
	}
	if !strings.HasPrefix(e.Key, prefix) || len(e.Key) == len(prefix) || len(e.Key) > maxKey ||
		!utf8.ValidString(e.Key) || strings.ContainsFunc(e.Key, unicode.IsControl) {
		return "", invalid("The cursor is not one this API made.")
	}
	return e.Key, nil
}

func invalid(detail string) *problem.Problem {
	return problem.BadRequest("invalid_cursor", detail)
}
