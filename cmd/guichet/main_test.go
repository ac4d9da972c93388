package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// newStack starts a stack for t and returns it with the environment the
// command reads to reach the stack's table.
func newStack(t *testing.T) (*apitest.Env, func(string) string) {
	t.Helper()
	e := apitest.New(t)
	env := map[string]string{"DYNAMODB_ENDPOINT": e.Config.DynamoDBEndpoint, "TABLE_NAME": e.Config.Table}
	return e, func(k string) string { return env[k] }
}

func TestOrgCreate(t *testing.T) {
	t.Parallel()
	e, getenv := newStack(t)
	ctx := context.Background()

	var out bytes.Buffer
	err := run(ctx, []string{"org", "create", "--name", "Globex", "--code", "globex", "--owner-email", "Boss@Globex.example"}, &out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`invite\?token=(giv_\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output: %s", out.String())
	}
	t.Run("the owner accepts the printed invitation and owns the organization", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": m[1], "password": "the-owner-secret-1",
			"first_name": "Boss", "last_name": "Globex"})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		tok := e.Login(t, "boss@globex.example", "the-owner-secret-1")
		var org struct {
			Code    string `json:"code"`
			OwnerID string `json:"owner_id"`
		}
		var me struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		}
		e.Do("GET", "/v1/organization", tok.AccessToken, nil).Decode(t, &org)
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Decode(t, &me)
		if org.Code != "globex" || me.Role != "owner" || org.OwnerID != me.ID {
			t.Fatalf("org %+v me %+v", org, me)
		}
	})
	t.Run("an existing person as first owner joins with their password", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(ctx, []string{"org", "create", "--name", "Initech", "--code", "initech", "--owner-email", "boss@globex.example"}, &out, getenv); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`invite\?token=(giv_\S+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("output: %s", out.String())
		}
		if r := e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": m[1], "password": "the-owner-secret-1"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "boss@globex.example", "password": "the-owner-secret-1", "organization": "initech"})
		if r.Status != 200 {
			t.Fatalf("login to initech: %d %s", r.Status, r.Body)
		}
	})
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"a taken code is refused", []string{"org", "create", "--name", "G", "--code", "globex", "--owner-email", "x@globex.example"}, "already taken"},
		{"a bad code is refused", []string{"org", "create", "--name", "G", "--code", "No Spaces", "--owner-email", "y@globex.example"}, "--code"},
		{"a bad e-mail is refused", []string{"org", "create", "--name", "G", "--code", "g3", "--owner-email", "nope"}, "--owner-email"},
		{"an unknown command shows the usage", []string{"user", "delete"}, "usage:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := run(ctx, c.args, &out, getenv)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
}
