package mail_test

import (
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/mail"
)

func TestRenderInLanguageAndColours(t *testing.T) {
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	data := mail.SignupData{Link: "https://x.example/o/acme/register?token=abc", Organization: "Acme", ExpiresIn: "24 hours"}
	it, err := tpl.RenderIn("it", brand.Of("#ffcc00"), mail.TemplateSignup, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Completa la creazione", "24 ore", data.Link} {
		if !strings.Contains(it.Subject+it.Text, want) {
			t.Errorf("Italian mail lacks %q:\n%s\n%s", want, it.Subject, it.Text)
		}
	}
	for _, want := range []string{`lang="it"`, "background-color:#ffcc00;color:#000000", "border-top:4px solid #ffcc00"} {
		if !strings.Contains(it.HTML, want) {
			t.Errorf("Italian HTML lacks %q", want)
		}
	}
	en, err := tpl.RenderIn("xx", brand.Of(""), mail.TemplateSignup, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(en.Subject, "Finish creating") || !strings.Contains(en.HTML, "background-color:"+brand.DefaultAccent) {
		t.Errorf("unknown language: want English with the default accent, got %q", en.Subject)
	}
	if missing := tpl.Missing(); len(missing) > 0 {
		t.Errorf("templates without a translation: %v (add them under internal/mail/templates/<lang>/)", missing)
	}
	// The languages differ.
	for _, name := range tpl.Names() {
		a, errA := tpl.RenderIn("en", brand.Of(""), name, zero(name))
		b, errB := tpl.RenderIn("it", brand.Of(""), name, zero(name))
		if errA != nil || errB != nil {
			continue // templates without a typed zero value
		}
		if a.Subject == b.Subject {
			t.Errorf("%s: Italian subject %q is the English one", name, b.Subject)
		}
	}
}

func zero(name string) any {
	switch name {
	case mail.TemplateSignup:
		return mail.SignupData{}
	case mail.TemplateWelcome:
		return mail.WelcomeData{}
	case mail.TemplateAlreadyRegistered:
		return mail.AlreadyRegisteredData{}
	}
	return map[string]any{}
}
