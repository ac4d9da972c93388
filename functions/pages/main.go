// Command pages is the pages Lambda function (hosted pages, the API description, and answers to unrouted requests): wiring only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

func main() {
	lambda.Start(app.LambdaWithMail(route.Pages, func(d app.Deps) router.Operations { return d.Pages() }))
}
