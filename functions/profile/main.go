// Command profile is the profile Lambda function: wiring only.
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
	h, err := app.Function(route.Profile, deps, deps.Profile().Operations())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
