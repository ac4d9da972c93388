package app

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// requestTypes is the JSON body type of every operation of every
// function, in a stable order.
func requestTypes(t testing.TB) []reflect.Type {
	seen := map[reflect.Type]bool{}
	var out []reflect.Type
	for _, fn := range route.Functions() {
		if !route.ServesRoutes(fn) {
			continue
		}
		ops, err := Deps{}.operations(fn, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if op.Request == nil || seen[reflect.TypeOf(op.Request)] {
				continue
			}
			seen[reflect.TypeOf(op.Request)] = true
			out = append(out, reflect.TypeOf(op.Request))
		}
	}
	slices.SortFunc(out, func(a, b reflect.Type) int { return bytes.Compare([]byte(a.String()), []byte(b.String())) })
	return out
}

// FuzzRequestBodies decodes arbitrary bodies into every operation's request
// type as the routers do, and validates what decodes: neither may panic,
// every refusal is a 4xx problem, and a body accepted, encoded again, is
// accepted again as the same value (the decoder agrees with itself).
func FuzzRequestBodies(f *testing.F) {
	types := requestTypes(f)
	for i, typ := range types {
		zero, _ := json.Marshal(reflect.New(typ).Interface())
		for _, s := range []string{string(zero), `{}`, `{"grace_seconds":9223372037}`, `{"name":"a\u202eb"}`,
			`{"role":"member","Role":"admin"}`, `{"units":["unt_a","unt_a"]}`, `{"latitude":1e308,"longitude":-1e308}`} {
			f.Add(uint16(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		typ := types[int(which)%len(types)]
		v := reflect.New(typ)
		err := httpapi.DecodeBytes(body, v.Interface())
		if err == nil {
			if c, ok := v.Elem().Interface().(router.Validator); ok {
				err = c.Validate()
			}
		}
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Status < 400 || p.Status > 499 {
				t.Fatalf("%s: %q: %v, want a 4xx problem", typ, body, err)
			}
			return
		}
		again, err := json.Marshal(v.Interface())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		w := reflect.New(typ)
		if err := httpapi.DecodeBytes(again, w.Interface()); err != nil {
			t.Fatalf("%s: %q decoded, but its encoding %q does not: %v", typ, body, again, err)
		}
		if twice, _ := json.Marshal(w.Interface()); !bytes.Equal(twice, again) {
			t.Fatalf("%s: %q then %q", typ, again, twice)
		}
	})
}

// TestEveryOperationsRequestTypeIsFuzzed: the fuzz target sees every JSON
// body type the routers decode.
func TestEveryOperationsRequestTypeIsFuzzed(t *testing.T) {
	if n := len(requestTypes(t)); n < 20 {
		t.Fatalf("%d request types, want every operation's", n)
	}
}
