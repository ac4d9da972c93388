package devstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
)

// Strict sits in front of a DynamoDB and refuses, as DynamoDB refuses an
// invalid request (HTTP 400, ValidationException, a message naming the
// rule), every request DynamoDB would refuse and, in front of the embedded
// minidyn, every request minidyn would answer wrongly instead. Each
// refusal is also logged. It is safe for concurrent use.
//
// DynamoDB's rules (the API reference's limits): at most 100 actions in a
// TransactWriteItems or TransactGetItems, none two on one item; at most 25
// requests in a BatchWriteItem and 100 keys in a BatchGetItem, none on one
// key twice; no empty string in a key attribute of the table or of an
// index (pk, sk, gsi1pk, gsi1sk), nor an update of pk or sk; no empty set;
// no item over 400 KB (a put item's size; an update's, only the values it
// writes, since the item it changes is not read); no ConsistentRead on a
// global secondary index.
//
// minidyn's (v0.8.2): a Query or Scan with both a FilterExpression and a
// Limit (it counts Limit over the whole table); REMOVE in an update
// expression (it ignores it); an empty list anywhere (it corrupts the
// item).
type Strict struct {
	next    http.Handler
	minidyn bool
	log     *slog.Logger
}

// NewStrict returns a Strict in front of next; minidyn adds minidyn's
// rules to DynamoDB's.
func NewStrict(next http.Handler, minidyn bool, log *slog.Logger) *Strict {
	return &Strict{next: next, minidyn: minidyn, log: log}
}

// keyAttrs are the attributes that are a key of the table or of its index.
var keyAttrs = map[string]bool{"pk": true, "sk": true, "gsi1pk": true, "gsi1sk": true}

// maxItemSize is DynamoDB's item size limit, names and values included.
const maxItemSize = 400 * 1024

func (s *Strict) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if msg := s.check(op, body); msg != "" {
		s.log.Error("devstack refused a DynamoDB request", "operation", op, "rule", msg)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Errortype", "ValidationException")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{
			"__type":  "com.amazon.coral.validate#ValidationException",
			"message": "devstack: " + op + ": " + msg,
		})
		return
	}
	s.next.ServeHTTP(w, r)
}

// item is an item or a key as the wire carries it.
type item = map[string]json.RawMessage

// request holds the fields of every operation that the rules look at.
type request struct {
	Key                       item
	Item                      item
	IndexName                 string
	FilterExpression          string
	Limit                     *int
	ConsistentRead            bool
	UpdateExpression          string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues item
	TransactItems             []map[string]request
	RequestItems              map[string]json.RawMessage
}

// check returns the rule req breaks, or "".
func (s *Strict) check(op string, body []byte) string {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return "" // not ours to judge: DynamoDB answers a malformed body
	}
	switch op {
	case "TransactWriteItems", "TransactGetItems":
		var acts []action
		for i, entry := range req.TransactItems {
			for kind, a := range entry {
				k := a.Key
				if kind == "Put" {
					k = keyOf(a.Item)
				}
				acts = append(acts, action{name: fmt.Sprintf("action %d (%s)", i, kind), key: k, broken: s.checkOne(kind, a)})
			}
		}
		return transaction.check(acts)
	case "BatchWriteItem":
		var acts []action
		for table, raw := range req.RequestItems {
			var reqs []struct {
				PutRequest    *struct{ Item item }
				DeleteRequest *struct{ Key item }
			}
			if err := json.Unmarshal(raw, &reqs); err != nil {
				return ""
			}
			for i, wr := range reqs {
				a := action{name: fmt.Sprintf("request %d of %s", i, table), table: table}
				switch {
				case wr.PutRequest != nil:
					a.key, a.broken = keyOf(wr.PutRequest.Item), s.checkItem(wr.PutRequest.Item)
				case wr.DeleteRequest != nil:
					a.key, a.broken = wr.DeleteRequest.Key, s.checkKey(wr.DeleteRequest.Key)
				}
				acts = append(acts, a)
			}
		}
		return batchWrite.check(acts)
	case "BatchGetItem":
		var acts []action
		for table, raw := range req.RequestItems {
			var ka struct{ Keys []item }
			if err := json.Unmarshal(raw, &ka); err != nil {
				return ""
			}
			for i, k := range ka.Keys {
				acts = append(acts, action{name: fmt.Sprintf("key %d of %s", i, table), table: table, key: k, broken: s.checkKey(k)})
			}
		}
		return batchGet.check(acts)
	case "PutItem":
		return s.checkOne("Put", req)
	case "UpdateItem":
		return s.checkOne("Update", req)
	case "DeleteItem", "GetItem":
		return s.checkOne("Delete", req)
	case "Query", "Scan":
		if req.IndexName != "" && req.ConsistentRead {
			return "ConsistentRead on the global secondary index " + req.IndexName + ": DynamoDB reads an index eventually consistently only"
		}
		if s.minidyn && req.FilterExpression != "" && req.Limit != nil {
			return "both FilterExpression and Limit: minidyn counts Limit over the whole table, not over the items read (use key conditions, or no Limit)"
		}
		return s.checkValues(req.ExpressionAttributeValues)
	}
	return ""
}

// several is the rule of a request of several actions (a transaction, a
// batch): at most max of them, no two on one item, each valid alone.
type several struct {
	max   int
	count string // the limit, after the count: "actions: a transaction holds at most 100"
	twice string // the rule two actions on one item break, before the item
}

// The requests of several actions.
var (
	transaction = several{100, "actions: a transaction holds at most 100", "two actions of one transaction on the item"}
	batchWrite  = several{25, "requests: a BatchWriteItem holds at most 25", "two requests on the key (a batch names each key once):"}
	batchGet    = several{100, "keys: a BatchGetItem reads at most 100", "a key named twice (a batch names each key once):"}
)

// action is one action of a transaction or a batch: how a message names
// it, the table it is on, the key it names, and the rule it breaks alone
// ("" if none).
type action struct {
	name, table string
	key         item
	broken      string
}

// check returns the rule acts break, or "".
func (r several) check(acts []action) string {
	if len(acts) > r.max {
		return fmt.Sprintf("%d %s", len(acts), r.count)
	}
	seen := map[string]bool{}
	for _, a := range acts {
		ks := keyString(a.key)
		if seen[a.table+" "+ks] {
			return fmt.Sprintf("%s: %s %s", a.name, r.twice, ks)
		}
		seen[a.table+" "+ks] = true
		if a.broken != "" {
			return fmt.Sprintf("%s on %s: %s", a.name, ks, a.broken)
		}
	}
	return ""
}

// checkOne checks one write or read of one item: a Put's item, an
// Update's key and expression, a Delete's or ConditionCheck's key.
func (s *Strict) checkOne(kind string, a request) string {
	if kind == "Put" {
		if msg := s.checkItem(a.Item); msg != "" {
			return msg
		}
	} else if msg := s.checkKey(a.Key); msg != "" {
		return msg
	}
	if msg := s.checkValues(a.ExpressionAttributeValues); msg != "" {
		return msg
	}
	if kind == "Update" {
		return s.checkUpdate(a)
	}
	return ""
}

// checkUpdate checks an update expression: no REMOVE on minidyn, no
// change of the table's key, no empty string set to a key attribute, no
// more than an item's size in the values it writes.
func (s *Strict) checkUpdate(a request) string {
	clauses := updateClauses(a.UpdateExpression)
	if _, ok := clauses["REMOVE"]; ok && s.minidyn {
		return "REMOVE in the update expression " + quote(a.UpdateExpression) + ": minidyn ignores it (SET the attribute, or put the whole item)"
	}
	size := 0
	for kind, actions := range clauses {
		for _, action := range actions {
			path, value, _ := strings.Cut(action, "=")
			if kind != "SET" {
				path, value, _ = strings.Cut(strings.TrimSpace(action), " ")
			}
			name := strings.TrimSpace(path)
			if n, ok := a.ExpressionAttributeNames[name]; ok {
				name = n
			}
			if name == "pk" || name == "sk" {
				return "the update expression changes " + name + ", a key of the table"
			}
			value = strings.TrimSpace(value)
			if raw, ok := a.ExpressionAttributeValues[value]; ok {
				size += len(name) + len(raw)
				if keyAttrs[name] && isEmptyString(raw) {
					return "an empty string set to " + name + ", a key attribute of the index"
				}
			}
		}
	}
	if size > maxItemSize {
		return fmt.Sprintf("the update writes %d bytes: an item holds at most 400 KB", size)
	}
	return ""
}

// checkKey checks a key: no empty key string.
func (s *Strict) checkKey(k item) string {
	for name, raw := range k {
		if isEmptyString(raw) {
			return "an empty string in the key attribute " + name
		}
	}
	return ""
}

// checkItem checks a whole item: keys, values and size.
func (s *Strict) checkItem(it item) string {
	size := 0
	for name, raw := range it {
		if keyAttrs[name] && isEmptyString(raw) {
			return "an empty string in the key attribute " + name + " (DynamoDB refuses empty strings in the keys of the table and of its indexes)"
		}
		var v value
		if err := json.Unmarshal(raw, &v); err != nil {
			return ""
		}
		if msg := s.checkValue(name, v); msg != "" {
			return msg
		}
		size += len(name) + v.size()
	}
	if size > maxItemSize {
		return fmt.Sprintf("an item of %d bytes: an item holds at most 400 KB (409,600 bytes)", size)
	}
	return ""
}

// checkValues checks expression attribute values.
func (s *Strict) checkValues(vals item) string {
	for name, raw := range vals {
		var v value
		if err := json.Unmarshal(raw, &v); err != nil {
			return ""
		}
		if msg := s.checkValue(name, v); msg != "" {
			return msg
		}
	}
	return ""
}

// value is an attribute value on the wire.
type value struct {
	S    *string
	N    *string
	B    *string
	BOOL *bool
	NULL *bool
	SS   []string
	NS   []string
	BS   []string
	L    *[]value
	M    map[string]value
	// sets holds which of SS, NS and BS were present (an empty one
	// decodes as nil).
	sets []string
}

func (v *value) UnmarshalJSON(b []byte) error {
	type plain value
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(b, &present); err != nil {
		return err
	}
	for _, t := range []string{"SS", "NS", "BS"} {
		if _, ok := present[t]; ok {
			p.sets = append(p.sets, t)
		}
	}
	*v = value(p)
	return nil
}

// checkValue checks a value at path: no empty set; on minidyn, no empty
// list.
func (s *Strict) checkValue(path string, v value) string {
	for _, t := range v.sets {
		if len(v.SS)+len(v.NS)+len(v.BS) == 0 {
			return "an empty set (" + t + ") at " + path + ": DynamoDB refuses empty sets"
		}
	}
	if v.L != nil {
		if len(*v.L) == 0 && s.minidyn {
			return "an empty list at " + path + ": minidyn corrupts items holding one (omit the attribute, or store the list another way)"
		}
		for i, e := range *v.L {
			if msg := s.checkValue(fmt.Sprintf("%s[%d]", path, i), e); msg != "" {
				return msg
			}
		}
	}
	for k, e := range v.M {
		if msg := s.checkValue(path+"."+k, e); msg != "" {
			return msg
		}
	}
	return ""
}

// size is the value's size as DynamoDB counts it, closely enough: the
// bytes of strings and binaries, numbers by their digits, names of map
// entries, 1 byte a boolean or null and 3 bytes of overhead per list or
// map and per element.
func (v value) size() int {
	n := 0
	switch {
	case v.S != nil:
		n = len(*v.S)
	case v.N != nil:
		n = len(*v.N)
	case v.B != nil:
		n = len(*v.B) * 3 / 4 // base64 on the wire
	case v.BOOL != nil, v.NULL != nil:
		n = 1
	case v.L != nil:
		n = 3
		for _, e := range *v.L {
			n += 1 + e.size()
		}
	case v.M != nil:
		n = 3
		for k, e := range v.M {
			n += 1 + len(k) + e.size()
		}
	}
	for _, s := range v.SS {
		n += len(s)
	}
	for _, s := range v.NS {
		n += len(s)
	}
	for _, s := range v.BS {
		n += len(s) * 3 / 4
	}
	return n
}

// keyOf returns the table key attributes of an item.
func keyOf(it item) item {
	return item{"pk": it["pk"], "sk": it["sk"]}
}

// keyString is a key's attributes as one comparable string.
func keyString(k item) string {
	names := make([]string, 0, len(k))
	for n := range k {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s ", n, k[n])
	}
	return strings.TrimSpace(b.String())
}

func isEmptyString(raw json.RawMessage) bool {
	var v struct{ S, B *string }
	return json.Unmarshal(raw, &v) == nil && ((v.S != nil && *v.S == "") || (v.B != nil && *v.B == ""))
}

// updateClauses splits an update expression into its clauses (SET,
// REMOVE, ADD, DELETE), each a list of actions.
func updateClauses(expr string) map[string][]string {
	out := map[string][]string{}
	words := strings.Fields(expr)
	kind := ""
	var cur strings.Builder
	flush := func() {
		if kind != "" {
			out[kind] = append(out[kind], splitTop(cur.String())...)
		}
		cur.Reset()
	}
	for _, w := range words {
		switch up := strings.ToUpper(w); up {
		case "SET", "REMOVE", "ADD", "DELETE":
			flush()
			kind = up
			if _, ok := out[kind]; !ok {
				out[kind] = nil
			}
			continue
		}
		cur.WriteString(w)
		cur.WriteByte(' ')
	}
	flush()
	return out
}

// splitTop splits s at the commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
