package profile

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (PasswordRequest) SchemaName() string     { return "ChangePasswordRequest" }
func (EmailRequest) SchemaName() string        { return "EmailChangeRequest" }
func (EmailConfirmRequest) SchemaName() string { return "ConfirmEmailChangeRequest" }
func (EmailAccepted) SchemaName() string       { return "EmailChangeAccepted" }
func (Ended) SchemaName() string               { return "EndedSessions" }
func (CodeRequest) SchemaName() string         { return "TOTPCodeRequest" }
func (DisableRequest) SchemaName() string      { return "DisableTOTPRequest" }
func (Route) SchemaName() string               { return "Trip" }
func (Range) SchemaName() string               { return "TimeRange" }
