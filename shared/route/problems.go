package route

import (
	"slices"
)

// problems lists, by operation, the problem codes its handler and what it
// calls can answer. They were collected from the code: the problem
// constructors (shared/problem) and conflicts (store.ErrConflict, a
// store.Conflict) reachable from each operation's handler through its
// call graph; TestProblemsHoldEveryCodeTheCodeAnswers fails when the
// table misses one the code answers, or lists one it does not (but the
// invitation_<state> codes, built at run time). The codes every
// authorized route may answer (missing_token, invalid_token, forbidden,
// service_user) and every route's internal and unavailable are added by
// Problems from the route; those of decoding a body or a query (the
// router's) by the description builder from the operation.
var problems = map[string][]string{
	"login":                    {"account_inactive", "conflict", "invalid_credentials", "login_locked", "no_membership", "service_user"},
	"chooseOrganization":       {"account_inactive", "conflict", "invalid_token", "no_membership"},
	"switchOrganization":       {"account_inactive", "conflict", "invalid_token", "no_membership", "not_a_session"},
	"refresh":                  {"conflict", "invalid_token", "refresh_in_progress", "token_reused"},
	"logout":                   {"not_a_session"},
	"getMe":                    {"not_found"},
	"openapi":                  nil,
	"jwks":                     nil,
	"serviceToken":             {"account_inactive", "conflict", "invalid_credentials", "login_locked", "no_membership"},
	"passwordChange":           {"conflict", "invalid_token", "validation_failed"},
	"transferOwnership":        {"conflict", "forbidden", "not_found", "validation_failed"},
	"getOrganization":          {"not_found"},
	"updateOrganization":       {"conflict", "not_found", "validation_failed"},
	"putLogo":                  {"conflict", "logo_too_large", "not_found", "unreadable_body", "unsafe_svg", "unsupported_logo"},
	"getLogo":                  {"not_found"},
	"getSharedLogo":            {"not_found"},
	"listUnits":                {"invalid_cursor"},
	"createUnit":               {"conflict", "validation_failed"},
	"updateUnit":               {"conflict", "not_found", "validation_failed"},
	"deleteUnit":               {"conflict", "not_found", "unit_has_children", "unit_in_use"},
	"listAudit":                {"invalid_cursor"},
	"listRoles":                nil,
	"listPermissions":          nil,
	"createRole":               {"conflict", "permission_escalation", "role_name_taken", "unit_limited_role", "validation_failed"},
	"updateRole":               {"built_in_role", "conflict", "not_found", "permission_escalation", "role_held_without_email", "role_name_taken", "unit_limited_role", "validation_failed"},
	"deleteRole":               {"built_in_role", "conflict", "not_found", "role_in_use"},
	"listUsers":                {"invalid_cursor", "validation_failed"},
	"createUser":               {"email_taken", "outside_units", "permission_escalation", "too_many_mails", "unit_limited_role", "user_code_taken", "username_taken", "validation_failed"},
	"exportUsers":              {"export_too_large", "forbidden", "validation_failed"},
	"importUsers":              {"body_too_large", "conflict", "invalid_json", "too_many_mails", "too_many_rows", "unit_limited_role", "unreadable_body", "unsupported_format", "validation_failed"},
	"getUser":                  {"not_found"},
	"updateUser":               {"conflict", "not_found", "outside_units", "own_role", "owner_protected", "permission_escalation", "unit_limited_role", "validation_failed"},
	"deleteUser":               {"conflict", "not_found", "owner_protected", "permission_escalation", "self_protected", "unit_limited_role", "validation_failed"},
	"setUserStatus":            {"conflict", "not_found", "owner_protected", "permission_escalation", "self_protected", "unit_limited_role", "validation_failed"},
	"setUserPassword":          {"conflict", "not_a_username_user", "not_found", "owner_protected", "permission_escalation", "self_protected", "unit_limited_role", "validation_failed"},
	"printLetter":              {"conflict", "not_a_service_user", "not_found", "owner_protected", "permission_escalation", "unit_limited_role", "validation_failed"},
	"resetUserMFA":             {"conflict", "mfa_off", "not_found", "owner_protected", "permission_escalation", "person_shared", "self_protected", "unit_limited_role", "validation_failed"},
	"mfaLogin":                 {"code_used", "conflict", "invalid_code", "invalid_token", "too_many_codes"},
	"emailProof":               {"code_used", "conflict", "email_taken", "invalid_code", "invalid_token", "too_many_codes"},
	"mfaEnroll":                {"conflict", "invalid_token", "mfa_enabled", "not_a_person"},
	"mfaEnrollConfirm":         {"code_used", "conflict", "invalid_code", "invalid_token", "mfa_enabled", "no_enrollment", "too_many_codes"},
	"updateMe":                 {"conflict", "not_found", "session_required", "validation_failed"},
	"changeMyPassword":         {"conflict", "invalid_password", "not_found", "session_required", "too_many_attempts", "validation_failed"},
	"requestEmailChange":       {"conflict", "invalid_password", "no_email", "not_found", "session_required", "too_many_attempts", "too_many_mails", "validation_failed"},
	"confirmEmailChange":       {"conflict", "email_taken", "invalid_link", "link_expired", "link_used", "too_many_requests", "validation_failed"},
	"listMySessions":           nil,
	"endMySession":             {"not_found", "session_required"},
	"endMyOtherSessions":       {"session_required"},
	"startTOTP":                {"conflict", "mfa_enabled", "not_a_person", "not_found", "session_required"},
	"confirmTOTP":              {"code_used", "conflict", "invalid_code", "invalid_password", "mfa_enabled", "no_enrollment", "not_found", "session_required", "too_many_attempts", "too_many_codes", "validation_failed"},
	"disableTOTP":              {"code_used", "conflict", "invalid_code", "invalid_password", "mfa_off", "mfa_required", "not_found", "session_required", "too_many_attempts", "too_many_codes", "validation_failed"},
	"createInvitation":         {"conflict", "invitation_pending", "outside_units", "permission_escalation", "too_many_mails", "unit_limited_role", "user_exists", "validation_failed"},
	"listInvitations":          {"invalid_cursor"},
	"revokeInvitation":         {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found", "owner_protected", "permission_escalation", "role_gone", "unit_limited_role"},
	"regenerateInvitationLink": {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found", "owner_protected", "permission_escalation", "role_gone", "too_many_mails", "unit_limited_role"},
	"resendInvitation":         {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found", "owner_protected", "permission_escalation", "role_gone", "too_many_mails", "unit_limited_role"},
	"previewInvitation":        {"invalid_link", "link_expired", "link_used", "role_gone", "too_many_requests"},
	"acceptInvitation":         {"account_inactive", "conflict", "invalid_credentials", "invalid_link", "invalid_token", "not_invited_person", "inviter_cannot_grant", "inviter_gone", "link_expired", "link_used", "login_locked", "member_exists", "no_membership", "role_gone", "too_many_requests", "unit_gone", "user_exists", "validation_failed"},
	"requestPasswordReset":     {"too_many_requests", "validation_failed"},
	"completePasswordReset":    {"conflict", "email_taken", "invalid_link", "link_expired", "link_used", "too_many_requests", "validation_failed"},
	"adminPasswordReset":       {"conflict", "not_an_email_user", "not_found", "owner_protected", "permission_escalation", "person_shared", "too_many_mails", "unit_limited_role", "user_inactive"},
	"listClients":              nil,
	"createAPIKey":             {"code_used", "conflict", "invalid_code", "invalid_password", "not_found", "scope_escalation", "service_user", "session_required", "too_many_attempts", "too_many_codes", "validation_failed"},
	"listMyAPIKeys":            nil,
	"revokeMyAPIKey":           {"conflict", "not_found"},
	"rotateMyAPIKey":           {"already_rotated", "code_used", "conflict", "invalid_code", "invalid_password", "not_found", "service_user", "session_required", "too_many_attempts", "too_many_codes", "validation_failed"},
	"listAPIKeys":              {"invalid_cursor"},
	"revokeAPIKey":             {"conflict", "not_found", "owner_protected", "permission_escalation", "unit_limited_role"},
}

// statuses is the HTTP status of each problem code: a code has one status
// wherever it is answered.
var statuses = map[string]int{
	"invalid_cursor":          400,
	"invalid_json":            400,
	"invalid_link":            400,
	"not_a_session":           400,
	"unreadable_body":         400,
	"invalid_credentials":     401,
	"invalid_token":           401,
	"token_reused":            401,
	"account_inactive":        403,
	"code_used":               403,
	"forbidden":               403,
	"invalid_code":            403,
	"invalid_password":        403,
	"inviter_cannot_grant":    403,
	"no_membership":           403,
	"not_invited_person":      403,
	"outside_units":           403,
	"own_role":                403,
	"permission_escalation":   403,
	"scope_escalation":        403,
	"service_user":            403,
	"session_required":        403,
	"unit_limited_role":       403,
	"not_found":               404,
	"already_rotated":         409,
	"built_in_role":           409,
	"conflict":                409,
	"email_taken":             409,
	"invitation_accepted":     409,
	"invitation_expired":      409,
	"invitation_pending":      409,
	"invitation_revoked":      409,
	"inviter_gone":            409,
	"member_exists":           409,
	"mfa_enabled":             409,
	"mfa_off":                 409,
	"mfa_required":            409,
	"no_enrollment":           409,
	"owner_protected":         409,
	"person_shared":           409,
	"refresh_in_progress":     409,
	"role_gone":               409,
	"role_held_without_email": 409,
	"role_in_use":             409,
	"user_inactive":           409,
	"role_name_taken":         409,
	"self_protected":          409,
	"unit_gone":               409,
	"unit_has_children":       409,
	"unit_in_use":             409,
	"user_code_taken":         409,
	"user_exists":             409,
	"username_taken":          409,
	"link_expired":            410,
	"link_used":               410,
	"body_too_large":          413,
	"logo_too_large":          413,
	"unsafe_svg":              415,
	"unsupported_format":      415,
	"unsupported_logo":        415,
	"unsupported_media_type":  415,
	"export_too_large":        422,
	"no_email":                422,
	"not_a_person":            422,
	"not_a_service_user":      422,
	"not_a_username_user":     422,
	"not_an_email_user":       422,
	"too_many_rows":           422,
	"validation_failed":       422,
	"login_locked":            429,
	"too_many_attempts":       429,
	"too_many_codes":          429,
	"too_many_mails":          429,
	"too_many_requests":       429,
	"missing_token":           401,
	"internal":                500,
	"unavailable":             503,
}

// Problems returns the problem codes the route's operation may answer,
// sorted: its own, those of its authentication, permission and kind of
// principal, and every route's internal and unavailable. Those of decoding
// its body or query are not the route's to know: the description builder
// adds them from the operation.
func (r Route) Problems() []string {
	out := append([]string{"internal", "unavailable"}, problems[string(r.Operation)]...)
	if !r.Public {
		out = append(out, "missing_token", "invalid_token")
	}
	if r.Permission != "" {
		out = append(out, "forbidden")
	}
	if r.People {
		out = append(out, "service_user")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ProblemStatus returns the HTTP status of a problem code, or 0 for a code
// no route answers.
func ProblemStatus(code string) int { return statuses[code] }
