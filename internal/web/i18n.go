package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/onboard-dev/onboard/internal/flows"
)

// The catalogues: locales/<area>.<lang>.toml, any number of areas per
// language, each a flat table of message ids to texts (go-i18n's format;
// "{{.Name}}" placeholders, plural forms as sub-tables).
//
//go:embed locales/*.toml
var localeFS embed.FS

// catalog holds the messages of every language and picks a language for a
// request.
type catalog struct {
	bundle  *i18n.Bundle
	tags    []language.Tag
	matcher language.Matcher
	loc     map[string]*i18n.Localizer
}

// loadCatalog parses every embedded catalogue file.
func loadCatalog() (*catalog, error) {
	c := &catalog{bundle: i18n.NewBundle(language.English), loc: map[string]*i18n.Localizer{}}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(localeFS, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		raw, err := localeFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		if _, err := c.bundle.ParseMessageFileBytes(raw, n); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", n, err)
		}
	}
	for _, l := range flows.Languages {
		t := language.Make(l)
		c.tags = append(c.tags, t)
		c.loc[l] = i18n.NewLocalizer(c.bundle, l)
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// supported reports whether lang is a language of the pages.
func (c *catalog) supported(lang string) bool {
	_, ok := c.loc[lang]
	return ok
}

// match picks the best language for an Accept-Language header.
func (c *catalog) match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return flows.Languages[0]
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return flows.Languages[0]
	}
	return flows.Languages[i]
}

// T translates the message id into lang. args are name/value pairs for the
// message's placeholders ("Name", "Ada"); a count named "Count" also picks
// the plural form. A missing message shows its id, which the catalogue test
// prevents.
func (c *catalog) T(lang, id string, args ...any) string {
	loc, ok := c.loc[lang]
	if !ok {
		loc = c.loc[flows.Languages[0]]
	}
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	lc := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["Count"]; ok {
		lc.PluralCount = n
	}
	s, err := loc.Localize(lc)
	if err != nil {
		return id
	}
	return s
}

// Has reports whether the catalogue of lang has the message id.
func (c *catalog) Has(lang, id string) bool {
	loc, ok := c.loc[lang]
	if !ok {
		return false
	}
	_, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}

// langCookie remembers the language picked with the switch.
func (p *Pages) langCookieName() string { return p.cookieName("lang") }

// language picks the language of a request: the signed-in user's saved
// language, else the one picked with the switch (a cookie), else the best
// match of Accept-Language.
func (p *Pages) language(r *http.Request, userLang string) string {
	if p.cat.supported(userLang) {
		return userLang
	}
	if c, err := r.Cookie(p.langCookieName()); err == nil && p.cat.supported(c.Value) {
		return c.Value
	}
	return p.cat.match(r.Header.Get("Accept-Language"))
}

// languageNames are the names of the languages in themselves, for the switch.
var languageNames = map[string]string{"en": "English", "it": "Italiano"}

// catalogueKeys returns the message ids of each language over every
// catalogue file, for the test that keeps the languages in step.
func catalogueKeys() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	names, err := fs.Glob(localeFS, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(n, "locales/"), ".toml"), ".")
		if len(parts) != 2 {
			return nil, fmt.Errorf("catalogue %s: want <area>.<lang>.toml", n)
		}
		raw, err := localeFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := toml.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", n, err)
		}
		lang := parts[1]
		if out[lang] == nil {
			out[lang] = map[string]string{}
		}
		for k := range m {
			if prev, dup := out[lang][k]; dup {
				return nil, fmt.Errorf("message %q is in both %s and %s", k, prev, n)
			}
			out[lang][k] = n
		}
	}
	return out, nil
}
