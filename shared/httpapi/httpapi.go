// Package httpapi is the HTTP glue every function shares: strict JSON
// request decoding, JSON and problem responses, and the mapping of errors to
// problems in one place.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/guichet/guichet/shared/problem"
)

// MaxBody is the largest request body accepted, in bytes.
const MaxBody = 64 << 10

// HandlerFunc is an http.HandlerFunc that may fail. A returned error is
// written as a problem; a handler that returns an error must not have
// written anything.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorMapper turns an error that is not a *problem.Problem into one, for
// example a store outage into 503. It returns false to leave the error to
// the default 500.
type ErrorMapper func(error) (*problem.Problem, bool)

// Handler adapts h to http.Handler: errors become problems, and unexpected
// ones are logged with the request's context, never shown.
func Handler(log *slog.Logger, mapErr ErrorMapper, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		p, ok := problem.As(err)
		if !ok && mapErr != nil {
			p, ok = mapErr(err)
			if ok {
				log.WarnContext(r.Context(), "request failed", "err", err, "status", p.Status)
			}
		}
		if !ok {
			log.ErrorContext(r.Context(), "request failed", "err", err)
			p = problem.Internal()
		}
		Problem(w, p)
	})
}

// Problem writes p as application/problem+json.
func Problem(w http.ResponseWriter, p *problem.Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	write(w, problem.ContentType, p.Status, p)
}

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) error {
	write(w, "application/json", status, v)
	return nil
}

// NoContent writes a 204.
func NoContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func write(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here: every response type marshals.
		panic(fmt.Sprintf("httpapi: marshal %T: %v", v, err))
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// Decode reads r's body into dst strictly: at most MaxBody bytes (413),
// sent as application/json (415), valid UTF-8, one JSON object, no unknown
// and no duplicate fields, and every key exactly a field's JSON name (400).
func Decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return problem.BadRequest("unreadable_body", "The request body could not be read.")
	}
	if len(body) > MaxBody {
		return problem.New(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("The request body exceeds %d bytes.", MaxBody))
	}
	if err := JSONContent(r, body); err != nil {
		return err
	}
	return DecodeBytes(body, dst)
}

// JSONContent refuses a body that r does not send as application/json
// (charset and other parameters allowed) with 415. An empty body is left
// to the decoder, which says a JSON object is expected.
func JSONContent(r *http.Request, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	return problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"The request body must be sent as Content-Type: application/json.")
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(body []byte, dst any) error {
	if err := DecodeStrict(body, dst); err != nil {
		return problem.BadRequest("invalid_json", err.Error())
	}
	return nil
}

// DecodeStrict is the decoding of DecodeBytes for JSON that is not a
// request body (a cursor): its error's message is fit for clients.
func DecodeStrict(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return detail("The request body is not valid UTF-8.")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return detail("The request body must be a JSON object.")
	}
	if err := checkDuplicates(body); err != nil {
		return err
	}
	if err := checkKeys(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return detail(describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return detail("The request body must hold a single JSON object.")
	}
	return nil
}

// detail is a decoding error whose message is the problem detail clients
// see.
type detail string

func (d detail) Error() string { return string(d) }

// duplicateField is a key that appears twice in one JSON object; its
// message is the problem detail clients see.
type duplicateField string

func (f duplicateField) Error() string {
	return fmt.Sprintf("Field %q appears more than once.", string(f))
}

// describe turns a decoding error into a message fit for clients.
func describe(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "The request body is empty; a JSON object is expected."
	case errors.As(err, &syn):
		return fmt.Sprintf("The request body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("Field %q must be a %s.", typ.Field, typ.Type)
		}
		return "The request body must be a JSON object."
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body is truncated JSON."
	}
	return "The request body is not valid JSON."
}

// checkDuplicates walks the JSON tokens and refuses an object that names
// the same key twice: encoding/json would silently keep the last one, and
// two parsers could then disagree on what was asked.
func checkDuplicates(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // syntax errors are reported by the real decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					return duplicateField(key)
				}
				top.keys[key] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true
		}
	}
}

type ctxKey struct{}

// WithRequestID returns ctx carrying the API Gateway request id, for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ClientIP is the address of a request's client: its RemoteAddr without
// the port (behind API Gateway, RemoteAddr is the source IP alone).
func ClientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
