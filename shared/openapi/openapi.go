// Package openapi builds the OpenAPI 3.1 description of the API from the
// route table and the Go types each operation reads and writes, so the
// description cannot drift from what is routed.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// Version is the API's version in the description.
const Version = "1.0.0"

type object = map[string]any

// Build returns the description of every route in the table but the
// hosted pages (route.Route.Page). ops holds the
// operations of every function; a route without an operation, or an
// operation without a route, is an error.
func Build(ops router.Operations) ([]byte, error) {
	b := builder{schemas: object{}, names: map[string]reflect.Type{}}
	paths := object{}
	used := map[route.OperationID]bool{}
	for _, rt := range route.All() {
		op, ok := ops[rt.Operation]
		if !ok {
			return nil, fmt.Errorf("openapi: route %s has no operation %q", rt.Key(), rt.Operation)
		}
		used[rt.Operation] = true
		if rt.Page {
			continue // HTML for people, not part of the API
		}
		item, _ := paths[rt.Path].(object)
		if item == nil {
			item = object{}
			paths[rt.Path] = item
		}
		o, err := b.operation(rt, op)
		if err != nil {
			return nil, err
		}
		item[strings.ToLower(rt.Method)] = o
	}
	for name := range ops {
		if !used[name] {
			return nil, fmt.Errorf("openapi: operation %q has no route", name)
		}
	}
	if _, err := b.schema(reflect.TypeOf(problem.Problem{})); err != nil {
		return nil, err
	}
	var tags []any
	for _, t := range route.Tags {
		tags = append(tags, object{"name": t.Name, "description": t.Description})
	}
	doc := object{
		"openapi": "3.1.0",
		"info": object{
			"title":   "Guichet API",
			"version": Version,
			"summary": "Organizations, users, roles, invitations, sessions and API keys for B2B applications.",
			"description": "Errors are application/problem+json (RFC 9457) with a stable `code`; each operation lists " +
				"the codes it may answer, by status. Authorized routes take `Authorization: Bearer <token>`: " +
				"a session access token (a JWT, RFC 9068 at+jwt, RS256 or ES256; keys at /.well-known/jwks.json) or an API key (gky_…), as each operation's security says. " +
				"The permission a route needs is in its description.",
			"contact": object{"name": "Guichet", "url": "https://github.com/guichet/guichet"},
			"license": object{"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
		},
		"servers": []any{object{"url": "/", "description": "This deployment"}},
		"tags":    tags,
		"paths":   paths,
		"components": object{
			"schemas": b.schemas,
			"securitySchemes": object{
				"session": object{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "A session access token (JWT at+jwt) from /v1/auth/login or /v1/auth/refresh."},
				"apiKey": object{"type": "http", "scheme": "bearer", "bearerFormat": "gky_ key",
					"description": "A scoped API key; its scopes are permissions."},
			},
			"headers": object{
				"RetryAfter": object{"description": "Seconds to wait before retrying.",
					"schema": object{"type": "integer", "minimum": 1}},
				"Allow": object{"description": "The methods the path takes, comma-separated.",
					"schema": object{"type": "string"}, "example": "GET, PATCH"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func ref(name string) object { return object{"$ref": "#/components/schemas/" + name} }

type builder struct {
	schemas object
	names   map[string]reflect.Type
}

func (b *builder) operation(rt route.Route, op router.Op) (object, error) {
	o := object{"operationId": rt.Operation, "summary": rt.Summary, "description": describe(rt),
		"tags": []any{rt.Function}}
	var params []any
	for _, name := range pathParams(rt.Path) {
		p := object{"name": name, "in": "path", "required": true, "schema": object{"type": "string"}}
		if ex := pathExample(rt.Path, name); ex != "" {
			p["example"] = ex
		}
		params = append(params, p)
	}
	for _, q := range op.Query {
		params = append(params, queryParam(q))
	}
	if params != nil {
		o["parameters"] = params
	}
	if op.Request != nil {
		s, err := b.schema(reflect.TypeOf(op.Request))
		if err != nil {
			return nil, err
		}
		o["requestBody"] = object{"required": !op.RequestOptional, "content": object{"application/json": object{"schema": s}}}
	}
	if len(op.RequestTypes) > 0 {
		content := object{}
		for _, ct := range op.RequestTypes {
			content[ct] = object{"schema": binary(ct)}
		}
		o["requestBody"] = object{"required": true, "content": content}
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	success := object{"description": http.StatusText(status)}
	if op.Response != nil {
		s, err := b.response(op.Response)
		if err != nil {
			return nil, err
		}
		success["content"] = object{"application/json": object{"schema": s}}
	}
	if len(op.ContentTypes) > 0 {
		content := object{}
		for _, ct := range op.ContentTypes {
			content[ct] = object{"schema": binary(ct)}
		}
		success["content"] = content
	}
	responses := object{fmt.Sprint(status): success}
	if op.SeeOther != nil {
		s, err := b.response(op.SeeOther)
		if err != nil {
			return nil, err
		}
		responses[fmt.Sprint(http.StatusSeeOther)] = object{"description": http.StatusText(http.StatusSeeOther),
			"headers": object{"Location": object{"description": "Where the answer is: the same as the body's url.",
				"required": true, "schema": object{"type": "string", "format": "uri"}}},
			"content": object{"application/json": object{"schema": s}}}
	}
	for st, codes := range problems(rt, op) {
		responses[fmt.Sprint(st)] = problemResponse(st, codes)
	}
	o["responses"] = responses
	switch {
	case rt.Public:
		o["security"] = []any{}
	case rt.SessionOnly():
		o["security"] = []any{object{"session": []any{}}}
	default:
		o["security"] = []any{object{"session": []any{}}, object{"apiKey": []any{}}}
	}
	return o, nil
}

// binary is the schema of a body of media type ct that is not JSON: its
// bytes as they are.
func binary(ct string) object { return object{"type": "string", "contentMediaType": ct} }

// describe says who may call the route: its credentials, permission and
// kind of principal.
func describe(rt route.Route) string {
	if rt.Public {
		return "Public: no credential is needed."
	}
	var out []string
	if rt.SessionOnly() {
		out = append(out, "Takes a signed-in session only: an API key is refused.")
	} else {
		out = append(out, "Takes a session or an API key.")
	}
	if rt.Permission != "" {
		out = append(out, fmt.Sprintf("Needs the `%s` permission.", rt.Permission))
		if rt.Self {
			out = append(out, "One's own user needs none.")
		}
	} else {
		out = append(out, "Needs no permission.")
	}
	if rt.People {
		out = append(out, "For persons only: service users are refused.")
	}
	return strings.Join(out, " ")
}

// problems groups by status the problem codes the route may answer (its
// own, and the router's for the operation's input), with the 405 every
// path answers to a method it does not take.
func problems(rt route.Route, op router.Op) map[int][]string {
	codes := rt.Problems()
	if op.Request != nil {
		codes = append(codes, "unreadable_body", "body_too_large", "unsupported_media_type", "invalid_json", "validation_failed")
	}
	if len(op.Query) > 0 {
		codes = append(codes, "validation_failed")
	}
	slices.Sort(codes)
	out := map[int][]string{http.StatusMethodNotAllowed: {"method_not_allowed"}}
	for _, code := range slices.Compact(codes) {
		st := route.ProblemStatus(code)
		out[st] = append(out[st], code)
	}
	return out
}

// problemResponse is the answer of status st, a problem whose code is one
// of codes; 429 and 503 say when to retry, 405 which methods the path takes.
func problemResponse(st int, codes []string) object {
	schema := object{"allOf": []any{ref("Problem")},
		"properties": object{"code": object{"type": "string", "enum": codes}}}
	r := object{"description": http.StatusText(st),
		"content": object{problem.ContentType: object{"schema": schema}}}
	switch st {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r["headers"] = object{"Retry-After": object{"$ref": "#/components/headers/RetryAfter"}}
	case http.StatusMethodNotAllowed:
		r["description"] = "The path does not take the request's method."
		r["headers"] = object{"Allow": object{"$ref": "#/components/headers/Allow"}}
	}
	return r
}

// idExamples are examples of the ids a path's {id} names, by the
// collection before it.
var idExamples = map[string]string{
	"users":       "usr_ujuebpwiea7igkx2",
	"roles":       "rol_3zlieqdby5kwk7pc",
	"units":       "unt_fli26ix44ho7t74h",
	"invitations": "inv_4a4s4n6v4uiye44v",
	"api-keys":    "key_zxl5k7dlr7zf7fh2",
	"sessions":    "ses_fjqwx53b2aqwjnmy",
}

// pathExample returns an example of path parameter name in path.
func pathExample(path, name string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg == "{"+name+"}" && i > 0 {
			return idExamples[segs[i-1]]
		}
	}
	return ""
}

// queryParam describes a query parameter with the type of its value.
func queryParam(q router.Param) object {
	s := object{"type": "string"}
	if q.Type != "" {
		s["type"] = q.Type
	}
	if len(q.Enum) > 0 {
		s["enum"] = q.Enum
	}
	if q.Maximum > 0 {
		s["minimum"], s["maximum"], s["default"] = q.Minimum, q.Maximum, q.Default
	}
	p := object{"name": q.Name, "in": "query", "description": q.Description, "schema": s}
	if q.Required {
		p["required"] = true
	}
	return p
}

// response is the schema of a success body: one type, or one of several.
func (b *builder) response(v any) (object, error) {
	alts, ok := v.(router.OneOf)
	if !ok {
		return b.schema(reflect.TypeOf(v))
	}
	var out []any
	for _, a := range alts {
		s, err := b.schema(reflect.TypeOf(a))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return object{"oneOf": out}, nil
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// schema returns the JSON Schema of t, registering named structs as
// components.
func (b *builder) schema(t reflect.Type) (object, error) {
	switch {
	case t == timeType:
		return object{"type": "string", "format": "date-time"}, nil
	case t.Kind() == reflect.Pointer:
		return b.schema(t.Elem())
	}
	switch t.Kind() {
	case reflect.String:
		return object{"type": "string"}, nil
	case reflect.Bool:
		return object{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return object{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return object{"type": "number"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return object{"type": "string", "contentEncoding": "base64"}, nil
		}
		items, err := b.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return object{"type": "array", "items": items}, nil
	case reflect.Map:
		v, err := b.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return object{"type": "object", "additionalProperties": v}, nil
	case reflect.Interface:
		return object{}, nil
	case reflect.Struct:
		return b.structSchema(t)
	}
	return nil, fmt.Errorf("openapi: cannot describe %s", t)
}

// Namer is a type that names its schema itself, when its Go name alone
// would not say what it is (users.Page is a UserPage).
type Namer interface{ SchemaName() string }

var namerType = reflect.TypeOf((*Namer)(nil)).Elem()

func (b *builder) structSchema(t reflect.Type) (object, error) {
	return b.named(t, false)
}

// named registers the schema of struct t as a component and returns its
// reference. partial is the variant of a PATCH, whose fields are all
// optional: it is named with Patch after the type's name.
func (b *builder) named(t reflect.Type, partial bool) (object, error) {
	name := t.Name()
	if name == "" {
		return b.fields(t, partial)
	}
	if t.Implements(namerType) {
		name = reflect.Zero(t).Interface().(Namer).SchemaName()
	}
	if prev, ok := b.names[name]; ok && prev != t {
		// Two packages use one name: the later one is qualified by its
		// package (routes are walked in table order, so names are stable).
		pkg := path.Base(t.PkgPath())
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	if partial {
		name += "Patch"
	}
	if prev, ok := b.names[name]; ok {
		if prev != t {
			return nil, fmt.Errorf("openapi: two types named %s: %s and %s", name, prev, t)
		}
		return ref(name), nil
	}
	b.names[name] = t
	s, err := b.fields(t, partial)
	if err != nil {
		return nil, err
	}
	b.schemas[name] = s
	return ref(name), nil
}

// fields describes a struct's JSON fields. Fields without omitempty are
// required (none is when partial); no other property is allowed, as the
// decoder refuses unknown fields and the contract tests must catch
// undocumented ones. Tags refine a field's schema:
//
//   - doc:"…" describes it and enum:"a|b" lists its values;
//   - nullable:"true" allows null (a pointer the server reads null from,
//     such as null removing an address);
//   - partial:"true" describes a struct field with all its fields optional
//     (a PATCH that changes only the parts given);
//   - required:"kind!=service" makes an omitempty field required, and not
//     empty, unless the field kind is service (absent counts as not
//     service).
func (b *builder) fields(t reflect.Type, partial bool) (object, error) {
	props := object{}
	var required []string
	unless := map[string][]string{} // condition "field=value" -> fields required unless it holds
	var walk func(t reflect.Type) error
	walk = func(t reflect.Type) error {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					if err := walk(ft); err != nil {
						return err
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			var s object
			var err error
			if ft := deref(f.Type); f.Tag.Get("partial") == "true" && ft.Kind() == reflect.Struct {
				s, err = b.named(ft, true)
			} else {
				s, err = b.schema(f.Type)
			}
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t, f.Name, err)
			}
			s = annotate(s, f.Tag.Get("doc"), f.Tag.Get("enum"))
			omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			if (f.Type.Kind() == reflect.Pointer && !omit) || f.Tag.Get("nullable") == "true" {
				s = nullable(s)
			}
			props[name] = s
			switch cond := f.Tag.Get("required"); {
			case partial:
			case cond != "":
				unless[cond] = append(unless[cond], name)
			case !omit:
				required = append(required, name)
			}
		}
		return nil
	}
	if err := walk(t); err != nil {
		return nil, err
	}
	s := object{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	for cond, names := range unless {
		field, value, ok := strings.Cut(cond, "!=")
		if !ok || len(unless) > 1 {
			return nil, fmt.Errorf("openapi: %s: one required:\"field!=value\" condition is supported, not %q", t, cond)
		}
		sort.Strings(names)
		present := object{}
		for _, n := range names {
			present[n] = object{"minLength": 1}
		}
		s["if"] = object{"properties": object{field: object{"const": value}}, "required": []any{field}}
		s["else"] = object{"properties": present, "required": names}
	}
	return s, nil
}

func deref(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

// nullable allows null besides what s allows: a type list for an inline
// schema, anyOf for a reference.
func nullable(s object) object {
	if typ, ok := s["type"].(string); ok {
		out := object{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{typ, "null"}
		return out
	}
	return object{"anyOf": []any{s, object{"type": "null"}}}
}

// annotate adds a field's description (tag doc) and allowed values (tag
// enum, separated by |) to its schema.
func annotate(s object, doc, enum string) object {
	if doc == "" && enum == "" {
		return s
	}
	if _, isRef := s["$ref"]; isRef && enum == "" {
		return object{"$ref": s["$ref"], "description": doc}
	}
	out := object{}
	for k, v := range s {
		out[k] = v
	}
	if doc != "" {
		out["description"] = doc
	}
	if enum != "" {
		out["enum"] = strings.Split(enum, "|")
	}
	return out
}

// document is the committed description (openapi.json beside this file,
// written by make openapi; a test fails when it differs from Build's).
//
//go:embed openapi.json
var document []byte

// Serve answers GET /v1/openapi.json with the committed description.
func Serve(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(document)
	return nil
}
