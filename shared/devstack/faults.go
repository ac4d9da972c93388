package devstack

import (
	"net/http"
	"strings"
	"sync"
)

// Faults sits in front of the embedded DynamoDB and fails chosen
// operations as DynamoDB does when it has an internal error (HTTP 500,
// InternalServerError), so that tests can fail the writes of a request
// after its reads succeeded. It also counts HTTP attempts, retries
// included. It is safe for concurrent use.
type Faults struct {
	next     http.Handler
	mu       sync.Mutex
	failing  map[string]bool
	attempts int
}

// Fail makes the named operations (e.g. "TransactWriteItems") fail until
// Clear.
func (f *Faults) Fail(ops ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		f.failing[op] = true
	}
}

// Clear ends every failure.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.failing = map[string]bool{}
	f.mu.Unlock()
}

// Attempts returns the HTTP requests received so far.
func (f *Faults) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	f.mu.Lock()
	f.attempts++
	fail := f.failing[op]
	f.mu.Unlock()
	if fail {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Errortype", "InternalServerError")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected)"}`))
		return
	}
	f.next.ServeHTTP(w, r)
}
