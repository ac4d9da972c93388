// Package mail sends transactional email through Amazon SES v2.
//
// A [Sender] wraps an SES v2 client together with the sender address and
// optional configuration set. Locally and in tests the client is pointed at
// an in-process stand-in (see package outbox) through its BaseEndpoint.
package mail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// ErrNotConfigured is returned by [Sender.Send] when the sender has no SES
// client or no From address. Nothing is sent in that case.
var ErrNotConfigured = errors.New("mail: sender not configured")

// charset is the character set declared for every part of a message.
const charset = "UTF-8"

// Message is one email to send. Text and HTML are alternative bodies of the
// same message; at least one of them must be non-empty.
type Message struct {
	To      string // recipient address
	Subject string
	Text    string // plain-text body
	HTML    string // HTML body
}

// Sender sends [Message] values through SES v2. The zero value and a nil
// *Sender are valid and report themselves as not configured.
type Sender struct {
	client           *sesv2.Client
	from             string
	configurationSet string
}

// New returns a Sender that sends through client from the address from.
// When configurationSet is non-empty it is attached to every message.
func New(client *sesv2.Client, from, configurationSet string) *Sender {
	return &Sender{client: client, from: from, configurationSet: configurationSet}
}

// Configured reports whether s can send mail: it has an SES client and a
// From address.
func (s *Sender) Configured() bool {
	return s != nil && s.client != nil && s.from != ""
}

// Send sends m with a single SES v2 SendEmail call using simple content.
// It returns [ErrNotConfigured] without sending anything when s is not
// configured.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if !s.Configured() {
		return ErrNotConfigured
	}
	if m.To == "" {
		return errors.New("mail: send: message has no recipient")
	}
	if m.Text == "" && m.HTML == "" {
		return fmt.Errorf("mail: send to %s: message has no body", m.To)
	}

	body := &types.Body{}
	if m.Text != "" {
		body.Text = &types.Content{Data: aws.String(m.Text), Charset: aws.String(charset)}
	}
	if m.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.HTML), Charset: aws.String(charset)}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{
			Simple: &types.Message{
				Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String(charset)},
				Body:    body,
			},
		},
	}
	if s.configurationSet != "" {
		in.ConfigurationSetName = aws.String(s.configurationSet)
	}
	if _, err := s.client.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("mail: send to %s: %w", m.To, err)
	}
	return nil
}
