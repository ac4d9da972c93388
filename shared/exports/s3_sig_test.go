package exports

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestPresignMatchesAWSExample signs the example of "Authenticating
// Requests: Using Query Parameters (AWS Signature Version 4)" in the S3
// API reference and expects its signature: moto does not check them.
func TestPresignMatchesAWSExample(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")}
	s := NewS3(cfg, "examplebucket", "")
	s.base = "https://examplebucket.s3.amazonaws.com" // the example's global endpoint
	s.now = func() time.Time { return time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC) }
	link, err := s.presign(context.Background(), "test.txt", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	if got := q.Get("X-Amz-Signature"); got != "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404" {
		t.Fatalf("signature %s of %s", got, link)
	}
	if q.Get("X-Amz-Expires") != "86400" || q.Get("X-Amz-Credential") != "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request" ||
		q.Get("X-Amz-SignedHeaders") != "host" || u.Path != "/test.txt" {
		t.Fatal(link)
	}
}

func TestS3StoreAddresses(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-3", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "token")}
	if s := NewS3(cfg, "guichet-exports", ""); s.base != "https://guichet-exports.s3.eu-west-3.amazonaws.com" {
		t.Fatal(s.base)
	}
	s := NewS3(cfg, "b", "http://127.0.0.1:5000/")
	if s.base != "http://127.0.0.1:5000/b" {
		t.Fatal(s.base)
	}
	link, err := s.Link(context.Background(), Key("org_1", "csv"), LinkTTL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	if u.Query().Get("X-Amz-Security-Token") != "token" || u.Query().Get("X-Amz-Expires") != "900" {
		t.Fatalf("a role's session token travels in the link: %s", link)
	}
}
