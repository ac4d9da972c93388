package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/infra/guichet"
)

// Context keys the app reads (cdk.json "context", or -c key=value on the
// CDK command line). Values given with -c arrive as strings; values in
// cdk.json may be JSON booleans, numbers and arrays. Both are accepted.
const (
	ctxStackName         = "stackName"
	ctxProduction        = "production"
	ctxCorsOrigins       = "corsOrigins"
	ctxThrottleRate      = "throttleRateLimit"
	ctxThrottleBurst     = "throttleBurstLimit"
	ctxAuthThrottleRate  = "authThrottleRateLimit"
	ctxAuthThrottleBurst = "authThrottleBurstLimit"
	ctxAuthorizerCache   = "authorizerCacheTtlSeconds"
	ctxLogRetentionDays  = "logRetentionDays"
	ctxLogLevel          = "logLevel"
	ctxMailFrom          = "mailFrom"
	ctxMailIdentity      = "mailIdentity"
	ctxPublicURL         = "publicUrl"
	ctxBuildDir          = "buildDir"
	ctxAppPermissions    = "appPermissions"
	ctxMemberPermissions = "memberPermissions"
	ctxOIDCClients       = "oidcClients"
	defaultStackName     = "Guichet"
)

// StackProps are the standalone stack's name and Guichet's properties.
type StackProps struct {
	StackName string
	guichet.Props
}

// DefaultProps returns the properties used when the CDK context sets
// nothing: the stack Guichet with guichet.DefaultProps(buildDir).
func DefaultProps(buildDir string) StackProps {
	return StackProps{StackName: defaultStackName, Props: guichet.DefaultProps(buildDir)}
}

// PropsFromContext reads the stack properties from the app's CDK context,
// starting from DefaultProps(defaultBuildDir).
func PropsFromContext(app awscdk.App, defaultBuildDir string) (StackProps, error) {
	p := DefaultProps(defaultBuildDir)
	c := contextReader{app: app}
	if v := c.str(ctxStackName); v != "" {
		p.StackName = v
	}
	p.Production = c.boolean(ctxProduction, p.Production)
	p.CorsOrigins = c.list(ctxCorsOrigins)
	p.ThrottleRateLimit = c.number(ctxThrottleRate, p.ThrottleRateLimit)
	p.ThrottleBurstLimit = c.number(ctxThrottleBurst, p.ThrottleBurstLimit)
	p.AuthThrottleRateLimit = c.number(ctxAuthThrottleRate, p.AuthThrottleRateLimit)
	p.AuthThrottleBurstLimit = c.number(ctxAuthThrottleBurst, p.AuthThrottleBurstLimit)
	p.AuthorizerCacheTTLSeconds = int(c.number(ctxAuthorizerCache, float64(p.AuthorizerCacheTTLSeconds)))
	p.LogRetentionDays = int(c.number(ctxLogRetentionDays, float64(p.LogRetentionDays)))
	if v := c.str(ctxLogLevel); v != "" {
		p.LogLevel = v
	}
	p.MailFrom = c.str(ctxMailFrom)
	p.MailIdentity = c.str(ctxMailIdentity)
	p.PublicURL = c.str(ctxPublicURL)
	if v := c.str(ctxBuildDir); v != "" {
		abs, err := filepath.Abs(v)
		if err != nil {
			return p, fmt.Errorf("context %s: %w", ctxBuildDir, err)
		}
		p.BuildDir = abs
	}
	c.decode(ctxAppPermissions, &p.AppPermissions, `[{"name": "projects:write", "description": {"en": "…"}}]`)
	p.MemberPermissions = c.list(ctxMemberPermissions)
	p.OIDCClients = c.json(ctxOIDCClients)
	if c.err != nil {
		return p, c.err
	}
	return p, nil
}

// contextReader converts context values and keeps the first error, so
// PropsFromContext reads every key and reports one bad value.
type contextReader struct {
	app awscdk.App
	err error
}

func (c *contextReader) raw(key string) any {
	v := c.app.Node().TryGetContext(jsii.String(key))
	if s, ok := v.(*string); ok {
		if s == nil {
			return nil
		}
		return *s
	}
	return v
}

func (c *contextReader) fail(key string, v any, want string) {
	if c.err == nil {
		c.err = fmt.Errorf("context %s: want %s, got %v", key, want, v)
	}
}

func (c *contextReader) str(key string) string {
	switch v := c.raw(key).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		c.fail(key, v, "a string")
		return ""
	}
}

func (c *contextReader) boolean(key string, def bool) bool {
	return scalar(c, key, def, "true or false", strconv.ParseBool)
}

func (c *contextReader) number(key string, def float64) float64 {
	return scalar(c, key, def, "a number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

// scalar reads key as a T, a *T or a string that parse reads (-c on the
// command line gives strings); def when the key is absent or wrong, the
// wrong value failing c as not want.
func scalar[T bool | float64](c *contextReader, key string, def T, want string, parse func(string) (T, error)) T {
	switch v := c.raw(key).(type) {
	case nil:
		return def
	case T:
		return v
	case *T:
		return *v
	case string:
		x, err := parse(strings.TrimSpace(v))
		if err != nil {
			c.fail(key, v, want)
			return def
		}
		return x
	default:
		c.fail(key, v, want)
		return def
	}
}

// list accepts a JSON array, a JSON array in a string, or a comma-separated
// string: -c corsOrigins=https://a.example,https://b.example.
func (c *contextReader) list(key string) []string {
	var out []string
	switch v := c.raw(key).(type) {
	case nil:
		return nil
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if p, isPtr := e.(*string); isPtr && p != nil {
				s, ok = *p, true
			}
			if !ok {
				c.fail(key, v, "a list of strings")
				return nil
			}
			out = append(out, s)
		}
	case string:
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				c.fail(key, v, "a list of strings")
				return nil
			}
		} else {
			out = strings.Split(v, ",")
		}
	default:
		c.fail(key, v, "a list of strings")
		return nil
	}
	var clean []string
	for _, s := range out {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	return clean
}

// decode reads key, JSON in cdk.json or a JSON string with -c, into v
// (unknown fields refused); absent leaves v as it is.
func (c *contextReader) decode(key string, v any, want string) {
	raw := c.raw(key)
	var b []byte
	switch x := raw.(type) {
	case nil:
		return
	case string:
		if strings.TrimSpace(x) == "" {
			return
		}
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(x); err != nil {
			c.fail(key, raw, want)
			return
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && c.err == nil {
		c.err = fmt.Errorf("context %s: want %s: %w", key, want, err)
	}
}

// json reads key as JSON text: a JSON value in cdk.json, or a JSON string
// with -c, returned compact; empty when absent.
func (c *contextReader) json(key string) string {
	raw := c.raw(key)
	switch x := raw.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			c.fail(key, raw, "JSON")
			return ""
		}
		return string(b)
	}
}
