package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/problem"
)

type sample struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	Inner *struct {
		A string `json:"a"`
	} `json:"inner"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body  string
		status      int    // 0: accepted
		contentType string // Content-Type; application/json when empty
	}{
		{"a plain object is accepted", `{"name":"a","count":2,"tags":["x"],"inner":{"a":"b"}}`, 0, ""},
		{"the same key in two objects is accepted", `{"name":"a","inner":{"a":"b"},"tags":["a","a"]}`, 0, ""},
		{"an empty body is refused", ``, 400, ""},
		{"a truncated object is refused", `{"name":`, 400, ""},
		{"an unknown field is refused", `{"nam":"a"}`, 400, ""},
		{"a duplicate key is refused", `{"name":"a","name":"b"}`, 400, ""},
		{"a duplicate key in a nested object is refused", `{"inner":{"a":"b","a":"c"}}`, 400, ""},
		{"a key differing from a field's name by case is refused", `{"Name":"a"}`, 400, ""},
		{"a key repeated in another case is refused", `{"name":"a","NAME":"b"}`, 400, ""},
		{"a nested key differing by case is refused", `{"inner":{"A":"b"}}`, 400, ""},
		{"a wrong type is refused", `{"count":"2"}`, 400, ""},
		{"a number out of range is refused", `{"count":1e400}`, 400, ""},
		{"a fraction for an integer is refused", `{"count":1.5}`, 400, ""},
		{"invalid UTF-8 is refused", "{\"name\":\"\xff\"}", 400, ""},
		{"two objects are refused", `{} {}`, 400, ""},
		{"an array is refused", `[]`, 400, ""},
		{"null is refused", `null`, 400, ""},
		{"a bare string is refused", `"x"`, 400, ""},
		{"a body over the limit is refused", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, 413, ""},
		{"a charset is accepted", `{"name":"a"}`, 0, "application/json; charset=utf-8"},
		{"text/plain is refused", `{"name":"a"}`, 415, "text/plain"},
		{"a form is refused", `{"name":"a"}`, 415, "application/x-www-form-urlencoded"},
		{"no Content-Type is refused", `{"name":"a"}`, 415, "-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v sample
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			switch c.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", c.contentType)
			}
			err := Decode(r, &v)
			if c.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != c.status {
				t.Fatalf("err %v, want status %d", err, c.status)
			}
		})
	}
}

func TestProblemResponse(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	Problem(w, problem.TooManyRequests("slow_down", "Wait.", 30))
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != 429 || w.Header().Get("Content-Type") != problem.ContentType ||
		w.Header().Get("Retry-After") != "30" || got["code"] != "slow_down" || got["type"] == "" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"a":{"a":1,"a":2}}`, `[{"x":1},{"x":1}]`, `{"name":"a","name":"a"}`, "\xff", `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v sample
		err := DecodeBytes(body, &v)
		if err == nil {
			return
		}
		if p, ok := problem.As(err); !ok || p.Status != 400 {
			t.Fatalf("DecodeBytes(%q) = %v, want a 400 problem", body, err)
		}
	})
}
