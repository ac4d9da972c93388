package lambdahttp

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestAdapter(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	var body []byte
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		body, _ = io.ReadAll(r.Body)
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(201)
		w.Write([]byte{0x89, 'P', 'N', 'G'})
	}))
	e := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/users/u%2F1", RawQueryString: "a=1&b=2",
		Headers:         map[string]string{"content-type": "application/octet-stream", "x-test": "yes"},
		Cookies:         []string{"s=1", "t=2"},
		PathParameters:  map[string]string{"id": "u/1"},
		Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2}),
		IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-1", DomainName: "api.example",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PUT", SourceIP: "198.51.100.1"},
		},
	}
	res, err := h(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the request is what the event says", func(t *testing.T) {
		if seen.Method != "PUT" || seen.URL.Path != "/v1/users/u/1" || seen.URL.RawQuery != "a=1&b=2" ||
			seen.Header.Get("X-Test") != "yes" || seen.PathValue("id") != "u/1" || seen.RemoteAddr != "198.51.100.1" ||
			seen.Host != "api.example" || string(body) != "\x00\x01\x02" {
			t.Fatalf("request %+v body %q", seen, body)
		}
		if c, err := seen.Cookie("t"); err != nil || c.Value != "2" {
			t.Fatalf("cookie: %v", err)
		}
		if ev, ok := Event(seen.Context()); !ok || ev.RequestContext.RequestID != "req-1" {
			t.Fatal("event not in context")
		}
	})
	t.Run("the response carries status, cookies and a binary body", func(t *testing.T) {
		raw, _ := base64.StdEncoding.DecodeString(res.Body)
		if res.StatusCode != 201 || len(res.Cookies) != 2 || !res.IsBase64Encoded || string(raw) != "\x89PNG" {
			t.Fatalf("response %+v", res)
		}
		if _, ok := res.Headers["Set-Cookie"]; ok {
			t.Fatal("Set-Cookie left in headers")
		}
	})
}

func TestTextBodiesStayText(t *testing.T) {
	t.Parallel()
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Write([]byte(`{"a":"é"}`))
	}))
	res, _ := h(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/"})
	if res.IsBase64Encoded || res.Body != `{"a":"é"}` || res.StatusCode != 200 {
		t.Fatalf("%+v", res)
	}
}
