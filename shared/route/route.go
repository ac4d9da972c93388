// Package route is the one table of every HTTP route of the API. The local
// gateway builds its router from it, every function builds its mux from it,
// and the CDK stack builds the API Gateway routes from it.
package route

import (
	"net/url"
	"slices"

	"github.com/guichet/guichet/shared/permission"
)

// Functions, one Lambda each. Their code lives in functions/<name>.
const (
	Auth          = "auth"
	Authorizer    = "authorizer"
	Profile       = "profile"
	Pages         = "pages"
	Users         = "users"
	Organization  = "organization"
	Invitations   = "invitations"
	PasswordReset = "passwordreset"
	APIKeys       = "apikeys"
	Bulk          = "bulk"
	// Jobs serves no route: it runs the jobs changes leave behind them,
	// from the table's stream and on a schedule (package jobs).
	Jobs = "jobs"
)

// OperationID names an operation: the handler of one route inside its
// function, and the operationId of the API description. Each has a constant
// below, used by the table and by the operations tables, so that finding
// the references of one leads from its route to its handler.
type OperationID string

// The operation of every route.
const (
	OpFallback                 OperationID = "fallback"
	OpLogin                    OperationID = "login"
	OpOIDCDiscovery            OperationID = "oidcDiscovery"
	OpOIDCAuthorize            OperationID = "oidcAuthorize"
	OpOIDCToken                OperationID = "oidcToken"
	OpOIDCUserInfo             OperationID = "oidcUserInfo"
	OpOIDCRevoke               OperationID = "oidcRevoke"
	OpOIDCIntrospect           OperationID = "oidcIntrospect"
	OpOIDCLogout               OperationID = "oidcLogout"
	OpRefresh                  OperationID = "refresh"
	OpLogout                   OperationID = "logout"
	OpGetMe                    OperationID = "getMe"
	OpOpenAPI                  OperationID = "openapi"
	OpJWKS                     OperationID = "jwks"
	OpServiceToken             OperationID = "serviceToken"
	OpPasswordChange           OperationID = "passwordChange"
	OpGetOrganization          OperationID = "getOrganization"
	OpUpdateOrganization       OperationID = "updateOrganization"
	OpPutLogo                  OperationID = "putLogo"
	OpGetLogo                  OperationID = "getLogo"
	OpGetSharedLogo            OperationID = "getSharedLogo"
	OpListUnits                OperationID = "listUnits"
	OpCreateUnit               OperationID = "createUnit"
	OpUpdateUnit               OperationID = "updateUnit"
	OpDeleteUnit               OperationID = "deleteUnit"
	OpTransferOwnership        OperationID = "transferOwnership"
	OpListAudit                OperationID = "listAudit"
	OpListRoles                OperationID = "listRoles"
	OpListPermissions          OperationID = "listPermissions"
	OpCreateRole               OperationID = "createRole"
	OpUpdateRole               OperationID = "updateRole"
	OpDeleteRole               OperationID = "deleteRole"
	OpListUsers                OperationID = "listUsers"
	OpCreateUser               OperationID = "createUser"
	OpExportUsers              OperationID = "exportUsers"
	OpImportUsers              OperationID = "importUsers"
	OpGetUser                  OperationID = "getUser"
	OpUpdateUser               OperationID = "updateUser"
	OpDeleteUser               OperationID = "deleteUser"
	OpSetUserStatus            OperationID = "setUserStatus"
	OpSetUserPassword          OperationID = "setUserPassword"
	OpPrintLetter              OperationID = "printLetter"
	OpResetUserMFA             OperationID = "resetUserMFA"
	OpMFALogin                 OperationID = "mfaLogin"
	OpChooseOrganization       OperationID = "chooseOrganization"
	OpSwitchOrganization       OperationID = "switchOrganization"
	OpEmailProof               OperationID = "emailProof"
	OpMFAEnroll                OperationID = "mfaEnroll"
	OpMFAEnrollConfirm         OperationID = "mfaEnrollConfirm"
	OpUpdateMe                 OperationID = "updateMe"
	OpChangeMyPassword         OperationID = "changeMyPassword"
	OpRequestEmailChange       OperationID = "requestEmailChange"
	OpConfirmEmailChange       OperationID = "confirmEmailChange"
	OpListMySessions           OperationID = "listMySessions"
	OpEndMySession             OperationID = "endMySession"
	OpEndMyOtherSessions       OperationID = "endMyOtherSessions"
	OpStartTOTP                OperationID = "startTOTP"
	OpConfirmTOTP              OperationID = "confirmTOTP"
	OpDisableTOTP              OperationID = "disableTOTP"
	OpCreateInvitation         OperationID = "createInvitation"
	OpListInvitations          OperationID = "listInvitations"
	OpRevokeInvitation         OperationID = "revokeInvitation"
	OpRegenerateInvitationLink OperationID = "regenerateInvitationLink"
	OpResendInvitation         OperationID = "resendInvitation"
	OpPreviewInvitation        OperationID = "previewInvitation"
	OpAcceptInvitation         OperationID = "acceptInvitation"
	OpRequestPasswordReset     OperationID = "requestPasswordReset"
	OpCompletePasswordReset    OperationID = "completePasswordReset"
	OpAdminPasswordReset       OperationID = "adminPasswordReset"
	OpInvitePage               OperationID = "invitePage"
	OpAcceptInvitePage         OperationID = "acceptInvitePage"
	OpResetPage                OperationID = "resetPage"
	OpCompleteResetPage        OperationID = "completeResetPage"
	OpForgotPage               OperationID = "forgotPage"
	OpRequestResetPage         OperationID = "requestResetPage"
	OpLoginPage                OperationID = "loginPage"
	OpLoginSubmitPage          OperationID = "loginSubmitPage"
	OpLoginStepPage            OperationID = "loginStepPage"
	OpLoginConsentPage         OperationID = "loginConsentPage"
	OpEmailConfirmPage         OperationID = "emailConfirmPage"
	OpConfirmEmailPage         OperationID = "confirmEmailPage"
	OpPagesStylesheet          OperationID = "pagesStylesheet"
	OpListClients              OperationID = "listClients"
	OpCreateAPIKey             OperationID = "createAPIKey"
	OpListMyAPIKeys            OperationID = "listMyAPIKeys"
	OpRevokeMyAPIKey           OperationID = "revokeMyAPIKey"
	OpRotateMyAPIKey           OperationID = "rotateMyAPIKey"
	OpListAPIKeys              OperationID = "listAPIKeys"
	OpRevokeAPIKey             OperationID = "revokeAPIKey"
)

// Route is one method and path of the HTTP API.
type Route struct {
	// Method is the HTTP method, upper case.
	Method string
	// Path uses the syntax API Gateway and net/http share: /v1/users/{id}.
	Path string
	// Function is the Lambda that serves the route.
	Function string
	// Operation names the handler inside the function; unique across the table.
	Operation OperationID
	// Public routes skip authentication. Every other route needs a valid
	// session token or API key.
	Public bool
	// Permission the principal must hold; empty means any authenticated
	// principal.
	Permission permission.Permission
	// Summary is one line for people reading the API description.
	Summary string
	// Page routes serve HTML to people in a browser (the hosted pages), not
	// JSON to programs: the API description leaves them out.
	Page bool
	// People routes are for persons only (their own settings, password,
	// e-mail, two-step verification, keys): service users, which are
	// API-only, are refused.
	People bool
	// Self routes act on the user named by the path's {id}: a caller whose
	// own user it is needs no Permission (a member reads its own user).
	Self bool
}

// Key is the route key API Gateway uses: "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// SharedLogoPath is the path of an organization's logo served to whoever
// holds its key (getSharedLogo): organization challenges list it.
func SharedLogoPath(org, key string) string {
	return "/v1/organizations/" + url.PathEscape(org) + "/logo?v=" + url.QueryEscape(key)
}

// Pattern is the net/http ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Fallback serves every request no route matches (API Gateway's $default
// route): it answers 404 or 405 as a problem.
var Fallback = Route{Function: Pages, Operation: OpFallback, Public: true,
	Summary: "Answers requests that match no route"}

// All returns the route table.
func All() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/auth/login", Function: Auth, Operation: OpLogin, Public: true,
			Summary: "Log in with a login name and password"},
		{Method: "POST", Path: "/v1/auth/refresh", Function: Auth, Operation: OpRefresh, Public: true,
			Summary: "Exchange a refresh token for new tokens (rotation)"},
		{Method: "POST", Path: "/v1/auth/logout", Function: Auth, Operation: OpLogout,
			Summary: "End the current session"},
		{Method: "GET", Path: "/v1/me", Function: Profile, Operation: OpGetMe,
			Summary: "The caller's own user"},
		{Method: "GET", Path: "/v1/openapi.json", Function: Pages, Operation: OpOpenAPI, Public: true,
			Summary: "This API's OpenAPI 3.1 description"},
		{Method: "GET", Path: "/.well-known/jwks.json", Function: Auth, Operation: OpJWKS, Public: true,
			Summary: "The public keys of the JWT access tokens (RFC 7517 JWK set)"},
		{Method: "POST", Path: "/v1/auth/token", Function: Auth, Operation: OpServiceToken, Public: true,
			Summary: "Tokens for a service user (organization code, user code, password)"},
		// OpenID Connect (package oidc). They speak OAuth's formats, not
		// the API's JSON: like the pages, the API description leaves them out.
		{Method: "GET", Path: "/.well-known/openid-configuration", Function: Auth, Operation: OpOIDCDiscovery, Public: true, Page: true,
			Summary: "OpenID Connect discovery"},
		{Method: "GET", Path: "/oauth/authorize", Function: Auth, Operation: OpOIDCAuthorize, Public: true, Page: true,
			Summary: "OAuth 2.0 authorization endpoint (code flow, PKCE): hands over to the hosted login"},
		{Method: "POST", Path: "/oauth/token", Function: Auth, Operation: OpOIDCToken, Public: true, Page: true,
			Summary: "OAuth 2.0 token endpoint: authorization_code, refresh_token, client_credentials"},
		{Method: "GET", Path: "/oauth/userinfo", Function: Auth, Operation: OpOIDCUserInfo, Public: true, Page: true,
			Summary: "OpenID Connect userinfo of a session's access token"},
		{Method: "POST", Path: "/oauth/revoke", Function: Auth, Operation: OpOIDCRevoke, Public: true, Page: true,
			Summary: "Revoke a refresh token (its session) or an access token (RFC 7009)"},
		{Method: "POST", Path: "/oauth/introspect", Function: Auth, Operation: OpOIDCIntrospect, Public: true, Page: true,
			Summary: "Introspect an access token or API key for a confidential client (RFC 7662)"},
		{Method: "GET", Path: "/oauth/logout", Function: Auth, Operation: OpOIDCLogout, Public: true, Page: true,
			Summary: "RP-initiated logout (end_session_endpoint)"},
		{Method: "POST", Path: "/v1/auth/password-change", Function: Auth, Operation: OpPasswordChange, Public: true,
			Summary: "Answer a password_change login challenge with a new password"},
		{Method: "POST", Path: "/v1/auth/organization", Function: Auth, Operation: OpChooseOrganization, Public: true,
			Summary: "Answer an organization login challenge with the organization to sign in to"},
		{Method: "POST", Path: "/v1/auth/switch", Function: Auth, Operation: OpSwitchOrganization, People: true,
			Summary: "Tokens for another organization of the caller's person, without the password (its policy applies)"},

		{Method: "GET", Path: "/v1/organization", Function: Organization, Operation: OpGetOrganization,
			Permission: permission.OrganizationRead, Summary: "The caller's organization"},
		{Method: "PATCH", Path: "/v1/organization", Function: Organization, Operation: OpUpdateOrganization,
			Permission: permission.OrganizationWrite, Summary: "Change the organization's settings"},
		{Method: "PUT", Path: "/v1/organization/logo", Function: Organization, Operation: OpPutLogo,
			Permission: permission.OrganizationWrite, Summary: "Upload the organization's logo (PNG, JPEG or SVG, at most 256 KiB)"},
		{Method: "GET", Path: "/v1/organization/logo", Function: Organization, Operation: OpGetLogo,
			Permission: permission.OrganizationRead, Summary: "The organization's logo"},
		{Method: "GET", Path: "/v1/organizations/{id}/logo", Function: Organization, Operation: OpGetSharedLogo, Public: true,
			Summary: "An organization's logo by the URL its members and organization challenges hold (logo_url; the key v is the logo's)"},
		{Method: "GET", Path: "/v1/organization/units", Function: Organization, Operation: OpListUnits,
			Permission: permission.OrganizationRead, Summary: "The organization's units (companies, establishments, sites, structure levels)"},
		{Method: "POST", Path: "/v1/organization/units", Function: Organization, Operation: OpCreateUnit,
			Permission: permission.OrganizationWrite, Summary: "Add a unit"},
		{Method: "PATCH", Path: "/v1/organization/units/{id}", Function: Organization, Operation: OpUpdateUnit,
			Permission: permission.OrganizationWrite, Summary: "Change a unit"},
		{Method: "DELETE", Path: "/v1/organization/units/{id}", Function: Organization, Operation: OpDeleteUnit,
			Permission: permission.OrganizationWrite, Summary: "Delete a unit no user is assigned to"},
		{Method: "POST", Path: "/v1/organization/owner", Function: Organization, Operation: OpTransferOwnership,
			Permission: permission.OrganizationWrite, Summary: "Hand ownership to another active user with an e-mail (owner only)"},
		{Method: "GET", Path: "/v1/audit", Function: Organization, Operation: OpListAudit,
			Permission: permission.AuditRead, Summary: "The organization's audit trail, newest first"},

		{Method: "GET", Path: "/v1/permissions", Function: Users, Operation: OpListPermissions,
			Summary: "The permission catalog, Guichet's and the application's, described in the caller's language"},
		{Method: "GET", Path: "/v1/roles", Function: Users, Operation: OpListRoles,
			Permission: permission.UsersRead, Summary: "Built-in and custom roles"},
		{Method: "POST", Path: "/v1/roles", Function: Users, Operation: OpCreateRole,
			Permission: permission.RolesWrite, Summary: "Add a custom role (user group)"},
		{Method: "PATCH", Path: "/v1/roles/{id}", Function: Users, Operation: OpUpdateRole,
			Permission: permission.RolesWrite, Summary: "Change a custom role"},
		{Method: "DELETE", Path: "/v1/roles/{id}", Function: Users, Operation: OpDeleteRole,
			Permission: permission.RolesWrite, Summary: "Delete a custom role no user holds"},
		{Method: "GET", Path: "/v1/users", Function: Users, Operation: OpListUsers,
			Permission: permission.UsersRead, Summary: "List users, filtered, a page at a time"},
		// Creating a person mails its welcome link: the bulk function
		// sends mail, so that the users function stays small.
		{Method: "POST", Path: "/v1/users", Function: Bulk, Operation: OpCreateUser,
			Permission: permission.UsersWrite, Summary: "Create a person (e-mail or username) or a service user"},
		{Method: "GET", Path: "/v1/users/export", Function: Bulk, Operation: OpExportUsers,
			Permission: permission.UsersRead, Summary: "Every user of the organization as CSV or JSON Lines (password hashes with users:export); past 5 MiB, 303 See Other to a 15-minute link"},
		{Method: "POST", Path: "/v1/users/import", Function: Bulk, Operation: OpImportUsers,
			Permission: permission.UsersWrite, Summary: "Create up to 10,000 users from CSV or JSON Lines, with a report per row"},
		{Method: "GET", Path: "/v1/users/{id}", Function: Users, Operation: OpGetUser,
			Permission: permission.UsersRead, Self: true, Summary: "One user"},
		{Method: "PATCH", Path: "/v1/users/{id}", Function: Users, Operation: OpUpdateUser,
			Permission: permission.UsersWrite, Summary: "Change a user's names, language, role or units"},
		{Method: "DELETE", Path: "/v1/users/{id}", Function: Users, Operation: OpDeleteUser,
			Permission: permission.UsersWrite, Summary: "Delete a user and end all their credentials"},
		{Method: "POST", Path: "/v1/users/{id}/status", Function: Users, Operation: OpSetUserStatus,
			Permission: permission.UsersWrite, Summary: "Activate or deactivate a user"},
		{Method: "POST", Path: "/v1/users/{id}/password", Function: Users, Operation: OpSetUserPassword,
			Permission: permission.UsersWrite, Summary: "Set a username user's password (manual reset)"},
		{Method: "POST", Path: "/v1/users/{id}/letter", Function: Users, Operation: OpPrintLetter,
			Permission: permission.UsersWrite, Summary: "Reset a service user's password and get the printable PDF letter"},
		{Method: "POST", Path: "/v1/users/{id}/mfa-reset", Function: Users, Operation: OpResetUserMFA,
			Permission: permission.UsersWrite, Summary: "Turn off a user's two-step verification (a lost authenticator) and end their sessions"},

		{Method: "POST", Path: "/v1/auth/mfa", Function: Auth, Operation: OpMFALogin, Public: true,
			Summary: "Answer an mfa login challenge with a TOTP or recovery code"},
		{Method: "POST", Path: "/v1/auth/mfa/enroll", Function: Auth, Operation: OpMFAEnroll, Public: true,
			Summary: "Answer an mfa_enrollment login challenge: a new authenticator secret, otpauth URI and QR code"},
		{Method: "POST", Path: "/v1/auth/mfa/enroll/confirm", Function: Auth, Operation: OpMFAEnrollConfirm, Public: true,
			Summary: "Confirm the authenticator of an mfa_enrollment challenge with a code: recovery codes and tokens"},
		{Method: "POST", Path: "/v1/auth/email-proof", Function: Auth, Operation: OpEmailProof, Public: true,
			Summary: "Answer an email_proof login challenge with the code mailed to the address"},
		{Method: "PATCH", Path: "/v1/me", Function: Profile, Operation: OpUpdateMe, People: true,
			Summary: "Change one's own names, language, addresses, working hours and notifications"},
		{Method: "POST", Path: "/v1/me/password", Function: Profile, Operation: OpChangeMyPassword, People: true,
			Summary: "Change one's password; ends every other session"},
		{Method: "POST", Path: "/v1/me/email", Function: Profile, Operation: OpRequestEmailChange, People: true,
			Summary: "Ask to change one's e-mail (login name): a link goes to the new address"},
		{Method: "POST", Path: "/v1/me/email/confirm", Function: Profile, Operation: OpConfirmEmailChange, Public: true,
			Summary: "Confirm an e-mail change with the token of its link"},
		{Method: "GET", Path: "/v1/me/sessions", Function: Profile, Operation: OpListMySessions,
			Summary: "One's sessions"},
		{Method: "DELETE", Path: "/v1/me/sessions/{id}", Function: Profile, Operation: OpEndMySession,
			Summary: "End one of one's sessions"},
		{Method: "DELETE", Path: "/v1/me/sessions", Function: Profile, Operation: OpEndMyOtherSessions,
			Summary: "End every session but the current one"},
		{Method: "POST", Path: "/v1/me/mfa/totp", Function: Profile, Operation: OpStartTOTP, People: true,
			Summary: "Start enrolling an authenticator app: secret, otpauth URI and QR code"},
		{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Function: Profile, Operation: OpConfirmTOTP, People: true,
			Summary: "Confirm the authenticator with a code; returns recovery codes once"},
		{Method: "DELETE", Path: "/v1/me/mfa/totp", Function: Profile, Operation: OpDisableTOTP, People: true,
			Summary: "Turn two-step verification off (password and code)"},

		{Method: "POST", Path: "/v1/invitations", Function: Invitations, Operation: OpCreateInvitation,
			Permission: permission.InvitationsWrite, Summary: "Invite someone by e-mail; returns a link to copy"},
		{Method: "GET", Path: "/v1/invitations", Function: Invitations, Operation: OpListInvitations,
			Permission: permission.InvitationsWrite, Summary: "The organization's invitations"},
		{Method: "DELETE", Path: "/v1/invitations/{id}", Function: Invitations, Operation: OpRevokeInvitation,
			Permission: permission.InvitationsWrite, Summary: "Revoke a pending invitation"},
		{Method: "POST", Path: "/v1/invitations/{id}/link", Function: Invitations, Operation: OpRegenerateInvitationLink,
			Permission: permission.InvitationsWrite, Summary: "A new link for a pending invitation; the old one stops working"},
		{Method: "POST", Path: "/v1/invitations/{id}/resend", Function: Invitations, Operation: OpResendInvitation,
			Permission: permission.InvitationsWrite, Summary: "Send a pending invitation's e-mail again, with a new link"},
		{Method: "GET", Path: "/v1/invitations/preview", Function: Invitations, Operation: OpPreviewInvitation, Public: true,
			Summary: "What an invitation link invites to"},
		{Method: "POST", Path: "/v1/invitations/accept", Function: Invitations, Operation: OpAcceptInvitation, Public: true,
			Summary: "Accept an invitation: create the account and sign in"},

		{Method: "POST", Path: "/v1/password-resets", Function: PasswordReset, Operation: OpRequestPasswordReset, Public: true,
			Summary: "Forgot password: a reset link goes to the address if it has an account"},
		{Method: "POST", Path: "/v1/password-resets/complete", Function: PasswordReset, Operation: OpCompletePasswordReset, Public: true,
			Summary: "Set a new password with the token of a reset link"},
		{Method: "POST", Path: "/v1/users/{id}/password-reset", Function: PasswordReset, Operation: OpAdminPasswordReset,
			Permission: permission.UsersWrite, Summary: "A reset link for an e-mail user, to copy or to send"},

		{Method: "GET", Path: "/invite", Function: Pages, Operation: OpInvitePage, Public: true, Page: true,
			Summary: "Invitation page: what the link invites to, and the form to accept it"},
		{Method: "POST", Path: "/invite", Function: Pages, Operation: OpAcceptInvitePage, Public: true, Page: true,
			Summary: "Accept an invitation from its page and sign in"},
		{Method: "GET", Path: "/reset", Function: Pages, Operation: OpResetPage, Public: true, Page: true,
			Summary: "Password reset page: the form to choose a new password"},
		{Method: "POST", Path: "/reset", Function: Pages, Operation: OpCompleteResetPage, Public: true, Page: true,
			Summary: "Set the new password of a reset link"},
		{Method: "GET", Path: "/forgot", Function: Pages, Operation: OpForgotPage, Public: true, Page: true,
			Summary: "Forgot-password page: the form to ask for a reset link"},
		{Method: "POST", Path: "/forgot", Function: Pages, Operation: OpRequestResetPage, Public: true, Page: true,
			Summary: "Ask for a reset link; the answer is the same whether or not the address has an account"},
		{Method: "GET", Path: "/login", Function: Pages, Operation: OpLoginPage, Public: true, Page: true,
			Summary: "Sign-in page"},
		{Method: "POST", Path: "/login", Function: Pages, Operation: OpLoginSubmitPage, Public: true, Page: true,
			Summary: "Sign in, or go on to the step the login asks for (a password change)"},
		{Method: "POST", Path: "/login/step", Function: Pages, Operation: OpLoginStepPage, Public: true, Page: true,
			Summary: "Answer a sign-in step (challenge) and sign in"},
		{Method: "POST", Path: "/login/consent", Function: Pages, Operation: OpLoginConsentPage, Public: true, Page: true,
			Summary: "Allow or deny an application that is not the deployment's own what it asks"},
		{Method: "GET", Path: "/email/confirm", Function: Pages, Operation: OpEmailConfirmPage, Public: true, Page: true,
			Summary: "E-mail change page: the button that confirms the new address"},
		{Method: "POST", Path: "/email/confirm", Function: Pages, Operation: OpConfirmEmailPage, Public: true, Page: true,
			Summary: "Confirm an e-mail change: the new address becomes the login"},
		{Method: "GET", Path: "/assets/guichet.css", Function: Pages, Operation: OpPagesStylesheet, Public: true, Page: true,
			Summary: "The hosted pages' stylesheet"},

		{Method: "GET", Path: "/v1/clients", Function: APIKeys, Operation: OpListClients,
			Summary: "The client applications API keys are made for"},
		{Method: "POST", Path: "/v1/me/api-keys", Function: APIKeys, Operation: OpCreateAPIKey, People: true,
			Summary: "Create an API key; the key is shown once"},
		{Method: "GET", Path: "/v1/me/api-keys", Function: APIKeys, Operation: OpListMyAPIKeys, People: true,
			Summary: "One's API keys (never the keys themselves)"},
		{Method: "DELETE", Path: "/v1/me/api-keys/{id}", Function: APIKeys, Operation: OpRevokeMyAPIKey, People: true,
			Summary: "Revoke one of one's API keys"},
		{Method: "POST", Path: "/v1/me/api-keys/{id}/rotate", Function: APIKeys, Operation: OpRotateMyAPIKey, People: true,
			Summary: "Replace one of one's API keys by a new one"},
		{Method: "GET", Path: "/v1/api-keys", Function: APIKeys, Operation: OpListAPIKeys,
			Permission: permission.APIKeysRead, Summary: "Every API key of the organization"},
		{Method: "DELETE", Path: "/v1/api-keys/{id}", Function: APIKeys, Operation: OpRevokeAPIKey,
			Permission: permission.UsersWrite, Summary: "Revoke any API key of the organization"},
	}
}

// Functions returns the name of every function that serves routes, plus the
// authorizer, in a stable order.
func Functions() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range append(All(), Fallback) {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return append(out, Authorizer, Jobs)
}

// ServesRoutes reports whether function fn serves routes of the table:
// every function but the authorizer and the jobs.
func ServesRoutes(fn string) bool { return fn != Authorizer && fn != Jobs }

// ByFunction returns the routes a function serves.
func ByFunction(fn string) []Route {
	var out []Route
	for _, r := range All() {
		if r.Function == fn {
			out = append(out, r)
		}
	}
	return out
}

// Spec is what a function needs once deployed: the DynamoDB actions its code
// calls (its role gets exactly these, on the table and its index), whether it
// sends mail, and its size. A test runs every route and checks that each
// function calls no action outside its spec. Every function serving
// authorized routes needs UpdateItem: it records when an API key it is
// called with was last used (the authorizer only reads).
type Spec struct {
	Name      string
	DynamoDB  []string
	SendsMail bool
	// MFAKey is true for functions that seal or open the secrets of
	// two-step verification: only they are given the key (MFA_ENCRYPTION_KEY_SECRET, or MFA_ENCRYPTION_KEY locally).
	MFAKey bool
	// SignsJWT is true for functions that open sessions (they sign access
	// tokens): only they are given the signing keys (JWT_KEYS_SECRET, or
	// JWT_KEYS locally).
	SignsJWT bool
	// RotatesKeys is true for the function the rotation schedule invokes
	// (it reads and writes the signing keys' secret).
	RotatesKeys    bool
	MemoryMB       int
	TimeoutSeconds int
}

// IAMActions returns the DynamoDB actions the function's role needs: its
// spec's, where a TransactWriteItems call stands for the item-level actions
// IAM checks for each item of the transaction (TransactWriteItems itself is
// no IAM action).
func (s Spec) IAMActions() []string {
	var out []string
	for _, a := range s.DynamoDB {
		if a == "TransactWriteItems" {
			for _, item := range []string{"ConditionCheckItem", "DeleteItem", "PutItem", "UpdateItem"} {
				if !slices.Contains(out, item) {
					out = append(out, item)
				}
			}
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Memory sizes. Lambda gives CPU in proportion to memory: 1,769 MB is one
// vCPU, 512 MB about 0.29. A password hash (argon2id, password.Default: one
// thread, 19 MiB, two passes) takes 31 ms on one vCPU and about 107 ms at
// 512 MB; CPU-bound work costs the same GB-seconds at either size, so a
// function that hashes on its requests gets one vCPU and answers 3.5×
// sooner for the same price. More than one vCPU buys a single-threaded hash
// nothing. Functions whose requests wait on DynamoDB and do little CPU
// work stay small: there a larger size only costs more.
const (
	// oneVCPU is the smallest size with a whole vCPU.
	oneVCPU = 1769
	// small is for I/O-bound functions: a token check or a few DynamoDB
	// calls and a JSON body, well under a millisecond of CPU each.
	small = 256
	// medium is for I/O-bound functions with batches of mail to render.
	medium = 512
)

// Specs returns the spec of every function in Functions() order.
func Specs() []Spec {
	return []Spec{
		// Auth mails the code proving an imported person's address. Every
		// login and service token verifies a password hash: one vCPU.
		{Name: Auth, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"},
			SendsMail: true, MFAKey: true, SignsJWT: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// A password change verifies the old password and hashes the new one
		// (two hashes); turning two-step verification off checks the
		// password: one vCPU.
		{Name: Profile, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"},
			SendsMail: true, MFAKey: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// The pages accept invitations, reset passwords (and send the mail of
		// forgot-password), sign in with challenges, and end the session of
		// a cookie another account replaces. Signing in, accepting and
		// resetting each hash a password: one vCPU.
		{Name: Pages, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"},
			SendsMail: true, MFAKey: true, SignsJWT: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// The organization hashes nothing: reads and small writes, I/O-bound.
		{Name: Organization, DynamoDB: []string{"GetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems"},
			MemoryMB: small, TimeoutSeconds: 10},
		// Setting a username user's password and printing a service user's
		// letter hash the new password; filtered lists sort and match pages
		// of users: one vCPU.
		{Name: Users, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"},
			MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// Imports write up to 10,000 users and mail their links: the
		// longest a function may take behind API Gateway (29 s). It also
		// creates single users, mailing their welcome links (a service
		// user's password is hashed), and formats exports. Parsing, checking
		// and formatting 10,000 rows is CPU work on the clock of the 29 s
		// limit, and the rows are held in memory: one vCPU, whose memory
		// also holds them with room to spare.
		{Name: Bulk, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"},
			SendsMail: true, MemoryMB: oneVCPU, TimeoutSeconds: 29},
		// Accepting an invitation hashes the new account's password: one
		// vCPU.
		{Name: Invitations, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"},
			SendsMail: true, SignsJWT: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// Completing a reset hashes the new password: one vCPU.
		{Name: PasswordReset, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"},
			SendsMail: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// Making a key asks for the current password (a hash to verify) or a
		// code, and mails its owner: one vCPU.
		{Name: APIKeys, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "DeleteItem", "TransactWriteItems"},
			SendsMail: true, MFAKey: true, MemoryMB: oneVCPU, TimeoutSeconds: 10},
		// The authorizer hashes nothing: it checks a token's signature (or an
		// API key's SHA-256) and reads one item. It runs before every
		// authorized request, so it stays small and cheap.
		{Name: Authorizer, DynamoDB: []string{"GetItem"}, MemoryMB: small, TimeoutSeconds: 5},
		// Jobs run in batches that each end well within the timeout; a
		// batch cut short runs again. They hash nothing: batches of
		// DynamoDB writes and mails, I/O-bound.
		{Name: Jobs, DynamoDB: []string{"GetItem", "BatchGetItem", "Query", "UpdateItem", "DeleteItem", "TransactWriteItems"},
			SendsMail: true, RotatesKeys: true, MemoryMB: medium, TimeoutSeconds: 60},
	}
}

// SpecOf returns the spec of function fn.
func SpecOf(fn string) (Spec, bool) {
	for _, s := range Specs() {
		if s.Name == fn {
			return s, true
		}
	}
	return Spec{}, false
}
