// Package awscall makes signed JSON calls to the AWS services a function
// calls once or rarely: sending a mail (SES v2) and reading a secret at
// init (Secrets Manager). The SDK's package of each service initializes
// its whole API description when the binary starts (SES v2's alone
// allocates 0.6 MB, about 1 ms of every cold start), whether or not the
// function ever calls it; this package links nothing the DynamoDB client
// does not already link: the SDK's Signature Version 4 signer, its
// retryer and its HTTP client.
package awscall

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// maxResponse bounds what a call reads of an answer.
const maxResponse = 1 << 20

// Client calls one AWS service.
type Client struct {
	cfg      aws.Config
	signing  string // the service's signing name, such as "ses"
	endpoint string // scheme and host, without a trailing slash
	signer   *v4.Signer
	http     aws.HTTPClient
	retryer  aws.Retryer
	now      func() time.Time
}

// New returns a client of the service whose signing name is signing and
// whose regional endpoint is https://<prefix>.<region>.amazonaws.com (or
// localEndpoint when it is set), with cfg's region, credentials, retryer
// and HTTP client.
func New(cfg aws.Config, signing, prefix, localEndpoint string) *Client {
	c := &Client{cfg: cfg, signing: signing, signer: v4.NewSigner(), http: cfg.HTTPClient, now: time.Now}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	if cfg.Retryer != nil {
		c.retryer = cfg.Retryer()
	} else {
		c.retryer = retry.NewStandard()
	}
	c.endpoint = strings.TrimSuffix(localEndpoint, "/")
	if c.endpoint == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		c.endpoint = "https://" + prefix + "." + cfg.Region + "." + domain
	}
	return c
}

// Error is a service's refusal or failure. It carries what the SDK's
// retryer reads to tell a throttled or failed attempt from a final one.
type Error struct {
	Status  int    // HTTP status
	Code    string // the service's error code, such as "ResourceNotFoundException"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// ErrorCode is the service's error code (the retryer's throttle check).
func (e *Error) ErrorCode() string { return e.Code }

// HTTPStatusCode is the answer's status (the retryer's status check).
func (e *Error) HTTPStatusCode() int { return e.Status }

// transportError is a request without an answer: worth another attempt.
type transportError struct{ err error }

func (e transportError) Error() string        { return e.err.Error() }
func (e transportError) Unwrap() error        { return e.err }
func (e transportError) RetryableError() bool { return true }

// Call sends in as JSON with method to path (with the extra headers), and
// decodes the answer into out (unless out is nil). Failed attempts the
// retryer deems retryable are retried, as many times as it allows.
func (c *Client) Call(ctx context.Context, method, path string, header http.Header, in, out any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the SDK writes it: a mail's HTML stays readable
	if err := enc.Encode(in); err != nil {
		return fmt.Errorf("awscall: %s: %w", c.signing, err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, method, path, header, body, hash, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			return fmt.Errorf("awscall: %s %s: %w", c.signing, path, err)
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return fmt.Errorf("awscall: %s %s: %w", c.signing, path, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("awscall: %s %s: %w", c.signing, path, errors.Join(err, ctx.Err()))
		}
	}
}

// attempt makes one signed request.
func (c *Client) attempt(ctx context.Context, method, path string, header http.Header, body []byte, hash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Credentials == nil {
		return errors.New("no credentials")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, c.signing, c.cfg.Region, c.now()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return transportError{err} // the request never had an answer
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return transportError{err}
	}
	if res.StatusCode/100 != 2 {
		return decodeError(res, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}

// decodeError reads an AWS JSON error: the code from the X-Amzn-ErrorType
// header or the body's __type (either may carry a namespace or a URI), the
// message from the body's message or Message.
func decodeError(res *http.Response, raw []byte) error {
	var b struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &b) // a body that is no JSON leaves the status to speak
	code := res.Header.Get("X-Amzn-ErrorType")
	for _, c := range []string{b.Type, b.Code} {
		if code == "" {
			code = c
		}
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(res.StatusCode)
	}
	msg := b.Message
	if msg == "" {
		msg = b.MessageU
	}
	return &Error{Status: res.StatusCode, Code: code, Message: msg}
}
