// Command bulk is the bulk Lambda function (import and export of users): wiring only.
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
	h, err := app.Function(route.Bulk, deps, deps.Bulk().BulkOperations())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
