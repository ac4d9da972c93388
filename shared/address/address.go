// Package address holds the one postal address shape of the API (an
// organization's head office, a unit's address, a person's start address
// and usual route) and its one set of rules.
package address

import (
	"strings"

	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Address is a postal address as clients send and read it.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	Country    string `json:"country" doc:"ISO 3166-1 alpha-2 code, upper-case, such as FR"`
}

// Check validates a, reporting problems under field (such as
// "head_office"), and returns it as stored, surrounding spaces trimmed.
// Its lines are printed on letters, so they follow the rule of names.
func Check(v *validate.Errors, field string, a Address) store.Address {
	v.Name(field+".line1", a.Line1, 200)
	v.OptionalName(field+".line2", a.Line2, 200)
	v.Name(field+".postal_code", a.PostalCode, 20)
	v.Name(field+".city", a.City, 100)
	v.OptionalName(field+".region", a.Region, 100)
	if !validCountry(a.Country) {
		v.Add(field+".country", "must be an ISO 3166-1 alpha-2 code in upper case, such as FR or BE")
	}
	return store.Address{Line1: strings.TrimSpace(a.Line1), Line2: strings.TrimSpace(a.Line2),
		PostalCode: strings.TrimSpace(a.PostalCode), City: strings.TrimSpace(a.City),
		Region: strings.TrimSpace(a.Region), Country: a.Country}
}

// View is the stored address a as clients read it; nil for none.
func View(a *store.Address) *Address {
	if a == nil {
		return nil
	}
	return &Address{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Region: a.Region, Country: a.Country}
}
