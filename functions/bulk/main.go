// Command bulk is the bulk Lambda function (import and export of users): wiring only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
)

func main() {
	lambda.Start(app.BulkLambda())
}
