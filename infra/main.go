// Command infra is the CDK app of Guichet: it reads the stack properties
// from the CDK context and synthesizes the one stack. See README.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	// The app runs from infra/; make build writes the assets to ../build.
	buildDir, err := filepath.Abs(filepath.Join("..", "build"))
	if err != nil {
		return err
	}
	props, err := PropsFromContext(app, buildDir)
	if err != nil {
		return err
	}
	s, err := NewGuichetStack(app, *props.StackName, props)
	if err != nil {
		return err
	}
	checkStack(s.Stack)
	app.Synth(nil)
	return nil
}
