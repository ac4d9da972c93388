// Package notices holds users' e-mail notification switches: the events
// one may switch, their defaults, their stored form, and whether a user
// wants an event mailed. The profile sets the switches; every service that
// sends one of these notices asks Wants first.
package notices

import (
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/store"
)

// The events a user may switch.
const (
	InvitationAccepted = "invitation_accepted"
	PasswordChanged    = "password_changed"
	APIKeyExpiring     = "api_key_expiring"
)

// Type is an event a user may be told about.
type Type struct {
	ID          string
	Description string
	// Default is the e-mail switch of users who never set it.
	Default bool
}

// Types returns the catalog of events users may switch. The notice of a
// changed e-mail address is not among them: it goes to the old address
// whatever the settings, since it is the only warning an owner gets of a
// takeover.
func Types() []Type {
	return []Type{
		{InvitationAccepted, "Someone you invited accepted the invitation", true},
		{PasswordChanged, "Your password was changed", true},
		{APIKeyExpiring, "One of your API keys expires soon", true},
	}
}

// Known reports whether id is an event of the catalog.
func Known(id string) bool {
	return slices.ContainsFunc(Types(), func(t Type) bool { return t.ID == id })
}

// Wants reports whether u wants the event sent by e-mail: its switch, or
// the event's default.
func Wants(u store.User, event string) bool {
	if u.Prefs != nil {
		if on, ok := Decode(u.Prefs.Notify)[event]; ok {
			return on
		}
	}
	for _, t := range Types() {
		if t.ID == event {
			return t.Default
		}
	}
	return false
}

// Encode is the stored form of switches: "event=on|off …", sorted.
func Encode(m map[string]bool) string {
	var out []string
	for k, on := range m {
		v := "off"
		if on {
			v = "on"
		}
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// Decode reads the stored form of switches.
func Decode(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		out[k] = v == "on"
	}
	return out
}
