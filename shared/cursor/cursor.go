// Package cursor makes the opaque pagination cursors of list endpoints.
// A cursor names its organization and its list, so it cannot be replayed
// against another organization's data or another list.
package cursor

import (
	"encoding/base64"
	"encoding/json"

	"github.com/guichet/guichet/shared/problem"
)

type payload struct {
	Org  string `json:"o"`
	List string `json:"l"`
	Key  string `json:"k"`
}

// Encode returns the cursor of position sk in list of org; "" for none.
func Encode(org, list, sk string) string {
	if sk == "" {
		return ""
	}
	b, _ := json.Marshal(payload{org, list, sk})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the position a cursor names, refusing one that is
// malformed or made for another organization or list. An empty cursor is
// the start.
func Decode(org, list, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	bad := problem.BadRequest("invalid_cursor", "The cursor is not one this list gave.")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 1024 {
		return "", bad
	}
	var p payload
	if err := json.Unmarshal(b, &p); err != nil || p.Org != org || p.List != list || p.Key == "" {
		return "", bad
	}
	return p.Key, nil
}
