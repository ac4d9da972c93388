package route

import "testing"

// TestEveryRouteDeclaresItsProblems makes a new route say which problem
// codes it answers (nil for none of its own), each with its status.
func TestEveryRouteDeclaresItsProblems(t *testing.T) {
	for _, rt := range All() {
		if rt.Page {
			continue
		}
		if _, ok := problems[string(rt.Operation)]; !ok {
			t.Errorf("%s: operation %s has no entry in problems", rt.Key(), rt.Operation)
		}
		for _, code := range rt.Problems() {
			if ProblemStatus(code) == 0 {
				t.Errorf("%s: code %s has no status", rt.Key(), code)
			}
		}
	}
	for op := range problems {
		found := false
		for _, rt := range All() {
			found = found || string(rt.Operation) == op
		}
		if !found {
			t.Errorf("problems lists %s, which no route has", op)
		}
	}
}
