package route

// sessionOnly are the operations that take a signed-in session's token
// only: an API key is refused (a password, an e-mail, a second factor, API
// keys, logging out and ownership are not an integration's business). The
// description's security requirement of their routes names the session
// scheme alone; TestEachRouteTakesTheCredentialsItsSecuritySays holds the
// handlers to this list.
var sessionOnly = map[string]bool{
	"logout":             true,
	"changeMyPassword":   true,
	"requestEmailChange": true,
	"startTOTP":          true,
	"confirmTOTP":        true,
	"disableTOTP":        true,
	"createAPIKey":       true,
	"rotateMyAPIKey":     true,
	"transferOwnership":  true,
	"endMySession":       true,
	"endMyOtherSessions": true,
}

// SessionOnly reports whether the route takes a signed-in session's token
// only, refusing API keys.
func (r Route) SessionOnly() bool { return sessionOnly[string(r.Operation)] }
