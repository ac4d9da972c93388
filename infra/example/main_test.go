package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// standIns writes a bootstrap stand-in for each name under a new directory.
func standIns(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte("stand-in for "+n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTheShopStackSynthesizes(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack, err := NewShopStack(app, "Shop", ShopProps{
		GuichetBuildDir: standIns(t, route.Functions()...),
		BuildDir:        standIns(t, "projects"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	t.Run("POST /projects goes through Guichet's authorizer", func(t *testing.T) {
		found := tmpl.FindResources(jsii.String("AWS::ApiGatewayV2::Route"), &map[string]any{
			"Properties": map[string]any{"RouteKey": "POST /projects", "AuthorizationType": "CUSTOM"},
		})
		if found == nil || len(*found) != 1 {
			t.Errorf("routes POST /projects with an authorizer: %v", found)
		}
	})
	t.Run("the authorizer knows the route's permission", func(t *testing.T) {
		found := tmpl.FindResources(jsii.String("AWS::Lambda::Function"), &map[string]any{
			"Properties": map[string]any{"Environment": map[string]any{"Variables": map[string]any{
				"APP_ROUTES": `[{"method":"POST","path":"/projects","access":"permission","permission":"projects:write"}]`,
			}}},
		})
		if found == nil || len(*found) != 1 {
			t.Errorf("functions with the route in APP_ROUTES: %v", found)
		}
	})
}
