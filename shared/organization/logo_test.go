package organization_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/organization"
)

func pngImage(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegImage(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const goodSVG = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Acme logo -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 100 40" width="100" height="40">
  <title>Acme</title>
  <defs>
    <linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#c00"/><stop offset="1" stop-color="#600"/></linearGradient>
    <style>.t { font-family: 'Helvetica', sans-serif; fill: url(#g) }</style>
  </defs>
  <rect id="r" x="0" y="0" width="40" height="40" rx="4" fill="url(#g)"/>
  <use xlink:href="#r" x="50"/>
  <text x="45" y="25" class="t" style="font-size: 12px">Acme &amp; co</text>
</svg>`

func svg(inner string) string {
	return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">` + inner + `</svg>`
}

func TestALogoCanBeUploadedAndRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	cases := []struct {
		name, contentType string
		body              []byte
	}{
		{"a PNG", "image/png", pngImage(t)},
		{"a JPEG", "image/jpeg", jpegImage(t)},
		{"a simple SVG with gradients, styles and internal references", "image/svg+xml; charset=utf-8", []byte(goodSVG)},
	}
	for _, c := range cases {
		t.Run(c.name+" is stored in one transaction and served back as it was sent", func(t *testing.T) {
			e.Clock.Advance(time.Second)
			e.ResetCounters()
			r := raw(e, "PUT", "/v1/organization/logo", tok, c.contentType, c.body)
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if got := e.Counters["organization"].Operations(); !slices.Equal(got, []string{"TransactWriteItems"}) {
				t.Errorf("function made %v", got)
			}
			sum := sha256.Sum256(c.body)
			etag := `"` + hex.EncodeToString(sum[:]) + `"`
			ct := strings.Split(c.contentType, ";")[0]
			var info organization.LogoInfo
			r.Decode(t, &info)
			if info.ContentType != ct || info.Size != len(c.body) || info.ETag != etag {
				t.Fatalf("logo info %+v", info)
			}

			e.ResetCounters()
			g := e.Do("GET", "/v1/organization/logo", tok, nil)
			if g.Status != 200 || !bytes.Equal(g.Body, c.body) {
				t.Fatalf("status %d, %d bytes back of %d", g.Status, len(g.Body), len(c.body))
			}
			if got := e.Counters["organization"].Operations(); !slices.Equal(got, []string{"GetItem"}) {
				t.Errorf("function made %v", got)
			}
			if g.Header.Get("Content-Type") != ct || g.Header.Get("ETag") != etag || g.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("headers %v", g.Header)
			}
			csp := g.Header.Get("Content-Security-Policy")
			if (ct == "image/svg+xml") != (csp == "default-src 'none'; style-src 'unsafe-inline'; sandbox") {
				t.Fatalf("Content-Security-Policy %q for %s", csp, ct)
			}

			var o organization.Organization
			e.Do("GET", "/v1/organization", tok, nil).Decode(t, &o)
			if o.Logo == nil || o.Logo.ETag != etag {
				t.Fatalf("the organization does not record the logo: %+v", o.Logo)
			}
			if ev := lastEvent(t, e, tok); ev.Action != "organization.logo" || !slices.Equal(ev.Fields, []string{"logo"}) {
				t.Fatalf("audit event %+v", ev)
			}
		})
	}
}

func TestAnOrganizationWithoutLogoAnswers404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if p := e.Do("GET", "/v1/organization/logo", e.LoginOwner(t).AccessToken, nil).Problem(t, 404); p.Code != "not_found" {
		t.Fatalf("code %q", p.Code)
	}
}

func TestABadLogoIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	png, jpg := pngImage(t), jpegImage(t)
	big := append(append([]byte{}, png...), make([]byte, 300<<10)...)
	cases := []struct {
		name, contentType string
		body              []byte
		status            int
		code              string
	}{
		{"a PNG declared as JPEG", "image/jpeg", png, 415, "unsupported_logo"},
		{"a JPEG declared as PNG", "image/png", jpg, 415, "unsupported_logo"},
		{"a PNG declared as SVG", "image/svg+xml", png, 415, "unsupported_logo"},
		{"an SVG declared as PNG", "image/png", []byte(goodSVG), 415, "unsupported_logo"},
		{"a truncated PNG", "image/png", png[:20], 415, "unsupported_logo"},
		{"an empty body", "image/png", nil, 415, "unsupported_logo"},
		{"a GIF", "image/gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 415, "unsupported_logo"},
		{"no Content-Type", "", png, 415, "unsupported_logo"},
		{"JSON", "application/json", []byte(`{"logo":"x"}`), 415, "unsupported_logo"},
		{"a 300 KiB image", "image/png", big, 413, "logo_too_large"},
		{"XML whose root is not svg", "image/svg+xml", []byte(`<html xmlns="http://www.w3.org/1999/xhtml"/>`), 415, "unsupported_logo"},
		{"an svg element outside the SVG namespace", "image/svg+xml", []byte(`<svg viewBox="0 0 1 1"/>`), 415, "unsupported_logo"},
		{"malformed XML", "image/svg+xml", []byte(svg(`<rect>`)), 415, "unsupported_logo"},
		{"an SVG with a script", "image/svg+xml", []byte(svg(`<script>alert(1)</script>`)), 415, "unsafe_svg"},
		{"an SVG with an onload handler", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 415, "unsafe_svg"},
		{"an SVG with an upper-case event handler", "image/svg+xml", []byte(svg(`<rect ONCLICK="alert(1)"/>`)), 415, "unsafe_svg"},
		{"an SVG with an external xlink:href", "image/svg+xml", []byte(svg(`<use xlink:href="https://evil.example/x.svg#a"/>`)), 415, "unsafe_svg"},
		{"an SVG with an external href", "image/svg+xml", []byte(svg(`<use href="//evil.example/x.svg#a"/>`)), 415, "unsafe_svg"},
		{"an SVG with a javascript: href", "image/svg+xml", []byte(svg(`<use href="javascript:alert(1)"/>`)), 415, "unsafe_svg"},
		{"an SVG with a link", "image/svg+xml", []byte(svg(`<a href="#x"><rect/></a>`)), 415, "unsafe_svg"},
		{"an SVG with an image", "image/svg+xml", []byte(svg(`<image href="#x"/>`)), 415, "unsafe_svg"},
		{"an SVG with foreignObject", "image/svg+xml", []byte(svg(`<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>`)), 415, "unsafe_svg"},
		{"an SVG with HTML in another namespace", "image/svg+xml", []byte(svg(`<h:iframe xmlns:h="http://www.w3.org/1999/xhtml" src="https://evil.example"/>`)), 415, "unsafe_svg"},
		{"an SVG with animation setting an href", "image/svg+xml", []byte(svg(`<set attributeName="href" to="javascript:alert(1)"/>`)), 415, "unsafe_svg"},
		{"an SVG with a DOCTYPE", "image/svg+xml", []byte(`<!DOCTYPE svg [<!ENTITY x "y">]>` + svg(`<text>&x;</text>`)), 415, "unsafe_svg"},
		{"an SVG with an undeclared entity", "image/svg+xml", []byte(svg(`<text>&x;</text>`)), 415, "unsafe_svg"},
		{"an SVG with a style sheet instruction", "image/svg+xml", []byte(`<?xml-stylesheet href="https://evil.example/a.css"?>` + svg(``)), 415, "unsafe_svg"},
		{"an SVG whose style attribute loads a URL", "image/svg+xml", []byte(svg(`<rect style="fill: url(https://evil.example/a)"/>`)), 415, "unsafe_svg"},
		{"an SVG whose fill loads a URL", "image/svg+xml", []byte(svg(`<rect fill="url('data:image/svg+xml,x')"/>`)), 415, "unsafe_svg"},
		{"an SVG whose style element imports", "image/svg+xml", []byte(svg(`<style>@import "https://evil.example/a.css";</style>`)), 415, "unsafe_svg"},
		{"an SVG whose style element hides url( behind CDATA", "image/svg+xml", []byte(svg(`<style>rect { fill: u<![CDATA[rl(https://evil.example/a) }]]></style>`)), 415, "unsafe_svg"},
		{"an SVG whose style escapes url", "image/svg+xml", []byte(svg(`<style>rect { fill: u\72l(https://evil.example/a) }</style>`)), 415, "unsafe_svg"},
		{"an SVG with an xml:base", "image/svg+xml", []byte(svg(`<g xml:base="https://evil.example/"/>`)), 415, "unsafe_svg"},
		{"an SVG in Latin-1", "image/svg+xml", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" + svg("<text>caf\xe9</text>")), 415, "unsupported_logo"},
	}
	for _, c := range cases {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			before := e.Scan(t)
			p := raw(e, "PUT", "/v1/organization/logo", tok, c.contentType, c.body).Problem(t, c.status)
			if p.Code != c.code {
				t.Fatalf("code %q, want %q: %s", p.Code, c.code, p.Detail)
			}
			if c.code == "unsafe_svg" && !strings.Contains(p.Detail, "refused: ") {
				t.Fatalf("the detail does not say why: %q", p.Detail)
			}
			unchanged(t, e, before)
		})
	}
}
