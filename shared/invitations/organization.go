package invitations

import (
	"context"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// CreateOrganization makes an organization whose first owner is invited:
// accepting the invitation creates the owner's account. It returns the
// organization and the owner's invitation with its link (mailed when mail
// is configured).
func (s *Service) CreateOrganization(ctx context.Context, in organization.CreateInput) (store.Org, WithLink, error) {
	o, email, a, err := organization.Draft(in, false, s.now(), "owner_invitation")
	if err != nil {
		return store.Org{}, WithLink{}, err
	}
	now := o.Created
	secret, hash, err := token.New(token.Invite)
	if err != nil {
		return store.Org{}, WithLink{}, err
	}
	inv := store.Invitation{Org: o.ID, ID: store.NewID("inv_"), Email: email, Role: permission.RoleOwner, AllUnits: true,
		Language: o.Language, Status: store.Pending, InvitedBy: "system", TokenHash: hash, Created: now, ExpiresAt: now.Add(TTL)}
	cred := store.NewCredential(hash, store.InviteToken, o.ID, "", now, inv.ExpiresAt)
	cred.Ref = inv.ID
	switch err := s.store.CreateOrgInvited(ctx, o, inv, cred, a); {
	case store.Lost(err, store.OrgCodeTaken):
		return store.Org{}, WithLink{}, problem.Conflict("already_exists", "The organization code is already taken.")
	case err != nil:
		return store.Org{}, WithLink{}, err
	}
	link := s.link(inv, secret)
	role, _ := permission.BuiltInName(inv.Role, inv.Language)
	sent := s.mail.Notify(ctx, mail.Invitation, inv.Language, inv.Email, inviteData(o, inv, o.Name, role, link))
	return o, WithLink{Invitation: s.view(inv), Link: link, MailSent: sent}, nil
}
