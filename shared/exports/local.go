package exports

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/problem"
)

// LocalPath is where the local gateway serves a Local store's files.
const LocalPath = "/_local/exports/"

// Local is a Store in a directory, for `make run` and tests: its links
// are URLs under LocalPath signed like presigned URLs (an HMAC-SHA256 of
// the key and the expiry, with a key made at start), served by Handler.
type Local struct {
	dir    string
	base   string
	secret []byte
	now    func() time.Time
}

// NewLocal returns a store in dir whose links start with baseURL (where
// Handler is served: the local gateway's address) and expire by now.
func NewLocal(dir, baseURL string, now func() time.Time) *Local {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &Local{dir: dir, base: strings.TrimSuffix(baseURL, "/"), secret: secret, now: now}
}

func (l *Local) file(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(key))
}

// Put writes r to a temporary file beside the key's and renames it: the
// key holds the whole file or nothing.
func (l *Local) Put(_ context.Context, key string, r io.Reader) error {
	if !ValidKey(key) {
		return fmt.Errorf("exports: put: invalid key %q", key)
	}
	dst := l.file(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("exports: put: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".put-*")
	if err != nil {
		return fmt.Errorf("exports: put: %w", err)
	}
	defer os.Remove(f.Name()) // gone once renamed
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("exports: put %s: %w", key, err)
	}
	return nil
}

// Link returns <baseURL>/_local/exports/<key>?expires=<unix>&sig=<hmac>.
func (l *Local) Link(_ context.Context, key string, ttl time.Duration) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("exports: link: invalid key %q", key)
	}
	exp := strconv.FormatInt(l.now().Add(ttl).Unix(), 10)
	return l.base + LocalPath + key + "?expires=" + exp + "&sig=" + l.sign(key, exp), nil
}

func (l *Local) sign(key, exp string) string {
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte(key + "\n" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Handler serves GET LocalPath<key> to a link Link made, until it
// expires: a wrong or missing signature or a past expiry is 403, as S3
// answers a presigned URL; an unknown key is 404.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, LocalPath)
		q := r.URL.Query()
		exp, sig := q.Get("expires"), q.Get("sig")
		if r.Method != http.MethodGet || !ValidKey(key) {
			httpapi.Problem(w, problem.NotFound("No such export."))
			return
		}
		want := l.sign(key, exp)
		if len(q["expires"]) != 1 || len(q["sig"]) != 1 || !hmac.Equal([]byte(sig), []byte(want)) {
			httpapi.Problem(w, problem.New(http.StatusForbidden, "invalid_signature", "The link's signature does not match."))
			return
		}
		t, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || !l.now().Before(time.Unix(t, 0)) {
			httpapi.Problem(w, problem.New(http.StatusForbidden, "link_expired", "The link has expired; export again."))
			return
		}
		f, err := os.Open(l.file(key))
		if err != nil {
			httpapi.Problem(w, problem.NotFound("No such export."))
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Content-Type", ContentType(key))
		h.Set("Content-Disposition", disposition(key))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		io.Copy(w, f) // a failed copy is the client gone
	})
}
