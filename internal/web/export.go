package web

// Translator gives other page packages (the back-office console) the
// pages' catalogues: every locales/<area>.<lang>.toml file, so their
// messages live beside the others and the catalogue test keeps their
// languages in step.
type Translator struct{ c *catalog }

// NewTranslator loads the catalogues.
func NewTranslator() (*Translator, error) {
	c, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	return &Translator{c: c}, nil
}

// T translates the message id into lang; args are name/value pairs for its
// placeholders ("Count" also picks the plural form).
func (t *Translator) T(lang, id string, args ...any) string { return t.c.T(lang, id, args...) }

// Has reports whether lang's catalogue has the message id.
func (t *Translator) Has(lang, id string) bool { return t.c.Has(lang, id) }

// Supported reports whether lang is a language of the pages.
func (t *Translator) Supported(lang string) bool { return t.c.supported(lang) }

// Match picks the best language of the pages for an Accept-Language header.
func (t *Translator) Match(acceptLanguage string) string { return t.c.match(acceptLanguage) }

// LanguageName is the name of a language in itself ("Italiano").
func LanguageName(lang string) string { return languageNames[lang] }
