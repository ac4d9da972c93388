// Command pages is the pages Lambda function (hosted pages, the API description, and answers to unrouted requests): wiring only.
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
	h, err := app.Function(route.Pages, deps, deps.Pages())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
