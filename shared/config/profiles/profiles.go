// Package profiles loads the AWS SDK's whole default configuration chain
// (environment, shared config and profiles, SSO, instance roles) for an
// administrator's command. It is apart from package config so that no
// Lambda function links the chain's STS, SSO and IMDS clients, whose
// package initialization every cold start would pay.
package profiles

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/guichet/guichet/shared/config"
)

// AWS is a config.AWSLoader for an administrator's command: the SDK's
// default chain, or config.AWS's defaults for a local endpoint.
func AWS(ctx context.Context, localEndpoint string, maxBackoff time.Duration) (aws.Config, error) {
	if localEndpoint != "" {
		return config.AWS(ctx, localEndpoint, maxBackoff)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(config.Retryer(maxBackoff)))
	if err != nil {
		return aws.Config{}, fmt.Errorf("config: aws: %w", err)
	}
	return cfg, nil
}
