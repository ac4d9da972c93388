package store

import (
	"slices"
	"testing"
)

func TestExpandUnits(t *testing.T) {
	units := []Unit{
		{ID: "a", Kind: "company"},
		{ID: "a1", Kind: "establishment", Parent: "a"},
		{ID: "a1x", Kind: "site", Parent: "a1"},
		{ID: "b", Kind: "company"},
		{ID: "b1", Kind: "establishment", Parent: "b"},
		{ID: "l", Kind: "level"},
		// A damaged tree: a cycle ends the walk too.
		{ID: "c1", Kind: "site", Parent: "c2"},
		{ID: "c2", Kind: "site", Parent: "c1"},
	}
	for _, c := range []struct {
		name        string
		list, kinds []string
		want        []string
	}{
		{"none", nil, nil, []string{}},
		{"a unit and its descendants", []string{"a1"}, nil, []string{"a1", "a1x"}},
		{"a root", []string{"a"}, nil, []string{"a", "a1", "a1x"}},
		{"a kind and the descendants of its units", nil, []string{"company"}, []string{"a", "a1", "a1x", "b", "b1"}},
		{"a kind below the top", nil, []string{"establishment"}, []string{"a1", "a1x", "b1"}},
		{"both", []string{"b1"}, []string{"level"}, []string{"b1", "l"}},
		{"a kind within a listed unit counts once", []string{"a"}, []string{"site"}, []string{"a", "a1", "a1x", "c1", "c2"}},
		{"no such unit", []string{"zz"}, nil, []string{}},
		{"a cycle", []string{"c1"}, nil, []string{"c1", "c2"}},
	} {
		if got := ExpandUnits(units, c.list, c.kinds); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
