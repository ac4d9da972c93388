// Command example is an application's CDK app deploying Guichet in its own
// stack, with one route of its own behind Guichet's authorizer: POST
// /projects, for callers holding the application's permission
// projects:write. Run it as a CDK app (cdk synth --app 'go run ./example'
// from infra/) after make build, with the application's own Lambda built in
// example/build/projects/bootstrap.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/infra/guichet"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	guichetBuild, err := filepath.Abs(filepath.Join("..", "build"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
	if _, err := NewShopStack(app, "Shop", ShopProps{GuichetBuildDir: guichetBuild, BuildDir: filepath.Join("example", "build")}); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}

// ShopProps are where the stack's Lambdas are built.
type ShopProps struct {
	// GuichetBuildDir is Guichet's make build output (absolute).
	GuichetBuildDir string
	// BuildDir holds the application's own functions (projects/bootstrap).
	BuildDir string
}

// NewShopStack is the application's stack: Guichet, the application's
// projects Lambda and its route.
func NewShopStack(app awscdk.App, id string, p ShopProps) (awscdk.Stack, error) {
	stack := awscdk.NewStack(app, jsii.String(id), nil)

	props := guichet.DefaultProps(p.GuichetBuildDir)
	props.AppPermissions = []guichet.AppPermission{{
		Name:        "projects:write",
		Description: map[string]string{"en": "Create projects", "fr": "Créer des projets", "nl": "Projecten aanmaken"},
	}}
	g, err := guichet.New(stack, "Guichet", props)
	if err != nil {
		return nil, err
	}

	projects := awslambda.NewFunction(stack, jsii.String("Projects"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(p.BuildDir, "projects")), nil),
	})
	if err := g.AddRoute(guichet.AppRoute{
		Method:     "POST",
		Path:       "/projects",
		Handler:    projects,
		Access:     guichet.Permission,
		Permission: "projects:write",
	}); err != nil {
		return nil, err
	}

	awscdk.NewCfnOutput(stack, jsii.String("ShopApiUrl"), &awscdk.CfnOutputProps{Value: g.URL})
	return stack, nil
}
