package mail_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/mail"
)

// approvalTemplateNames are the templates of data recipient approval.
var approvalTemplateNames = []string{mail.TemplateApprovalPending, mail.TemplateApprovalGranted, mail.TemplateApprovalRejected}

func TestApprovalTemplates(t *testing.T) {
	const login = "https://onboard.example.com/login?from=mail&x=1"
	tests := []struct {
		name, template string
		data           any
		wantSubject    string
		wantText       []string
		wantHTML       []string
		notWant        []string // in neither part
	}{
		{
			name: "pending", template: mail.TemplateApprovalPending,
			data:        mail.ApprovalPendingData{Organization: "Acme IoT", Name: "Data Corp"},
			wantSubject: "Your Acme IoT registration awaits approval",
			wantText:    []string{"registering “Data Corp” as a data recipient with Acme IoT", "must be approved"},
			wantHTML:    []string{"<strong>“Data Corp”</strong>", "<strong>Acme IoT</strong>"},
			notWant:     []string{"http"},
		},
		{
			name: "granted", template: mail.TemplateApprovalGranted,
			data:        mail.ApprovalGrantedData{Organization: "Acme IoT", FirstName: "Ada", SignInURL: login},
			wantSubject: "Your Acme IoT account was approved",
			wantText:    []string{"Hi Ada,", "was approved", login},
			wantHTML:    []string{`href="` + strings.ReplaceAll(login, "&", "&amp;") + `"`, "Ada"},
		},
		{
			name: "rejected", template: mail.TemplateApprovalRejected,
			data:        mail.ApprovalRejectedData{Organization: "Acme IoT", FirstName: "Ada", Reason: "We could not verify <your> company.\nSorry."},
			wantSubject: "Your Acme IoT registration was not approved",
			wantText:    []string{"Hi Ada,", "not approved", "We could not verify <your> company.\nSorry."},
			wantHTML:    []string{"We could not verify &lt;your&gt; company."},
			notWant:     []string{"http"},
		},
		{
			name: "rejected without reason", template: mail.TemplateApprovalRejected,
			data:        mail.ApprovalRejectedData{},
			wantSubject: "Your registration was not approved",
			wantText:    []string{"Hi,", "please contact us."},
			notWant:     []string{"reason given"},
		},
		{
			name: "subject collapses to one line", template: mail.TemplateApprovalGranted,
			data:        mail.ApprovalGrantedData{Organization: "Acme\r\nBcc: evil@example.com", SignInURL: login},
			wantSubject: "Your Acme Bcc: evil@example.com account was approved",
		},
	}
	tpl := loadEmbedded(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tpl.Render(tt.template, tt.data)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.template, err)
			}
			if r.Subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", r.Subject, tt.wantSubject)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(r.Text, s) {
					t.Errorf("text part lacks %q:\n%s", s, r.Text)
				}
			}
			for _, s := range tt.wantHTML {
				if !strings.Contains(r.HTML, s) {
					t.Errorf("HTML part lacks %q:\n%s", s, r.HTML)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(r.Text, s) || strings.Contains(r.HTML, s) && s != "http" {
					t.Errorf("rendering has %q:\n%s\n%s", s, r.Text, r.HTML)
				}
			}
			if strings.Contains(r.Text+r.HTML, "<no value>") || !strings.Contains(r.HTML, "</html>") {
				t.Errorf("broken rendering: %+v", r)
			}
		})
	}
	// Every template renders with its zero data (LoadTemplates checks this
	// through zeroData; here the names are checked to be loaded at all).
	for _, name := range approvalTemplateNames {
		if !slices.Contains(tpl.Names(), name) {
			t.Errorf("template %q is not loaded", name)
		}
	}
}
