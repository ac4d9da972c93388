// Package outbox is an in-process stand-in for the Amazon SES v2 SendEmail
// HTTP endpoint.
//
// An [Outbox] is an [http.Handler] that understands the REST-JSON request the
// real aws-sdk-go-v2 sesv2 client sends for SendEmail. Point the client at it
// with sesv2.Options.BaseEndpoint and every sent message is captured in
// memory, where tests can read it with [Outbox.Messages] and developers can
// browse it through [Outbox.ListHandler].
package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// sendEmailPath is the REST path of the SES v2 SendEmail operation.
const sendEmailPath = "/v2/email/outbound-emails"

// maxRequestBytes bounds the size of a SendEmail request body. SES itself
// rejects messages larger than 40 MB.
const maxRequestBytes = 40 << 20

// Message is one captured email.
type Message struct {
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	Links   []string  `json:"links"` // http(s) URLs in Text, then in HTML href attributes, deduplicated
	SentAt  time.Time `json:"sent_at"`
}

// Outbox captures messages sent to it through the SES v2 SendEmail API.
// The zero value is not usable; create one with [New]. An Outbox is safe for
// concurrent use.
type Outbox struct {
	mu       sync.Mutex
	messages []Message // oldest first
	fail     bool
}

// New returns an empty Outbox.
func New() *Outbox {
	return &Outbox{}
}

// Fail switches failure mode on or off. While it is on, SendEmail requests
// are answered with HTTP 500 and the error type InternalFailure, and nothing
// is captured. The SDK's retryer may retry such answers; callers that want a
// single attempt configure their client accordingly.
func (o *Outbox) Fail(err bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fail = err
}

// Messages returns a copy of the captured messages, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.messages))
	for i, m := range o.messages {
		m.To = slices.Clone(m.To)
		m.Links = slices.Clone(m.Links)
		out[len(out)-1-i] = m
	}
	return out
}

// Reset discards every captured message. It does not change failure mode.
func (o *Outbox) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.messages = nil
}

// sendEmailRequest is the part of the SES v2 SendEmail request body the
// outbox reads.
type sendEmailRequest struct {
	FromEmailAddress string
	Destination      *struct {
		ToAddresses  []string
		CcAddresses  []string
		BccAddresses []string
	}
	Content *struct {
		Simple *struct {
			Subject *content
			Body    *struct {
				Text *content
				Html *content
			}
		}
	}
}

type content struct {
	Data    string
	Charset string
}

func (c *content) data() string {
	if c == nil {
		return ""
	}
	return c.Data
}

// ServeHTTP implements the SES v2 SendEmail operation
// (POST /v2/email/outbound-emails). Only simple content is supported. Any
// other request is answered with a NotFoundException in the AWS JSON error
// shape.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != sendEmailPath || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "NotFoundException",
			fmt.Sprintf("outbox: no operation for %s %s", r.Method, r.URL.Path))
		return
	}
	o.mu.Lock()
	fail := o.fail
	o.mu.Unlock()
	if fail {
		writeError(w, http.StatusInternalServerError, "InternalFailure", "outbox: failure mode is on")
		return
	}

	var req sendEmailRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "outbox: decode SendEmail request: "+err.Error())
		return
	}
	m, err := req.message()
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "outbox: "+err.Error())
		return
	}
	id, err := messageID()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", "outbox: "+err.Error())
		return
	}

	o.mu.Lock()
	m.SentAt = time.Now().UTC()
	o.messages = append(o.messages, m)
	o.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", id)
	json.NewEncoder(w).Encode(struct{ MessageId string }{id})
}

// message validates req and converts it to a Message without SentAt.
func (req *sendEmailRequest) message() (Message, error) {
	if req.FromEmailAddress == "" {
		return Message{}, errors.New("SendEmail: FromEmailAddress is required")
	}
	if req.Destination == nil || len(req.Destination.ToAddresses) == 0 {
		return Message{}, errors.New("SendEmail: Destination.ToAddresses is required")
	}
	if req.Content == nil || req.Content.Simple == nil {
		return Message{}, errors.New("SendEmail: only Content.Simple is supported")
	}
	s := req.Content.Simple
	m := Message{
		To:      slices.Clone(req.Destination.ToAddresses),
		Subject: s.Subject.data(),
	}
	if s.Body != nil {
		m.Text = s.Body.Text.data()
		m.HTML = s.Body.Html.data()
	}
	if m.Text == "" && m.HTML == "" {
		return Message{}, errors.New("SendEmail: Content.Simple.Body needs Text or Html")
	}
	m.Links = links(m.Text, m.HTML)
	return m, nil
}

// writeError writes an error in the shape of the AWS REST-JSON protocol,
// which the SDK decodes into an API error with the given code.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{message})
}

// messageID returns a random message identifier.
func messageID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate message id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

var (
	// textURL matches an http(s) URL in plain text.
	textURL = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"']+`)
	// hrefAttr matches an href attribute with a double-quoted, single-quoted
	// or unquoted value.
	hrefAttr = regexp.MustCompile(`(?i)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// links returns every http(s) URL found in text and in the href attributes
// of htmlBody, deduplicated, in order of appearance (text first).
func links(text, htmlBody string) []string {
	out := []string{}
	seen := make(map[string]bool)
	add := func(u string) {
		lower := strings.ToLower(u)
		if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			return
		}
		if len(u) <= len("https://") || seen[u] {
			return
		}
		seen[u] = true
		out = append(out, u)
	}
	for _, u := range textURL.FindAllString(text, -1) {
		// Punctuation ending a sentence is not part of the URL.
		add(strings.TrimRight(u, ".,;:!?)]}"))
	}
	for _, sub := range hrefAttr.FindAllStringSubmatch(htmlBody, -1) {
		add(strings.TrimSpace(html.UnescapeString(sub[1] + sub[2] + sub[3])))
	}
	return out
}
