package route

// Tags describes, for the API description, each function that serves API
// routes: routes are tagged with their function.
var Tags = []struct{ Name, Description string }{
	{Auth, "Logging in and out: passwords, login challenges (password change, two-step verification), service tokens and refresh."},
	{Profile, "The caller's own user: names, language, addresses, working hours, notifications, password, e-mail, sessions and two-step verification."},
	{Pages, "This API's own description."},
	{Users, "The organization's users and roles."},
	{Bulk, "Every user at once: export and import as CSV or JSON Lines."},
	{Organization, "The organization: its settings, logo, units, owner and audit trail."},
	{Invitations, "Invitations by e-mail, their links, and accepting them."},
	{PasswordReset, "Forgotten passwords: reset links, by e-mail or made by an administrator."},
	{APIKeys, "API keys: one's own, the organization's, and the client applications they are made for."},
}
