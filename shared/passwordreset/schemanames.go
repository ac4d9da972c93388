package passwordreset

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (RequestBody) SchemaName() string  { return "PasswordResetRequest" }
func (CompleteBody) SchemaName() string { return "CompletePasswordResetRequest" }
func (AdminBody) SchemaName() string    { return "AdminPasswordResetRequest" }
func (Accepted) SchemaName() string     { return "PasswordResetAccepted" }
func (AdminLink) SchemaName() string    { return "PasswordResetLink" }
