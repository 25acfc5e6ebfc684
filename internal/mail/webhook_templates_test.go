package mail_test

import (
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/mail"
)

func TestWebhookDisabledTemplate(t *testing.T) {
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang string
		data mail.WebhookDisabledData
		want []string
	}{
		{"en", mail.WebhookDisabledData{Organization: "Acme", URL: "https://crm.example/h", Description: "crm", Gone: true},
			[]string{"Acme was disabled", "https://crm.example/h (crm)", "410 Gone"}},
		{"en", mail.WebhookDisabledData{Organization: "Acme", URL: "https://crm.example/h", FailingSince: "2026-03-02 09:15 UTC"},
			[]string{"failed since 2026-03-02 09:15 UTC", "replay"}},
		{"it", mail.WebhookDisabledData{Organization: "Acme", URL: "https://crm.example/h", Gone: true},
			[]string{"Acme è stato disattivato", "410 Gone", "https://crm.example/h"}},
		{"it", mail.WebhookDisabledData{URL: "https://crm.example/h", FailingSince: "2026-03-02 09:15 UTC"},
			[]string{"la tua organizzazione", "fallita dal 2026-03-02 09:15 UTC"}},
	}
	for _, c := range cases {
		r, err := tpl.RenderIn(c.lang, brand.Of(""), mail.TemplateWebhookDisabled, c.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Subject+"\n"+r.Text, w) {
				t.Errorf("%s %+v: lacks %q:\n%s\n%s", c.lang, c.data, w, r.Subject, r.Text)
			}
		}
		if !strings.Contains(r.HTML, c.data.URL) || !strings.Contains(r.HTML, `lang="`+c.lang+`"`) {
			t.Errorf("%s: HTML lacks the URL or the language", c.lang)
		}
	}
}
