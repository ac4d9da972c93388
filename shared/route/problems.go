package route

import (
	"slices"
)

// problems lists, by operation, the problem codes its handler and what it
// calls can answer. They were collected from the code: the problem
// constructors (shared/problem) and errors (store.ErrConflict) reachable
// from each operation's handler through its call graph;
// TestProblemsHoldEveryCodeTheCodeAnswers fails when the code can answer
// one this table misses. The codes every
// authorized route may answer (missing_token, invalid_token, forbidden,
// service_user) and every route's internal and unavailable are added by
// Problems from the route itself.
var problems = map[string][]string{
	"login":                    {"account_inactive", "body_too_large", "conflict", "invalid_credentials", "invalid_json", "login_locked", "service_user", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"refresh":                  {"body_too_large", "conflict", "invalid_json", "invalid_token", "token_reused", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"logout":                   {"not_a_session"},
	"getMe":                    {"not_found"},
	"openapi":                  nil,
	"serviceToken":             {"account_inactive", "body_too_large", "conflict", "invalid_credentials", "invalid_json", "login_locked", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"passwordChange":           {"body_too_large", "conflict", "invalid_json", "invalid_token", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"transferOwnership":        {"body_too_large", "conflict", "forbidden", "invalid_json", "not_found", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"getOrganization":          {"not_found"},
	"updateOrganization":       {"body_too_large", "conflict", "invalid_json", "not_found", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"putLogo":                  {"conflict", "logo_too_large", "not_found", "unreadable_body", "unsafe_svg", "unsupported_logo"},
	"getLogo":                  {"not_found"},
	"listUnits":                {"invalid_cursor", "validation_failed"},
	"createUnit":               {"body_too_large", "conflict", "invalid_json", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"updateUnit":               {"body_too_large", "conflict", "invalid_json", "not_found", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"deleteUnit":               {"conflict", "not_found", "unit_has_children", "unit_in_use"},
	"listAudit":                {"invalid_cursor", "validation_failed"},
	"listRoles":                nil,
	"createRole":               {"body_too_large", "conflict", "invalid_json", "permission_escalation", "role_name_taken", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"updateRole":               {"body_too_large", "built_in_role", "conflict", "invalid_json", "not_found", "permission_escalation", "role_held_without_email", "role_name_taken", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"deleteRole":               {"built_in_role", "conflict", "not_found", "role_in_use"},
	"listUsers":                {"invalid_cursor", "validation_failed"},
	"createUser":               {"body_too_large", "email_taken", "invalid_json", "permission_escalation", "unreadable_body", "unsupported_media_type", "user_code_taken", "username_taken", "validation_failed"},
	"exportUsers":              {"export_too_large", "forbidden", "validation_failed"},
	"importUsers":              {"body_too_large", "conflict", "invalid_json", "too_many_rows", "unreadable_body", "unsupported_format", "validation_failed"},
	"getUser":                  {"not_found"},
	"updateUser":               {"body_too_large", "conflict", "invalid_json", "not_found", "own_role", "owner_protected", "permission_escalation", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"deleteUser":               {"conflict", "not_found", "owner_protected", "permission_escalation", "self_protected", "validation_failed"},
	"setUserStatus":            {"body_too_large", "conflict", "invalid_json", "not_found", "owner_protected", "permission_escalation", "self_protected", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"setUserPassword":          {"body_too_large", "conflict", "invalid_json", "not_a_username_user", "not_found", "owner_protected", "permission_escalation", "self_protected", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"printLetter":              {"conflict", "not_a_service_user", "not_found", "permission_escalation", "validation_failed"},
	"mfaLogin":                 {"body_too_large", "code_used", "conflict", "invalid_code", "invalid_json", "invalid_token", "too_many_codes", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"mfaEnroll":                {"body_too_large", "conflict", "invalid_json", "invalid_token", "mfa_enabled", "not_a_person", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"mfaEnrollConfirm":         {"body_too_large", "code_used", "conflict", "invalid_code", "invalid_json", "invalid_token", "mfa_enabled", "no_enrollment", "too_many_codes", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"updateMe":                 {"body_too_large", "conflict", "invalid_json", "not_found", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"changeMyPassword":         {"body_too_large", "conflict", "invalid_json", "invalid_password", "not_found", "session_required", "too_many_attempts", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"requestEmailChange":       {"body_too_large", "email_taken", "invalid_json", "invalid_password", "no_email", "not_found", "session_required", "too_many_attempts", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"confirmEmailChange":       {"body_too_large", "conflict", "email_taken", "invalid_json", "invalid_link", "link_expired", "link_used", "too_many_requests", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"listMySessions":           nil,
	"endMySession":             {"not_found"},
	"endMyOtherSessions":       nil,
	"startTOTP":                {"conflict", "mfa_enabled", "not_a_person", "not_found", "session_required"},
	"confirmTOTP":              {"body_too_large", "code_used", "conflict", "invalid_code", "invalid_json", "mfa_enabled", "no_enrollment", "not_found", "session_required", "too_many_codes", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"disableTOTP":              {"body_too_large", "code_used", "conflict", "invalid_code", "invalid_json", "invalid_password", "mfa_off", "mfa_required", "not_found", "session_required", "too_many_attempts", "too_many_codes", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"createInvitation":         {"body_too_large", "invalid_json", "invitation_pending", "permission_escalation", "unreadable_body", "unsupported_media_type", "user_exists", "validation_failed"},
	"listInvitations":          {"invalid_cursor", "validation_failed"},
	"revokeInvitation":         {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found"},
	"regenerateInvitationLink": {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found"},
	"resendInvitation":         {"conflict", "invitation_accepted", "invitation_expired", "invitation_revoked", "not_found"},
	"previewInvitation":        {"invalid_link", "link_expired", "link_used", "role_gone", "too_many_requests"},
	"acceptInvitation":         {"body_too_large", "invalid_json", "invalid_link", "link_expired", "link_used", "role_gone", "too_many_requests", "unit_gone", "unreadable_body", "unsupported_media_type", "user_exists", "validation_failed"},
	"requestPasswordReset":     {"body_too_large", "invalid_json", "too_many_requests", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"completePasswordReset":    {"body_too_large", "conflict", "invalid_json", "invalid_link", "link_expired", "link_used", "too_many_requests", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"adminPasswordReset":       {"body_too_large", "invalid_json", "not_an_email_user", "not_found", "permission_escalation", "unreadable_body", "unsupported_media_type"},
	"listClients":              nil,
	"createAPIKey":             {"body_too_large", "conflict", "invalid_json", "not_found", "scope_escalation", "service_user", "session_required", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"listMyAPIKeys":            nil,
	"revokeMyAPIKey":           {"conflict", "not_found"},
	"rotateMyAPIKey":           {"already_rotated", "body_too_large", "conflict", "invalid_json", "not_found", "service_user", "session_required", "unreadable_body", "unsupported_media_type", "validation_failed"},
	"listAPIKeys":              {"invalid_cursor", "validation_failed"},
	"revokeAPIKey":             {"conflict", "not_found"},
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
	"own_role":                403,
	"permission_escalation":   403,
	"scope_escalation":        403,
	"service_user":            403,
	"session_required":        403,
	"not_found":               404,
	"already_rotated":         409,
	"built_in_role":           409,
	"conflict":                409,
	"email_taken":             409,
	"invitation_accepted":     409,
	"invitation_expired":      409,
	"invitation_pending":      409,
	"invitation_revoked":      409,
	"mfa_enabled":             409,
	"mfa_off":                 409,
	"mfa_required":            409,
	"no_enrollment":           409,
	"owner_protected":         409,
	"role_gone":               409,
	"role_held_without_email": 409,
	"role_in_use":             409,
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
	"too_many_requests":       429,
	"missing_token":           401,
	"internal":                500,
	"unavailable":             503,
}

// Problems returns the problem codes the route's operation may answer,
// sorted: its own, those of its authentication, permission and kind of
// principal, and every route's internal and unavailable.
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
