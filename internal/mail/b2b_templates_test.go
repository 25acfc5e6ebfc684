package mail_test

import (
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/mail"
)

var b2bTemplateNames = []string{mail.TemplateB2BVerify, mail.TemplateB2BReset}

func TestB2BTemplatesRender(t *testing.T) {
	tm := loadEmbedded(t)
	r, err := tm.Render(mail.TemplateB2BVerify, mail.B2BVerifyData{Link: "https://x.example/v2/registration/verify?token=abc", Labelpartner: "Ynni", FirstName: "Ada", ExpiresIn: "24 hours"})
	if err != nil || !strings.Contains(r.Text, "https://x.example/v2/registration/verify?token=abc") || !strings.Contains(r.Subject, "Ynni") {
		t.Fatalf("verify: %v %+v", err, r)
	}
	r, err = tm.Render(mail.TemplateB2BReset, mail.B2BResetData{Link: "https://x.example/r?token=abc", ExpiresIn: "1 hour"})
	if err != nil || !strings.Contains(r.HTML, "https://x.example/r?token=abc") {
		t.Fatalf("reset: %v %+v", err, r)
	}
}
