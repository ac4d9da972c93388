// Command passwordreset is the passwordreset Lambda function: wiring only.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
)

func main() {
	deps, err := app.FromEnvWithMail(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h, err := app.Function(route.PasswordReset, deps, deps.Resets().Operations())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
