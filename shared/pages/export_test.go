package pages

// CatalogKeys returns every key of the English catalog, for tests.
func CatalogKeys() []string {
	var keys []string
	for k := range catalog["en"] {
		keys = append(keys, k)
	}
	return keys
}

// Translated reports whether lang has its own text for key.
func Translated(lang, key string) bool {
	_, ok := catalog[lang][key]
	return ok
}
