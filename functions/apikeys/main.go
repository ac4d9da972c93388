// Command apikeys is the apikeys Lambda function: wiring only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

func main() {
	lambda.Start(app.LambdaWithMail(route.APIKeys, func(d app.Deps) router.Operations { return d.APIKeys().Operations() }))
}
