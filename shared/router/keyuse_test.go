package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/route"
)

func TestKeyUse(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	failing := WithKeyUse(func(ctx context.Context, p principal.Principal) error {
		calls.Add(1)
		if p.KeyHash != "h1" || p.LastUsed != 42 {
			t.Errorf("principal %+v", p)
		}
		return errors.New("throttled")
	})
	ops := Operations{}
	for _, rt := range route.ByFunction(route.APIKeys) {
		ops[rt.Operation] = Op{Handle: func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}}
	}
	h, err := New(route.APIKeys, ops, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil, failing)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(p principal.Principal) int {
		c, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		e := events.APIGatewayV2HTTPRequest{RawPath: "/v1/clients", RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/clients"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: c},
		}}
		res, err := lambdahttp.New(h)(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	base := principal.Principal{Org: "o1", User: "u1", Kind: "person", Role: "owner"}
	t.Run("a failed write of an API key's use does not fail the request", func(t *testing.T) {
		key := base
		key.Credential, key.CredentialID, key.KeyHash, key.LastUsed = principal.APIKey, "key_1", "h1", 42
		if status := serve(key); status != 200 || calls.Load() != 1 {
			t.Fatalf("status %d, %d calls", status, calls.Load())
		}
	})
	t.Run("a session's request does not call it", func(t *testing.T) {
		sess := base
		sess.Credential, sess.CredentialID = principal.Session, "ses_1"
		if status := serve(sess); status != 200 || calls.Load() != 1 {
			t.Fatalf("status %d, %d calls", status, calls.Load())
		}
	})
}
