package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/guichet/guichet/shared/outbox"
)

// newClient returns a real SES v2 client that talks to url with a single
// attempt per call.
func newClient(url string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// start serves o on a test server and returns a client pointed at it.
func start(t *testing.T, o *outbox.Outbox) *sesv2.Client {
	t.Helper()
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return newClient(srv.URL)
}

func input(to, subject, text, html string) *sesv2.SendEmailInput {
	body := &types.Body{}
	if text != "" {
		body.Text = &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")}
	}
	if html != "" {
		body.Html = &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")}
	}
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("noreply@guichet.test"),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body:    body,
		}},
	}
}

func TestSDKRequestShape(t *testing.T) {
	t.Parallel()
	t.Run("the sesv2 client posts the documented REST-JSON body to the outbound-emails path", func(t *testing.T) {
		o := outbox.New()
		var (
			method, path, contentType string
			body                      map[string]any
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			method, path, contentType = r.Method, r.URL.Path, r.Header.Get("Content-Type")
			raw, err := io.ReadAll(r.Body)
			if err != nil {
				t.Errorf("read body: %v", err)
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Errorf("decode body %s: %v", raw, err)
			}
			r.Body = io.NopCloser(strings.NewReader(string(raw)))
			o.ServeHTTP(w, r)
		}))
		defer srv.Close()

		in := input("ana@example.com", "Hello", "text part", "<p>html part</p>")
		in.ConfigurationSetName = aws.String("guichet")
		out, err := newClient(srv.URL).SendEmail(context.Background(), in)
		if err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		if aws.ToString(out.MessageId) == "" {
			t.Error("MessageId is empty")
		}
		if method != http.MethodPost || path != "/v2/email/outbound-emails" {
			t.Errorf("request = %s %s, want POST /v2/email/outbound-emails", method, path)
		}
		if contentType != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", contentType)
		}
		want := map[string]any{
			"FromEmailAddress":     "noreply@guichet.test",
			"ConfigurationSetName": "guichet",
			"Destination":          map[string]any{"ToAddresses": []any{"ana@example.com"}},
			"Content": map[string]any{"Simple": map[string]any{
				"Subject": map[string]any{"Data": "Hello", "Charset": "UTF-8"},
				"Body": map[string]any{
					"Text": map[string]any{"Data": "text part", "Charset": "UTF-8"},
					"Html": map[string]any{"Data": "<p>html part</p>", "Charset": "UTF-8"},
				},
			}},
		}
		if got, want := mustJSON(t, body), mustJSON(t, want); got != want {
			t.Errorf("body =\n%s\nwant\n%s", got, want)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		text      string
		html      string
		wantLinks []string
	}{
		{
			name:      "a text and html message is captured with its links deduplicated in order",
			text:      "Confirm: https://app.test/confirm?t=1. Or visit http://app.test/help, then https://app.test/confirm?t=1",
			html:      `<p><a href="https://app.test/confirm?t=1&amp;x=2">ok</a> <a href='https://app.test/help'>h</a> <a href=mailto:a@b.c>m</a> <a href="/relative">r</a></p>`,
			wantLinks: []string{"https://app.test/confirm?t=1", "http://app.test/help", "https://app.test/confirm?t=1&x=2", "https://app.test/help"},
		},
		{
			name:      "a text-only message is captured with no html",
			text:      "Plain (see https://app.test/a)",
			wantLinks: []string{"https://app.test/a"},
		},
		{
			name:      "an html-only message takes its links from href attributes",
			html:      `<a HREF="https://app.test/b">b</a> https://app.test/not-a-link`,
			wantLinks: []string{"https://app.test/b"},
		},
		{
			name:      "a message without links has an empty link list",
			text:      "nothing to click",
			wantLinks: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := outbox.New()
			client := start(t, o)
			before := time.Now()
			_, err := client.SendEmail(context.Background(), input("ana@example.com", "Welcome", tt.text, tt.html))
			if err != nil {
				t.Fatalf("SendEmail: %v", err)
			}
			msgs := o.Messages()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if !slices.Equal(m.To, []string{"ana@example.com"}) || m.Subject != "Welcome" || m.Text != tt.text || m.HTML != tt.html {
				t.Errorf("message = %+v", m)
			}
			if !slices.Equal(m.Links, tt.wantLinks) {
				t.Errorf("links = %q, want %q", m.Links, tt.wantLinks)
			}
			if m.SentAt.Before(before.Add(-time.Second)) || m.SentAt.After(time.Now().Add(time.Second)) {
				t.Errorf("SentAt = %v, not around now", m.SentAt)
			}
		})
	}
}

func TestMessagesOrder(t *testing.T) {
	t.Parallel()
	t.Run("messages are listed newest first and reset empties the list", func(t *testing.T) {
		o := outbox.New()
		client := start(t, o)
		for _, subject := range []string{"first", "second", "third"} {
			if _, err := client.SendEmail(context.Background(), input("a@example.com", subject, "body", "")); err != nil {
				t.Fatalf("SendEmail %s: %v", subject, err)
			}
		}
		var got []string
		for _, m := range o.Messages() {
			got = append(got, m.Subject)
		}
		if want := []string{"third", "second", "first"}; !slices.Equal(got, want) {
			t.Errorf("subjects = %q, want %q", got, want)
		}
		o.Reset()
		if n := len(o.Messages()); n != 0 {
			t.Errorf("after Reset got %d messages, want 0", n)
		}
	})
}

func TestFail(t *testing.T) {
	t.Parallel()
	t.Run("while failing the SDK call returns an InternalFailure and nothing is captured", func(t *testing.T) {
		o := outbox.New()
		client := start(t, o)
		o.Fail(true)
		_, err := client.SendEmail(context.Background(), input("a@example.com", "s", "b", ""))
		if err == nil {
			t.Fatal("SendEmail succeeded, want error")
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalFailure" {
			t.Errorf("error = %v, want API error InternalFailure", err)
		}
		if n := len(o.Messages()); n != 0 {
			t.Errorf("captured %d messages, want 0", n)
		}

		o.Fail(false)
		if _, err := client.SendEmail(context.Background(), input("a@example.com", "s", "b", "")); err != nil {
			t.Fatalf("SendEmail after Fail(false): %v", err)
		}
		if n := len(o.Messages()); n != 1 {
			t.Errorf("captured %d messages, want 1", n)
		}
	})
}

func TestServeHTTPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantType   string
	}{
		{"an unknown path is a NotFoundException", http.MethodPost, "/v2/email/identities", "{}", http.StatusNotFound, "NotFoundException"},
		{"a GET of the send path is a NotFoundException", http.MethodGet, "/v2/email/outbound-emails", "", http.StatusNotFound, "NotFoundException"},
		{"a malformed body is a BadRequestException", http.MethodPost, "/v2/email/outbound-emails", "{", http.StatusBadRequest, "BadRequestException"},
		{"a message without recipients is a BadRequestException", http.MethodPost, "/v2/email/outbound-emails",
			`{"FromEmailAddress":"a@b.c","Content":{"Simple":{"Body":{"Text":{"Data":"x"}}}}}`, http.StatusBadRequest, "BadRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := outbox.New()
			rec := httptest.NewRecorder()
			o.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("x-amzn-ErrorType"); got != tt.wantType {
				t.Errorf("x-amzn-ErrorType = %q, want %q", got, tt.wantType)
			}
			var body struct{ Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Message == "" {
				t.Errorf("body = %s, want {\"message\":...}", rec.Body)
			}
			if len(o.Messages()) != 0 {
				t.Error("a failed request captured a message")
			}
		})
	}
}

func TestListHandler(t *testing.T) {
	t.Parallel()
	o := outbox.New()
	client := start(t, o)
	list := o.ListHandler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		list.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	t.Run("mail.json is an empty array before any mail", func(t *testing.T) {
		rec := get("/_local/mail.json")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := strings.TrimSpace(rec.Body.String()); got != "[]" {
			t.Errorf("body = %s, want []", got)
		}
	})

	for _, subject := range []string{"older", "<script>alert(1)</script>"} {
		in := input("bob@example.com", subject, "Go to https://app.test/x", `<a href="https://app.test/y">y</a><script>alert("mail")</script>`)
		if _, err := client.SendEmail(context.Background(), in); err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
	}

	t.Run("mail.json lists messages newest first with snake_case fields", func(t *testing.T) {
		rec := get("/_local/mail.json")
		var got []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("decode %s: %v", rec.Body, err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d messages, want 2", len(got))
		}
		for _, key := range []string{"to", "subject", "text", "html", "links", "sent_at"} {
			if _, ok := got[0][key]; !ok {
				t.Errorf("message has no %q field: %v", key, got[0])
			}
		}
		if got[0]["subject"] != "<script>alert(1)</script>" || got[1]["subject"] != "older" {
			t.Errorf("subjects = %v, %v; want newest first", got[0]["subject"], got[1]["subject"])
		}
		if fmt.Sprint(got[0]["links"]) != "[https://app.test/x https://app.test/y]" {
			t.Errorf("links = %v", got[0]["links"])
		}
	})

	t.Run("the mail page escapes a script subject and sandboxes the html part", func(t *testing.T) {
		rec := get("/_local/mail")
		page := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.Contains(page, "<script") {
			t.Errorf("page contains an unescaped <script:\n%s", page)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("page does not show the escaped subject:\n%s", page)
		}
		if !strings.Contains(page, `<iframe sandbox srcdoc="&lt;a href=&#34;https://app.test/y&#34;&gt;`) {
			t.Errorf("page has no sandboxed iframe with the escaped html part:\n%s", page)
		}
		for _, link := range []string{"https://app.test/x", "https://app.test/y"} {
			if !strings.Contains(page, `<a href="`+link+`">`) {
				t.Errorf("page has no clickable link to %s", link)
			}
		}
		if !strings.Contains(page, "<pre>Go to https://app.test/x</pre>") {
			t.Errorf("page has no text part in <pre>")
		}
	})

	t.Run("other paths are not found", func(t *testing.T) {
		if rec := get("/_local/other"); rec.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", rec.Code)
		}
	})
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	t.Run("sends from 20 goroutines are all captured", func(t *testing.T) {
		o := outbox.New()
		client := start(t, o)
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				to := fmt.Sprintf("user%d@example.com", i)
				if _, err := client.SendEmail(context.Background(), input(to, "hi", "body", "")); err != nil {
					errs <- fmt.Errorf("send to %s: %w", to, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		seen := make(map[string]bool)
		for _, m := range o.Messages() {
			seen[m.To[0]] = true
		}
		if len(seen) != n {
			t.Errorf("captured %d distinct recipients, want %d", len(seen), n)
		}
	})
}
