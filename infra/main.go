// Command infra is the CDK app of the standalone Guichet stack: it reads
// the properties from the CDK context and synthesizes one stack holding
// the construct of package guichet. See README.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/infra/guichet"
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
	stack, err := NewStack(app, props)
	if err != nil {
		return err
	}
	guichet.Check(stack)
	app.Synth(nil)
	return nil
}

// NewStack is the standalone stack: Guichet's construct under the id
// "Default", so that its resources keep the logical ids they had when the
// stack was built without the construct.
func NewStack(app awscdk.App, props StackProps) (awscdk.Stack, error) {
	stack := awscdk.NewStack(app, jsii.String(props.StackName), &awscdk.StackProps{StackName: jsii.String(props.StackName)})
	if _, err := guichet.New(stack, "Default", props.Props); err != nil {
		return nil, err
	}
	return stack, nil
}
