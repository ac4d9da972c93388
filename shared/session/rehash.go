package session

import (
	"context"

	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/store"
)

// rehash replaces u's password hash, just verified with pw, by an argon2id
// hash at the current parameters: imported bcrypt and scrypt hashes, and
// argon2id hashes made with weaker parameters, are upgraded at the first
// successful login. It is one conditional write, on the hash being still
// the one verified. It never fails the login: the old hash keeps working,
// and the next login tries again.
func (s *Service) rehash(ctx context.Context, u store.User, pw string) {
	h, err := password.Hash(pw, s.cfg.Password)
	if err != nil {
		return
	}
	if u.Person != "" {
		_ = s.store.ReplacePersonPasswordHash(ctx, u, h)
		return
	}
	_ = s.store.ReplacePasswordHash(ctx, u.Org, u.ID, u.PasswordHash, h)
}
