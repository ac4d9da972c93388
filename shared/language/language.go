// Package language names the languages Guichet speaks: of mail, hosted
// pages, accounts and organizations. Struct tags that list them for the API
// description (enum:"fr|en|nl") are held to this list by a test of
// shared/openapi.
package language

import "slices"

// Fallback is the language of a page when the browser asks for none that
// Guichet speaks.
const Fallback = "en"

// Supported lists the languages, Fallback first.
func Supported() []string { return []string{Fallback, "fr", "nl"} }

// Valid reports whether l is one of Supported, as written there.
func Valid(l string) bool { return slices.Contains(Supported(), l) }
