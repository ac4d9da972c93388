package users

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Letter resets a service user's password and returns the printable PDF
// letter that gives it, with the organization code and user code, to the
// integrator. The password is permanent: no change is asked at first use.
func (s *Service) Letter(ctx context.Context, p principal.Principal, id string) ([]byte, error) {
	old, reach, err := s.changeableReach(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if old.Kind != store.Service {
		return nil, problem.New(http.StatusUnprocessableEntity, "not_a_service_user",
			"Only service users get a letter.")
	}
	if err := p.ActOn(old.ID, old.Role, s.perms.Known(old.Permissions)); err != nil {
		return nil, err
	}
	org, err := s.store.GetOrg(ctx, p.Org)
	if err != nil {
		return nil, err
	}
	pw, err := password.Generate(24)
	if err != nil {
		return nil, err
	}
	u := old
	if u.PasswordHash, err = password.Hash(pw, s.params); err != nil {
		return nil, err
	}
	u.RequirePasswordChange = false
	u.Updated = s.now().UTC()
	doc, err := letterPDF(org, u, pw, u.Updated)
	if err != nil {
		return nil, err
	}
	if err := s.resetPassword(ctx, p, old, u, reach, "user.letter"); err != nil {
		return nil, err
	}
	return doc, nil
}

// letterText is the letter's content, in the user's language.
var letterText = map[string][]string{
	"fr": {"Accès à l'API Guichet", "Utilisateur de services", "Code d'entreprise", "Code utilisateur", "Mot de passe",
		"Transmettez ces informations à votre fournisseur afin qu'elles soient intégrées à l'application de service.",
		"Ce mot de passe est permanent. Conservez cette lettre en lieu sûr ; détruisez-la une fois les informations transmises.",
		"Émis le"},
	"en": {"Guichet API access", "Service user", "Organization code", "User code", "Password",
		"Give these details to your software provider so they can be configured in the service application.",
		"This password is permanent. Keep this letter safe and destroy it once the details are passed on.",
		"Issued on"},
	"nl": {"Toegang tot de Guichet-API", "Servicegebruiker", "Organisatiecode", "Gebruikerscode", "Wachtwoord",
		"Geef deze gegevens door aan uw softwareleverancier zodat ze in de servicetoepassing worden ingesteld.",
		"Dit wachtwoord is permanent. Bewaar deze brief veilig en vernietig hem zodra de gegevens zijn doorgegeven.",
		"Uitgegeven op"},
}

// letterPDF lays out the letter on one A4 page with the Go fonts, embedded.
func letterPDF(org store.Org, u store.User, pw string, at time.Time) ([]byte, error) {
	t, ok := letterText[u.Language]
	if !ok {
		t = letterText["en"]
	}
	pdf := gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	pdf.SetInfo(gopdf.PdfInfo{Title: t[0], Producer: "Guichet", CreationDate: at})
	for name, ttf := range map[string][]byte{"regular": goregular.TTF, "bold": gobold.TTF, "mono": gomono.TTF} {
		if err := pdf.AddTTFFontData(name, ttf); err != nil {
			return nil, fmt.Errorf("letter: font %s: %w", name, err)
		}
	}
	pdf.AddPage()
	y := 72.0
	line := func(font string, size float64, text string) error {
		if err := pdf.SetFont(font, "", size); err != nil {
			return err
		}
		pdf.SetXY(72, y)
		y += size * 1.6
		return pdf.Cell(nil, text)
	}
	lines := []struct {
		font string
		size float64
		text string
	}{
		{"bold", 20, t[0]},
		{"regular", 12, org.Name},
		{"regular", 12, ""},
		{"bold", 14, t[1]},
		{"regular", 12, t[2] + ":"}, {"mono", 16, org.Code},
		{"regular", 12, t[3] + ":"}, {"mono", 16, u.Code},
		{"regular", 12, t[4] + ":"}, {"mono", 16, pw},
		{"regular", 12, ""},
	}
	for _, l := range lines {
		if err := line(l.font, l.size, l.text); err != nil {
			return nil, fmt.Errorf("letter: %w", err)
		}
	}
	if err := pdf.SetFont("regular", "", 10); err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	for _, para := range []string{t[5], t[6], t[7] + " " + at.Format("2006-01-02 15:04 UTC")} {
		wrapped, err := pdf.SplitTextWithWordWrap(para, 451)
		if err != nil {
			return nil, fmt.Errorf("letter: %w", err)
		}
		for _, w := range wrapped {
			pdf.SetXY(72, y)
			if err := pdf.Cell(nil, w); err != nil {
				return nil, fmt.Errorf("letter: %w", err)
			}
			y += 15
		}
		y += 6
	}
	var buf bytes.Buffer
	if _, err := pdf.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	return buf.Bytes(), nil
}
