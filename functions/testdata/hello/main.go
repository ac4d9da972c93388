// Command hello is a hello-world Go Lambda, built as the functions are: the
// floor their cold starts are measured against (functions/bootstrap_test.go).
// It lives under testdata so that neither `make build` nor ./... builds it.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (map[string]string, error) {
		return map[string]string{"hello": "world"}, nil
	})
}
