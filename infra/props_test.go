package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// cdkContext is the context of cdk.json (feature flags included).
func cdkContext() (map[string]any, error) {
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return cfg.Context, nil
}

func TestPropsFromContext(t *testing.T) {
	t.Run("cdk.json's context gives the defaults", func(t *testing.T) {
		ctx, err := cdkContext()
		if err != nil {
			t.Fatal(err)
		}
		p, err := PropsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}), "/tmp/build")
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultProps("/tmp/build")
		got, _ := json.Marshal(p)
		exp, _ := json.Marshal(want)
		if string(got) != string(exp) || p.StackName != want.StackName {
			t.Errorf("cdk.json gives %s, defaults are %s", got, exp)
		}
	})
	for _, tc := range []struct {
		name    string
		context map[string]any
		check   func(t *testing.T, p StackProps)
		wantErr bool
	}{
		{
			name:    "no context gives the production defaults",
			context: map[string]any{},
			check: func(t *testing.T, p StackProps) {
				if p.StackName != "Guichet" || !p.Production || p.AuthorizerCacheTTLSeconds != 0 ||
					p.LogRetentionDays != 30 || p.MailFrom != "" || p.PublicURL != "" || len(p.CorsOrigins) != 0 {
					t.Errorf("defaults = %+v", p)
				}
			},
		},
		{
			name: "-c strings are parsed",
			context: map[string]any{
				"stackName": "GuichetDev", "production": "false", "corsOrigins": "https://a.example, https://b.example",
				"throttleRateLimit": "10", "authorizerCacheTtlSeconds": "60", "mailFrom": "x@example.com",
				"authThrottleRateLimit": "3", "authThrottleBurstLimit": "6",
			},
			check: func(t *testing.T, p StackProps) {
				if p.AuthThrottleRateLimit != 3 || p.AuthThrottleBurstLimit != 6 {
					t.Errorf("auth throttle %v/%v, want 3/6", p.AuthThrottleRateLimit, p.AuthThrottleBurstLimit)
				}
				if p.StackName != "GuichetDev" || p.Production || p.ThrottleRateLimit != 10 ||
					p.AuthorizerCacheTTLSeconds != 60 || p.MailFrom != "x@example.com" ||
					!slices.Equal(p.CorsOrigins, []string{"https://a.example", "https://b.example"}) {
					t.Errorf("props = %+v", p)
				}
			},
		},
		{
			name:    "cdk.json JSON values are parsed",
			context: map[string]any{"production": false, "corsOrigins": []any{"https://a.example"}, "logRetentionDays": 7},
			check: func(t *testing.T, p StackProps) {
				if p.Production || p.LogRetentionDays != 7 || !slices.Equal(p.CorsOrigins, []string{"https://a.example"}) {
					t.Errorf("props = %+v", p)
				}
			},
		},
		{
			name: "the application's permissions are read from cdk.json JSON and -c strings",
			context: map[string]any{
				"appPermissions":    []any{map[string]any{"name": "projects:write", "description": map[string]any{"en": "Create projects"}}},
				"memberPermissions": "projects:write",
			},
			check: func(t *testing.T, p StackProps) {
				if len(p.AppPermissions) != 1 || p.AppPermissions[0].Name != "projects:write" ||
					p.AppPermissions[0].Description["en"] != "Create projects" ||
					!slices.Equal(p.MemberPermissions, []string{"projects:write"}) {
					t.Errorf("props = %+v", p)
				}
			},
		},
		{
			name:    "application permissions as a -c JSON string are read",
			context: map[string]any{"appPermissions": `[{"name":"invoices:read","description":{"en":"Read invoices","fr":"Lire les factures"}}]`},
			check: func(t *testing.T, p StackProps) {
				if len(p.AppPermissions) != 1 || p.AppPermissions[0].Description["fr"] != "Lire les factures" {
					t.Errorf("props = %+v", p)
				}
			},
		},
		{
			name:    "application permissions with an unknown field are an error",
			context: map[string]any{"appPermissions": `[{"name":"invoices:read","scope":"x"}]`},
			wantErr: true,
		},
		{
			name:    "the OpenID Connect clients are passed through as JSON, from cdk.json or -c",
			context: map[string]any{"oidcClients": []any{map[string]any{"id": "spa", "name": "SPA", "type": "spa"}}},
			check: func(t *testing.T, p StackProps) {
				if p.OIDCClients != `[{"id":"spa","name":"SPA","type":"spa"}]` {
					t.Errorf("OIDCClients = %q", p.OIDCClients)
				}
			},
		},
		{
			name:    "a production flag that is not a boolean is an error",
			context: map[string]any{"production": "maybe"},
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Context: &tc.context})
			p, err := PropsFromContext(app, "/tmp/build")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}
