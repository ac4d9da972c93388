package access

// The names of the principal's parts in Guichet's API description (GET
// /v1/me), apart from Guichet's own types of the same Go names.

func (Principal) SchemaName() string    { return "Principal" }
func (Organization) SchemaName() string { return "PrincipalOrganization" }
func (Role) SchemaName() string         { return "PrincipalRole" }
func (Units) SchemaName() string        { return "PrincipalUnits" }
func (Credential) SchemaName() string   { return "PrincipalCredential" }
