package organization

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads JPEG
	_ "image/png"  // and PNG
	"io"
	"mime"
	"net/http"

	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
)

// MaxLogo is the largest logo accepted, in bytes. It keeps the logo item
// well under DynamoDB's 400 KB item limit.
const MaxLogo = 256 << 10

const (
	pngType  = "image/png"
	jpegType = "image/jpeg"
	svgType  = "image/svg+xml"
)

// logoTypes are the media types of a logo, uploaded and served.
var logoTypes = []string{pngType, jpegType, svgType}

// svgCSP forbids an SVG logo opened directly in a browser from running or
// loading anything; inline styles are all it needs.
const svgCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

func unsupported(detail string) *problem.Problem {
	return problem.New(http.StatusUnsupportedMediaType, "unsupported_logo", detail)
}

// checkLogo checks that data is an image of the declared content type.
func checkLogo(declared string, data []byte) error {
	switch declared {
	case pngType, jpegType:
		sniffed := http.DetectContentType(data)
		_, format, err := image.DecodeConfig(bytes.NewReader(data))
		if sniffed != declared || err != nil || "image/"+format != declared {
			return unsupported(fmt.Sprintf("The body is not a %s image (its content looks like %s).", declared, sniffed))
		}
		return nil
	case svgType:
		err := checkSVG(data)
		var unsafe *unsafeSVG
		switch {
		case err == nil:
			return nil
		case errors.As(err, &unsafe):
			return problem.New(http.StatusUnsupportedMediaType, "unsafe_svg",
				"The SVG logo was refused: "+unsafe.reason+". Export it as plain SVG with shapes, text and gradients only.")
		default:
			return unsupported("The body is not an SVG document (well-formed UTF-8 XML whose root is an svg element in the SVG namespace).")
		}
	}
	return unsupported("The Content-Type must be image/png, image/jpeg or image/svg+xml.")
}

// PutLogo replaces the logo with b, read within MaxLogo: one TransactWriteItems (the logo item,
// the organization's record of it, the audit event) and no read.
func (s *Service) PutLogo(ctx context.Context, p principal.Principal, b router.Body) (LogoInfo, error) {
	declared, _, err := mime.ParseMediaType(b.ContentType)
	if err != nil || (declared != pngType && declared != jpegType && declared != svgType) {
		return LogoInfo{}, unsupported("The Content-Type must be image/png, image/jpeg or image/svg+xml.")
	}
	data, err := io.ReadAll(io.LimitReader(b, MaxLogo+1))
	if err != nil {
		return LogoInfo{}, problem.BadRequest("unreadable_body", "The request body could not be read.")
	}
	if len(data) > MaxLogo {
		return LogoInfo{}, problem.New(http.StatusRequestEntityTooLarge, "logo_too_large",
			fmt.Sprintf("The logo exceeds %d KiB.", MaxLogo>>10))
	}
	if err := checkLogo(declared, data); err != nil {
		return LogoInfo{}, err
	}
	sum := sha256.Sum256(data)
	now := s.now().UTC()
	l := store.Logo{ContentType: declared, Data: data, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Updated: now}
	a := s.event(p, now, "organization.logo", "organization:"+p.Org, []string{"logo"})
	if err := s.store.PutLogo(ctx, p.Org, l, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return LogoInfo{}, problem.NotFound("The organization no longer exists.")
		}
		return LogoInfo{}, err
	}
	return LogoInfo{ContentType: l.ContentType, Size: len(data), ETag: l.ETag, Updated: now}, nil
}

// Logo returns the logo's bytes: one GetItem.
func (s *Service) Logo(ctx context.Context, p principal.Principal) (router.File, error) {
	l, err := s.store.GetLogo(ctx, p.Org)
	if errors.Is(err, store.ErrNotFound) {
		return router.File{}, problem.NotFound("The organization has no logo.")
	}
	if err != nil {
		return router.File{}, err
	}
	h := http.Header{}
	h.Set("ETag", l.ETag)
	h.Set("Cache-Control", "private, no-cache")
	if l.ContentType == svgType {
		h.Set("Content-Security-Policy", svgCSP)
	}
	return router.File{ContentType: l.ContentType, Header: h, Data: l.Data}, nil
}

// SharedLogoQuery is the query of the shared logo URL.
type SharedLogoQuery struct {
	V string `query:"v" doc:"The logo's key, as logo_url holds it."`
}

// SharedLogo returns an organization's logo to whoever holds its key (the
// URL an organization challenge lists): one GetItem. An unknown
// organization, no logo and a wrong key answer the same 404, so the URL
// tells a stranger nothing; the key is the logo's SHA-256, so an old URL
// stops working when the logo changes, and the answer may be cached for
// good.
func (s *Service) SharedLogo(ctx context.Context, org, key string) (router.File, error) {
	gone := problem.NotFound("No such logo.")
	if org == "" || key == "" || len(org) > 64 || len(key) > 128 {
		return router.File{}, gone
	}
	l, err := s.store.GetLogo(ctx, org)
	if errors.Is(err, store.ErrNotFound) {
		return router.File{}, gone
	}
	if err != nil {
		return router.File{}, err
	}
	if subtle.ConstantTimeCompare([]byte(l.Key()), []byte(key)) != 1 {
		return router.File{}, gone
	}
	h := http.Header{}
	h.Set("ETag", l.ETag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", svgCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	return router.File{ContentType: l.ContentType, Header: h, Data: l.Data}, nil
}
