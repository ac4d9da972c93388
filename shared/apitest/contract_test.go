package apitest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestContractCatchesResponsesOutsideTheDescription(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name, method, path string
		res                Response
		ok                 bool
	}{
		{"a well-formed problem passes", "GET", "/v1/me", Response{Status: 401,
			Header: http.Header{"Content-Type": {"application/problem+json"}},
			Body:   []byte(`{"type":"urn:x","title":"Unauthorized","status":401,"code":"invalid_token"}`)}, true},
		{"a field of the wrong type fails", "GET", "/v1/me", Response{Status: 200, Header: json,
			Body: []byte(`{"id":5}`)}, false},
		{"an undocumented field fails", "POST", "/v1/auth/refresh", Response{Status: 200, Header: json,
			Body: []byte(`{"access_token":"a","refresh_token":"b","token_type":"Bearer","expires_in":1,"secret":"x"}`)}, false},
		{"an undocumented status fails", "POST", "/v1/auth/login", Response{Status: 201, Header: json, Body: []byte(`{}`)}, false},
		{"a problem without its code fails", "POST", "/v1/auth/login", Response{Status: 400,
			Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: []byte(`{"status":400}`)}, false},
		{"an unrouted 404 passes", "GET", "/nowhere", Response{Status: 404}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.check(httptest.NewRequest(tc.method, tc.path, nil), nil, &tc.res)
			if (err == nil) != tc.ok {
				t.Fatalf("check = %v", err)
			}
		})
	}
}
