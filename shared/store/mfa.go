package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Credential kinds of login challenges about two-step verification.
const (
	// MFAChallenge asks a user with two-step verification for a code.
	MFAChallenge = "mfa"
	// MFAEnrollmentChallenge asks a user whose role requires two-step
	// verification to enroll an authenticator before getting a session.
	MFAEnrollmentChallenge = "mfa_enrollment"
	// EmailChangeToken is the token of an e-mail change link.
	EmailChangeToken = "email_change"
)

// MFA is a user's two-step verification (TOTP, RFC 6238), kept on the
// user item in flat attributes so that conditions can name them.
type MFA struct {
	// MFASecret is the enabled authenticator's secret, sealed by the mfa
	// package (AES-256-GCM); empty when two-step verification is off.
	MFASecret string `dynamodbav:"mfa_secret,omitempty"`
	// MFAStep is the last TOTP time step accepted: a code of that step or
	// an earlier one is refused, so that a code works once.
	MFAStep  int64      `dynamodbav:"mfa_step,omitempty"`
	MFASince *time.Time `dynamodbav:"mfa_since,omitempty"`
	// MFAPending is the sealed secret of an enrollment not confirmed yet.
	MFAPending string `dynamodbav:"mfa_pending,omitempty"`
	// MFACodes are the hashes of the recovery codes issued, so that
	// turning verification off deletes the unused ones without a read.
	// Each unused code is its own item (recoveryKey), deleted when used.
	MFACodes Perms `dynamodbav:"mfa_codes,omitempty"`
}

// MFAEnabled reports whether two-step verification is on.
func (m MFA) MFAEnabled() bool { return m.MFASecret != "" }

// recoveryCode is an unused recovery code: it exists until it is used.
// Its key is the code's hash, salted with its user (mfa.RecoveryHash).
type recoveryCode struct {
	key
	Org  string `dynamodbav:"org"`
	User string `dynamodbav:"user"`
}

func recoveryKey(hash string) key { return key{"MFARC#" + hash, "MFARC"} }

// StepUse records the TOTP time step a code used, on the condition that it
// is later than the last one recorded and that the secret is still Secret.
type StepUse struct {
	Org, User, Secret string
	// Person is the user's person, if any: the step is recorded on the
	// person too, on the condition that it is later than the person's, so
	// that a code used in one organization is refused in the others.
	Person string
	Step   int64
}

// Next is what answering a challenge opens: a session, or a further
// challenge (a password change after the code, an enrollment after a
// password change).
type Next struct {
	Session         *Session
	Access, Refresh Credential
	Challenge       *Credential
}

func (t *tx) next(n Next) *tx {
	switch {
	case n.Session != nil:
		t.session(*n.Session, n.Access, n.Refresh)
	case n.Challenge != nil:
		t.put(IDTaken, *n.Challenge)
	}
	return t
}

// MFAWrite is one transaction of two-step verification: answering a
// challenge with a code, enabling or turning off.
type MFAWrite struct {
	// Challenge is the hash of a challenge to delete, on the condition that
	// it exists ("" for none).
	Challenge string
	// Change is a change of the user (version-conditioned) with its audit
	// event.
	Change *UserChange
	// Step records the time step of a TOTP code (when Change is nil).
	Step *StepUse
	// UseCode is the hash of a recovery code to delete, on the condition
	// that it exists: a recovery code works once.
	UseCode string
	// AddCodes are hashes of recovery codes to create for AddFor.
	AddCodes []string
	AddFor   User
	// DropCodes are hashes of recovery codes to delete, used or not.
	DropCodes []string
	Next      Next
}

// WriteMFA runs w as one transaction. A lost condition is a Conflict on
// ChallengeGone, CodeUsed, or VersionChanged (the user changed meanwhile).
func (s *Store) WriteMFA(ctx context.Context, w MFAWrite) error {
	t := s.tx()
	if w.Challenge != "" {
		t.add(ChallengeGone, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
			Key: credKey(w.Challenge).av(), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	if w.UseCode != "" {
		t.add(CodeUsed, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
			Key: recoveryKey(w.UseCode).av(), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	if w.Step != nil {
		t.add(CodeUsed, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: userKey(w.Step.Org, w.Step.User).av(),
			// The user must still be active: the session the code opens is
			// written in this transaction, which may hold no other item of
			// the user's.
			ConditionExpression: aws.String("mfa_secret = :sec AND mfa_step < :step AND #st = :active"),
			// The version moves too, so that a change of the user made from
			// an older read cannot put an older step back.
			UpdateExpression:         aws.String("SET mfa_step = :step, version = version + :one"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":sec": str(w.Step.Secret), ":step": num(w.Step.Step), ":one": num(1), ":active": str(Active),
			},
		}})
	}
	if w.Step != nil && w.Step.Person != "" {
		t.add(CodeUsed, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: personKey(w.Step.Person).av(),
			ConditionExpression: aws.String("mfa_secret = :sec AND (attribute_not_exists(mfa_step) OR mfa_step < :step)"),
			UpdateExpression:    aws.String("SET mfa_step = :step, version = version + :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":sec": str(w.Step.Secret), ":step": num(w.Step.Step), ":one": num(1),
			},
		}})
	}
	rest := s.tx()
	if w.Change != nil {
		if err := s.preparePerson(ctx, w.Change); err != nil {
			return fmt.Errorf("write mfa: %w", err)
		}
		var first *tx
		first, rest = s.changeItems(*w.Change)
		t.join(first)
	}
	for _, h := range w.AddCodes {
		t.set(recoveryCode{recoveryKey(h), w.AddFor.Org, w.AddFor.ID})
	}
	for _, h := range w.DropCodes {
		if h != w.UseCode && !slices.Contains(w.AddCodes, h) {
			t.del(recoveryKey(h))
		}
	}
	if w.Step == nil && w.Change == nil {
		// Nothing else of the user's in the transaction (a recovery code
		// answering a challenge): what it opens needs its user active.
		switch {
		case w.Next.Session != nil:
			t.add(UserChanged, s.activeUser(w.Next.Access.Org, w.Next.Access.User, w.Next.Access.Role))
		case w.Next.Challenge != nil:
			t.add(UserChanged, s.userIn(w.Next.Challenge.Org, w.Next.Challenge.User, Active))
		}
	}
	if err := s.commit(ctx, t.next(w.Next), rest); err != nil {
		return fmt.Errorf("write mfa: %w", err)
	}
	return nil
}
