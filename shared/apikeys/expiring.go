package apikeys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/store"
)

// ExpiringWithin is how long before its expiry a key is announced.
const ExpiringWithin = 7 * 24 * time.Hour

// AnnounceExpiring tells the owners of the keys expiring within
// ExpiringWithin of now, once per key, that they do: the scheduled task
// api_key_expiring. It reads the expiry index a day at a time (today to
// today+7, one Query each, never a scan); each key not yet announced is
// marked announced (a conditional write: of concurrent runs, one wins the
// key) and its owner mailed if active, with an address and wanting it
// (notices.APIKeyExpiring), within the mail limits. A failed mail is
// logged, not retried; a failed read or mark, or a mail the limits
// refuse, leaves the key for a later run.
func (s *Service) AnnounceExpiring(ctx context.Context, now time.Time) error {
	now = now.UTC()
	end := now.Add(ExpiringWithin)
	owners := map[string]store.UserContext{} // by org#user, read once per run
	var errs []error
	for d := 0; d <= int(ExpiringWithin/(24*time.Hour)); d++ { // the days of now to end
		entries, err := s.store.ExpiringKeys(ctx, now.AddDate(0, 0, d))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if e.Announced != 0 || e.Rotated != 0 || e.Expires <= now.Unix() || e.Expires > end.Unix() {
				continue
			}
			if err := s.announce(ctx, e, now, owners); err != nil {
				errs = append(errs, fmt.Errorf("key %s/%s: %w", e.Org, e.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// announce tells e's owner that e expires soon, once: the run that wins
// the key's mark mails an owner who is active, has an address and wants
// it; an owner who does not is not told, and the key stays marked. A mail
// the limits refuse takes the mark back, for a run in a later window.
func (s *Service) announce(ctx context.Context, e store.KeyEntry, now time.Time, owners map[string]store.UserContext) error {
	uc, read := owners[e.Org+"#"+e.User]
	if !read {
		var err error
		if uc, err = s.store.UserContextOf(ctx, e.Org, e.User); err != nil {
			return err
		}
		owners[e.Org+"#"+e.User] = uc
	}
	u := uc.User
	wanted := uc.Found && u.Status == store.Active && u.Email != "" && notices.Wants(u, notices.APIKeyExpiring)
	won, err := s.store.MarkKeyAnnounced(ctx, e, now)
	if err != nil || !won || !wanted {
		return err
	}
	if !s.mails.Quietly(ctx, ratelimit.Mail{Org: e.Org, User: u.ID, To: u.Email, Notice: true}) {
		return s.store.UnmarkKeyAnnounced(ctx, e, now)
	}
	client := e.Client
	if c, ok := s.clients.Find(e.Client); ok {
		client = c.Name
	}
	lang := u.Language
	if lang == "" {
		lang = uc.Org.Language
	}
	s.mail.Notify(ctx, mail.APIKeyExpiring, lang, u.Email, mail.Data{
		Org: uc.Org.Name, Name: displayName(u), Key: e.Name + " (" + e.Prefix + ")", Client: client,
		Expires: time.Unix(e.Expires, 0).UTC().Format("2006-01-02 15:04 UTC"),
		Link:    s.publicURL + "/v1/me/api-keys"})
	return nil
}
