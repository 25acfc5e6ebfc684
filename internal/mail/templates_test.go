package mail_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/mail"
)

func loadEmbedded(t *testing.T) *mail.Templates {
	t.Helper()
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatalf("LoadTemplates(\"\"): %v", err)
	}
	return tpl
}

func TestTemplateNames(t *testing.T) {
	got := loadEmbedded(t).Names()
	want := []string{mail.TemplateAlreadyRegistered, mail.TemplateSignup, mail.TemplateWelcome}
	want = append(want, accountTemplateNames...)
	want = append(want, approvalTemplateNames...)
	want = append(want, b2bTemplateNames...)
	want = append(want, mail.TemplateThingFactoryReset, mail.TemplateDeviceAdded)
	want = append(want, mail.TemplateBackOfficeInvite, mail.TemplateWebhookDisabled)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
}

func TestRenderContent(t *testing.T) {
	const (
		signupLink = "https://onboard.example.com/register?token=Ab3-_xYz&lang=en"
		signIn     = "https://onboard.example.com/login?from=mail&x=1"
		reset      = "https://onboard.example.com/reset?from=mail"
	)
	tests := []struct {
		name         string
		data         any
		wantSubject  string
		wantText     []string // substrings of the text part, verbatim
		wantHTML     []string // substrings of the HTML part
		notWantText  []string
		notWantHTML  []string
		wantLinksRaw []string // links that must appear verbatim in the text part
	}{
		{
			name:         mail.TemplateSignup,
			data:         mail.SignupData{Link: signupLink, Organization: "Acme IoT", ExpiresIn: "24 hours"},
			wantSubject:  "Finish creating your Acme IoT account",
			wantText:     []string{"finish creating your account", "expires in 24 hours", "did not ask", "ignore this email", "Acme IoT"},
			wantHTML:     []string{`href="` + strings.ReplaceAll(signupLink, "&", "&amp;") + `"`, "<!DOCTYPE html>", "Acme IoT", "24 hours"},
			wantLinksRaw: []string{signupLink},
		},
		{
			name:         mail.TemplateAlreadyRegistered,
			data:         mail.AlreadyRegisteredData{SignInURL: signIn, ResetURL: reset, Organization: "Acme IoT"},
			wantSubject:  "Sign-up attempt for your Acme IoT account",
			wantText:     []string{"already exists", "sign in", "reset it", "was not you", "ignore this email"},
			wantHTML:     []string{`href="` + strings.ReplaceAll(signIn, "&", "&amp;") + `"`, `href="` + reset + `"`},
			notWantText:  []string{"register", "token"},
			wantLinksRaw: []string{signIn, reset},
		},
		{
			name:         mail.TemplateWelcome,
			data:         mail.WelcomeData{FirstName: "Ada", SignInURL: signIn, Organization: "Acme IoT", AccountType: "business"},
			wantSubject:  "Welcome to Acme IoT",
			wantText:     []string{"Hi Ada,", "Your business account with Acme IoT is ready."},
			wantHTML:     []string{"Welcome, Ada!", `href="` + strings.ReplaceAll(signIn, "&", "&amp;") + `"`},
			wantLinksRaw: []string{signIn},
		},
		{
			name:        "welcome escapes user input in HTML only",
			data:        mail.WelcomeData{FirstName: `<b>Ada</b> "x"`, SignInURL: signIn},
			wantSubject: "Welcome to your new account",
			wantText:    []string{`Hi <b>Ada</b> "x",`},
			wantHTML:    []string{"&lt;b&gt;Ada&lt;/b&gt; &#34;x&#34;"},
			notWantHTML: []string{"<b>Ada</b>"},
		},
		{
			name:        "subject collapses to one line",
			data:        mail.SignupData{Link: signupLink, Organization: "Acme\r\nBcc: evil@example.com"},
			wantSubject: "Finish creating your Acme Bcc: evil@example.com account",
		},
		{
			name:        "signup rejects javascript link in HTML",
			data:        mail.SignupData{Link: "javascript:alert(1)"},
			wantSubject: "Finish creating your account",
			wantHTML:    []string{`href="#ZgotmplZ"`},
			notWantHTML: []string{`href="javascript:`},
		},
	}
	tpl := loadEmbedded(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.name
			switch tt.data.(type) {
			case mail.SignupData:
				name = mail.TemplateSignup
			case mail.AlreadyRegisteredData:
				name = mail.TemplateAlreadyRegistered
			case mail.WelcomeData:
				name = mail.TemplateWelcome
			}
			r, err := tpl.Render(name, tt.data)
			if err != nil {
				t.Fatalf("Render(%q): %v", name, err)
			}
			if r.Subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", r.Subject, tt.wantSubject)
			}
			for _, s := range append(tt.wantText, tt.wantLinksRaw...) {
				if !strings.Contains(r.Text, s) {
					t.Errorf("text part lacks %q:\n%s", s, r.Text)
				}
			}
			for _, link := range tt.wantLinksRaw {
				if !slices.Contains(strings.Fields(r.Text), link) {
					t.Errorf("text part does not have %q as a standalone token:\n%s", link, r.Text)
				}
			}
			for _, s := range tt.notWantText {
				if strings.Contains(strings.ToLower(r.Text), s) {
					t.Errorf("text part unexpectedly contains %q:\n%s", s, r.Text)
				}
			}
			for _, s := range tt.wantHTML {
				if !strings.Contains(r.HTML, s) {
					t.Errorf("HTML part lacks %q:\n%s", s, r.HTML)
				}
			}
			for _, s := range tt.notWantHTML {
				if strings.Contains(r.HTML, s) {
					t.Errorf("HTML part unexpectedly contains %q:\n%s", s, r.HTML)
				}
			}
		})
	}
}

func TestRenderZeroValueData(t *testing.T) {
	tpl := loadEmbedded(t)
	tests := []struct {
		name string
		data any
	}{
		{mail.TemplateSignup, mail.SignupData{}},
		{mail.TemplateAlreadyRegistered, mail.AlreadyRegisteredData{}},
		{mail.TemplateWelcome, mail.WelcomeData{}},
		{mail.TemplateSignup, &mail.SignupData{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tpl.Render(tt.name, tt.data)
			if err != nil {
				t.Fatalf("Render(%q, %#v): %v", tt.name, tt.data, err)
			}
			if r.Subject == "" || strings.TrimSpace(r.Text) == "" || !strings.Contains(r.HTML, "</html>") {
				t.Fatalf("Render(%q) produced an empty part: %+v", tt.name, r)
			}
			for part, s := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
				if strings.Contains(s, "<no value>") || strings.Contains(s, "  ") && part == "subject" {
					t.Errorf("%s part looks broken: %q", part, s)
				}
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tpl := loadEmbedded(t)
	tests := []struct {
		name    string
		tmpl    string
		data    any
		wantErr string
	}{
		{name: "unknown name", tmpl: "nope", data: mail.SignupData{}, wantErr: `unknown template "nope"`},
		{name: "wrong data type", tmpl: mail.TemplateSignup, data: mail.WelcomeData{}, wantErr: "render signup"},
		{name: "map missing key", tmpl: mail.TemplateSignup, data: map[string]any{"Link": "x"}, wantErr: "render signup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tpl.Render(tt.tmpl, tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	r, err := tpl.Render(mail.TemplateSignup, map[string]any{"Link": "http://x/l", "Organization": "", "ExpiresIn": "1 hour"})
	if err != nil {
		t.Fatalf("Render with complete map: %v", err)
	}
	if !strings.Contains(r.Text, "http://x/l") {
		t.Fatalf("map data not rendered: %q", r.Text)
	}
}

func TestLoadTemplatesOverrides(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		dir     string // overrides the temp dir when set
		wantErr string
		check   func(t *testing.T, tpl *mail.Templates)
	}{
		{
			name: "subject and layout replaced, rest embedded",
			files: map[string]string{
				"signup.subject.txt": "Custom sign-up for {{.Organization}}",
				"layout.html":        `{{define "layout"}}<html><title>{{template "title" .}}</title>CUSTOM-LAYOUT {{template "content" .}}</html>{{end}}`,
				"README.md":          "ignored",
			},
			check: func(t *testing.T, tpl *mail.Templates) {
				r, err := tpl.Render(mail.TemplateSignup, mail.SignupData{Link: "http://x/l", Organization: "Acme"})
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if r.Subject != "Custom sign-up for Acme" {
					t.Errorf("Subject = %q, want the override", r.Subject)
				}
				if !strings.Contains(r.Text, "To finish creating your account") {
					t.Errorf("text part is not the embedded one: %q", r.Text)
				}
				if !strings.Contains(r.HTML, "CUSTOM-LAYOUT") || !strings.Contains(r.HTML, `href="http://x/l"`) {
					t.Errorf("HTML part does not use the override layout with embedded content: %q", r.HTML)
				}
				w, err := tpl.Render(mail.TemplateWelcome, mail.WelcomeData{})
				if err != nil {
					t.Fatalf("Render welcome: %v", err)
				}
				if w.Subject != "Welcome to your new account" {
					t.Errorf("welcome subject = %q, want the embedded one", w.Subject)
				}
			},
		},
		{
			name:  "text replaced",
			files: map[string]string{"welcome.txt": "Hello {{.FirstName}}: {{.SignInURL}}"},
			check: func(t *testing.T, tpl *mail.Templates) {
				r, err := tpl.Render(mail.TemplateWelcome, mail.WelcomeData{FirstName: "Ada", SignInURL: "http://x/in"})
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if r.Text != "Hello Ada: http://x/in\n" {
					t.Errorf("Text = %q, want the override", r.Text)
				}
			},
		},
		{
			name:    "syntax error",
			files:   map[string]string{"signup.html": `{{template "layout" .}}{{define "content"}}{{.Link}{{end}}`},
			wantErr: "signup.html",
		},
		{
			name:    "unknown field",
			files:   map[string]string{"welcome.subject.txt": "Hi {{.Nickname}}"},
			wantErr: "welcome",
		},
		{
			name:    "file matching no template",
			files:   map[string]string{"sigup.txt": "typo"},
			wantErr: `"sigup.txt"`,
		},
		{
			name:    "missing directory",
			dir:     filepath.Join("does", "not", "exist"),
			wantErr: "template override directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
				for name, body := range tt.files {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			tpl, err := mail.LoadTemplates(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadTemplates error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadTemplates: %v", err)
			}
			tt.check(t, tpl)
		})
	}
}
