package session

// The names of this package's types in the API description, where the Go
// name alone, read outside the package, would not say what they are
// (openapi.Namer).

func (EnrollRequest) SchemaName() string { return "MFAEnrollRequest" }
func (Enrolled) SchemaName() string      { return "MFAEnrolled" }
func (Challenge) SchemaName() string     { return "LoginChallenge" }
