package devstack

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Faults sits in front of the embedded DynamoDB and fails chosen
// operations as DynamoDB does when it has an internal error (HTTP 500,
// InternalServerError), so that tests can fail the writes of a request
// after its reads succeeded. It also cancels transactions as DynamoDB
// cancels one racing another, which the embedded DynamoDB never does. It
// counts HTTP attempts, retries included. It is safe for concurrent use.
type Faults struct {
	next    http.Handler
	mu      sync.Mutex
	failing map[string]bool
	// passing is, for an operation of FailAfter, how many calls still pass.
	passing  map[string]int
	attempts int
	// conflicts is how many transactions to cancel still (< 0: all).
	conflicts int
	// meanwhile runs before the first cancellation is answered.
	meanwhile func()
	// unprocess is how many BatchGetItem calls to answer in part still
	// (< 0: all).
	unprocess int
}

// NewFaults returns a Faults in front of next, failing nothing yet.
func NewFaults(next http.Handler) *Faults {
	return &Faults{next: next, failing: map[string]bool{}, passing: map[string]int{}}
}

// ConflictTransactions cancels the next n TransactWriteItems calls (every
// one until Clear when n < 0) as DynamoDB cancels a transaction that
// raced another on one of its items: TransactionCanceledException with
// the reason TransactionConflict, nothing written. meanwhile, when set,
// runs once before the first cancellation is answered (and after it was
// counted): the race's winner writing. With n = 1 its own transactions go
// through.
func (f *Faults) ConflictTransactions(n int, meanwhile func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conflicts, f.meanwhile = n, meanwhile
}

// UnprocessKeys answers the next n BatchGetItem calls (every one until
// Clear when n < 0) as DynamoDB does when it throttles: the first half of
// the keys (rounded down) read, the others returned in UnprocessedKeys.
func (f *Faults) UnprocessKeys(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unprocess = n
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

// FailAfter lets the next n calls of op through, then fails every one
// (retries included) until Clear: a request whose first writes succeed
// and whose later ones fail.
func (f *Faults) FailAfter(op string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[op] = true
	f.passing[op] = n
}

// Clear ends every failure.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.failing, f.passing = map[string]bool{}, map[string]int{}
	f.conflicts, f.meanwhile, f.unprocess = 0, nil, 0
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
	if fail && f.passing[op] > 0 {
		f.passing[op]--
		fail = false
	}
	cancel := op == "TransactWriteItems" && f.conflicts != 0
	var meanwhile func()
	if cancel {
		if f.conflicts > 0 {
			f.conflicts--
		}
		meanwhile, f.meanwhile = f.meanwhile, nil
	}
	unprocess := op == "BatchGetItem" && f.unprocess != 0
	if unprocess && f.unprocess > 0 {
		f.unprocess--
	}
	f.mu.Unlock()
	if unprocess && !fail {
		f.partialBatch(w, r)
		return
	}
	if cancel && !fail {
		if meanwhile != nil {
			meanwhile()
		}
		cancelTransaction(w, r)
		return
	}
	if fail {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Errortype", "InternalServerError")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected)"}`))
		return
	}
	f.next.ServeHTTP(w, r)
}

// cancelTransaction answers a TransactWriteItems call as DynamoDB does
// when another transaction was working on its first item.
func cancelTransaction(w http.ResponseWriter, r *http.Request) {
	var in struct{ TransactItems []json.RawMessage }
	_ = json.NewDecoder(r.Body).Decode(&in)
	type reason struct {
		Code    string
		Message string `json:",omitempty"`
	}
	reasons := make([]reason, max(len(in.TransactItems), 1))
	for i := range reasons {
		reasons[i] = reason{Code: "None"}
	}
	reasons[0] = reason{Code: "TransactionConflict", Message: "Transaction is ongoing for the item (injected)"}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", "TransactionCanceledException")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		"message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
		"CancellationReasons": reasons,
	})
}

// partialBatch forwards a BatchGetItem call with the first half of each
// table's keys and answers the other half unprocessed.
func (f *Faults) partialBatch(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	left := map[string]any{}
	tables, _ := in["RequestItems"].(map[string]any)
	for name, t := range tables {
		req, _ := t.(map[string]any)
		keys, _ := req["Keys"].([]any)
		half := len(keys) / 2
		rest := maps.Clone(req)
		rest["Keys"] = keys[half:]
		left[name] = rest
		if half == 0 {
			delete(tables, name)
			continue
		}
		req["Keys"] = keys[:half]
	}
	out := map[string]any{"Responses": map[string]any{}}
	if len(tables) > 0 {
		body, _ := json.Marshal(in)
		fwd := r.Clone(r.Context())
		fwd.Body, fwd.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		fwd.Header.Set("Content-Length", strconv.Itoa(len(body)))
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, fwd)
		if rec.Code != http.StatusOK {
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	out["UnprocessedKeys"] = left
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}
