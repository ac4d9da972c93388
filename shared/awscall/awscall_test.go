package awscall_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/awscall"
	"github.com/guichet/guichet/shared/config"
)

func TestCall(t *testing.T) {
	t.Parallel()
	serve := func(t *testing.T, h http.HandlerFunc) (*awscall.Client, *atomic.Int32) {
		t.Helper()
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h(w, r) }))
		t.Cleanup(srv.Close)
		cfg, err := config.AWS(context.Background(), srv.URL, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return awscall.New(cfg, "ses", "email", srv.URL), &n
	}
	t.Run("a request is signed for the service and region, with its JSON body", func(t *testing.T) {
		c, n := serve(t, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			auth := r.Header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=local/") || !strings.Contains(auth, "/eu-west-1/ses/aws4_request") ||
				!strings.Contains(auth, "SignedHeaders=content-length;content-type;host;x-amz-date") || string(b) != `{"A":"b"}` || r.URL.Path != "/v2/x" {
				t.Errorf("auth %q, body %s, path %s", auth, b, r.URL.Path)
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Write([]byte(`{"MessageId":"m-1"}`))
		})
		var out struct{ MessageId string }
		if err := c.Call(context.Background(), http.MethodPost, "/v2/x", nil, map[string]string{"A": "b"}, &out); err != nil || out.MessageId != "m-1" {
			t.Fatalf("%+v, %v", out, err)
		}
		if n.Load() != 1 {
			t.Fatalf("%d attempts", n.Load())
		}
	})
	for _, c := range []struct {
		name     string
		status   int
		header   string
		body     string
		attempts int32
		code     string
	}{
		{"a server failure is retried twice", 500, "", `{"message":"boom"}`, 3, "Internal Server Error"},
		{"throttling is retried twice", 400, "ThrottlingException:http://internal.amazon.com/", `{"message":"slow down"}`, 3, "ThrottlingException"},
		{"a refusal is final", 400, "", `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"no such secret"}`, 1, "ResourceNotFoundException"},
		{"a refusal without a JSON body is final", 403, "", `<html>forbidden</html>`, 1, "Forbidden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, n := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if c.header != "" {
					w.Header().Set("X-Amzn-ErrorType", c.header)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			})
			err := cl.Call(context.Background(), http.MethodPost, "/", nil, struct{}{}, nil)
			var e *awscall.Error
			if !errors.As(err, &e) || e.Status != c.status || e.Code != c.code {
				t.Fatalf("err %v", err)
			}
			if n.Load() != c.attempts {
				t.Fatalf("%d attempts, want %d", n.Load(), c.attempts)
			}
		})
	}
	t.Run("an endpoint without an answer is tried three times", func(t *testing.T) {
		cfg, _ := config.AWS(context.Background(), "http://127.0.0.1:1", time.Millisecond)
		err := awscall.New(cfg, "ses", "email", "http://127.0.0.1:1").Call(context.Background(), http.MethodPost, "/", nil, struct{}{}, nil)
		if err == nil || !strings.Contains(err.Error(), "connect") {
			t.Fatalf("err %v", err)
		}
	})
}
