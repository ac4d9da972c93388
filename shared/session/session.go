// Package session holds the rules of logging in and of session tokens:
// login with lockout, refresh with rotation and reuse detection, logout.
package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/lockout"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// Config sets token lifetimes and the lockout policy.
type Config struct {
	AccessTTL  time.Duration // lifetime of an access token
	RefreshTTL time.Duration // lifetime of a refresh token (and of its session, from the last refresh)
	// BrowserTTL is the lifetime of the browser's single sign-on session
	// (Client.Browser), from its opening: it is never refreshed.
	BrowserTTL time.Duration
	// MaxFailures failed logins of one client within LockWindow lock the
	// login name for that client until the window ends; past as many
	// failures from any client, each next login waits longer (doubling up
	// to MaxWait), and AccountMaxFailures lock it for everyone.
	MaxFailures        int
	AccountMaxFailures int
	MaxWait            time.Duration
	LockWindow         time.Duration
	Password           password.Params
	// Clients caps the permissions of service users (clients.Catalog.Cap).
	Clients clients.Catalog
	// Permissions is the catalog: the built-in roles' permissions, and
	// what a custom role's may still grant (a permission removed from it
	// is inert).
	Permissions permission.Catalog
	// Issuer (PUBLIC_URL, where the API is served) and Audience
	// (ACCESS_TOKEN_AUDIENCE) are the iss and aud of access tokens, which
	// Keys sign; without keys no session opens. Issuer is also the base of
	// the logo URLs an organization challenge lists (relative when empty).
	Issuer, Audience string
	Keys             keyring.Source
}

// FirstParty is the client_id of the access tokens the JSON login API
// issues to Guichet's own first-party apps (a service user's tokens carry
// its client application instead).
const FirstParty = "guichet"

// DefaultConfig is the configuration used unless the environment says otherwise.
func DefaultConfig() Config {
	return Config{
		AccessTTL: 5 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, BrowserTTL: 12 * time.Hour,
		MaxFailures: 5, AccountMaxFailures: 100, MaxWait: time.Minute, LockWindow: 15 * time.Minute,
		Password: password.Default, Clients: clients.Default(permission.Catalog{}),
	}
}

// Service applies the session rules.
type Service struct {
	store *store.Store
	mfa   *mfa.Service
	lock  *lockout.Limiter
	mail  *mail.Notifier
	cfg   Config
	now   func() time.Time
}

// New returns a session service; m checks the codes of users with
// two-step verification, n mails the codes proving an address.
func New(s *store.Store, m *mfa.Service, n *mail.Notifier, cfg Config, now func() time.Time) *Service {
	return &Service{store: s, mfa: m, mail: n, lock: lockout.New(s, now), cfg: cfg, now: now}
}

// Tokens is what a successful login or refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Client describes where a login comes from, recorded on the session.
type Client struct {
	IP        string
	UserAgent string
	// Browser: the hosted pages open the session, the browser's single
	// sign-on session (BrowserClient).
	Browser bool
	// AuthTime is, for a browser session opened by another one (an
	// invitation joined without a password), when that one signed in.
	AuthTime time.Time
	// OIDCClient is the OpenID Connect client the session's tokens are
	// issued to (their client_id; only it refreshes them) and OIDCScopes
	// the scopes granted it; empty for the JSON login API's (FirstParty).
	OIDCClient string
	OIDCScopes []string
	// Limited: the tokens carry only the role's permissions among
	// OIDCScopes (store.Credential.Limited).
	Limited bool
}

func invalidCredentials() *problem.Problem {
	return problem.Unauthorized("invalid_credentials", "The login or the password is wrong.")
}

// LoginKey is the login key a login name resolves to: the organization code
// and username when an organization is given and login is no e-mail
// address (usernames hold no '@'), the e-mail otherwise.
func LoginKey(login, organization string) string {
	if organization != "" && !strings.Contains(login, "@") {
		return store.UsernameLogin(organization, login)
	}
	return store.EmailLogin(login)
}

// Challenge asks the client for another step before it gets tokens.
type Challenge struct {
	Challenge      string `json:"challenge" enum:"organization|email_proof|mfa|password_change|mfa_enrollment" doc:"The step to take: organization (POST /v1/auth/organization with one of the organizations listed), email_proof (POST /v1/auth/email-proof with the code mailed to the address), mfa (POST /v1/auth/mfa with a code), password_change (POST /v1/auth/password-change), mfa_enrollment (POST /v1/auth/mfa/enroll, then /v1/auth/mfa/enroll/confirm)."`
	ChallengeToken string `json:"challenge_token"`
	ExpiresIn      int    `json:"expires_in"`
	// Organizations are, for an organization challenge, the organizations
	// to choose from.
	Organizations []Choice `json:"organizations,omitempty" doc:"organization challenge: the organizations the person may sign in to"`
}

// challengeTTL is how long a challenge may be answered.
const challengeTTL = 10 * time.Minute

// Login checks a person's login name and password and opens a session, or
// asks for another step first. Unknown logins and wrong passwords get the
// same answer after the same work; too many failures lock the login name
// for a while.
//
// The steps are those of Next.
//
// An e-mail login with several active memberships first answers an
// organization challenge listing them, unless organization (an e-mail
// login's organization id or code) picks one.
func (s *Service) Login(ctx context.Context, login, organization, pw string, c Client) (any, error) {
	lk := LoginKey(login, organization)
	pickOrg := ""
	if !strings.Contains(lk, "#") {
		pickOrg = organization
	}
	u, org, several, err := s.authenticate(ctx, lk, pickOrg, pw, c)
	if err != nil {
		return nil, err
	}
	if several != nil {
		return s.organizationChallenge(ctx, u, several)
	}
	if u.Kind == store.Service {
		return nil, problem.New(http.StatusForbidden, "service_user",
			"Service users cannot log in to the apps; they get tokens from /v1/auth/token.")
	}
	op, err := s.open(ctx, u, org, c, "")
	if err != nil {
		return nil, err
	}
	return op.Answer, nil
}

// ServiceToken checks a service user's organization code, user code and
// password and opens a session for it.
func (s *Service) ServiceToken(ctx context.Context, organization, code, pw string, c Client) (Tokens, error) {
	u, org, _, err := s.authenticate(ctx, store.UsernameLogin(organization, code), "", pw, c)
	if err != nil {
		return Tokens{}, err
	}
	if u.Kind != store.Service {
		// A person's credentials are not accepted here: same answer as a
		// wrong password, so this route tells nothing of persons.
		return Tokens{}, invalidCredentials()
	}
	op, err := s.open(ctx, u, org, c, "") // no step is due for a service user
	if err != nil {
		return Tokens{}, err
	}
	return *op.Tokens, nil
}

// authenticate returns the active user a login key and password name, and
// its organization. The attempt is counted against the login key and the
// client before the password is checked (see loginPolicy). For a person's
// e-mail login the user is the membership organization picks (its id or
// code), or the only active one; with several active and none picked,
// several lists them (and the user is the one the password was checked
// on). Whatever the memberships, a wrong password gets the same answer.
func (s *Service) authenticate(ctx context.Context, lk, organization, pw string, c Client) (_ store.User, _ store.Org, several []store.Membership, _ error) {
	rl := "signin#" + lk
	guard, fails, found, err := s.store.FindLogin(ctx, lk, rl)
	if err != nil {
		return store.User{}, store.Org{}, nil, err
	}
	attempt, err := s.lock.Reserve(ctx, s.loginPolicy(), rl, ClientKey(c.IP), fails)
	if l, ok := lockout.IsLocked(err); ok {
		return store.User{}, store.Org{}, nil, locked(l.Seconds())
	}
	if err != nil {
		return store.User{}, store.Org{}, nil, err
	}
	guards := []store.LoginGuard{guard}
	if !found {
		// An unproved address: the organizations' claims on it.
		if guards, err = s.claims(ctx, lk); err != nil {
			return store.User{}, store.Org{}, nil, err
		}
	}
	var uc store.UserContext
	ok, rehash := false, false
	for _, g := range guards {
		// The organization comes in the same call: its policy may ask for
		// two-step verification.
		if uc, err = s.store.UserContextOf(ctx, g.Org, g.User); err != nil {
			return store.User{}, store.Org{}, nil, err
		}
		if uc.User.PasswordHash == "" {
			continue
		}
		if ok, rehash, err = password.Verify(pw, uc.User.PasswordHash, s.cfg.Password); err != nil {
			return store.User{}, store.Org{}, nil, fmt.Errorf("login: %w", err)
		}
		if ok {
			break
		}
	}
	u := uc.User
	if len(guards) == 0 || (!ok && u.PasswordHash == "") {
		password.Waste(pw, s.cfg.Password)
	}
	if !ok {
		return store.User{}, store.Org{}, nil, invalidCredentials() // counted already
	}
	if err := attempt.Release(ctx); err != nil {
		return store.User{}, store.Org{}, nil, err
	}
	if rehash {
		s.rehash(ctx, u, pw)
	}
	if u.Person != "" && (guard.MemberCount() > 1 || organization != "") {
		m, all, err := s.membership(ctx, u, organization)
		if err != nil {
			return store.User{}, store.Org{}, nil, err
		}
		if m.User.ID == "" {
			return u, uc.Org, all, nil
		}
		return m.User, m.Org, nil, nil
	}
	if u.Status != store.Active {
		return store.User{}, store.Org{}, nil, inactive()
	}
	return u, uc.Org, nil, nil
}

// challenge issues a one-time challenge token of a kind for u.
func (s *Service) challenge(ctx context.Context, u store.User, kind string) (Challenge, error) {
	ch, cred, err := s.newChallenge(u, kind)
	if err != nil {
		return Challenge{}, err
	}
	err = s.store.PutCredential(ctx, cred)
	if store.Lost(err, store.UserChanged) {
		return Challenge{}, invalidToken() // deactivated since it was read
	}
	if err != nil {
		return Challenge{}, err
	}
	return ch, nil
}

// newChallenge makes a challenge of a kind for u without writing it, so
// that it can be written in the transaction answering the previous one.
func (s *Service) newChallenge(u store.User, kind string) (Challenge, store.Credential, error) {
	secret, hash, err := token.New(token.Challenge)
	if err != nil {
		return Challenge{}, store.Credential{}, err
	}
	now := s.now()
	cred := store.NewCredential(hash, kind, u.Org, u.ID, now, now.Add(challengeTTL))
	return Challenge{Challenge: kind, ChallengeToken: secret, ExpiresIn: int(challengeTTL / time.Second)}, cred, nil
}

// answer returns the live challenge of a kind a token names, its user and
// organization, and the user's counter of wrong codes.
func (s *Service) answer(ctx context.Context, secret, kind string) (store.Credential, store.UserContext, error) {
	_, hash, ok := token.Parse(secret, token.Challenge)
	if !ok {
		return store.Credential{}, store.UserContext{}, invalidToken()
	}
	c, err := s.store.GetCredential(ctx, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (c.Kind != kind || !c.Valid(s.now()))) {
		return store.Credential{}, store.UserContext{}, invalidToken()
	}
	if err != nil {
		return store.Credential{}, store.UserContext{}, err
	}
	uc, err := s.store.UserContextOf(ctx, c.Org, c.User)
	if err == nil && (!uc.Found || uc.User.Status != store.Active) {
		return store.Credential{}, store.UserContext{}, invalidToken()
	}
	return c, uc, err
}

// ChangePassword answers a password_change challenge with a new password
// and opens a session, or asks for the next step (Next).
func (s *Service) ChangePassword(ctx context.Context, challengeToken, newPassword string, c Client) (any, error) {
	ch, uc, err := s.answer(ctx, challengeToken, store.PasswordChallenge)
	if err != nil {
		return nil, err
	}
	u := uc.User
	var v validate.Errors
	pin := u.Username != ""
	password.Check(&v, "new_password", newPassword, u.LoginKey(), pin)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if same, _, _ := password.Verify(newPassword, u.PasswordHash, s.cfg.Password); same {
		return nil, problem.Invalid(problem.FieldError{Field: "new_password", Message: "must differ from the current password"})
	}
	now := s.now()
	next := u
	if next.PasswordHash, err = password.Hash(newPassword, s.cfg.Password); err != nil {
		return nil, err
	}
	next.RequirePasswordChange, next.Updated = false, now.UTC()
	op, err := s.Next(ctx, next, uc.Org, c, store.PasswordChallenge)
	if err != nil {
		return nil, err
	}
	change := store.UserChange{Old: u, New: &next, Audit: store.Audit{Org: u.Org, Time: now, Actor: u.ID,
		Via: "challenge", Action: "user.password_change", Target: "user:" + u.ID, Fields: []string{"password"}}}
	if err := s.store.CompletePasswordChange(ctx, ch.Hash(), change, op.Next); err != nil {
		if store.Lost(err, store.RoleChanged) {
			return nil, roleChanged()
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, invalidToken()
		}
		return nil, err
	}
	return op.Answer, nil
}

func locked(secs int) *problem.Problem {
	return problem.TooManyRequests("login_locked",
		"Too many failed attempts: this login is locked for a while.", secs)
}

// loginPolicy counts failed logins per login name and client: a client
// that failed MaxFailures times is locked out alone; past as many failures
// of all clients, logins slow down, and AccountMaxFailures lock the login
// name for everyone (NIST SP 800-63B 5.2.2: at most 100).
func (s *Service) loginPolicy() lockout.Policy {
	return lockout.Policy{Max: s.cfg.AccountMaxFailures, Window: s.cfg.LockWindow, PerClient: s.cfg.MaxFailures,
		SlowAfter: s.cfg.MaxFailures, MaxWait: s.cfg.MaxWait}
}

// ClientKey is the client a remote address counts as: its IP address, or
// for IPv6 its /64 network, which one host usually holds whole.
func ClientKey(remoteAddr string) string {
	ip, err := netip.ParseAddr(httpapi.ClientIP(remoteAddr))
	if err != nil {
		return "unknown"
	}
	if ip.Is4() || ip.Is4In6() {
		return ip.Unmap().String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// grant returns what u's role grants now (store.RoleGrant): a session
// written with it carries its version, and its transaction holds the
// condition that the role is still at it (store.RoleChanged).
func (s *Service) grant(ctx context.Context, u store.User) (store.Grant, error) {
	g, err := s.store.RoleGrant(ctx, s.cfg.Permissions, u.Org, u.Role)
	if err != nil {
		return store.Grant{}, fmt.Errorf("session: role of %s: %w", u.ID, err)
	}
	return g, nil
}

// roleRetries bounds the sessions made again when the role they were read
// from changed before they were written.
const roleRetries = 3

// roleChanged answers a session lost to a change of its role, whose
// challenge (if any) was not used: the client tries again.
func roleChanged() *problem.Problem {
	return problem.Conflict("conflict", "Your role changed meanwhile; try again.")
}

// credentials issues a fresh access and refresh token for a session of u,
// the access token with what g, u's role, gives u. The access token is a
// JWT (at+jwt) carrying the principal its credential item holds, keyed
// by the hash of its jti, so that the strict authorizer checks it with
// one GetItem as any secret.
// Both record the OpenID Connect client c names and its scopes.
func (s *Service) credentials(ctx context.Context, u store.User, g store.Grant, sessionID string, c Client, now time.Time) (Tokens, store.Credential, store.Credential, error) {
	jti, err := token.NewID()
	if err != nil {
		return Tokens{}, store.Credential{}, store.Credential{}, err
	}
	refresh, rh, err := token.New(token.Refresh)
	if err != nil {
		return Tokens{}, store.Credential{}, store.Credential{}, err
	}
	ac := store.NewCredential(token.Hash(jti), store.AccessToken, u.Org, u.ID, now, now.Add(s.cfg.AccessTTL))
	ac.UserKind, ac.Role, ac.Permissions, ac.RoleVersion, ac.Session = u.Kind, u.Role, g.For(u, s.cfg.Clients), g.Version, sessionID
	ac = ac.WithUnits(u)
	ac.Person, ac.OIDCClient, ac.OIDCScopes, ac.Limited = u.Person, c.OIDCClient, c.OIDCScopes, c.Limited
	if c.Limited {
		ac.Permissions = store.Limit(ac.Permissions, c.OIDCScopes)
	}
	if u.Kind == store.Service {
		ac.Client = u.Client
	}
	access, err := s.sign(ctx, ac, u.Subject(), jti, now)
	if err != nil {
		return Tokens{}, store.Credential{}, store.Credential{}, err
	}
	rc := store.NewCredential(rh, store.RefreshToken, u.Org, u.ID, now, now.Add(s.cfg.RefreshTTL))
	rc.Session, rc.OIDCClient, rc.OIDCScopes, rc.Limited = sessionID, c.OIDCClient, c.OIDCScopes, c.Limited
	t := Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL / time.Second)}
	return t, ac, rc, nil
}

// sign makes the JWT access token of the access credential ac, whose jti
// is jti, for subject sub (store.User.Subject): its principal is the one
// the authorizer reads from ac.
func (s *Service) sign(ctx context.Context, ac store.Credential, sub, jti string, now time.Time) (string, error) {
	if s.cfg.Keys == nil {
		return "", errors.New("session: no signing keys (JWT_KEYS or JWT_KEYS_SECRET)")
	}
	keys, err := s.cfg.Keys.KeySet(ctx)
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	p := principal.FromCredential(ac, s.cfg.Permissions)
	p.Credential, p.CredentialID = principal.Session, ac.Session
	ap := p.Access()
	c := access.Claims{Issuer: s.cfg.Issuer, Subject: sub, Audience: []string{s.cfg.Audience},
		Expiry: ac.Expires, IssuedAt: now.Unix(), ID: jti, ClientID: FirstParty,
		Scope: scope(ap.Permissions), SessionID: ac.Session, Principal: ap}
	if ac.OIDCClient != "" {
		c.ClientID = ac.OIDCClient
	}
	if ac.Client != "" {
		c.ClientID = ac.Client
	}
	tok, err := keys.Sign(c, signing.AccessToken)
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	return tok, nil
}

// scope is the scope claim of an access token whose principal holds
// perms: each permission once, sorted, space-separated. API Gateway's JWT
// authorizer admits a request to a fast application route needing a
// permission when the permission is among the token's scope.
func scope(perms []string) string {
	s := slices.Clone(perms)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), " ")
}

// NewSession is a session ready to be written: the tokens to return once
// it is, and its items.
type NewSession struct {
	Tokens          Tokens
	Session         store.Session
	Access, Refresh store.Credential
}

// Prepare makes a new session of u from client c, without writing it, so
// that it can be written in the transaction of another change (an accepted
// invitation, a completed password change). Its permissions are the
// role's (see grant).
func (s *Service) Prepare(ctx context.Context, u store.User, c Client) (NewSession, error) {
	now := s.now()
	id := store.NewID("ses_")
	g, err := s.grant(ctx, u)
	if err != nil {
		return NewSession{}, err
	}
	t, ac, rc, err := s.credentials(ctx, u, g, id, c, now)
	if err != nil {
		return NewSession{}, err
	}
	if c.Browser {
		rc.OIDCClient = BrowserClient
		if s.cfg.BrowserTTL > 0 && s.cfg.BrowserTTL < s.cfg.RefreshTTL {
			rc.Expires = now.Add(s.cfg.BrowserTTL).Unix()
		}
		if !c.AuthTime.IsZero() {
			rc.AuthTime = c.AuthTime.Unix()
		}
	}
	sess := store.Session{ID: id, Org: u.Org, User: u.ID, Created: now, LastUsed: now,
		IP: c.IP, UserAgent: truncate(c.UserAgent, 256)}
	return NewSession{Tokens: t, Session: sess, Access: ac, Refresh: rc}, nil
}

// ReuseGrace is how long after its rotation a refresh token presented
// again is taken for a refresh racing the one that rotated it (two tabs or
// threads of one app resuming together, a retry whose answer was lost)
// rather than for reuse: within it, the answer is a 409
// refresh_in_progress that leaves the session alone; past it, reuse ends
// the session. Okta's grace period and Auth0's reuse interval are the
// same idea; 30 s covers a slow network's retries while leaving a thief
// who replays a stolen token later no way around reuse detection.
//
// Within the grace the loser gets no tokens: answering it the successor's
// again would mean keeping them (or what derives them) readable by the
// server, and would hand a live successor to whoever replays the old
// token within the grace, a thief included, without tripping reuse
// detection. A 409 gives nothing to anyone and ends nothing: only the
// winner holds the session's one live refresh token.
const ReuseGrace = 30 * time.Second

// Refresh exchanges a refresh token for new tokens. The old refresh token
// stops working; presenting it again within ReuseGrace answers a 409
// refresh_in_progress, later it ends the whole session. When a step
// of Next became due since the session opened, the session ends and the
// answer is that step's challenge instead. Only the client the token was
// issued to refreshes it: client is the OpenID Connect client presenting
// it, empty for the JSON API (store.Credential.OIDCClient); any other
// answers invalid_token and leaves the session alone.
func (s *Service) Refresh(ctx context.Context, refreshToken, client string) (any, error) {
	now := s.now()
	_, hash, ok := token.Parse(refreshToken, token.Refresh)
	if !ok {
		return nil, invalidToken()
	}
	old, err := s.store.GetCredential(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidToken()
	}
	if err != nil {
		return nil, err
	}
	if old.Kind != store.RefreshToken || !old.Valid(now) || old.OIDCClient != client {
		return nil, invalidToken()
	}
	if old.Rotated != 0 {
		if now.Before(time.Unix(old.Rotated, 0).Add(ReuseGrace)) {
			return nil, s.inProgress(ctx, old.Session)
		}
		if err := s.end(ctx, old.Session); err != nil {
			return nil, err
		}
		return nil, problem.Unauthorized("token_reused",
			"This refresh token was already used; the session has been ended.")
	}
	uc, err := s.store.UserContextOf(ctx, old.Org, old.User)
	if err == nil && (!uc.Found || uc.User.Status != store.Active) {
		if err := s.end(ctx, old.Session); err != nil {
			return nil, err
		}
		return nil, invalidToken()
	}
	if err != nil {
		return nil, err
	}
	u := uc.User
	if kind := dueFor(old, uc); kind != "" {
		// A step became due since the session opened (the organization
		// now requires two-step verification of the role, the account a
		// new password): the session ends, and only the step opens a new
		// one.
		if err := s.end(ctx, old.Session); err != nil {
			return nil, err
		}
		return s.challenge(ctx, u, kind)
	}
	for attempt := 1; ; attempt++ {
		g, err := s.grant(ctx, u)
		if err != nil {
			return nil, err
		}
		t, ac, rc, err := s.credentials(ctx, u, g, old.Session, issuedTo(old), now)
		if err != nil {
			return nil, err
		}
		rc.Verified, rc.OIDCClient = old.Verified, old.OIDCClient
		err = s.store.RotateSession(ctx, old, ac, rc, now)
		switch {
		case err == nil:
			return t, nil
		case store.Lost(err, store.TokenRotated):
			// Another request rotated this token first (or the session
			// ended): it won; this one gets nothing.
			return nil, s.inProgress(ctx, old.Session)
		case store.Lost(err, store.RoleChanged) && attempt < roleRetries:
			continue // the role changed since it was read: read it again
		case store.Lost(err, store.RoleChanged), store.Lost(err, store.UserChanged):
			return nil, roleChanged()
		case errors.Is(err, store.ErrConflict):
			return nil, invalidToken()
		}
		return nil, err
	}
}

// issuedTo is the OpenID Connect client and scopes a refresh token's
// successors are issued to: its own, but for the browser's session (whose
// access tokens are the JSON API's).
func issuedTo(rt store.Credential) Client {
	if rt.OIDCClient == BrowserClient {
		return Client{}
	}
	return Client{OIDCClient: rt.OIDCClient, OIDCScopes: rt.OIDCScopes, Limited: rt.Limited}
}

// inProgress answers a refresh that lost to another refresh of its token
// (see ReuseGrace): a 409 while the session lives, else invalid_token.
func (s *Service) inProgress(ctx context.Context, id string) error {
	_, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return invalidToken()
	}
	if err != nil {
		return err
	}
	return problem.Conflict("refresh_in_progress",
		"Another refresh of this token is under way or has just succeeded: use the tokens it returned. "+
			"This token presented again later ends the session.")
}

// Logout ends the session the access token belongs to.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	return s.end(ctx, sessionID)
}

// LogoutCaller ends the caller's session. An API key has none: it is
// revoked instead.
func (s *Service) LogoutCaller(ctx context.Context, p principal.Principal) error {
	if p.Credential != principal.Session {
		return problem.BadRequest("not_a_session", "Only a session can log out; revoke API keys instead.")
	}
	return s.Logout(ctx, p.CredentialID)
}

// end deletes a session; one already gone is not an error.
func (s *Service) end(ctx context.Context, id string) error {
	err := s.store.DeleteSession(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func invalidToken() *problem.Problem {
	return problem.Unauthorized("invalid_token", "The token is unknown, expired or revoked.")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
