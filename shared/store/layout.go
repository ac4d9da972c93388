package store

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// ItemKind is one kind of item of the table. Its key patterns are literal
// text with <placeholders>, each standing for any text (identifiers,
// hashes, login keys, which may hold '#'), but <org>, an organization's
// identifier, which holds no '#'. A test scans the table after a
// scenario writing every kind and fails on an item no kind matches, and
// on a kind no item matches.
type ItemKind struct {
	Name   string
	PK, SK string
	// GSI1PK and GSI1SK are the item's keys in the index gsi1; empty when
	// the kind is not indexed.
	GSI1PK, GSI1SK string
	// File is the file of this package that reads and writes the kind.
	File  string
	Notes string
}

// Layout lists every kind of item in the table. The TTL attribute is
// "expires" on every kind that has one.
func Layout() []ItemKind {
	return []ItemKind{
		{"organization", "ORG#<org>", "ORG", "", "", "org.go", "settings; owner_id; logo ref"},
		{"organization code guard", "ORGCODE#<code>", "ORGCODE", "", "", "org.go", "makes codes unique → org"},
		{"organization logo", "ORG#<org>", "LOGO", "", "", "logo.go", "the image, one item"},
		{"user", "ORG#<org>", "USER#<user>", "", "", "user.go", "a membership: role, units, status, names, settings; password hash and MFA attributes (a person's mirrored); person; members (its person's count of memberships, written on every membership by the joins and removals); version"},
		{"person", "PERSON#<person>", "PERSON", "", "", "person.go", "an e-mail login's person (id = its first user's): e-mail, password hash, MFA, require_password_change, version; mirrored on every membership in the same transaction"},
		{"membership entry", "LOGIN#<login>", "MEMBER#<org>", "", "", "person.go", "a person's membership in org → user, person: one Query lists a login's organizations"},
		{"user filter entry", "ORG#<org>#USERS#<filter>#<value>", "USER#<user>", "", "", "userlist.go",
			"one per status, kind, role, unit (* for all_units, kind:<kind> per unit kind) of a user: filtered lists"},
		{"login guard", "LOGIN#<login>", "LOGIN", "", "", "login.go", "makes login names unique → org, user (for a person: one membership), person, members"},
		{"address claim", "LOGIN#<login>", "CLAIM#<org>", "", "", "login.go", "an organization's user of an unproved address → org, user"},
		{"credential", "CRED#<sha256>", "CRED", "USER#<user>", "CRED#<kind>#<hash or key id>", "cred.go",
			"token, challenge, link token or API key, by kind; expires; an access token or key also the principal (org code, role, permissions, units)"},
		{"rotated refresh token", "CRED#<sha256>", "CRED", "ROTATED#<session>", "CRED#<sha256>", "cred.go",
			"kind, session, rotated, until the token's expiry: reuse ends the session; out of the user's index"},
		{"API key entry", "ORG#<org>", "APIKEY#<key>", "", "", "apikey.go", "an organization's list of keys; no secret"},
		{"API key entry, expiring", "ORG#<org>", "APIKEY#<key>", "KEYEXPIRY#<yyyy-mm-dd>", "<org>#<key>", "apikey.go",
			"the entry of a key that expires, indexed by its expiry's day; announced"},
		{"session", "SESSION#<session>", "SESSION", "USER#<user>", "SESSION#<session>", "cred.go", "current token hashes, the previous access tokens still live; expires"},
		{"public key set", "JWKS", "JWKS", "", "", "jwks.go", "the JWKS of the signing keys (public only), written by the rotation"},
		{"failure counter", "RL#<counter>", "RL", "", "", "login.go", "lockouts and rate limits; expires"},
		{"reset link pointer", "RESET#<login>", "RESET", "", "", "reset.go", "a login's live reset link (hash)"},
		{"e-mail change pointer", "ORG#<org>", "EMAILCHANGE#<user>", "", "", "profile.go", "a user's live e-mail change link (hash)"},
		{"recovery code", "MFARC#<sha256 of user:code>", "MFARC", "", "", "mfa.go", "exists until used"},
		{"invitation", "ORG#<org>", "INVITE#<invitation>", "", "", "invitation.go", "status, role, units, token hash"},
		{"invitation guard", "ORG#<org>", "INVITEMAIL#<email>", "", "", "invitation.go", "one pending invitation per address"},
		{"custom role", "ORG#<org>", "ROLE#<role>", "", "", "role.go", "permissions; own_units; refs counts holders; version (of its permissions) and granted (the version every holder has)"},
		{"built-in role count", "ORG#<org>", "ROLECOUNT#<role>", "", "", "user.go", "refs counts holders of a built-in role"},
		{"role name guard", "ORG#<org>", "ROLENAME#<name>", "", "", "role.go", "makes role names unique → role"},
		{"unit", "ORG#<org>", "UNIT#<unit>", "", "", "unit.go", "refs counts users, children child units"},
		{"unit tree version", "ORG#<org>", "UNITTREE", "", "", "unit.go", "bumped by every move, against cycles"},
		{"OpenID Connect auth request", "OIDCREQ#<request>", "OIDCREQ", "", "", "oidc.go",
			"client, redirect, scopes, state, nonce, PKCE challenge; once signed in: code hash, org, user, person; once exchanged: session; expires"},
		{"job", "JOB#<kind>", "<org>#<target>", "", "", "job.go", "work a change left to finish: kind, version, cursor; an ending's kept session"},
		{"audit event", "ORG#<org>#AUDIT", "<time>#<event>", "", "", "audit.go", "the trail, newest last"},
	}
}

// Matches reports whether an item of these keys is of kind k (gsi1pk and
// gsi1sk are "" when the item has none).
func (k ItemKind) Matches(pk, sk, gsi1pk, gsi1sk string) bool {
	return pattern(k.PK).MatchString(pk) && pattern(k.SK).MatchString(sk) &&
		pattern(k.GSI1PK).MatchString(gsi1pk) && pattern(k.GSI1SK).MatchString(gsi1sk)
}

var placeholder = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<[^>]*>`) })

// pattern is the regular expression of a key pattern.
func pattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range placeholder().FindAllStringIndex(p, -1) {
		b.WriteString(regexp.QuoteMeta(p[last:m[0]]))
		if p[m[0]:m[1]] == "<org>" {
			b.WriteString("[^#]*")
		} else {
			b.WriteString(".*")
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(p[last:]) + "$")
	return regexp.MustCompile(b.String())
}

// LayoutMarkdown renders Layout as a Markdown table, for the README.
func LayoutMarkdown() string {
	var b strings.Builder
	b.WriteString("| item | pk | sk | gsi1 (pk / sk) | file | holds |\n|---|---|---|---|---|---|\n")
	for _, k := range Layout() {
		gsi := ""
		if k.GSI1PK != "" {
			gsi = "`" + k.GSI1PK + "` / `" + k.GSI1SK + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %s | %s |\n", k.Name, k.PK, k.SK, gsi, k.File, k.Notes)
	}
	return b.String()
}
