package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/guichet/guichet/shared/language"
)

// Kinds of messages, each a template in every language.
const (
	Invitation      = "invitation"
	PasswordReset   = "password_reset"
	EmailChange     = "email_change"
	EmailChanged    = "email_changed"
	PasswordChanged = "password_changed"
	// APIKeyCreated tells a user that a key was made (or rotated) for them.
	APIKeyCreated = "api_key_created"
	// Welcome brings a person an admin created its set-password link.
	Welcome = "welcome"
	// AddressInUse tells an address's holder that someone tried to make it
	// the login of another account.
	AddressInUse = "address_in_use"
	// EmailProof brings the code that proves an address at a first login.
	EmailProof = "email_proof"
	// InvitationAccepted tells an inviter that its invitation was accepted.
	InvitationAccepted = "invitation_accepted"
	// APIKeyExpiring tells a key's owner that the key expires soon.
	APIKeyExpiring = "api_key_expiring"
)

// Kinds returns every kind of message.
func Kinds() []string {
	return []string{Invitation, PasswordReset, EmailChange, EmailChanged, PasswordChanged, APIKeyCreated, Welcome,
		AddressInUse, EmailProof, InvitationAccepted, APIKeyExpiring}
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Data fills a template. Each kind uses some of the fields.
type Data struct {
	Org      string // organization name
	Name     string // recipient's name
	Inviter  string
	Role     string // a role's name, in the recipient's language for a built-in role
	Member   string // the names of a person who joined
	Link     string
	Expires  string // when Link stops working, formatted for the recipient
	When     string // when the event happened
	OldEmail string
	NewEmail string
	Key      string // an API key's name and prefix
	Client   string // an API key's client application
	Code     string // a one-time code
}

// Templates renders messages. It is safe for concurrent use.
type Templates struct {
	mu   sync.Mutex
	lazy bool                              // parse each template when first rendered
	text map[string]*texttemplate.Template // kind.lang → subject and text parts
	html map[string]*htmltemplate.Template // kind.lang → HTML body in the layout
}

const layout = `{{define "layout"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Subject}}</title>
<style>body{font-family:system-ui,sans-serif;color:#1f2933;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
a.button{display:inline-block;background:#0b5cad;color:#fff;padding:.6rem 1.2rem;border-radius:.3rem;text-decoration:none}
.link{word-break:break-all;color:#52606d}.small{font-size:.875rem;color:#52606d}</style></head>
<body>{{template "body" .Data}}</body></html>{{end}}`

// LoadTemplates parses the embedded templates and checks that every kind
// exists in every language.
func LoadTemplates() (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, kind := range Kinds() {
		for _, lang := range language.Supported() {
			name := kind + "." + lang
			tt, ht, err := parse(name)
			if err != nil {
				return nil, err
			}
			t.text[name], t.html[name] = tt, ht
		}
	}
	return t, nil
}

// Embedded returns the embedded templates, each parsed when it is first
// rendered, so that a function's init parses none (parsing them all takes
// about 10 ms). LoadTemplates, which the tests call, checks them all.
func Embedded() *Templates {
	return &Templates{lazy: true, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
}

// parse parses the embedded template name (kind.lang).
func parse(name string) (*texttemplate.Template, *htmltemplate.Template, error) {
	src, err := templateFiles.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return nil, nil, fmt.Errorf("mail: template %s: %w", name, err)
	}
	tt, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, nil, fmt.Errorf("mail: template %s: %w", name, err)
	}
	ht, err := htmltemplate.New(name).Option("missingkey=error").Parse(layout)
	if err == nil {
		_, err = ht.Parse(string(src))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("mail: template %s: %w", name, err)
	}
	return tt, ht, nil
}

// lookup returns template name, parsing it first if t is lazy; ok is
// false when there is no such template.
func (t *Templates) lookup(name string) (*texttemplate.Template, *htmltemplate.Template, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tt, ok := t.text[name]; ok || !t.lazy {
		return tt, t.html[name], ok
	}
	tt, ht, err := parse(name)
	if err != nil {
		return nil, nil, false
	}
	t.text[name], t.html[name] = tt, ht
	return tt, ht, true
}

// Render returns the message of a kind in a language (English when the
// language has no templates) for d.
func (t *Templates) Render(kind, lang, to string, d Data) (Message, error) {
	name := kind + "." + lang
	tt, ht, ok := t.lookup(name)
	if !ok {
		name = kind + ".en"
		if tt, ht, ok = t.lookup(name); !ok {
			return Message{}, fmt.Errorf("mail: no template %s", kind)
		}
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	if err := tt.ExecuteTemplate(&text, "text", d); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	page := struct {
		Lang, Subject string
		Data          Data
	}{lang, strings.TrimSpace(subject.String()), d}
	if err := ht.ExecuteTemplate(&html, "layout", page); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	return Message{To: to, Subject: page.Subject, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// Notifier renders and sends messages. Mail is a convenience, never a
// requirement: a message that cannot be sent is logged and reported, and
// the caller goes on (links are also returned by the API).
type Notifier struct {
	sender    *Sender
	templates *Templates
	log       *slog.Logger
}

// NewNotifier returns a notifier sending through s.
func NewNotifier(s *Sender, t *Templates, log *slog.Logger) *Notifier {
	return &Notifier{sender: s, templates: t, log: log}
}

// Notify renders a message and sends it; it reports whether it was sent.
func (n *Notifier) Notify(ctx context.Context, kind, lang, to string, d Data) bool {
	if n == nil || !n.sender.Configured() {
		return false
	}
	m, err := n.templates.Render(kind, lang, to, d)
	if err == nil {
		err = n.sender.Send(ctx, m)
	}
	if err != nil {
		n.log.WarnContext(ctx, "mail not sent", "kind", kind, "err", err)
		return false
	}
	return true
}
