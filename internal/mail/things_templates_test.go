package mail_test

import (
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/mail"
)

func TestThingFactoryResetTemplate(t *testing.T) {
	tpl := loadEmbedded(t)
	tests := []struct {
		lang, subject, text string
	}{
		{"en", "A product was reset to its factory state by Acme IoT", "reset the product Heat pump X with serial number SN-1"},
		{"it", "Un prodotto è stato riportato allo stato di fabbrica da Acme IoT", "il prodotto Heat pump X con numero di serie SN-1"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			r, err := tpl.RenderIn(tt.lang, brand.Of(""), mail.TemplateThingFactoryReset, mail.ThingFactoryResetData{
				Organization: "Acme IoT", SerialNumber: "SN-1", Model: "Heat pump X", ThingName: "Cellar"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", r.Subject, tt.subject)
			}
			if !strings.Contains(r.Text, tt.text) || !strings.Contains(r.Text, "Cellar") {
				t.Errorf("text = %q, want it to hold %q and the thing's name", r.Text, tt.text)
			}
		})
	}
}
