package exports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3 is a Store in an S3 bucket: one signed PutObject (encrypted at rest)
// per file, and presigned GETs, signed with the function's credentials.
// It speaks S3's REST API through the SDK's SigV4 signer rather than the
// S3 client, which would add 4.6 MB to the bulk function's binary (past
// the 15 MB every function keeps to) for two requests.
type S3 struct {
	creds  aws.CredentialsProvider
	region string
	// base is where the bucket's objects are: https://<bucket>.s3.<region>.amazonaws.com
	// in AWS, <endpoint>/<bucket> (path-style) for a local S3.
	base   string
	client *http.Client
	signer *v4.Signer
	now    func() time.Time
}

// NewS3 returns the store of bucket, reached with cfg's region and
// credentials; endpoint, when set, is a local S3 (moto) addressed
// path-style.
func NewS3(cfg aws.Config, bucket, endpoint string) *S3 {
	base := "https://" + bucket + ".s3." + cfg.Region + ".amazonaws.com"
	if endpoint != "" {
		base = strings.TrimSuffix(endpoint, "/") + "/" + bucket
	}
	client := http.DefaultClient
	if c, ok := cfg.HTTPClient.(*http.Client); ok && c != nil {
		client = c
	}
	return &S3{creds: cfg.Credentials, region: cfg.Region, base: base, client: client,
		// S3 signs the path as sent, not escaped twice.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		now:    time.Now}
}

// putAttempts bounds the PutObject attempts: a 5xx or a lost connection is
// tried again (the body is a file, read again from its start).
const putAttempts = 3

// Put writes the object with one PutObject (S3 stores it whole or not at
// all), its SHA-256 signed. r must be an io.ReadSeeker (a file): it is read
// once for its hash and again for each attempt.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if !ValidKey(key) {
		return fmt.Errorf("exports: put: invalid key %q", key)
	}
	body, ok := r.(io.ReadSeeker)
	if !ok {
		return errors.New("exports: put: the S3 store needs a seekable body")
	}
	h := sha256.New()
	size, err := io.Copy(h, body)
	if err != nil {
		return fmt.Errorf("exports: put %s: %w", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	for attempt := 1; ; attempt++ {
		err := s.put(ctx, key, body, size, sum)
		var retry retryable
		if err == nil || !errors.As(err, &retry) || attempt == putAttempts {
			return err
		}
	}
}

// retryable is an error worth another attempt.
type retryable struct{ error }

func (s *S3) put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("exports: put %s: %w", key, err)
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("exports: put %s: credentials: %w", key, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.base+"/"+key, io.NopCloser(body))
	if err != nil {
		return fmt.Errorf("exports: put %s: %w", key, err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", ContentType(key))
	req.Header.Set("Content-Disposition", disposition(key))
	req.Header.Set("Cache-Control", "no-store")
	req.Header.Set("X-Amz-Server-Side-Encryption", "AES256")
	req.Header.Set("X-Amz-Content-Sha256", sum)
	if err := s.signer.SignHTTP(ctx, creds, req, sum, "s3", s.region, s.now()); err != nil {
		return fmt.Errorf("exports: put %s: sign: %w", key, err)
	}
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("exports: put %s: %w", key, err)
		}
		return retryable{fmt.Errorf("exports: put %s: %w", key, err)}
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	err = fmt.Errorf("exports: put %s: S3 answered %d: %s", key, res.StatusCode, msg)
	if res.StatusCode >= 500 {
		return retryable{err}
	}
	return err
}

// Link presigns a GET of key valid for ttl. A presigned URL is only as
// valid as the credentials that signed it: a Lambda's role credentials
// outlast LinkTTL.
func (s *S3) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("exports: link: invalid key %q", key)
	}
	return s.presign(ctx, key, ttl)
}

func (s *S3) presign(ctx context.Context, key string, ttl time.Duration) (string, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("exports: link %s: credentials: %w", key, err)
	}
	u, err := url.Parse(s.base + "/" + key)
	if err != nil {
		return "", fmt.Errorf("exports: link %s: %w", key, err)
	}
	u.RawQuery = "X-Amz-Expires=" + strconv.Itoa(int(ttl/time.Second))
	req := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}
	signed, _, err := s.signer.PresignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", s.region, s.now())
	if err != nil {
		return "", fmt.Errorf("exports: link %s: %w", key, err)
	}
	return signed, nil
}
