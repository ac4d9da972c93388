package organization

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (Owner) SchemaName() string        { return "OwnershipTransfer" }
func (OwnerRequest) SchemaName() string { return "TransferOwnershipRequest" }
