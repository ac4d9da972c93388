package config

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/guichet/guichet/shared/awscall"
)

// secretTimeout bounds reading a secret at init (Lambda allows 10 s).
const secretTimeout = 5 * time.Second

// MFAKeyFromSecret reads the MFA key from the Secrets Manager secret
// c.MFAKeySecret names (its SecretString, parsed as MFA_ENCRYPTION_KEY is),
// through awsCfg: the one the DynamoDB client is built from, so that the
// read costs a function's init one call and no configuration loading.
// The error never carries the secret's value.
func (c Config) MFAKeyFromSecret(ctx context.Context, awsCfg aws.Config) ([]byte, error) {
	if c.MFAKeySecret == "" {
		return nil, errors.New("config: MFA_ENCRYPTION_KEY_SECRET is not set")
	}
	v, err := c.ReadSecret(ctx, awsCfg, c.MFAKeySecret)
	if err != nil {
		return nil, fmt.Errorf("config: MFA_ENCRYPTION_KEY_SECRET %s: %w", c.MFAKeySecret, err)
	}
	key, err := parseKey(v)
	if err != nil {
		return nil, fmt.Errorf("config: MFA_ENCRYPTION_KEY_SECRET %s: %w", c.MFAKeySecret, err)
	}
	return key, nil
}

// ReadSecret returns the SecretString of a Secrets Manager secret (its ARN
// or name). The error never carries the value.
func (c Config) ReadSecret(ctx context.Context, awsCfg aws.Config, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	var out struct {
		SecretString *string
	}
	if err := c.secrets(awsCfg).Call(ctx, http.MethodPost, "/", secretsTarget("GetSecretValue"), map[string]string{"SecretId": id}, &out); err != nil {
		return "", err
	}
	if out.SecretString == nil {
		return "", errors.New("the secret has no SecretString")
	}
	return *out.SecretString, nil
}

// WriteSecret stores value as the new current version of a Secrets
// Manager secret (the rotation of the signing keys).
func (c Config) WriteSecret(ctx context.Context, awsCfg aws.Config, id, value string) error {
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	in := map[string]string{"SecretId": id, "SecretString": value}
	if err := c.secrets(awsCfg).Call(ctx, http.MethodPost, "/", secretsTarget("PutSecretValue"), in, &struct{}{}); err != nil {
		return fmt.Errorf("config: write secret %s: %w", id, err)
	}
	return nil
}

func (c Config) secrets(awsCfg aws.Config) *awscall.Client {
	return awscall.New(awsCfg, "secretsmanager", "secretsmanager", c.SecretsManagerEndpoint)
}

func secretsTarget(op string) http.Header {
	return http.Header{"X-Amz-Target": {"secretsmanager." + op}, "Content-Type": {"application/x-amz-json-1.1"}}
}
