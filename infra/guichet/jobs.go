package guichet

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

// How the jobs function runs (package jobs): from the table's stream, one
// batch of work per job item written, and from a schedule that sweeps the
// jobs a failure left behind and announces expiring API keys.
const (
	// jobKeyPrefix starts the partition key of every job item
	// (store.Job); the stream delivers those records only.
	jobKeyPrefix = "JOB#"
	// jobsBatchSize stream records make one invocation: each runs one
	// batch of its job.
	jobsBatchSize = 10
	// jobsRetryAttempts bounds the retries of a failing batch of records
	// (halved each time); then the records go to the dead-letter queue
	// and the sweep picks their jobs up.
	jobsRetryAttempts = 5
	// jobsSweepMinutes is the sweep's interval.
	jobsSweepMinutes = 5
	// jobsDeadLetterLogicalID names the queue of stream records that failed
	// every retry.
	jobsDeadLetterLogicalID = "JobsDeadLetterQueue"
	// jobsSweepLogicalID names the schedule of the sweep.
	jobsSweepLogicalID = "JobsSweepSchedule"
	// keyRotationID names the schedule rotating the signing keys.
	keyRotationID = "KeyRotationSchedule"
	// keyRotationDays is the rotation's interval. A previous key stays in
	// the JWKS until the rotation after its tokens expired: a week, which
	// also bounds how long a warm function may sign with the key it read
	// at init.
	keyRotationDays = 7
	// rotateKeysTask is the event's task (app.RotateKeysTask).
	rotateKeysTask = "rotate_keys"
)

// addJobs connects the jobs function to the table's stream (job items
// only, puts and updates only, with a dead-letter queue) and to a schedule
// every jobsSweepMinutes. It returns the dead-letter queue to alarm on.
func (s *Guichet) addJobs(a *alarms) awssqs.Queue {
	fn := s.Functions[route.Jobs]
	dlq := awssqs.NewQueue(s.Construct, jsii.String(jobsDeadLetterLogicalID), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	dlq.Node().DefaultChild().(awssqs.CfnQueue).OverrideLogicalId(jsii.String(jobsDeadLetterLogicalID))
	suppress(dlq, "AwsSolutions-SQS3", "This queue is the dead-letter destination of the jobs function's stream: it needs none of its own")

	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.Table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(jobsBatchSize),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(jobsRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(1)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		Filters: &[]*map[string]any{awslambda.FilterCriteria_Filter(&map[string]any{
			// A deleted job is done: REMOVE records run nothing.
			"eventName": awslambda.FilterRule_Or(jsii.String("INSERT"), jsii.String("MODIFY")),
			"dynamodb": map[string]any{
				"Keys": map[string]any{"pk": map[string]any{"S": awslambda.FilterRule_BeginsWith(jsii.String(jobKeyPrefix))}},
			},
		})},
	}))
	// The event source grants the stream reads on the stream's ARN and
	// dynamodb:ListStreams, which IAM allows on "*" only.
	suppress(fn.Role(), "AwsSolutions-IAM5", "dynamodb:ListStreams has no resource type (IAM accepts only \"*\"); the stream reads themselves are granted on the table's stream only",
		"Resource::*")

	awsevents.NewRule(s.Construct, jsii.String(jobsSweepLogicalID), &awsevents.RuleProps{
		Description: jsii.String("Guichet jobs: run the jobs a failure left behind, announce API keys expiring within 7 days"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(jobsSweepMinutes))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			// The next sweep does the same work: a missed one needs no retry.
			RetryAttempts: jsii.Number(0),
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(jobsSweepMinutes)),
		})},
	})
	awsevents.NewRule(s.Construct, jsii.String(keyRotationID), &awsevents.RuleProps{
		Description: jsii.String("Guichet: rotate the keys signing JWT access tokens and publish their JWKS"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Days(jsii.Number(keyRotationDays))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			Event:         awsevents.RuleTargetInput_FromObject(map[string]any{"task": rotateKeysTask}),
			RetryAttempts: jsii.Number(2),
		})},
	})
	return dlq
}
