// Command jobs is the jobs Lambda function: wiring only. It runs the jobs
// changes leave behind them, from the table's stream and on a schedule.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/guichet/guichet/shared/app"
)

func main() {
	lambda.Start(app.JobsLambda())
}
