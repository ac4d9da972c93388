package config_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/awscall"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/motoserver"
)

// createSecret stores value as a secret named name in the Secrets Manager
// at endpoint and returns its ARN.
func createSecret(t *testing.T, endpoint, name, value string) string {
	t.Helper()
	cfg, err := config.AWS(context.Background(), endpoint, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ ARN string }
	h := http.Header{"X-Amz-Target": {"secretsmanager.CreateSecret"}, "Content-Type": {"application/x-amz-json-1.1"}}
	if err := awscall.New(cfg, "secretsmanager", "secretsmanager", endpoint).Call(context.Background(), http.MethodPost, "/", h,
		map[string]string{"Name": name, "SecretString": value}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.ARN, "arn:aws:secretsmanager:") {
		t.Fatalf("ARN %q", out.ARN)
	}
	return out.ARN
}

func TestMFAKeyFromSecretsManager(t *testing.T) {
	t.Parallel()
	sm := motoserver.Start(t)
	ctx := context.Background()
	// What the CDK stack generates: 43 alphanumeric characters.
	const generated = "Zq3vY8rT1mN5bK0pL7sW2xC9dF4gH6jQ8uE1aR3tY5i"
	load := func(t *testing.T, env map[string]string) ([]byte, error) {
		t.Helper()
		env["DYNAMODB_ENDPOINT"], env["SECRETS_MANAGER_ENDPOINT"] = "http://127.0.0.1:1", sm
		c, err := config.Parse(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		// The same loaded configuration the DynamoDB client is built from.
		awsCfg, err := config.AWS(ctx, c.DynamoDBEndpoint, c.RetryMaxBackoff)
		if err != nil {
			t.Fatal(err)
		}
		return c.MFAKeyFromSecret(ctx, awsCfg)
	}
	t.Run("a generated key is read by its ARN and decodes as MFA_ENCRYPTION_KEY does", func(t *testing.T) {
		arn := createSecret(t, sm, "guichet/mfa-key", generated)
		key, err := load(t, map[string]string{"MFA_ENCRYPTION_KEY_SECRET": arn})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := base64.RawStdEncoding.DecodeString(generated)
		if len(key) != 32 || string(key) != string(want) {
			t.Fatalf("key %x, want %x", key, want)
		}
		direct, err := config.Parse(func(k string) string { return map[string]string{"MFA_ENCRYPTION_KEY": generated}[k] })
		if err != nil || string(direct.MFAKey) != string(key) {
			t.Fatalf("MFA_ENCRYPTION_KEY gives %x, %v", direct.MFAKey, err)
		}
	})
	t.Run("a padded standard base64 key is read by its name", func(t *testing.T) {
		raw := strings.Repeat("k", 32)
		createSecret(t, sm, "guichet/padded", base64.StdEncoding.EncodeToString([]byte(raw)))
		key, err := load(t, map[string]string{"MFA_ENCRYPTION_KEY_SECRET": "guichet/padded"})
		if err != nil || string(key) != raw {
			t.Fatalf("key %q, %v", key, err)
		}
	})
	t.Run("a missing secret is an error naming it and the service's code", func(t *testing.T) {
		_, err := load(t, map[string]string{"MFA_ENCRYPTION_KEY_SECRET": "guichet/none"})
		if err == nil || !strings.Contains(err.Error(), "guichet/none") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Fatalf("err %v", err)
		}
	})
	for name, value := range map[string]string{
		"too short":           strings.Repeat("A", 42),
		"16 bytes":            base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 16))),
		"not base64":          "this is no key, it has spaces and 43 chars!",
		"a JSON object":       `{"key":"` + generated + `"}`,
		"64 bytes (too long)": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 64))),
	} {
		t.Run("a secret holding "+name+" is refused without showing its value", func(t *testing.T) {
			secret := "guichet/bad-" + strings.ReplaceAll(strings.Trim(name, "()"), " ", "-")
			createSecret(t, sm, secret, value)
			_, err := load(t, map[string]string{"MFA_ENCRYPTION_KEY_SECRET": secret})
			if err == nil || !strings.Contains(err.Error(), "base64 of 32 bytes") {
				t.Fatalf("err %v", err)
			}
			if strings.Contains(err.Error(), value) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
	t.Run("an unreachable Secrets Manager is an error within the retries", func(t *testing.T) {
		c, err := config.Parse(func(k string) string {
			return map[string]string{"MFA_ENCRYPTION_KEY_SECRET": "guichet/mfa-key", "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:1", "AWS_RETRY_MAX_BACKOFF": "1ms"}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		awsCfg, err := config.AWS(ctx, "http://127.0.0.1:1", c.RetryMaxBackoff)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.MFAKeyFromSecret(ctx, awsCfg); err == nil || !strings.Contains(err.Error(), "guichet/mfa-key") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestMFAKeyAndItsSecretAreNotBothSet(t *testing.T) {
	t.Parallel()
	env := map[string]string{"MFA_ENCRYPTION_KEY": strings.Repeat("A", 43), "MFA_ENCRYPTION_KEY_SECRET": "guichet/mfa-key"}
	if _, err := config.Parse(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "set one") {
		t.Fatalf("err %v", err)
	}
}
