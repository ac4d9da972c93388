package organization

// patchValue applies a PATCH field to an item's field cur: when the
// request gives it (req not nil) and it differs, cur and the store's change
// take it and name is added to fields (the audit event's).
func patchValue[T comparable](fields *[]string, name string, req, cur *T, change **T) {
	if req != nil && *req != *cur {
		*change, *cur = req, *req
		*fields = append(*fields, name)
	}
}

// patchPointer is patchValue for an optional field, held as a pointer:
// when the request gives it and v, its checked value, differs from cur
// (or cur is absent), cur and the store's change point to v.
func patchPointer[T comparable](fields *[]string, name string, given bool, v *T, cur, change **T) {
	if given && (*cur == nil || **cur != *v) {
		*change, *cur = v, v
		*fields = append(*fields, name)
	}
}
