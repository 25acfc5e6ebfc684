package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/onboard-dev/onboard/internal/brand"
)

// Message template names understood by Templates.Render.
const (
	// TemplateSignup carries the registration link; data is SignupData.
	TemplateSignup = "signup"
	// TemplateAlreadyRegistered answers a sign-up attempt for an address that
	// already has an account; data is AlreadyRegisteredData.
	TemplateAlreadyRegistered = "already_registered"
	// TemplateWelcome is sent once registration completes; data is
	// WelcomeData.
	TemplateWelcome = "welcome"
)

// SignupData is the data for TemplateSignup.
type SignupData struct {
	// Link is the registration link, included verbatim in the text part.
	Link string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// ExpiresIn is a human description of the link lifetime, e.g. "24 hours".
	ExpiresIn string
}

// AlreadyRegisteredData is the data for TemplateAlreadyRegistered. It
// deliberately has no registration link.
type AlreadyRegisteredData struct {
	// SignInURL is the sign-in page.
	SignInURL string
	// ResetURL is the password-reset page.
	ResetURL string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
}

// WelcomeData is the data for TemplateWelcome.
type WelcomeData struct {
	// FirstName is the new user's first name (defanged).
	FirstName string `mail:"defang"`
	// SignInURL is the sign-in page.
	SignInURL string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// AccountType describes the account, e.g. "business".
	AccountType string
}

// Rendered is a rendered message.
type Rendered struct {
	// Subject is the subject, collapsed to a single line.
	Subject string
	// Text is the text/plain body.
	Text string
	// HTML is the text/html body.
	HTML string
}

//go:embed templates
var embedded embed.FS

const (
	embeddedDir   = "templates"
	layoutFile    = "layout.html"
	subjectSuffix = ".subject.txt"
	textSuffix    = ".txt"
	htmlSuffix    = ".html"
)

// Templates holds every message template in every language, parsed. Its
// templates are immutable after LoadTemplates; it is safe for concurrent use.
type Templates struct {
	sets    map[string]templateSet // by language and name: "it/signup"; English has no prefix
	missing []string               // translations that do not exist ("it/signup")
	branded brandedCache
}

// maxBranded bounds the HTML templates kept bound to an organization's
// colours: one per template, language and colour set in use. Past it, a
// render binds (and escapes) a template of its own, as if uncached.
const maxBranded = 512

// brandedKey names an HTML template bound to a set of colours.
type brandedKey struct {
	set     string // the key in Templates.sets
	colours brand.Colours
}

// brandedCache keeps HTML templates bound to colours. html/template escapes
// a template the first time it runs, and a clone with other functions is a
// new template to escape: doing that on every render cost more than the
// render itself, so each (template, colours) pair is bound and escaped once.
type brandedCache struct {
	mu sync.RWMutex
	m  map[brandedKey]*htmltemplate.Template
}

// get returns the template of set bound to colours, binding it on first use.
func (c *brandedCache) get(key brandedKey, set templateSet) (*htmltemplate.Template, error) {
	c.mu.RLock()
	html, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return html, nil
	}
	html, err := set.html.Clone()
	if err != nil {
		return nil, err
	}
	html = html.Funcs(brandFuncs(key.colours))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.m[key]; ok {
		return cached, nil
	}
	if len(c.m) < maxBranded {
		if c.m == nil {
			c.m = make(map[brandedKey]*htmltemplate.Template)
		}
		c.m[key] = html
	}
	return html, nil
}

// len returns how many bound templates the cache holds.
func (c *brandedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Missing lists the templates that have no translation into a language, as
// "<lang>/<name>"; their mail goes out in English.
func (t *Templates) Missing() []string { return slices.Clone(t.missing) }

// Languages are the languages of the mail templates: English in templates/,
// the others in templates/<lang>/, each with every template English has.
var Languages = []string{"en", "it"}

// setKey is the key of a language's template in Templates.sets.
func setKey(lang, name string) string {
	if lang == "" || lang == Languages[0] {
		return name
	}
	return lang + "/" + name
}

// brandFuncs are the HTML templates' functions for the organization's
// colours; render binds them to the message's colours.
func brandFuncs(c brand.Colours) htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"durata":   durata,
		"accent":   func() htmltemplate.CSS { return htmltemplate.CSS(c.Accent) },
		"onAccent": func() htmltemplate.CSS { return htmltemplate.CSS(c.OnAccent) },
		"link":     func() htmltemplate.CSS { return htmltemplate.CSS(c.Link) },
	}
}

type templateSet struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// LoadTemplates parses the embedded message templates. When dir is not
// empty, any file in dir with the name of an embedded template file
// (<name>.subject.txt, <name>.txt, <name>.html or layout.html) replaces that
// file; all other files stay embedded. A .txt or .html file in dir that
// matches no embedded file is reported as an error, to catch typos.
//
// Subject and text templates use text/template; HTML templates use
// html/template and are parsed together with layout.html, which defines the
// "layout" template (calling the "title" and "content" templates each
// message defines). All templates run with missingkey=error. Every template
// for a known name is also test-rendered with its zero-value data, so an
// override that refers to an unknown field fails here rather than at send
// time.
func LoadTemplates(dir string) (*Templates, error) {
	src, err := newSource(dir)
	if err != nil {
		return nil, err
	}

	t := &Templates{sets: make(map[string]templateSet, len(src.names)*len(Languages))}
	for _, lang := range Languages {
		layout, err := src.read(langFile(lang, layoutFile))
		if err != nil {
			return nil, err
		}
		base, err := htmltemplate.New(layoutFile).Funcs(brandFuncs(brand.Of(""))).Option("missingkey=error").Parse(layout)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", langFile(lang, layoutFile), err)
		}
		for _, name := range src.names {
			if lang != Languages[0] && !src.has(langFile(lang, name+subjectSuffix)) {
				// Not translated: RenderIn falls back to English, and
				// Missing reports it (a test requires none).
				t.missing = append(t.missing, langFile(lang, name))
				continue
			}
			set, err := parseSet(src, base, lang, name)
			if err != nil {
				return nil, err
			}
			t.sets[setKey(lang, name)] = set
		}
	}

	for _, lang := range Languages {
		for _, name := range src.names {
			if zero, ok := zeroData(name); ok {
				if set, ok := t.sets[setKey(lang, name)]; ok {
					for _, tmpl := range set.subject.Templates() {
						if err := checkSubject(langFile(lang, name+subjectSuffix), tmpl.Tree, registrantFields(zero)); err != nil {
							return nil, err
						}
					}
				}
				if _, err := t.RenderIn(lang, brand.Of(""), name, zero); err != nil {
					return nil, fmt.Errorf("check template %q (%s) with zero-value %T: %w", name, lang, zero, err)
				}
			}
		}
	}
	return t, nil
}

// langFile is the path of a template file of a language, relative to the
// template folder.
func langFile(lang, file string) string {
	if lang == "" || lang == Languages[0] {
		return file
	}
	return lang + "/" + file
}

// Names returns the names of all loaded message templates, sorted.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.sets))
	for n := range t.sets {
		if !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Render renders the named message in English with the default colours,
// with data (one of the *Data types for the built-in names; a map must
// contain every key the templates use).
func (t *Templates) Render(name string, data any) (Rendered, error) {
	return t.RenderIn(Languages[0], brand.Of(""), name, data)
}

// RenderIn renders the named message in lang (an unknown language is
// English) with an organization's colours.
func (t *Templates) RenderIn(lang string, colours brand.Colours, name string, data any) (Rendered, error) {
	key := setKey(lang, name)
	set, ok := t.sets[key]
	if !ok {
		key = name
		set, ok = t.sets[key]
	}
	if !ok {
		return Rendered{}, fmt.Errorf("render mail: unknown template %q", name)
	}
	data = asData(data)
	html, err := t.branded.get(brandedKey{set: key, colours: colours}, set)
	if err != nil {
		return Rendered{}, fmt.Errorf("render %s html: %w", name, err)
	}
	var subject, text, body bytes.Buffer
	if err := set.subject.Execute(&subject, data); err != nil {
		return Rendered{}, fmt.Errorf("render %s subject: %w", name, err)
	}
	if err := set.text.Execute(&text, data); err != nil {
		return Rendered{}, fmt.Errorf("render %s text: %w", name, err)
	}
	if err := html.ExecuteTemplate(&body, name+htmlSuffix, data); err != nil {
		return Rendered{}, fmt.Errorf("render %s html: %w", name, err)
	}
	return Rendered{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    strings.TrimSpace(body.String()) + "\n",
	}, nil
}

// zeroData returns the zero value of the data type for a built-in template
// name.
func zeroData(name string) (any, bool) {
	switch name {
	case TemplateSignup:
		return SignupData{}, true
	case TemplateAlreadyRegistered:
		return AlreadyRegisteredData{}, true
	case TemplateWelcome:
		return WelcomeData{}, true
	}
	if d, ok := backofficeZeroData(name); ok {
		return d, true
	}
	return accountZeroData(name)
}

func parseSet(src *source, base *htmltemplate.Template, lang, name string) (templateSet, error) {
	var set templateSet
	parseText := func(file string) (*texttemplate.Template, error) {
		body, err := src.read(file)
		if err != nil {
			return nil, err
		}
		tmpl, err := texttemplate.New(file).Funcs(texttemplate.FuncMap{"durata": durata}).Option("missingkey=error").Parse(body)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", file, err)
		}
		return tmpl, nil
	}
	var err error
	if set.subject, err = parseText(langFile(lang, name+subjectSuffix)); err != nil {
		return set, err
	}
	if set.text, err = parseText(langFile(lang, name+textSuffix)); err != nil {
		return set, err
	}

	htmlFile := name + htmlSuffix
	body, err := src.read(langFile(lang, htmlFile))
	if err != nil {
		return set, err
	}
	clone, err := base.Clone()
	if err != nil {
		return set, fmt.Errorf("clone layout for %s: %w", htmlFile, err)
	}
	if set.html, err = clone.New(htmlFile).Parse(body); err != nil {
		return set, fmt.Errorf("parse template %s: %w", htmlFile, err)
	}
	return set, nil
}

// source resolves template files: the override directory first, then the
// embedded copy.
type source struct {
	dir       string
	overrides map[string]bool
	names     []string // message names, sorted
}

func newSource(dir string) (*source, error) {
	entries, err := fs.ReadDir(embedded, embeddedDir)
	if err != nil {
		return nil, fmt.Errorf("read embedded templates: %w", err)
	}
	known := map[string]bool{}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), subjectSuffix); ok {
			names = append(names, n)
		}
	}
	for _, lang := range Languages {
		known[langFile(lang, layoutFile)] = true
		for _, n := range names {
			for _, suffix := range []string{subjectSuffix, textSuffix, htmlSuffix} {
				known[langFile(lang, n+suffix)] = true
			}
		}
	}
	slices.Sort(names)
	src := &source{dir: dir, overrides: map[string]bool{}, names: names}
	if dir == "" {
		return src, nil
	}

	dirEntries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read template override directory: %w", err)
	}
	for _, sub := range Languages {
		prefix := ""
		if sub != Languages[0] {
			prefix = sub + "/"
			dirEntries, err = os.ReadDir(filepath.Join(dir, sub))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read template override directory: %w", err)
			}
		}
		for _, e := range dirEntries {
			name := prefix + e.Name()
			if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			if known[name] {
				src.overrides[name] = true
				continue
			}
			if strings.HasSuffix(name, textSuffix) || strings.HasSuffix(name, htmlSuffix) {
				return nil, fmt.Errorf("template override %q in %s does not replace any built-in template", name, dir)
			}
		}
	}
	return src, nil
}

// has reports whether an embedded or overriding file exists.
func (s *source) has(file string) bool {
	if s.overrides[file] {
		return true
	}
	_, err := fs.Stat(embedded, embeddedDir+"/"+file)
	return err == nil
}

func (s *source) read(file string) (string, error) {
	if s.overrides[file] {
		b, err := os.ReadFile(filepath.Join(s.dir, file))
		if err != nil {
			return "", fmt.Errorf("read template override: %w", err)
		}
		return string(b), nil
	}
	b, err := embedded.ReadFile(embeddedDir + "/" + file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("embedded template %s is missing", file)
	}
	if err != nil {
		return "", fmt.Errorf("read embedded template %s: %w", file, err)
	}
	return string(b), nil
}

// italianUnits translate the units of the flows' durations ("24 hours").
var italianUnits = map[string][2]string{
	"second": {"secondo", "secondi"}, "minute": {"minuto", "minuti"}, "hour": {"ora", "ore"}, "day": {"giorno", "giorni"},
}

// durata writes a duration of the flows ("1 hour", "24 hours", "7 days") in
// Italian ("1 ora", "24 ore", "7 giorni"); anything else stays as it is.
func durata(s string) string {
	n, unit, ok := strings.Cut(s, " ")
	if !ok {
		return s
	}
	forms, ok := italianUnits[strings.TrimSuffix(unit, "s")]
	if !ok {
		return s
	}
	if n == "1" {
		return n + " " + forms[0]
	}
	return n + " " + forms[1]
}
