// Package problem holds the API's error type: an RFC 9457 problem detail
// with a stable machine-readable code. Feature packages return *Problem
// values; the HTTP glue writes them as application/problem+json.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// ContentType is the media type of every error response.
const ContentType = "application/problem+json"

// FieldError says what is wrong with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an API error. It implements error.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	// Count is how many things stand in the way, when a problem counts
	// them (the holders without an e-mail address of a role to require one).
	Count *int `json:"count,omitempty" doc:"How many things stand in the way (role_held_without_email: the holders without an e-mail address)."`
	// RetryAfter, in seconds, is sent as the Retry-After header when set.
	RetryAfter int `json:"-"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
}

// New returns a problem with the given status, code and detail. Its type is
// a URN naming the code, so clients may switch on either.
func New(status int, code, detail string) *Problem {
	return &Problem{
		Type:   "urn:guichet:problem:" + code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
		Detail: detail,
	}
}

// Invalid is a 422 validation problem listing what is wrong with each field.
func Invalid(errs ...FieldError) *Problem {
	p := New(http.StatusUnprocessableEntity, "validation_failed", "The request has invalid fields.")
	p.Errors = errs
	return p
}

// Common problems.
func BadRequest(code, detail string) *Problem { return New(http.StatusBadRequest, code, detail) }

// Unauthorized is the answer to a missing, unknown, expired or revoked credential.
func Unauthorized(code, detail string) *Problem { return New(http.StatusUnauthorized, code, detail) }

// Forbidden is the answer to a principal lacking a permission.
func Forbidden(detail string) *Problem { return New(http.StatusForbidden, "forbidden", detail) }

// NotFound is the answer to an unknown resource, including another
// organization's: callers never learn that it exists.
func NotFound(detail string) *Problem { return New(http.StatusNotFound, "not_found", detail) }

// Conflict is the answer to a write that clashes with existing data.
func Conflict(code, detail string) *Problem { return New(http.StatusConflict, code, detail) }

// TooManyRequests asks the client to wait retryAfter seconds.
func TooManyRequests(code, detail string, retryAfter int) *Problem {
	p := New(http.StatusTooManyRequests, code, detail)
	p.RetryAfter = max(retryAfter, 1)
	return p
}

// Unavailable is the answer when a backing service fails: the client may retry.
func Unavailable() *Problem {
	p := New(http.StatusServiceUnavailable, "unavailable", "The service is temporarily unavailable; retry later.")
	p.RetryAfter = 1
	return p
}

// Internal is the answer to an unexpected error; it says nothing of the cause.
func Internal() *Problem {
	return New(http.StatusInternalServerError, "internal", "An unexpected error occurred.")
}

// As returns the problem in err's chain, if any.
func As(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}
