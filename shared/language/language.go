// Package language names the languages Guichet speaks: of mail, hosted
// pages, accounts and organizations. Struct tags that list them for the API
// description (enum:"fr|en|nl") are held to this list by a test of
// shared/openapi.
package language

import (
	"slices"
	"strconv"
	"strings"
)

// Fallback is the language of a page when the browser asks for none that
// Guichet speaks.
const Fallback = "en"

// Supported lists the languages, Fallback first.
func Supported() []string { return []string{Fallback, "fr", "nl"} }

// Valid reports whether l is one of Supported, as written there.
func Valid(l string) bool { return slices.Contains(Supported(), l) }

// FromAccept returns the supported language of highest quality in an
// Accept-Language header ("fr-BE,fr;q=0.9,en;q=0.5"), and false when it
// names none.
func FromAccept(h string) (string, bool) {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if Valid(primary) && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best, best != ""
}
