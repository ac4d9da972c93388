// Package functions_test checks the Lambda binaries themselves: their size,
// and how long one takes from its start to its first handled event.
package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/route"
)

// maxBootstrap is the largest a function's binary may be.
const maxBootstrap = 15 << 20

// binDir holds the binaries the tests build, each once (TestMain).
var binDir string

// builds memoizes build: function and architecture → its build.
var builds sync.Map

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guichet-functions-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles function fn (a directory of functions/) as `make build`
// does, for goarch, once per test binary: the tests that start the same
// function share its build.
func build(t testing.TB, fn, goarch string) string {
	t.Helper()
	once, _ := builds.LoadOrStore(fn+" "+goarch, sync.OnceValues(func() (string, error) {
		out := filepath.Join(binDir, strings.ReplaceAll(fn, "/", "-")+"-"+goarch, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./"+fn)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", fn, err, b)
		}
		return out, nil
	}))
	bin, err := once.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestEveryBootstrapIsAtMost15MB(t *testing.T) {
	t.Parallel()
	for _, fn := range route.Functions() {
		t.Run(fn+" for linux/arm64 is at most 15 MB", func(t *testing.T) {
			t.Parallel()
			info, err := os.Stat(build(t, fn, "arm64"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f MB", fn, float64(info.Size())/(1<<20))
			if info.Size() > maxBootstrap {
				t.Fatalf("%d bytes", info.Size())
			}
		})
	}
}

// runtimeAPI is a minimal AWS Lambda Runtime API: it hands one event to
// the function and records when the function first asks for work (its
// initialization is over) and when it answers.
type runtimeAPI struct {
	event          []byte
	ready, answers chan time.Time
	response       chan []byte
}

func newRuntimeAPI(event []byte) *runtimeAPI {
	return &runtimeAPI{event: event, ready: make(chan time.Time, 8), answers: make(chan time.Time, 1), response: make(chan []byte, 1)}
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "GET" && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		a.ready <- time.Now()
		if len(a.ready) > 1 { // the second ask: no more work; wait to be stopped
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(10*time.Second).UnixMilli()))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:000000000000:function:guichet")
		w.Write(a.event)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/response"):
		b, _ := io.ReadAll(r.Body)
		a.answers <- time.Now()
		a.response <- b
		w.WriteHeader(http.StatusAccepted)
	default:
		b, _ := io.ReadAll(r.Body)
		a.response <- append([]byte("runtime error "+r.URL.Path+": "), b...)
		a.answers <- time.Now()
		w.WriteHeader(http.StatusAccepted)
	}
}

// coldStart starts bin against the stack's embedded services, hands it
// event, and returns the time to its first ask for work and to its answer.
func coldStart(t testing.TB, bin string, st *devstack.Stack, event []byte) (ready, answered time.Duration, response []byte) {
	t.Helper()
	api := newRuntimeAPI(event)
	srv := httptest.NewServer(api)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://"),
		"TABLE_NAME=" + st.Config.Table,
		"DYNAMODB_ENDPOINT=" + st.Config.DynamoDBEndpoint,
		"SES_ENDPOINT=" + st.Config.SESEndpoint,
		"MAIL_FROM=guichet@test.example",
		"AWS_REGION=eu-west-1", "LOG_LEVEL=error",
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case at := <-api.ready:
		ready = at.Sub(start)
	case <-ctx.Done():
		t.Fatal("the function never asked for work")
	}
	select {
	case at := <-api.answers:
		answered = at.Sub(start)
	case <-ctx.Done():
		t.Fatal("the function never answered")
	}
	return ready, answered, <-api.response
}

// TestColdStart runs each function's binary (built for this machine) on a
// minimal Runtime API with its sample event: it must start and answer.
func TestColdStart(t *testing.T) {
	t.Parallel()
	st, err := devstack.Start(context.Background(), devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close) // after the parallel subtests
	for _, fn := range route.Functions() {
		t.Run(fn+" starts and answers its sample event", func(t *testing.T) {
			t.Parallel() // -parallel 1 for the timings alone
			event, err := os.ReadFile(filepath.Join("..", "events", fn+".json"))
			if err != nil {
				t.Fatal(err)
			}
			ready, answered, res := coldStart(t, build(t, fn, runtime.GOARCH), st, event)
			var v map[string]any
			if err := json.Unmarshal(res, &v); err != nil {
				t.Fatalf("answer %s: %v", res, err)
			}
			t.Logf("%s: ready after %v, first answer after %v", fn, ready.Round(time.Millisecond), answered.Round(time.Millisecond))
		})
	}
}
