// Package mail sends transactional email through Amazon SES v2.
//
// A [Sender] holds an SES v2 client (a signed JSON call, see package
// awscall: the SDK's sesv2 package would cost every function's cold start
// about 1 ms of package initialization) together with the sender address
// and optional configuration set. Locally and in tests the client is
// pointed at an in-process stand-in (see package outbox).
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/guichet/guichet/shared/awscall"
)

// SES returns an SES v2 client with cfg's region, credentials and
// retries, at localEndpoint when it is set.
func SES(cfg aws.Config, localEndpoint string) *awscall.Client {
	return awscall.New(cfg, "ses", "email", localEndpoint)
}

// sendEmailPath is SES v2's SendEmail operation.
const sendEmailPath = "/v2/email/outbound-emails"

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
	client           *awscall.Client
	from             string
	configurationSet string
}

// New returns a Sender that sends through client from the address from.
// When configurationSet is non-empty it is attached to every message.
func New(client *awscall.Client, from, configurationSet string) *Sender {
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

	body := sesBody{}
	if m.Text != "" {
		body.Text = &sesContent{Data: m.Text, Charset: charset}
	}
	if m.HTML != "" {
		body.Html = &sesContent{Data: m.HTML, Charset: charset}
	}
	in := sendEmailInput{FromEmailAddress: s.from, ConfigurationSetName: s.configurationSet}
	in.Destination.ToAddresses = []string{m.To}
	in.Content.Simple.Subject = sesContent{Data: m.Subject, Charset: charset}
	in.Content.Simple.Body = body
	if err := s.client.Call(ctx, http.MethodPost, sendEmailPath, nil, in, nil); err != nil {
		return fmt.Errorf("mail: send to %s: %w", m.To, err)
	}
	return nil
}

// sendEmailInput is the body of SES v2's SendEmail with simple content,
// as the SDK's sesv2 client writes it (a test compares the two).
type sendEmailInput struct {
	ConfigurationSetName string `json:",omitempty"`
	Content              struct {
		Simple struct {
			Body    sesBody
			Subject sesContent
		}
	}
	Destination struct {
		ToAddresses []string
	}
	FromEmailAddress string
}

type sesBody struct {
	Html *sesContent `json:",omitempty"`
	Text *sesContent `json:",omitempty"`
}

type sesContent struct {
	Charset string
	Data    string
}
