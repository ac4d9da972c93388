package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/store"
)

// maxClaims is the most organizations' claims on one unproved address a
// login tries the password against.
const maxClaims = 3

// claims returns the claims on an unproved e-mail address (never on a
// username login, which has no claims).
func (s *Service) claims(ctx context.Context, lk string) ([]store.LoginGuard, error) {
	if strings.Contains(lk, "#") {
		return nil, nil
	}
	return s.store.Claims(ctx, lk, maxClaims)
}

// codeHash is what an email_proof challenge stores of its code: bound to
// the challenge's secret, which is not stored, so that the table alone
// does not give the code away.
func codeHash(challengeToken, code string) string {
	h := sha256.Sum256([]byte(challengeToken + ":" + code))
	return hex.EncodeToString(h[:])
}

// proofMail is the code of an email_proof challenge, to mail to the
// address once the challenge is written.
type proofMail struct {
	user store.User
	org  store.Org
	code string
}

// newProof draws the 6-digit code of an email_proof challenge ch and binds
// its hash to the challenge's credential, so the table alone does not give
// the code away.
func newProof(u store.User, o store.Org, ch Challenge, cred *store.Credential) (*proofMail, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return nil, fmt.Errorf("email proof code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	cred.Ref = codeHash(ch.ChallengeToken, code)
	return &proofMail{user: u, org: o, code: code}, nil
}

// mailProof mails the code of an email_proof challenge to the address,
// within the address's mail limits (past them, silently not: the login
// lockout bounds how often a right password gets here, and the answer must
// not differ).
func (s *Service) mailProof(ctx context.Context, m proofMail) {
	if !ratelimit.NewMails(s.store, s.now).Quietly(ctx, ratelimit.Mail{Org: m.user.Org, User: m.user.ID, To: m.user.Email}) {
		return
	}
	s.mail.Notify(ctx, mail.EmailProof, m.user.Language, m.user.Email, mail.Data{
		Org: m.org.Name, Name: strings.TrimSpace(m.user.FirstName + " " + m.user.LastName), Code: m.code,
		Expires: s.now().Add(challengeTTL).UTC().Format("2006-01-02 15:04 UTC")})
}

// ProveEmail answers an email_proof challenge with the code mailed to the
// address: the address becomes the user's login (its claim swapped for
// the login guard, the challenge consumed, in one transaction), then the
// next step is asked or the session opened. Wrong codes count as wrong
// two-step codes. An address another account proved first is 409
// email_taken, told to whoever holds the mailbox.
func (s *Service) ProveEmail(ctx context.Context, challengeToken, code string, c Client) (any, error) {
	ch, uc, err := s.answer(ctx, challengeToken, store.EmailProofChallenge)
	if err != nil {
		return nil, err
	}
	u := uc.User
	if !u.Unproved || ch.Used != 0 {
		return nil, invalidToken()
	}
	attempt, err := s.mfa.Attempt(ctx, u)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(codeHash(challengeToken, code)), []byte(ch.Ref)) != 1 {
		return nil, mfa.CodeProblem(mfa.ErrInvalidCode)
	}
	now := s.now()
	next := u
	next.Unproved, next.Updated = false, now.UTC()
	err = s.store.ChangeUser(ctx, store.UserChange{Old: u, New: &next, Consume: ch.Hash(), At: now,
		Audit: store.Audit{Org: u.Org, Time: now, Actor: u.ID, Via: "challenge", Action: "user.email_proved",
			Target: "user:" + u.ID, Fields: []string{"email_proved"}}})
	switch {
	case store.Lost(err, store.LoginTaken):
		return nil, problem.Conflict("email_taken", "Your address is already the login of another account: sign in with it, or reset its password.")
	case store.Lost(err, store.LinkUsed), store.Lost(err, store.VersionChanged):
		return nil, invalidToken()
	case err != nil:
		return nil, err
	}
	_ = attempt.Release(ctx) // the window ends anyway
	next.Version++
	op, err := s.open(ctx, next, uc.Org, c, store.EmailProofChallenge)
	if err != nil {
		return nil, err
	}
	return op.Answer, nil
}
