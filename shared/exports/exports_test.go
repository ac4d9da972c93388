package exports_test

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/exports"
)

func TestValidKeyTakesOnlyTheKeysKeyMakes(t *testing.T) {
	for _, ext := range []string{"csv", "jsonl"} {
		if k := exports.Key("org_AbC-1_z", ext); !exports.ValidKey(k) {
			t.Errorf("%q refused", k)
		}
	}
	name := strings.Repeat("a", 22)
	for _, k := range []string{
		"", "exports/", "exports/org/" + name, "exports/org/" + name + ".txt",
		"exports/../" + name + ".csv", "exports/org/../" + name[:19] + ".csv",
		"exports/org/sub/" + name + ".csv", "exports//" + name + ".csv",
		"exports/" + strings.Repeat("o", 65) + "/" + name + ".csv",
		"exports/org/" + name + "b.csv", "exports/org/" + name[:21] + ".csv",
		"exports/org/" + name[:21] + "é.csv", "exports/org/" + name + ".csv.csv",
		"/exports/org/" + name + ".csv", "exports/org/" + name + ".csv\n",
	} {
		if exports.ValidKey(k) {
			t.Errorf("%q taken", k)
		}
	}
}
