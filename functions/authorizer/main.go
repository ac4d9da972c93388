// Command authorizer is the API Gateway Lambda authorizer: wiring only.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
)

func main() {
	deps, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(app.Authorizer(deps))
}
