package exports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is a Store in an S3 bucket: PutObject (encrypted at rest) and
// presigned GETs, signed with the function's own credentials.
type S3 struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

// NewS3 returns the store of bucket, reached with cfg; endpoint, when set,
// is a local S3 (moto) addressed path-style.
func NewS3(cfg aws.Config, bucket, endpoint string) *S3 {
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return &S3{client: c, presign: s3.NewPresignClient(c), bucket: bucket}
}

// Put writes the object with one PutObject: S3 stores it whole or not at
// all. r must be an io.ReadSeeker (a file) so that its length is known.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if !ValidKey(key) {
		return fmt.Errorf("exports: put: invalid key %q", key)
	}
	if _, ok := r.(io.ReadSeeker); !ok {
		return errors.New("exports: put: the S3 store needs a seekable body")
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: r,
		ContentType:          aws.String(ContentType(key)),
		ContentDisposition:   aws.String(disposition(key)),
		CacheControl:         aws.String("no-store"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("exports: put %s: %w", key, err)
	}
	return nil
}

// Link presigns a GET of key valid for ttl. A presigned URL is only as
// valid as the credentials that signed it: a Lambda's role credentials
// last longer than LinkTTL.
func (s *S3) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("exports: link: invalid key %q", key)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("exports: link %s: %w", key, err)
	}
	return req.URL, nil
}
