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

// secretTimeout bounds reading the MFA key at init (Lambda allows 10 s).
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
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	sm := awscall.New(awsCfg, "secretsmanager", "secretsmanager", c.SecretsManagerEndpoint)
	var out struct {
		SecretString *string
	}
	h := http.Header{"X-Amz-Target": {"secretsmanager.GetSecretValue"}, "Content-Type": {"application/x-amz-json-1.1"}}
	if err := sm.Call(ctx, http.MethodPost, "/", h, map[string]string{"SecretId": c.MFAKeySecret}, &out); err != nil {
		return nil, fmt.Errorf("config: MFA_ENCRYPTION_KEY_SECRET %s: %w", c.MFAKeySecret, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("config: MFA_ENCRYPTION_KEY_SECRET %s: the secret has no SecretString", c.MFAKeySecret)
	}
	key, err := parseKey(*out.SecretString)
	if err != nil {
		return nil, fmt.Errorf("config: MFA_ENCRYPTION_KEY_SECRET %s: %w", c.MFAKeySecret, err)
	}
	return key, nil
}
