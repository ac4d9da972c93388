package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/store"
)

func TestStoreKindsAreMappedOnceToWhatClientsSee(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int // 0: left to the default 500
		code   string
	}{
		{"a lost condition no feature explained", fmt.Errorf("create role: %w", &store.Conflict{Parts: []store.Part{store.IDTaken}}), 409, "conflict"},
		{"an outage of DynamoDB", fmt.Errorf("get user: %w", store.ErrUnavailable), 503, "unavailable"},
		{"a deadline passed", fmt.Errorf("hash: %w", context.DeadlineExceeded), 503, "unavailable"},
		{"a missing item no feature explained", fmt.Errorf("get user: %w", store.ErrNotFound), 0, ""},
		{"any other error", errors.New("boom"), 0, ""},
	} {
		t.Run(fmt.Sprintf("%s is %d %s", c.name, c.status, c.code), func(t *testing.T) {
			p, ok := httpapi.StoreProblem(c.err)
			if c.status == 0 {
				if ok {
					t.Fatalf("mapped to %v", p)
				}
				return
			}
			if !ok || p.Status != c.status || p.Code != c.code || (c.status == 503) != (p.RetryAfter > 0) {
				t.Fatalf("%v %v", p, ok)
			}
		})
	}
}
