package apikeys

// OptionalBody tells the API description that rotation's body may be left
// out: an empty body rotates with the defaults (openapi.OptionalBody).
func (RotateAPIKeyRequest) OptionalBody() {}
