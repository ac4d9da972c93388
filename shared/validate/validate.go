// Package validate checks request fields and collects what is wrong with
// them as problem field errors, so a handler reports every bad field at once.
package validate

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/guichet/guichet/shared/problem"
)

// Errors collects field errors.
type Errors struct{ list []problem.FieldError }

// Add records that field is wrong.
func (e *Errors) Add(field, format string, args ...any) {
	e.list = append(e.list, problem.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns a validation problem listing the errors, or nil if none.
func (e *Errors) Err() error {
	if len(e.list) == 0 {
		return nil
	}
	return problem.Invalid(e.list...)
}

// Required checks that v is present, at most max characters long, and free
// of control characters.
func (e *Errors) Required(field, v string, max int) bool {
	if strings.TrimSpace(v) == "" {
		e.Add(field, "is required")
		return false
	}
	return e.Optional(field, v, max)
}

// Optional checks an optional text field like Required, allowing "".
func (e *Errors) Optional(field, v string, max int) bool {
	if n := utf8.RuneCountInString(v); n > max {
		e.Add(field, "must be at most %d characters", max)
		return false
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		e.Add(field, "must not contain control characters")
		return false
	}
	return true
}

// Name checks a name people read (a person's, an organization's, a
// unit's, a role's, a key's) like Required, and also refuses format
// characters (Unicode category Cf: bidi overrides such as U+202E, zero-width
// characters), which would let a name display as something else in mail
// subjects and pages.
func (e *Errors) Name(field, v string, max int) bool {
	return e.Required(field, v, max) && e.displayable(field, v)
}

// OptionalName checks an optional name like Name, allowing "".
func (e *Errors) OptionalName(field, v string, max int) bool {
	return e.Optional(field, v, max) && e.displayable(field, v)
}

// displayable refuses format characters, and U+FFFD: a JSON decoder puts
// it for a lone surrogate ("\ud800"), which the client did not mean.
func (e *Errors) displayable(field, v string) bool {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		e.Add(field, "must not contain invisible formatting characters (such as bidirectional overrides)")
		return false
	}
	if strings.ContainsRune(v, unicode.ReplacementChar) {
		e.Add(field, "must not contain U+FFFD (a lone surrogate or a character lost in encoding)")
		return false
	}
	return true
}

// Email checks that v is one plain e-mail address (no display name) and
// returns it normalized: trimmed, domain lower-cased.
func (e *Errors) Email(field, v string) (string, bool) {
	if !e.Required(field, v, 254) {
		return "", false
	}
	v = strings.TrimSpace(v)
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		e.Add(field, "must be an e-mail address such as name@example.com")
		return "", false
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		e.Add(field, "must be an e-mail address such as name@example.com")
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
}
