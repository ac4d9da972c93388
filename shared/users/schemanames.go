package users

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (Page) SchemaName() string            { return "UserPage" }
func (CreateRequest) SchemaName() string   { return "CreateUserRequest" }
func (Created) SchemaName() string         { return "CreatedUser" }
func (UpdateRequest) SchemaName() string   { return "UpdateUserRequest" }
func (PasswordRequest) SchemaName() string { return "SetUserPasswordRequest" }
func (StatusRequest) SchemaName() string   { return "UserStatusRequest" }
