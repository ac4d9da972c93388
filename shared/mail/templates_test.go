package mail

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/language"
)

func TestEveryTemplateRendersInEveryLanguage(t *testing.T) {
	t.Parallel()
	tm, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	d := Data{Org: "Acme <& Co>", Name: "Ada", Inviter: "Bob", Role: "admin", Link: "https://x.example/invite?token=giv_abc",
		Expires: "1 Dec 2026", When: "now", OldEmail: "old@example.com", NewEmail: "new@example.com", Key: "Export (gky_abcdefgh)", Code: "123456",
		Member: "Grace Hopper", Client: "Comax"}
	for _, kind := range Kinds() {
		for _, lang := range language.Supported() {
			t.Run(kind+" in "+lang+" renders both parts", func(t *testing.T) {
				m, err := tm.Render(kind, lang, "ada@example.com", d)
				if err != nil {
					t.Fatal(err)
				}
				if m.Subject == "" || m.Text == "" || !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
					t.Fatalf("%+v", m)
				}
				if strings.Contains(m.HTML, "Acme <& Co>") || !strings.Contains(m.HTML, "Acme &lt;&amp; Co&gt;") {
					t.Fatal("the HTML part does not escape data")
				}
				if kind != EmailChanged && kind != EmailProof && (!strings.Contains(m.Text, d.Link) || !strings.Contains(m.HTML, d.Link)) {
					t.Fatal("the link is missing")
				}
			})
		}
	}
	t.Run("an unknown language falls back to English", func(t *testing.T) {
		m, err := tm.Render(Invitation, "de", "a@example.com", d)
		if err != nil || !strings.Contains(m.Subject, "invites you") {
			t.Fatal(m.Subject, err)
		}
	})
	t.Run("the languages differ", func(t *testing.T) {
		fr, _ := tm.Render(PasswordReset, "fr", "a@example.com", d)
		nl, _ := tm.Render(PasswordReset, "nl", "a@example.com", d)
		if !strings.Contains(fr.Subject, "Réinitialisez") || !strings.Contains(nl.Subject, "wachtwoord") {
			t.Fatal(fr.Subject, nl.Subject)
		}
	})
}

func TestEmbeddedTemplatesParseWhenFirstRendered(t *testing.T) {
	t.Parallel()
	all, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	lazy := Embedded()
	if len(lazy.text) != 0 {
		t.Fatalf("%d templates parsed before any render", len(lazy.text))
	}
	d := Data{Org: "Acme", Name: "Ada", Inviter: "Bob", Role: "Admin", Link: "https://x.example/l", Code: "123456"}
	for _, kind := range []string{Invitation, PasswordReset, Welcome, EmailProof} {
		for _, lang := range append(language.Supported(), "de") {
			t.Run(kind+" in "+lang+" renders as the eagerly loaded templates do", func(t *testing.T) {
				want, err := all.Render(kind, lang, "a@example.com", d)
				if err != nil {
					t.Fatal(err)
				}
				got, err := lazy.Render(kind, lang, "a@example.com", d)
				if err != nil || got != want {
					t.Fatalf("got %+v, %v; want %+v", got, err, want)
				}
			})
		}
	}
	if _, err := lazy.Render("no_such_kind", "en", "a@example.com", d); err == nil {
		t.Fatal("an unknown kind rendered")
	}
}
