package invitations

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (CreateRequest) SchemaName() string { return "CreateInvitationRequest" }
func (Page) SchemaName() string          { return "InvitationPage" }
func (WithLink) SchemaName() string      { return "InvitationWithLink" }
func (AcceptRequest) SchemaName() string { return "AcceptInvitationRequest" }
func (Preview) SchemaName() string       { return "InvitationPreview" }
