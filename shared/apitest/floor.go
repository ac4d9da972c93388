package apitest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// Floor returns a stack that answers the same requests along the same path
// as e, at the least cost that path allows: the local gateway with the same
// route table, in front of hello-world handlers. On authorized routes the
// authorizer's handler makes the real authorizer's one call (GetItem of the
// credential item of the request's bearer token, or of the owner's user
// item when there is none); every function's handler makes fnCalls GetItem
// calls of the seeded owner's user item, through an SDK client made as the
// functions' are (store.NewClient, counted), and answers 200 with a small
// JSON body. Its answers are not checked against the API description.
func (e *Env) Floor(t testing.TB, fnCalls int) *Env {
	t.Helper()
	ctx := context.Background()
	c := &store.Counter{}
	db, err := store.NewClient(ctx, store.ClientConfig{Endpoint: e.Config.DynamoDBEndpoint, Counter: c, MaxBackoff: e.Config.RetryMaxBackoff})
	if err != nil {
		t.Fatal(err)
	}
	table := e.Config.Table
	user := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ORG#" + e.Org.Org.ID},
		"sk": &types.AttributeValueMemberS{Value: "USER#" + e.Org.Owner.ID},
	}
	get := func(ctx context.Context, key map[string]types.AttributeValue) error {
		res, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key, ConsistentRead: aws.Bool(true)})
		if err == nil && res.Item == nil {
			err = fmt.Errorf("floor: no item %v", key)
		}
		return err
	}
	authz := func(ctx context.Context, r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		key := user
		if secret, ok := token.Bearer(r.Headers["authorization"]); ok {
			key = map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "CRED#" + CredentialHash(secret)},
				"sk": &types.AttributeValueMemberS{Value: "CRED"},
			}
		}
		if err := get(ctx, key); err != nil {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
		}
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"hello": "world"}}, nil
	}
	hello := func(ctx context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		for range fnCalls {
			if err := get(ctx, user); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"hello":"world"}`}, nil
	}
	fns := map[string]lambdahttp.Handler{}
	for _, fn := range route.Functions() {
		fns[fn] = hello
	}
	gw, err := gateway.New(fns, authz, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux() // as Stack.Handler
	mux.Handle("/", gw)
	st := *e.Stack
	st.Counters = map[string]*store.Counter{"floor": c}
	return &Env{Stack: &st, Clock: e.Clock, Org: e.Org, handler: mux, t: t, floor: true}
}

// ReportFloor stops b's timer and reports the floor of the benchmark's
// request (see Floor: the same request through the same gateway, with as
// many GetItem calls in the function as function fn made per operation
// during b, and on authorized routes the authorizer's one): floor-ns/op,
// floor-B/op and floor-allocs/op, measured over as many requests right
// after the benchmark's, and ratio, this benchmark's time per operation
// over the floor's.
func (e *Env) ReportFloor(b *testing.B, fn, method, path, tok string, body any) {
	b.StopTimer()
	e.ReportFloorCalls(b, int(math.Round(float64(e.Counters[fn].Calls())/float64(b.N))), method, path, tok, body)
}

// ReportFloorCalls is ReportFloor with the function's calls given.
func (e *Env) ReportFloorCalls(b *testing.B, fnCalls int, method, path, tok string, body any) {
	b.StopTimer()
	f := e.Floor(b, fnCalls)
	e.reportFloor(b, func() {
		if r := f.Do(method, path, tok, body); r.Status != 200 {
			b.Fatalf("floor: %d %s", r.Status, r.Body)
		}
	}, f.Calls, fnCalls)
}

// ReportGetItemFloor stops b's timer and reports as floor what a handler
// cannot do with less: one GetItem of the credential item of secret tok,
// through a client made as the functions' are (see ReportFloor).
func (e *Env) ReportGetItemFloor(b *testing.B, tok string) {
	b.StopTimer()
	c := &store.Counter{}
	db, err := store.NewClient(context.Background(), store.ClientConfig{Endpoint: e.Config.DynamoDBEndpoint, Counter: c, MaxBackoff: e.Config.RetryMaxBackoff})
	if err != nil {
		b.Fatal(err)
	}
	in := &dynamodb.GetItemInput{TableName: &e.Config.Table, ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "CRED#" + CredentialHash(tok)},
		"sk": &types.AttributeValueMemberS{Value: "CRED"},
	}}
	e.reportFloor(b, func() {
		if res, err := db.GetItem(context.Background(), in); err != nil || res.Item == nil {
			b.Fatalf("floor: %v", err)
		}
	}, c.Calls, 1)
}

// reportFloor measures the floor do over b.N runs, right after the
// benchmark's, and reports it beside the benchmark's figures.
func (e *Env) reportFloor(b *testing.B, do func(), calls func() int, perOp int) {
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	oursCPU := float64(cpuTime()-e.startCPU) / float64(b.N)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	oursAllocs := float64(m.Mallocs-e.startMallocs) / float64(b.N)
	do() // the SDK client's first call sets up its connection
	before0 := calls()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start, startCPU := time.Now(), cpuTime()
	for range b.N {
		do()
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	cpu := float64(cpuTime()-startCPU) / float64(b.N)
	runtime.ReadMemStats(&after)
	if got, want := calls()-before0, b.N*perOp; got < want {
		b.Fatalf("floor: %d DynamoDB calls for %d operations", got, b.N)
	}
	floorAllocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
	b.ReportMetric(ns, "floor-ns/op")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "floor-B/op")
	b.ReportMetric(floorAllocs, "floor-allocs/op")
	b.ReportMetric(ours/ns, "ratio")
	if e.startCPU > 0 {
		b.ReportMetric(oursCPU, "cpu-ns/op")
		b.ReportMetric(cpu, "floor-cpu-ns/op")
		b.ReportMetric(oursCPU/cpu, "cpu-ratio")
		b.ReportMetric(oursAllocs/floorAllocs, "allocs-ratio")
	}
}

// StartBench starts b's measure: it resets the DynamoDB call counters and
// b's timer, reports allocations, and notes the process's CPU time, so
// that ReportFloor also reports CPU time per operation (user and system,
// of every goroutine of the process, the embedded DynamoDB's included),
// which other processes on the machine disturb less than the wall time.
func (e *Env) StartBench(b *testing.B) {
	e.ResetCounters()
	b.ReportAllocs()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	e.startCPU, e.startMallocs = cpuTime(), m.Mallocs
	b.ResetTimer()
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// CredentialHash is the hash keying the credential item of a bearer
// token: of a JWT access token's jti (read without checking the
// signature: the floor checks none), else of the secret itself.
func CredentialHash(secret string) string {
	parts := strings.Split(secret, ".")
	if len(parts) != 3 {
		return token.Hash(secret)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		ID string `json:"jti"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		return token.Hash(secret)
	}
	return token.Hash(c.ID)
}
