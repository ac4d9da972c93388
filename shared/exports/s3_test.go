package exports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/exports"
	"github.com/guichet/guichet/shared/motoserver"
	"github.com/guichet/guichet/shared/users"
)

// motoS3 returns the endpoint of an S3: GUICHET_TEST_S3 when set, else a
// moto server started for t (package motoserver).
func motoS3(t *testing.T) string {
	t.Helper()
	if ep := os.Getenv("GUICHET_TEST_S3"); ep != "" {
		return ep
	}
	return motoserver.Start(t)
}

// bucket creates a bucket of its own for t in the S3 at ep.
func bucket(t *testing.T, ep string) (aws.Config, string) {
	t.Helper()
	cfg, err := config.AWS(context.Background(), ep, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	name := "exports-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(name) > 63 {
		name = name[:63]
	}
	// moto takes an unsigned CreateBucket; the store never creates one.
	body := `<CreateBucketConfiguration><LocationConstraint>` + cfg.Region + `</LocationConstraint></CreateBucketConfiguration>`
	req, _ := http.NewRequest("PUT", ep+"/"+name, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("create bucket: %d", res.StatusCode)
	}
	return cfg, name
}

func TestS3Store(t *testing.T) {
	t.Parallel()
	ep := motoS3(t)
	ctx := context.Background()

	t.Run("a file put is read whole through its presigned link, as an attachment, for 15 minutes", func(t *testing.T) {
		cfg, b := bucket(t, ep)
		st := exports.NewS3(cfg, b, ep)
		body := bytes.Repeat([]byte("id,email\nusr_1,a@example.com\n"), 10000)
		f := filepath.Join(t.TempDir(), "x")
		os.WriteFile(f, body, 0o600)
		file, _ := os.Open(f)
		defer file.Close()
		key := exports.Key("org_1", "csv")
		if err := st.Put(ctx, key, file); err != nil {
			t.Fatal(err)
		}
		link, err := st.Link(ctx, key, exports.LinkTTL)
		if err != nil || !strings.HasPrefix(link, ep+"/"+b+"/"+key+"?") || !strings.Contains(link, "X-Amz-Expires=900") {
			t.Fatalf("%s %v", link, err)
		}
		r, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !bytes.Equal(got, body) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			r.Header.Get("Content-Disposition") != `attachment; filename="users.csv"` {
			t.Fatalf("%d %v %d bytes", r.StatusCode, r.Header, len(got))
		}
	})
	t.Run("keys not made by Key and unseekable bodies are refused before any call", func(t *testing.T) {
		st := exports.NewS3(aws.Config{Region: "eu-west-1"}, "none", "http://127.0.0.1:1")
		for _, k := range []string{"", "exports/org/../../x.csv", "other/org_1/AAAAAAAAAAAAAAAAAAAAAA.csv", "exports/org_1/short.csv"} {
			if err := st.Put(ctx, k, strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "invalid key") {
				t.Fatalf("%q: %v", k, err)
			}
			if _, err := st.Link(ctx, k, time.Minute); err == nil {
				t.Fatalf("%q linked", k)
			}
		}
		if err := st.Put(ctx, exports.Key("org_1", "csv"), io.MultiReader(strings.NewReader("x"))); err == nil || !strings.Contains(err.Error(), "seekable") {
			t.Fatal(err)
		}
	})
	t.Run("past the cap the API answers a link to the bucket that reads every user once", func(t *testing.T) {
		_, b := bucket(t, ep)
		e := apitest.New(t, func(c *config.Config) { c.ExportBucket, c.S3Endpoint, c.ExportMaxBody = b, ep, 16<<10 })
		if e.Exports != nil {
			t.Fatal("a local store beside the bucket")
		}
		seeded := e.SeedPeople(t, 200, "s3.example")
		owner := e.LoginOwner(t).AccessToken
		r := e.Do("GET", "/v1/users/export", owner, nil)
		if r.Status != 303 || !strings.HasPrefix(r.Header.Get("Location"), ep+"/"+b+"/exports/"+e.Org.Org.ID+"/") {
			t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
		}
		res, err := http.Get(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		rows, err := csv.NewReader(res.Body).ReadAll()
		if err != nil || res.StatusCode != 200 || strings.Join(rows[0], ",") != strings.Join(users.Columns, ",") {
			t.Fatalf("%d %v", res.StatusCode, err)
		}
		ids := map[string]bool{}
		for _, row := range rows[1:] {
			if ids[row[0]] {
				t.Fatalf("%s twice", row[0])
			}
			ids[row[0]] = true
		}
		for _, u := range seeded {
			if !ids[u.ID] {
				t.Fatalf("%s missing", u.ID)
			}
		}
		if len(ids) != len(seeded)+1 {
			t.Fatalf("%d users", len(ids))
		}
	})
}
