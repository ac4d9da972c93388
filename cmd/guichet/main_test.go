package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

func TestOrgCreate(t *testing.T) {
	e := apitest.New(t)
	env := map[string]string{"DYNAMODB_ENDPOINT": e.Config.DynamoDBEndpoint, "TABLE_NAME": e.Config.Table}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()

	var out bytes.Buffer
	err := run(ctx, []string{"org", "create", "--name", "Globex", "--code", "globex", "--owner-email", "Boss@Globex.example"}, &out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`one-time password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output: %s", out.String())
	}
	t.Run("the owner logs in with the printed password", func(t *testing.T) {
		e.Login(t, "boss@globex.example", m[1])
	})
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"a taken code is refused", []string{"org", "create", "--name", "G", "--code", "globex", "--owner-email", "x@globex.example"}, "already taken"},
		{"a taken owner e-mail is refused", []string{"org", "create", "--name", "G", "--code", "globex2", "--owner-email", "boss@globex.example"}, "already taken"},
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
