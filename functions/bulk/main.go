// Command bulk is the bulk Lambda function (import and export of users): wiring only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

func main() {
	lambda.Start(app.LambdaWithMail(route.Bulk, func(d app.Deps) router.Operations { return d.Bulk().BulkOperations() }))
}
