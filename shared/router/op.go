package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/validate"
)

// Call is what an operation is told of its request besides its typed
// input: who asks, the path's id and the client. Operations never see the
// *http.Request, so what they read is what their types say.
type Call struct {
	// Principal is the caller; zero on a public route.
	Principal principal.Principal
	// ID is the {id} segment of the route's path; "" when it has none.
	ID string
	// RemoteAddr and UserAgent name the client (sessions record them, link
	// guessing is counted per address).
	RemoteAddr, UserAgent string
	// Header holds the request's headers, to read only (Accept).
	Header http.Header
	body   []byte
}

// Nulls returns the top-level fields of the JSON body sent as null: a
// field sent as null decodes like one left out, and some operations (the
// profile's optional settings) read null as "remove".
func (c Call) Nulls() map[string]bool {
	var present map[string]json.RawMessage
	if len(c.body) == 0 || json.Unmarshal(c.body, &present) != nil {
		return map[string]bool{}
	}
	out := map[string]bool{}
	for k, raw := range present {
		if string(raw) == "null" {
			out[k] = true
		}
	}
	return out
}

// None is the input of an operation that reads no body and no query.
type None struct{}

// Validator is a JSON body or query input that checks itself once decoded;
// its error (a 422 problem) is answered before the operation runs.
type Validator interface{ Validate() error }

// Locator is an output that names the resource it created: its Location
// becomes the response's Location header.
type Locator interface{ Location() string }

// Page is where a list starts and how long it is, read from the limit and
// cursor query parameters.
type Page struct {
	Limit int
	// Cursor is the next_cursor of the previous page; "" for the first.
	Cursor string
}

// Limits bounds a list's pages.
type Limits struct {
	// Items names what a page holds, capitalized ("Users").
	Items        string
	Default, Max int
}

// Body is a request body that is not JSON (an image, an import file). The
// operation reads it within its own limit.
type Body struct {
	// ContentType is the request's Content-Type header, as sent.
	ContentType string
	io.Reader
}

// File is a success body that is not JSON: a PDF, an image, an export.
type File struct {
	ContentType string
	// Name, when set, makes the file an attachment of that name.
	Name string
	// Header adds to or replaces the headers written (Cache-Control is
	// no-store unless set here).
	Header http.Header
	Data   []byte
}

// JSON is an operation that reads In and answers Out as JSON with status.
// In is a JSON body type, a pointer to one (the body may be left out: nil),
// a struct of query parameters (fields tagged query), or None.
func JSON[In, Out any](status int, f func(context.Context, Call, In) (Out, error)) Op {
	in := inputOf[In]()
	op := in.describe(Op{Status: status, Response: responseOf[Out]()})
	op.Handle = func(w http.ResponseWriter, r *http.Request) error {
		out, err := run(r, in, f)
		if err != nil {
			return err
		}
		if l, ok := any(out).(Locator); ok {
			w.Header().Set("Location", l.Location())
		}
		return httpapi.JSON(w, status, out)
	}
	return op
}

// NoContent is an operation that reads In and answers 204.
func NoContent[In any](f func(context.Context, Call, In) error) Op {
	in := inputOf[In]()
	op := in.describe(Op{Status: http.StatusNoContent})
	op.Handle = func(w http.ResponseWriter, r *http.Request) error {
		if _, err := run(r, in, func(ctx context.Context, c Call, v In) (None, error) {
			return None{}, f(ctx, c, v)
		}); err != nil {
			return err
		}
		return httpapi.NoContent(w)
	}
	return op
}

// List is an operation that answers a page of a list as JSON: its Filter
// (a struct of query parameters, or None) and its Page (limit and cursor,
// within l) are read from the query, their errors answered together.
func List[Filter, Out any](l Limits, f func(context.Context, Call, Filter, Page) (Out, error)) Op {
	in := inputOf[Filter]()
	if in.kind == bodyInput {
		panic(fmt.Sprintf("router: list filter %T has no query fields", in.zero))
	}
	params := append(in.params(),
		Param{Name: "limit", Type: "integer", Minimum: 1, Maximum: l.Max, Default: l.Default,
			Description: fmt.Sprintf("%s per page, 1 to %d (default %d).", l.Items, l.Max, l.Default)},
		Param{Name: "cursor", Description: "The next_cursor of the previous page; absent for the first page."})
	op := Op{Status: http.StatusOK, Response: responseOf[Out](), Query: params}
	op.Handle = func(w http.ResponseWriter, r *http.Request) error {
		var v validate.Errors
		var filter Filter
		q := r.URL.Query()
		if in.kind == queryInput {
			readQuery(&v, q, in, reflect.ValueOf(&filter).Elem())
		}
		for _, name := range []string{"limit", "cursor"} {
			if len(q[name]) > 1 {
				v.Add(name, "must be given once")
			}
		}
		pg := Page{Limit: l.Default, Cursor: q.Get("cursor")}
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > l.Max {
				v.Add("limit", "must be a whole number from 1 to %d", l.Max)
			}
			pg.Limit = n
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := check(filter); err != nil {
			return err
		}
		out, err := f(r.Context(), call(r, nil), filter, pg)
		if err != nil {
			return err
		}
		return httpapi.JSON(w, http.StatusOK, out)
	}
	return op
}

// Upload is an operation whose request body is not JSON: In holds its
// query parameters (or is None), the body goes to f unread, and Out is
// answered as JSON with status. types lists the body's media types for
// the API description (none: the route's summary says).
func Upload[In, Out any](status int, types []string, f func(context.Context, Call, In, Body) (Out, error)) Op {
	in := inputOf[In]()
	if in.kind == bodyInput {
		panic(fmt.Sprintf("router: upload input %T has no query fields", in.zero))
	}
	op := Op{Status: status, Response: responseOf[Out](), Query: in.params(), RequestTypes: types}
	op.Handle = func(w http.ResponseWriter, r *http.Request) error {
		out, err := run(r, in, func(ctx context.Context, c Call, v In) (Out, error) {
			return f(ctx, c, v, Body{ContentType: r.Header.Get("Content-Type"), Reader: r.Body})
		})
		if err != nil {
			return err
		}
		return httpapi.JSON(w, status, out)
	}
	return op
}

// Download is an operation that reads In (query parameters or None) and
// answers a File with 200. types lists the file's media types for the API
// description (none: the route's summary says).
func Download[In any](types []string, f func(context.Context, Call, In) (File, error)) Op {
	return DownloadOrSee(types, func(ctx context.Context, c Call, in In) (File, *noSee, error) {
		file, err := f(ctx, c, in)
		return file, nil, err
	})
}

// noSee is the See of a Download, which never answers one.
type noSee struct{}

func (noSee) Location() string { return "" }

// DownloadOrSee is Download for an operation whose file may be elsewhere:
// when f returns a See, the answer is 303 See Other to its Location, with
// the See as a JSON body for a client that does not follow redirects.
func DownloadOrSee[In any, See Locator](types []string, f func(context.Context, Call, In) (File, *See, error)) Op {
	in := inputOf[In]()
	if in.kind == bodyInput {
		panic(fmt.Sprintf("router: download input %T has no query fields", in.zero))
	}
	op := Op{Status: http.StatusOK, Query: in.params(), ContentTypes: types}
	var zero See
	if _, never := any(zero).(noSee); !never {
		op.SeeOther = zero
	}
	op.Handle = func(w http.ResponseWriter, r *http.Request) error {
		var see *See
		file, err := run(r, in, func(ctx context.Context, c Call, v In) (File, error) {
			var file File
			var err error
			file, see, err = f(ctx, c, v)
			return file, err
		})
		if err != nil {
			return err
		}
		if see != nil {
			w.Header().Set("Location", (*see).Location())
			return httpapi.JSON(w, http.StatusSeeOther, *see)
		}
		h := w.Header()
		h.Set("Content-Type", file.ContentType)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if file.Name != "" {
			h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", file.Name))
		}
		for k, vs := range file.Header {
			h[k] = vs
		}
		w.WriteHeader(http.StatusOK)
		w.Write(file.Data) // a failed write is the client gone; nothing to answer
		return nil
	}
	return op
}

type inputKind int

const (
	noInput inputKind = iota
	bodyInput
	queryInput
)

// input is what an operation's input type says it reads.
type input struct {
	kind inputKind
	// optional: In is a pointer, nil when the body is left out.
	optional bool
	zero     any
	fields   []queryField
}

type queryField struct {
	index int
	param Param
	kind  reflect.Kind
}

func inputOf[In any]() input {
	t := reflect.TypeFor[In]()
	if t == reflect.TypeFor[None]() {
		return input{kind: noInput}
	}
	in := input{kind: bodyInput}
	if t.Kind() == reflect.Pointer {
		in.optional, t = true, t.Elem()
	}
	in.zero = reflect.Zero(t).Interface()
	if t.Kind() != reflect.Struct {
		return in
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("query")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		qf := queryField{index: i, kind: f.Type.Kind(),
			param: Param{Name: name, Description: f.Tag.Get("doc"), Required: opts == "required"}}
		switch qf.kind {
		case reflect.String:
			if e := f.Tag.Get("enum"); e != "" {
				qf.param.Enum = strings.Split(e, "|")
			}
		case reflect.Bool:
			qf.param.Type = "boolean"
		case reflect.Int:
			qf.param.Type = "integer"
		default:
			panic(fmt.Sprintf("router: query field %s.%s: %s is not a string, bool or int", t, f.Name, f.Type))
		}
		in.fields = append(in.fields, qf)
	}
	if len(in.fields) > 0 {
		if in.optional {
			panic(fmt.Sprintf("router: query input %s cannot be a pointer", t))
		}
		in.kind = queryInput
	}
	return in
}

// describe sets what op reads, for the API description: its query
// parameters, and its body when In is one.
func (in input) describe(op Op) Op {
	op.Query = in.params()
	if in.kind == bodyInput {
		op.Request, op.RequestOptional = in.zero, in.optional
	}
	return op
}

func (in input) params() []Param {
	var out []Param
	for _, f := range in.fields {
		out = append(out, f.param)
	}
	return out
}

// responseOf is the Response of an operation answering Out: nil for None.
func responseOf[Out any]() any {
	var out Out
	if _, none := any(out).(None); none {
		return nil
	}
	if oneOf, ok := any(out).(interface{ Alternatives() OneOf }); ok {
		return oneOf.Alternatives()
	}
	return out
}

func call(r *http.Request, body []byte) Call {
	p, _ := principal.From(r.Context())
	return Call{Principal: p, ID: r.PathValue("id"), RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent(),
		Header: r.Header, body: body}
}

// run decodes what r carries for In (as in says) and calls f with it.
func run[In, Out any](r *http.Request, in input, f func(context.Context, Call, In) (Out, error)) (Out, error) {
	c, v, err := decode[In](r, in)
	if err != nil {
		var zero Out
		return zero, err
	}
	return f(r.Context(), c, v)
}

// decode reads an operation's input from r as in says, and checks it.
func decode[In any](r *http.Request, in input) (Call, In, error) {
	var v In
	switch in.kind {
	case noInput:
		return call(r, nil), v, nil
	case queryInput:
		var errs validate.Errors
		readQuery(&errs, r.URL.Query(), in, reflect.ValueOf(&v).Elem())
		if err := errs.Err(); err != nil {
			return Call{}, v, err
		}
		if err := check(v); err != nil {
			return Call{}, v, err
		}
		return call(r, nil), v, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBody+1))
	if err != nil {
		return Call{}, v, problem.BadRequest("unreadable_body", "The request body could not be read.")
	}
	if len(body) > httpapi.MaxBody {
		return Call{}, v, problem.New(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("The request body exceeds %d bytes.", httpapi.MaxBody))
	}
	if err := httpapi.JSONContent(r, body); err != nil {
		return Call{}, v, err
	}
	if in.optional {
		if len(body) == 0 {
			return call(r, nil), v, nil
		}
		// v is a nil pointer: decode into a new value.
		rv := reflect.New(reflect.TypeFor[In]().Elem())
		if err := httpapi.DecodeBytes(body, rv.Interface()); err != nil {
			return Call{}, v, err
		}
		v = rv.Interface().(In)
	} else if err := httpapi.DecodeBytes(body, &v); err != nil {
		return Call{}, v, err
	}
	if err := check(v); err != nil {
		return Call{}, v, err
	}
	return call(r, body), v, nil
}

func check(v any) error {
	if c, ok := v.(Validator); ok {
		return c.Validate()
	}
	return nil
}

// readQuery sets the query fields of dst (a struct of in's type) from q,
// recording a field error for each value of the wrong type.
func readQuery(errs *validate.Errors, q map[string][]string, in input, dst reflect.Value) {
	for _, f := range in.fields {
		var s string
		if vs := q[f.param.Name]; len(vs) > 0 {
			s = vs[0]
			if len(vs) > 1 { // which one counts would depend on the parser
				errs.Add(f.param.Name, "must be given once")
				continue
			}
		}
		if s == "" {
			continue // a required one is the operation's to refuse, as its rule says
		}
		fv := dst.Field(f.index)
		switch f.kind {
		case reflect.String:
			if len(f.param.Enum) > 0 && !slices.Contains(f.param.Enum, s) {
				errs.Add(f.param.Name, "must be one of %s", strings.Join(f.param.Enum, ", "))
				continue
			}
			fv.SetString(s)
		case reflect.Bool:
			switch s {
			case "true":
				fv.SetBool(true)
			case "false":
			default:
				errs.Add(f.param.Name, "must be true or false")
			}
		case reflect.Int:
			n, err := strconv.Atoi(s)
			if err != nil {
				errs.Add(f.param.Name, "must be a whole number")
				continue
			}
			fv.SetInt(int64(n))
		}
	}
}
