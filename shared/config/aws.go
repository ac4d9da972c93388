package config

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSLoader loads the AWS SDK configuration for a service reached at
// localEndpoint (empty: AWS itself).
type AWSLoader func(ctx context.Context, localEndpoint string, maxBackoff time.Duration) (aws.Config, error)

// Retryer bounds retries (3 attempts, at most maxBackoff apart) so that no
// request outlives a function's timeout.
func Retryer(maxBackoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = maxBackoff
		})
	}
}

// AWS is the configuration of a Lambda function: region and credentials
// from the environment, as Lambda sets them. It links none of the SDK's
// shared-config, SSO or STS machinery, which keeps the functions' binaries
// small. With a local endpoint the region defaults to eu-west-1 and the
// credentials to dummy ones.
func AWS(ctx context.Context, localEndpoint string, maxBackoff time.Duration) (aws.Config, error) {
	region := or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if localEndpoint != "" {
		region = or(region, "eu-west-1")
		if id == "" {
			id, secret = "local", "local"
		}
	}
	if region == "" || id == "" || secret == "" {
		return aws.Config{}, errors.New("config: aws: AWS_REGION and AWS credentials must be in the environment")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		Retryer:     Retryer(maxBackoff),
	}, nil
}
