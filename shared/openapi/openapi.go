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
	doc := object{
		"openapi": "3.1.0",
		"info": object{
			"title":   "Guichet API",
			"version": Version,
			"summary": "Organizations, users, roles, invitations, sessions and API keys for B2B applications.",
			"description": "Errors are application/problem+json (RFC 9457) with a stable `code`. " +
				"Authorized routes take `Authorization: Bearer <token>`: a session access token (gsn_…) " +
				"or an API key (gky_…). The permission a route needs is listed as the scope of its security requirement.",
			"license": object{"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
		},
		"servers": []any{object{"url": "/", "description": "This deployment"}},
		"paths":   paths,
		"components": object{
			"schemas": b.schemas,
			"securitySchemes": object{
				"session": object{"type": "http", "scheme": "bearer", "bearerFormat": "gsn_ token",
					"description": "A session access token from /v1/auth/login or /v1/auth/refresh."},
				"apiKey": object{"type": "http", "scheme": "bearer", "bearerFormat": "gky_ key",
					"description": "A scoped API key; its scopes are permissions."},
			},
			"responses": object{
				"Problem": object{
					"description": "An error, as an RFC 9457 problem.",
					"content": object{problem.ContentType: object{
						"schema": ref("Problem"),
						"example": object{"type": "urn:guichet:problem:validation_failed", "title": "Unprocessable Entity",
							"status": 422, "code": "validation_failed", "detail": "The request has invalid fields.",
							"errors": []any{object{"field": "password", "message": "is required"}}},
					}},
				},
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
	o := object{"operationId": rt.Operation, "summary": rt.Summary, "tags": []any{rt.Function}}
	var params []any
	for _, name := range pathParams(rt.Path) {
		params = append(params, object{"name": name, "in": "path", "required": true, "schema": object{"type": "string"}})
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
		o["requestBody"] = object{"required": true, "content": object{"application/json": object{"schema": s}}}
	}
	if len(op.RequestTypes) > 0 {
		content := object{}
		for _, ct := range op.RequestTypes {
			content[ct] = object{"schema": object{"type": "string", "contentMediaType": ct}}
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
			content[ct] = object{"schema": object{"type": "string", "contentMediaType": ct}}
		}
		success["content"] = content
	}
	problemRef := object{"$ref": "#/components/responses/Problem"}
	o["responses"] = object{fmt.Sprint(status): success, "4XX": problemRef, "5XX": problemRef}
	if rt.Public {
		o["security"] = []any{}
	} else {
		scopes := []any{}
		if rt.Permission != "" {
			scopes = append(scopes, string(rt.Permission))
		}
		o["security"] = []any{object{"session": scopes}, object{"apiKey": scopes}}
		if rt.Permission != "" {
			o["description"] = fmt.Sprintf("Needs the `%s` permission.", rt.Permission)
		}
	}
	return o, nil
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

func (b *builder) structSchema(t reflect.Type) (object, error) {
	name := t.Name()
	if name == "" {
		return b.fields(t)
	}
	if prev, ok := b.names[name]; ok && prev != t {
		// Two packages use one name: the later one is qualified by its
		// package (routes are walked in table order, so names are stable).
		pkg := path.Base(t.PkgPath())
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	if prev, ok := b.names[name]; ok {
		if prev != t {
			return nil, fmt.Errorf("openapi: two types named %s: %s and %s", name, prev, t)
		}
		return ref(name), nil
	}
	b.names[name] = t
	s, err := b.fields(t)
	if err != nil {
		return nil, err
	}
	b.schemas[name] = s
	return ref(name), nil
}

// fields describes a struct's JSON fields. Fields without omitempty are
// required; no other property is allowed, as the decoder refuses unknown
// fields and the contract tests must catch undocumented ones.
func (b *builder) fields(t reflect.Type) (object, error) {
	props := object{}
	var required []string
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
			s, err := b.schema(f.Type)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t, f.Name, err)
			}
			s = annotate(s, f.Tag.Get("doc"), f.Tag.Get("enum"))
			omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			if f.Type.Kind() == reflect.Pointer && !omit {
				s = object{"anyOf": []any{s, object{"type": "null"}}}
			}
			props[name] = s
			if !omit {
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
	return s, nil
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
