package functions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/route"
)

// hello is the hello-world Lambda the functions' cold starts are compared
// with, built the same way (functions/testdata/hello).
const hello = "testdata/hello"

// coldStartRounds is how many times each binary starts in
// BenchmarkColdStart: its medians are of as many starts.
const coldStartRounds = 15

// readyAfter starts bin with env on a Runtime API that hands out no work,
// and returns how long it took to ask for its first event: its init.
func readyAfter(tb testing.TB, bin string, env []string) time.Duration {
	tb.Helper()
	ready := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case ready <- time.Now():
			default:
			}
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusAccepted) // an init error report
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://")}, env...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case at := <-ready:
		return at.Sub(start)
	case <-ctx.Done():
		tb.Fatalf("%s never asked for work", bin)
		return 0
	}
}

// lambdaEnv is the environment of a deployed function, with a local
// endpoint for each service: nothing is called at init.
func lambdaEnv() []string {
	return []string{
		"TABLE_NAME=guichet", "DYNAMODB_ENDPOINT=http://127.0.0.1:1", "SES_ENDPOINT=http://127.0.0.1:1",
		"MAIL_FROM=guichet@test.example", "AWS_REGION=eu-west-1", "LOG_LEVEL=error",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_LAMBDA_FUNCTION_NAME=guichet",
		"MFA_ENCRYPTION_KEY=" + strings.Repeat("A", 43),
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkColdStart measures, in one run, how long each function takes
// from its start to its first ask for work (ready-ms, the median of
// coldStartRounds starts), each start right after one of the hello-world
// Lambda's so that the machine's load weighs on both alike, and the ratio
// of the two medians (the target: at most 1.5). The starts, not b.N, are
// the repetitions: each sub-benchmark reports what was measured.
func BenchmarkColdStart(b *testing.B) {
	bins := map[string]string{hello: build(b, hello, runtime.GOARCH)}
	fns := route.Functions()
	if x := os.Getenv("COLDSTART_ONLY"); x != "" {
		fns = strings.Split(x, ",")
	}
	for _, fn := range fns {
		bins[fn] = build(b, fn, runtime.GOARCH)
	}
	env := lambdaEnv()
	floor := map[string][]time.Duration{}
	ready := map[string][]time.Duration{}
	for range coldStartRounds {
		for _, fn := range fns {
			floor[fn] = append(floor[fn], readyAfter(b, bins[hello], env))
			ready[fn] = append(ready[fn], readyAfter(b, bins[fn], env))
		}
	}
	var all []time.Duration
	for _, fn := range fns {
		all = append(all, floor[fn]...)
	}
	b.Run("hello", func(b *testing.B) {
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(ms(median(all)), "ready-ms")
	})
	for _, fn := range fns {
		b.Run(fn, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ms(median(ready[fn])), "ready-ms")
			b.ReportMetric(ms(median(floor[fn])), "hello-ms")
			b.ReportMetric(float64(median(ready[fn]))/float64(median(floor[fn])), "ratio")
		})
	}
}
