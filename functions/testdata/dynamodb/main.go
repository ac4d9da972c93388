// Command dynamodb is the hello-world Lambda with the one AWS client every
// function builds at init, a DynamoDB client: the floor of what a
// function's package initialization allocates (functions/coldstart_test.go).
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")}
	db := dynamodb.NewFromConfig(cfg)
	if db == nil {
		log.Fatal("no client")
	}
	lambda.Start(func(context.Context, json.RawMessage) (map[string]string, error) {
		return map[string]string{"hello": "world"}, nil
	})
}
