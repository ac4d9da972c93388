// Package config reads the settings every function shares from the
// environment. Each field names its variable.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
)

// Config is the deployment's settings.
type Config struct {
	Table            string          // TABLE_NAME (default "guichet")
	DynamoDBEndpoint string          // DYNAMODB_ENDPOINT: a local DynamoDB; empty for AWS
	SESEndpoint      string          // SES_ENDPOINT: a local SES v2; empty for AWS
	PublicURL        string          // PUBLIC_URL: where the hosted pages are, for links in mail
	AppURL           string          // APP_URL: where the hosted pages send people once signed in; PUBLIC_URL when empty
	MailFrom         string          // MAIL_FROM: sender address; empty disables mail
	ProductName      string          // PRODUCT_NAME: the deployment's own name on pages and mail before an organization is known (default "Guichet")
	ProductLogoURL   string          // PRODUCT_LOGO_URL: the deployment's own logo (an https URL, or empty for none)
	MailConfigSet    string          // MAIL_CONFIGURATION_SET
	LogLevel         string          // LOG_LEVEL: debug, info, warn, error
	AccessTTL        time.Duration   // ACCESS_TOKEN_TTL: lifetime of a JWT access token (default 5m)
	RefreshTTL       time.Duration   // REFRESH_TOKEN_TTL (default 720h)
	BrowserTTL       time.Duration   // BROWSER_SESSION_TTL (default 12h): the hosted pages' single sign-on session
	MaxFailures      int             // LOGIN_MAX_FAILURES (default 5)
	LockWindow       time.Duration   // LOGIN_LOCK_WINDOW (default 15m)
	Clients          clients.Catalog // CLIENT_APPLICATIONS: JSON [{id, name, scopes}] (default catalog otherwise)
	// Permissions is the permission catalog: Guichet's own and the
	// application's, APP_PERMISSIONS (JSON [{name, description: {en, fr,
	// nl}}]), with the member role's, MEMBER_PERMISSIONS (application
	// permissions, a JSON array or a list; default none).
	Permissions permission.Catalog
	// ResetFloor is the least time a password reset request takes, so that
	// its timing does not tell whether an address has an account
	// (RESET_MIN_DURATION, default 400ms; 0 turns it off).
	ResetFloor time.Duration
	// RetryMaxBackoff bounds the wait between two attempts of an AWS call
	// (AWS_RETRY_MAX_BACKOFF, default 500ms); there are 3 attempts at most.
	RetryMaxBackoff time.Duration
	// MFAKey seals the secrets of two-step verification (AES-256-GCM):
	// MFA_ENCRYPTION_KEY, the base64 of 32 bytes, padded or not. Unpadded,
	// any 43 characters of the base64 alphabet decode, so a generated
	// alphanumeric string of 43 characters is a key (the CDK stack makes
	// one in Secrets Manager). Unset, two-step verification is unavailable;
	// the local stack and tests then make a random one.
	MFAKey []byte
	// MFAKeySecret names the Secrets Manager secret (its ARN or name) that
	// holds MFAKey, as MFA_ENCRYPTION_KEY would: MFA_ENCRYPTION_KEY_SECRET,
	// which the CDK stack sets instead of the key itself. A function whose
	// spec has MFAKey reads it once at init (MFAKeyFromSecret).
	MFAKeySecret string
	// SecretsManagerEndpoint is a local Secrets Manager
	// (SECRETS_MANAGER_ENDPOINT); empty for AWS.
	SecretsManagerEndpoint string
	// Password is the argon2id cost of new hashes: PASSWORD_HASH, such as
	// "m=19456,t=2,p=1" (the default); never below that default. Tests set
	// the field to password.Cheap directly.
	Password password.Params
	// AccountMaxFailures failed logins from all clients lock a login name
	// for everyone (LOGIN_ACCOUNT_MAX_FAILURES, default 100, at most 100);
	// MaxFailures lock it for one client.
	AccountMaxFailures int
	// LoginMaxWait is the longest wait between two logins of a login name
	// past MaxFailures failures from all clients (LOGIN_MAX_WAIT, default 1m).
	LoginMaxWait time.Duration
	// ExportBucket is the S3 bucket where an export too large for a
	// function's answer is written, to be read through a presigned link
	// (EXPORT_BUCKET; empty: such an export is refused, 422).
	ExportBucket string
	// S3Endpoint is a local S3 (moto) for ExportBucket, addressed
	// path-style (S3_ENDPOINT; empty for AWS).
	S3Endpoint string
	// ExportMaxBody is the largest export answered in the body, in bytes:
	// users.MaxExportBody when 0. Not read from the environment (the cap
	// is a Lambda answer's size); tests lower it.
	ExportMaxBody int
	// AccessAudience is the aud of the JWT access tokens
	// (ACCESS_TOKEN_AUDIENCE); empty: PUBLIC_URL, the issuer (Audience).
	AccessAudience string
	// JWTKeys are the keys signing JWTs (JWT_KEYS: the JSON of a
	// signing.KeySet, local use); nil until read from JWTKeysSecret.
	JWTKeys *signing.KeySet
	// JWTKeysSecret names the Secrets Manager secret holding JWTKeys
	// (JWT_KEYS_SECRET), read once at init by the functions that sign.
	JWTKeysSecret string
	// JWTAlgorithm is the algorithm of the keys made from now on
	// (JWT_ALGORITHM: RS256, the default, or ES256): a rotation moves the
	// key set to it. Fast application routes need RS256.
	JWTAlgorithm signing.Algorithm
	// AppRoutes are the application's own routes behind Guichet (APP_ROUTES:
	// a JSON array of route.AppRoute, or the name of a file holding one):
	// the authorizer decides on them, and the local gateway forwards them
	// to APP_UPSTREAM.
	AppRoutes []route.AppRoute
	// OIDCClients are the OpenID Connect clients (OIDC_CLIENTS: a JSON array
	// of registry.Client); none when unset.
	OIDCClients registry.Registry
	// OIDCAuthorizeLimit is the most authorization requests of a client
	// per oidc.AuthorizeWindow: oidc.AuthorizeLimit when 0. Not read from
	// the environment; tests lower it.
	OIDCAuthorizeLimit int
}

// Audience is the aud of the JWT access tokens: ACCESS_TOKEN_AUDIENCE,
// else PUBLIC_URL.
func (c Config) Audience() string { return or(c.AccessAudience, c.PublicURL) }

// JWTAlgorithm reads JWT_ALGORITHM: RS256 when unset.
func JWTAlgorithm(getenv func(string) string) (signing.Algorithm, error) {
	v := strings.TrimSpace(getenv("JWT_ALGORITHM"))
	if v == "" {
		return signing.RS256, nil
	}
	a, err := signing.ParseAlgorithm(v)
	if err != nil {
		return "", fmt.Errorf("config: JWT_ALGORITHM: %w", err)
	}
	return a, nil
}

// Parse reads the configuration through getenv.
func Parse(getenv func(string) string) (Config, error) {
	c := Config{
		Table:            or(getenv("TABLE_NAME"), "guichet"),
		DynamoDBEndpoint: getenv("DYNAMODB_ENDPOINT"),
		SESEndpoint:      getenv("SES_ENDPOINT"),
		PublicURL:        or(getenv("PUBLIC_URL"), "http://127.0.0.1:8080"),
		AppURL:           getenv("APP_URL"),
		MailFrom:         getenv("MAIL_FROM"),
		ProductName:      or(strings.TrimSpace(getenv("PRODUCT_NAME")), "Guichet"),
		ProductLogoURL:   strings.TrimSpace(getenv("PRODUCT_LOGO_URL")),
		MailConfigSet:    getenv("MAIL_CONFIGURATION_SET"),
		LogLevel:         or(getenv("LOG_LEVEL"), "info"),
		ExportBucket:     getenv("EXPORT_BUCKET"),
		S3Endpoint:       getenv("S3_ENDPOINT"),
	}
	var err error
	if c.AccessTTL, err = duration(getenv, "ACCESS_TOKEN_TTL", 5*time.Minute); err != nil {
		return c, err
	}
	c.AccessAudience = getenv("ACCESS_TOKEN_AUDIENCE")
	if v := getenv("JWT_KEYS"); v != "" {
		ks, err := signing.ParseKeySet([]byte(v))
		if err != nil {
			return c, fmt.Errorf("config: JWT_KEYS: %w", err)
		}
		c.JWTKeys = &ks
	}
	c.JWTKeysSecret = strings.TrimSpace(getenv("JWT_KEYS_SECRET"))
	if c.JWTAlgorithm, err = JWTAlgorithm(getenv); err != nil {
		return c, err
	}
	if c.JWTKeysSecret != "" && c.JWTKeys != nil {
		return c, errors.New("config: JWT_KEYS and JWT_KEYS_SECRET are both set: set one")
	}
	if c.BrowserTTL, err = duration(getenv, "BROWSER_SESSION_TTL", 12*time.Hour); err != nil {
		return c, err
	}
	if c.RefreshTTL, err = duration(getenv, "REFRESH_TOKEN_TTL", 30*24*time.Hour); err != nil {
		return c, err
	}
	if c.LockWindow, err = duration(getenv, "LOGIN_LOCK_WINDOW", 15*time.Minute); err != nil {
		return c, err
	}
	if c.LoginMaxWait, err = duration(getenv, "LOGIN_MAX_WAIT", time.Minute); err != nil {
		return c, err
	}
	if c.Permissions, err = catalog(getenv); err != nil {
		return c, err
	}
	c.Clients = clients.Default(c.Permissions)
	if v := getenv("CLIENT_APPLICATIONS"); v != "" {
		if c.Clients, err = clients.Parse([]byte(v), c.Permissions); err != nil {
			return c, fmt.Errorf("config: CLIENT_APPLICATIONS: %w", err)
		}
	}
	if c.ResetFloor, err = durationOrZero(getenv, "RESET_MIN_DURATION", 400*time.Millisecond); err != nil {
		return c, err
	}
	if c.RetryMaxBackoff, err = duration(getenv, "AWS_RETRY_MAX_BACKOFF", 500*time.Millisecond); err != nil {
		return c, err
	}
	if v := getenv("MFA_ENCRYPTION_KEY"); v != "" {
		if c.MFAKey, err = parseKey(v); err != nil {
			return c, fmt.Errorf("config: MFA_ENCRYPTION_KEY: %w", err)
		}
	}
	c.MFAKeySecret, c.SecretsManagerEndpoint = strings.TrimSpace(getenv("MFA_ENCRYPTION_KEY_SECRET")), getenv("SECRETS_MANAGER_ENDPOINT")
	if c.MFAKeySecret != "" && c.MFAKey != nil {
		return c, errors.New("config: MFA_ENCRYPTION_KEY and MFA_ENCRYPTION_KEY_SECRET are both set: set one")
	}
	c.Password = password.Default
	if v := getenv("PASSWORD_HASH"); v != "" {
		if c.Password, err = password.ParseParams(v); err != nil {
			return c, fmt.Errorf("config: PASSWORD_HASH: %w", err)
		}
		if c.Password.Weaker(password.Default) {
			return c, fmt.Errorf("config: PASSWORD_HASH: %q is below the minimum m=%d,t=%d,p=%d", v, password.Default.MemoryKiB, password.Default.Time, password.Default.Threads)
		}
	}
	if c.AppRoutes, err = route.ParseAppRoutes(getenv("APP_ROUTES")); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if v := strings.TrimSpace(getenv("OIDC_CLIENTS")); v != "" {
		if c.OIDCClients, err = registry.Parse([]byte(v), c.Permissions); err != nil {
			return c, fmt.Errorf("config: OIDC_CLIENTS: %w", err)
		}
	}
	c.MaxFailures = 5
	if v := getenv("LOGIN_MAX_FAILURES"); v != "" {
		if c.MaxFailures, err = strconv.Atoi(v); err != nil || c.MaxFailures < 1 {
			return c, fmt.Errorf("config: LOGIN_MAX_FAILURES: want a positive number, got %q", v)
		}
	}
	c.AccountMaxFailures = 100
	if v := getenv("LOGIN_ACCOUNT_MAX_FAILURES"); v != "" {
		if c.AccountMaxFailures, err = strconv.Atoi(v); err != nil || c.AccountMaxFailures < 1 || c.AccountMaxFailures > 100 {
			return c, fmt.Errorf("config: LOGIN_ACCOUNT_MAX_FAILURES: want a number from 1 to 100, got %q", v)
		}
	}
	return c, nil
}

// catalog reads the permission catalog: APP_PERMISSIONS, then
// MEMBER_PERMISSIONS, each error naming its variable and its entry.
func catalog(getenv func(string) string) (permission.Catalog, error) {
	app, err := permission.ParseEntries(getenv("APP_PERMISSIONS"))
	if err == nil {
		_, err = permission.NewCatalog(app, nil)
	}
	if err != nil {
		return permission.Catalog{}, fmt.Errorf("config: APP_PERMISSIONS: %w", err)
	}
	member, err := permission.ParseNames(getenv("MEMBER_PERMISSIONS"))
	var c permission.Catalog
	if err == nil {
		c, err = permission.NewCatalog(app, member)
	}
	if err != nil {
		return permission.Catalog{}, fmt.Errorf("config: MEMBER_PERMISSIONS: %w", err)
	}
	return c, nil
}

// mfaKeySize is the size of MFA_ENCRYPTION_KEY (AES-256).
const mfaKeySize = 32

// parseKey reads the base64 of 32 bytes, in any of the usual alphabets,
// padded or not.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == mfaKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("want the base64 of %d bytes", mfaKeySize)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config: %s: want a positive duration such as 15m, got %q", name, v)
	}
	return d, nil
}

// durationOrZero is duration allowing 0.
func durationOrZero(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	if getenv(name) == "0" {
		return 0, nil
	}
	return duration(getenv, name, def)
}
