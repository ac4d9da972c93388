package passwordreset

import (
	"context"

	"github.com/guichet/guichet/shared/validate"
)

const acceptedMessage = "If this address has an account, a reset link is on its way. It works once, for one hour."

// Ask is POST /v1/password-resets from a client at remoteAddr: a link
// goes to in's address if it has an account, and the answer is the same
// either way.
func (s *Service) Ask(ctx context.Context, in RequestBody, remoteAddr string) (Accepted, error) {
	var v validate.Errors
	email, _ := v.Email("email", in.Email)
	back, msg := s.clients.Back(in.ClientID, in.ReturnTo)
	if msg != "" {
		v.Add("return_to", "%s", msg)
	}
	if err := v.Err(); err != nil {
		return Accepted{}, err
	}
	if err := s.Forgot(ctx, email, remoteAddr, back); err != nil {
		return Accepted{}, err
	}
	return Accepted{Message: acceptedMessage}, nil
}

// CompleteLink is Complete for a client at remoteAddr: an unknown link
// counts against the client's allowance of guesses.
func (s *Service) CompleteLink(ctx context.Context, in CompleteBody, remoteAddr string) error {
	var v validate.Errors
	v.Required("token", in.Token, 128)
	v.Required("password", in.Password, 1024)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.Complete(ctx, in.Token, in.Password, in.RevokeAPIKeys == nil || *in.RevokeAPIKeys); err != nil {
		return s.links.Judge(ctx, remoteAddr, err)
	}
	return nil
}
