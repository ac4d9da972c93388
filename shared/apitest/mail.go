package apitest

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/outbox"
)

// LastMail is the newest message to an address (compared without regard
// to case); it fails t when there is none.
func (e *Env) LastMail(t testing.TB, to string) outbox.Message {
	t.Helper()
	for _, m := range e.Outbox.Messages() {
		if strings.EqualFold(m.To[0], to) {
			return m
		}
	}
	t.Fatalf("no mail to %s", to)
	return outbox.Message{}
}

// MailsTo counts the messages sent to an address (compared without regard
// to case).
func (e *Env) MailsTo(to string) int {
	n := 0
	for _, m := range e.Outbox.Messages() {
		if strings.EqualFold(m.To[0], to) {
			n++
		}
	}
	return n
}
