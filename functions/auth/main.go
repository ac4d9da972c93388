// Command auth is the auth Lambda function: wiring only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

func main() {
	lambda.Start(app.LambdaWithMail(route.Auth, func(d app.Deps) router.Operations { return d.AuthOperations() }))
}
