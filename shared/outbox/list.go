package outbox

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
)

// ListHandler returns a handler for browsing captured mail:
//
//   - GET /_local/mail.json: a JSON array of messages, newest first.
//   - GET /_local/mail: an HTML page listing the messages, newest first, with
//     their links, text part and HTML part. The HTML part is rendered in a
//     sandboxed iframe, so it cannot run script in the page.
//
// Any other request is answered with 404.
func (o *Outbox) ListHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_local/mail.json", o.serveJSON)
	mux.HandleFunc("GET /_local/mail", o.servePage)
	return mux
}

func (o *Outbox) serveJSON(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(o.Messages())
	if err != nil {
		http.Error(w, "outbox: encode messages: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

func (o *Outbox) servePage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, o.Messages()); err != nil {
		http.Error(w, "outbox: render mail page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Defence in depth: the sandboxed iframes already block script.
	h.Set("Content-Security-Policy", "script-src 'none'; object-src 'none'; base-uri 'none'")
	w.Write(buf.Bytes())
}

// pageTemplate renders the mail list. html/template escapes every value,
// including the srcdoc attribute, so message content cannot break out of
// its element.
var pageTemplate = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Local mail ({{len .}})</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; }
article { border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin-bottom: 1.5rem; }
h2 { margin: 0 0 .5rem; font-size: 1.2rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; margin: 0 0 .75rem; }
dt { font-weight: bold; }
dd { margin: 0; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .75rem; }
iframe { width: 100%; height: 20rem; border: 1px solid #ddd; }
</style>
</head>
<body>
<h1>Local mail</h1>
<p><a href="/_local/mail">Refresh</a> · <a href="/_local/mail.json">JSON</a></p>
{{range .}}
<article>
<h2>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h2>
<dl>
<dt>To</dt><dd>{{range $i, $to := .To}}{{if $i}}, {{end}}{{$to}}{{end}}</dd>
<dt>Sent</dt><dd><time datetime="{{.SentAt.Format "2006-01-02T15:04:05.000Z07:00"}}">{{.SentAt.Format "2006-01-02 15:04:05 MST"}}</time></dd>
</dl>
{{if .Links}}<h3>Links</h3>
<ul class="links">
{{range .Links}}<li><a href="{{.}}">{{.}}</a></li>
{{end}}</ul>
{{end}}{{if .Text}}<h3>Text</h3>
<pre>{{.Text}}</pre>
{{end}}{{if .HTML}}<h3>HTML</h3>
<iframe sandbox srcdoc="{{.HTML}}" title="HTML part"></iframe>
{{end}}</article>
{{else}}
<p>No mail yet.</p>
{{end}}
</body>
</html>
`))
