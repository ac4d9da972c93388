package session

import (
	"context"
	"slices"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/store"
)

// loginStep is one thing a person may have to do before a session opens: a
// challenge kind and whether it is due for a user of an organization.
type loginStep struct {
	kind string
	due  func(u store.User, o store.Org) bool
}

// steps are asked in this order, each answered before the next is asked:
// the code mailed to an unproved address (an imported person's first
// login), the code of two-step verification (the person proves who they
// are before anything of the account changes), a password change the account
// requires, the enrollment of an authenticator the organization requires
// of the person's role. Adding a step is adding an entry.
func steps() []loginStep {
	return []loginStep{
		{store.EmailProofChallenge, func(u store.User, _ store.Org) bool { return u.Unproved }},
		{store.MFAChallenge, func(u store.User, _ store.Org) bool { return u.MFAEnabled() }},
		{store.PasswordChallenge, func(u store.User, _ store.Org) bool { return u.RequirePasswordChange }},
		{store.MFAEnrollmentChallenge, func(u store.User, o store.Org) bool { return mfa.Required(o, u) && !u.MFAEnabled() }},
	}
}

// Opening is what a path that opens a session answers: tokens, or the
// challenge of the next step; and the item to write with the path's own
// change (the session and its tokens, or the challenge).
type Opening struct {
	Answer any // Tokens or Challenge
	Next   store.Next
	Tokens *Tokens // the tokens, when the session opens
	// proof is the code to mail once an email_proof challenge is written.
	proof *proofMail
}

// Next is the one way a session opens: it returns the challenge of the
// first step due for u (of organization o) after the step just answered
// (after; "" when none was), or, when none is due, a new session from
// client c. Login, its steps, an accepted invitation and a refresh all
// come here, so that none skips a step.
func (s *Service) Next(ctx context.Context, u store.User, o store.Org, c Client, after string) (Opening, error) {
	if kind := due(u, o, after); kind != "" {
		ch, cred, err := s.newChallenge(u, kind)
		if err != nil {
			return Opening{}, err
		}
		op := Opening{Answer: ch, Next: store.Next{Challenge: &cred}}
		if kind == store.EmailProofChallenge {
			if op.proof, err = newProof(u, o, ch, &cred); err != nil {
				return Opening{}, err
			}
		}
		return op, nil
	}
	n, err := s.Prepare(ctx, u, c)
	if err != nil {
		return Opening{}, err
	}
	// The session proved a code when the code step is behind it: answered,
	// or made moot by the enrollment just confirmed.
	n.Refresh.Verified = passed(store.MFAChallenge, after) && (u.MFAEnabled() || after == store.MFAEnrollmentChallenge)
	return Opening{Answer: n.Tokens, Tokens: &n.Tokens,
		Next: store.Next{Session: &n.Session, Access: n.Access, Refresh: n.Refresh}}, nil
}

// dueFor returns the step that became due for the session of refresh
// credential rt since it opened, or "": a session that proved no code
// goes on unless the organization requires two-step verification of the
// role.
func dueFor(rt store.Credential, uc store.UserContext) string {
	after := ""
	if rt.Verified || !mfa.Required(uc.Org, uc.User) {
		after = store.MFAChallenge
	}
	return due(uc.User, uc.Org, after)
}

// due returns the first step due for u after the step after ("" for
// none), or "". Service users take none: software logs them in.
func due(u store.User, o store.Org, after string) string {
	if u.Kind == store.Service {
		return ""
	}
	all := steps()
	from := slices.IndexFunc(all, func(st loginStep) bool { return st.kind == after }) + 1
	for _, st := range all[from:] {
		if st.due(u, o) {
			return st.kind
		}
	}
	return ""
}

// passed reports whether step kind is behind once step after is answered.
func passed(kind, after string) bool {
	all := steps()
	at := slices.IndexFunc(all, func(st loginStep) bool { return st.kind == after })
	return at >= 0 && slices.IndexFunc(all, func(st loginStep) bool { return st.kind == kind }) <= at
}

// open opens a session of u (or asks for the step due after after) and
// writes it on its own, making it again when u's role changed between
// its read and the write.
func (s *Service) open(ctx context.Context, u store.User, o store.Org, c Client, after string) (Opening, error) {
	for attempt := 1; ; attempt++ {
		op, err := s.Next(ctx, u, o, c, after)
		if err != nil {
			return Opening{}, err
		}
		err = s.write(ctx, op)
		switch {
		case err == nil:
			return op, nil
		case store.Lost(err, store.RoleChanged) && attempt < roleRetries:
			continue
		case store.Lost(err, store.RoleChanged):
			return Opening{}, roleChanged()
		}
		return Opening{}, err
	}
}

// write writes an opening on its own: the challenge, or the session.
func (s *Service) write(ctx context.Context, o Opening) error {
	if o.Next.Challenge != nil {
		err := s.store.PutCredential(ctx, *o.Next.Challenge)
		if store.Lost(err, store.UserChanged) {
			return roleChanged() // deactivated since it was read
		}
		if err != nil {
			return err
		}
		if o.proof != nil {
			s.mailProof(ctx, *o.proof)
		}
		return nil
	}
	err := s.store.CreateSession(ctx, *o.Next.Session, o.Next.Access, o.Next.Refresh)
	if store.Lost(err, store.UserChanged) {
		// Deactivated, or given another role, since it was read.
		return roleChanged()
	}
	return err
}
