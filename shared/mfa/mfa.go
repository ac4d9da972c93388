package mfa

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/guichet/guichet/shared/lockout"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Config is the rate limit on wrong codes: MaxFailures wrong codes of a
// user within Window lock its codes until the window ends.
type Config struct {
	MaxFailures int
	Window      time.Duration
}

// DefaultConfig is five wrong codes per fifteen minutes.
func DefaultConfig() Config { return Config{MaxFailures: 5, Window: 15 * time.Minute} }

// Service applies the two-step verification rules.
type Service struct {
	store  *store.Store
	sealer *Sealer // nil when no key is configured: every MFA action fails
	lock   *lockout.Limiter
	cfg    Config
	now    func() time.Time
}

// New returns a service sealing secrets with key (nil: MFA unavailable,
// reported as an internal error on use).
func New(s *store.Store, key []byte, cfg Config, now func() time.Time) *Service {
	svc := &Service{store: s, lock: lockout.New(s, now), cfg: cfg, now: now}
	if key != nil {
		svc.sealer, _ = NewSealer(key) // config checks the size; a bad key leaves MFA unavailable
	}
	return svc
}

var errNoKey = errors.New("mfa: no encryption key configured (MFA_ENCRYPTION_KEY)")

// CounterKey names the counter of wrong codes of a person (its id), or of
// a user without a person: the secret is the person's, so a person of two
// organizations gets the tries of one.
func CounterKey(subject string) string { return "mfa#" + subject }

// Errors of a code check; callers turn them into problems with CodeProblem.
var (
	ErrInvalidCode = errors.New("mfa: invalid code")
	ErrCodeUsed    = errors.New("mfa: code already used")
)

// CodeProblem is the problem of a code check's error: 403 for a wrong or
// used code, at login as for a signed-in user. The credential that reached
// the route (a challenge token, a session) is valid: 401 would tell the
// client to authenticate again, when it only has to type the code again.
// Other errors are returned as they are.
func CodeProblem(err error) error {
	switch {
	case errors.Is(err, ErrInvalidCode):
		return problem.New(http.StatusForbidden, "invalid_code", "The code is wrong.")
	case errors.Is(err, ErrCodeUsed):
		return problem.New(http.StatusForbidden, "code_used", "This code was used already; wait for the next one.")
	}
	return err
}

// Attempt counts one code attempt of u before the code is checked, on
// the counter of its person (u.Subject()): one for all its memberships.
// Past the limit, the answer is 429 too_many_codes until the window ends.
// Release the reservation after a right code.
func (s *Service) Attempt(ctx context.Context, u store.User) (lockout.Reservation, error) {
	// The policy does not slow attempts down: the counter as read is not
	// needed, the conditional write decides.
	r, err := s.lock.Reserve(ctx, lockout.Policy{Max: s.cfg.MaxFailures, Window: s.cfg.Window}, CounterKey(u.Subject()), "", store.Failures{})
	if l, ok := lockout.IsLocked(err); ok {
		return r, problem.TooManyRequests("too_many_codes", "Too many wrong codes: try again later.", l.Seconds())
	}
	return r, err
}

// Proof is a code found right: what the transaction using it must record
// so that it works once. Exactly one field is set.
type Proof struct {
	// Step is the TOTP time step to record on the user.
	Step *store.StepUse
	// Recovery is the hash of the recovery code to delete.
	Recovery string
}

// Apply adds the proof to a write. When the write changes the user, the
// step goes into the new user (its version guards the race) instead.
func (p Proof) Apply(w *store.MFAWrite) {
	switch {
	case p.Recovery != "":
		w.UseCode = p.Recovery
	case w.Change != nil && w.Change.New != nil:
		// The user's version guards the race; a user turning verification
		// off keeps no step.
		if w.Change.New.MFAEnabled() {
			w.Change.New.MFAStep = p.Step.Step
		}
	default:
		w.Step = p.Step
	}
}

// Check checks a code (TOTP or recovery) of u, whose two-step verification
// is on. It writes nothing: the caller records the proof in its
// transaction, having counted the attempt with Attempt.
func (s *Service) Check(u store.User, code string) (Proof, error) {
	if s.sealer == nil {
		return Proof{}, errNoKey
	}
	switch {
	case IsTOTP(code):
		secret, err := s.sealer.Open(u.Subject(), u.MFASecret)
		if err != nil {
			return Proof{}, err
		}
		step, ok := Match(secret, code, s.now())
		if !ok {
			return Proof{}, ErrInvalidCode
		}
		if step <= u.MFAStep {
			return Proof{}, ErrCodeUsed
		}
		return Proof{Step: &store.StepUse{Org: u.Org, User: u.ID, Person: u.Person, Secret: u.MFASecret, Step: step}}, nil
	case IsRecovery(code):
		// Whether the code exists is the transaction's condition.
		return Proof{Recovery: RecoveryHash(u.Subject(), code)}, nil
	}
	return Proof{}, ErrInvalidCode
}

// Lost is the error of a write whose proof lost its condition: the code
// was used meanwhile (by a concurrent request) or never existed.
func Lost(err error, p Proof) error {
	if !store.Lost(err, store.CodeUsed) {
		return err
	}
	if p.Recovery != "" {
		return ErrInvalidCode
	}
	return ErrCodeUsed
}

// Start makes a new authenticator secret for u and keeps it, sealed, as
// u's pending enrollment (replacing any earlier one), with the audit event
// a. It refuses users who have two-step verification on already.
func (s *Service) Start(ctx context.Context, u store.User, a store.Audit) (Setup, error) {
	if s.sealer == nil {
		return Setup{}, errNoKey
	}
	if err := Eligible(u); err != nil {
		return Setup{}, err
	}
	if u.MFAEnabled() {
		return Setup{}, problem.Conflict("mfa_enabled", "Two-step verification is on already; turn it off first to enroll another authenticator.")
	}
	setup, err := NewSetup(Account(u))
	if err != nil {
		return Setup{}, err
	}
	next := u
	if next.MFAPending, err = s.sealer.Seal(u.Subject(), setup.Secret); err != nil {
		return Setup{}, err
	}
	next.Updated = s.now().UTC()
	a.Action, a.Target, a.Fields = "user.mfa_enrollment_start", "user:"+u.ID, []string{"mfa"}
	if err := s.store.ChangeUser(ctx, store.UserChange{Old: u, New: &next, Audit: a}); err != nil {
		return Setup{}, err
	}
	return setup, nil
}

// Eligible refuses users who cannot have two-step verification: service
// users log in with their code and password from software.
func Eligible(u store.User) error {
	if u.Kind != store.Person {
		return problem.New(http.StatusUnprocessableEntity, "not_a_person", "Service users do not use two-step verification.")
	}
	return nil
}

// Account is how authenticator apps name u's entry: its login name.
func Account(u store.User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Username != "":
		return u.OrgCode + "/" + u.Username
	}
	return u.ID
}

// Confirm turns two-step verification on for u with the code of its
// pending enrollment, and returns the recovery codes (shown once). The
// write w carries what else the transaction does (a challenge to consume,
// a session to open); Confirm adds the user's change with the audit event
// a. Wrong codes count on u's person (Attempt).
func (s *Service) Confirm(ctx context.Context, u store.User, code string, a store.Audit, w store.MFAWrite) ([]string, error) {
	if s.sealer == nil {
		return nil, errNoKey
	}
	if u.MFAEnabled() {
		return nil, problem.Conflict("mfa_enabled", "Two-step verification is on already.")
	}
	if u.MFAPending == "" {
		return nil, problem.Conflict("no_enrollment", "Start an enrollment first (POST /v1/me/mfa/totp).")
	}
	secret, err := s.sealer.Open(u.Subject(), u.MFAPending)
	if err != nil {
		return nil, err
	}
	attempt, err := s.Attempt(ctx, u)
	if err != nil {
		return nil, err
	}
	step, ok := Match(secret, code, s.now())
	if !IsTOTP(code) || !ok {
		return nil, ErrInvalidCode
	}
	codes, err := NewRecoveryCodes(RecoveryCodes)
	if err != nil {
		return nil, err
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = RecoveryHash(u.Subject(), c)
	}
	now := s.now().UTC()
	next := u
	next.MFASecret, next.MFAPending, next.MFAStep, next.MFASince = u.MFAPending, "", step, &now
	next.MFACodes, next.Updated = hashes, now
	a.Action, a.Target, a.Fields = "user.mfa_enable", "user:"+u.ID, []string{"mfa"}
	w.Change = &store.UserChange{Old: u, New: &next, Audit: a}
	w.AddCodes, w.AddFor, w.DropCodes = hashes, u, u.MFACodes
	if err := s.store.WriteMFA(ctx, w); err != nil {
		return nil, err
	}
	_ = attempt.Release(ctx) // the window ends anyway
	return codes, nil
}

// Off returns u without two-step verification, and the write deleting its
// recovery codes; the caller adds the proof of a code and writes it.
func Off(u store.User, now time.Time, a store.Audit) store.MFAWrite {
	next := u
	next.MFA = store.MFA{}
	next.Updated = now.UTC()
	a.Action, a.Target, a.Fields = "user.mfa_disable", "user:"+u.ID, []string{"mfa"}
	return store.MFAWrite{Change: &store.UserChange{Old: u, New: &next, Audit: a}, DropCodes: u.MFACodes}
}

// Required reports whether org requires two-step verification of u's role.
func Required(org store.Org, u store.User) bool {
	for _, r := range org.MFARequiredFor {
		if r == u.Role {
			return u.Kind == store.Person
		}
	}
	return false
}
