package config

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWS loads the AWS SDK configuration. Retries are bounded (3 attempts, at
// most maxBackoff apart) so that no request outlives a function's timeout. With
// a local endpoint, the region defaults to eu-west-1 and, unless the
// environment has keys, dummy static credentials are used.
func AWS(ctx context.Context, localEndpoint string, maxBackoff time.Duration) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	if localEndpoint != "" {
		if os.Getenv("AWS_REGION") == "" {
			opts = append(opts, awsconfig.WithRegion("eu-west-1"))
		}
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			opts = append(opts, awsconfig.WithCredentialsProvider(
				credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("config: aws: %w", err)
	}
	return cfg, nil
}
