package mail_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/guichet/guichet/shared/awscall"
	"github.com/guichet/guichet/shared/config"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/outbox"
)

// newOutbox starts an outbox server and returns it with an SES v2 client
// pointed at it.
func newOutbox(t *testing.T) (*outbox.Outbox, *awscall.Client) {
	t.Helper()
	o := outbox.New()
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	cfg, err := config.AWS(context.Background(), srv.URL, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return o, mail.SES(cfg, srv.URL)
}

// TestSenderWritesWhatTheSDKWrites sends the same messages with the SDK's
// sesv2 client and with a Sender: the two requests' bodies are the same
// JSON, to the same path.
func TestSenderWritesWhatTheSDKWrites(t *testing.T) {
	t.Parallel()
	capture := func(t *testing.T) (string, *[]string) {
		var bodies []string
		var mu sync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
			mu.Unlock()
			w.Write([]byte(`{"MessageId":"m"}`))
		}))
		t.Cleanup(srv.Close)
		return srv.URL, &bodies
	}
	for _, c := range []struct {
		name string
		set  string
		m    mail.Message
	}{
		{"text and HTML in a configuration set", "guichet", mail.Message{To: "ana@example.com", Subject: "Bienvenue à Guichet", Text: "Open https://x/a", HTML: `<a href="https://x/a">open</a> & "more"`}},
		{"text only, no configuration set", "", mail.Message{To: "bob@example.com", Subject: "Code", Text: "123456"}},
		{"HTML only", "", mail.Message{To: "cy@example.com", Subject: "Hi", HTML: "<b>hi</b>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, bodies := capture(t)
			sdk := sesv2.New(sesv2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1})
			body := &types.Body{}
			if c.m.Text != "" {
				body.Text = &types.Content{Data: aws.String(c.m.Text), Charset: aws.String("UTF-8")}
			}
			if c.m.HTML != "" {
				body.Html = &types.Content{Data: aws.String(c.m.HTML), Charset: aws.String("UTF-8")}
			}
			in := &sesv2.SendEmailInput{FromEmailAddress: aws.String("noreply@guichet.test"),
				Destination: &types.Destination{ToAddresses: []string{c.m.To}},
				Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String(c.m.Subject), Charset: aws.String("UTF-8")}, Body: body}}}
			if c.set != "" {
				in.ConfigurationSetName = aws.String(c.set)
			}
			if _, err := sdk.SendEmail(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			cfg, _ := config.AWS(context.Background(), url, time.Millisecond)
			if err := mail.New(mail.SES(cfg, url), "noreply@guichet.test", c.set).Send(context.Background(), c.m); err != nil {
				t.Fatal(err)
			}
			if len(*bodies) != 2 || (*bodies)[0] != (*bodies)[1] {
				t.Fatalf("the SDK sent\n%s\na Sender sent\n%s", (*bodies)[0], (*bodies)[len(*bodies)-1])
			}
		})
	}
}

func TestSenderSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		msg       mail.Message
		wantLinks []string
	}{
		{
			name:      "a message with text and html arrives with both parts",
			msg:       mail.Message{To: "ana@example.com", Subject: "Bienvenue à Guichet", Text: "Open https://app.test/a", HTML: `<a href="https://app.test/a">open</a>`},
			wantLinks: []string{"https://app.test/a"},
		},
		{
			name:      "a text-only message arrives without html",
			msg:       mail.Message{To: "bob@example.com", Subject: "Code", Text: "123456"},
			wantLinks: []string{},
		},
		{
			name:      "an html-only message arrives without text",
			msg:       mail.Message{To: "cy@example.com", Subject: "Hi", HTML: "<b>hi</b>"},
			wantLinks: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, client := newOutbox(t)
			s := mail.New(client, "noreply@guichet.test", "guichet")
			if !s.Configured() {
				t.Fatal("Configured() = false, want true")
			}
			if err := s.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := o.Messages()
			if len(msgs) != 1 {
				t.Fatalf("captured %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if !slices.Equal(got.To, []string{tt.msg.To}) || got.Subject != tt.msg.Subject || got.Text != tt.msg.Text || got.HTML != tt.msg.HTML {
				t.Errorf("captured %+v, want %+v", got, tt.msg)
			}
			if !slices.Equal(got.Links, tt.wantLinks) {
				t.Errorf("links = %q, want %q", got.Links, tt.wantLinks)
			}
		})
	}
}

func TestSenderNotConfigured(t *testing.T) {
	t.Parallel()
	_, client := newOutbox(t)
	tests := []struct {
		name   string
		sender *mail.Sender
	}{
		{"a sender without a from address is not configured", mail.New(client, "", "")},
		{"a sender without a client is not configured", mail.New(nil, "noreply@guichet.test", "")},
		{"a nil sender is not configured", nil},
		{"a zero sender is not configured", &mail.Sender{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := newOutbox(t)
			if tt.sender.Configured() {
				t.Error("Configured() = true, want false")
			}
			err := tt.sender.Send(context.Background(), mail.Message{To: "ana@example.com", Subject: "s", Text: "t"})
			if !errors.Is(err, mail.ErrNotConfigured) {
				t.Errorf("Send error = %v, want ErrNotConfigured", err)
			}
			if n := len(o.Messages()); n != 0 {
				t.Errorf("captured %d messages, want 0", n)
			}
		})
	}
}

func TestSenderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  mail.Message
		fail bool
	}{
		{"a message without a recipient is refused", mail.Message{Subject: "s", Text: "t"}, false},
		{"a message without a body is refused", mail.Message{To: "ana@example.com", Subject: "s"}, false},
		{"an SES failure is returned to the caller", mail.Message{To: "ana@example.com", Subject: "s", Text: "t"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, client := newOutbox(t)
			o.Fail(tt.fail)
			err := mail.New(client, "noreply@guichet.test", "").Send(context.Background(), tt.msg)
			if err == nil || errors.Is(err, mail.ErrNotConfigured) {
				t.Errorf("Send error = %v, want a send error", err)
			}
			if n := len(o.Messages()); n != 0 {
				t.Errorf("captured %d messages, want 0", n)
			}
		})
	}
}
