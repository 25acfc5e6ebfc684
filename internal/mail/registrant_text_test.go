package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/mail"
)

// phishing is what a registrant may call a company or themselves.
const phishing = "Your mailbox is full - restore access at http://evil.example/login"

// TestRegistrantTextIsData: text a registrant chose never reaches a
// Subject, and in the bodies it is quoted with its URLs and domain names
// broken, so that no mail client turns it into a link; the organization's
// own display name and the labelpartner (set by the organization) stay as
// they are.
func TestRegistrantTextIsData(t *testing.T) {
	tpl := loadEmbedded(t)
	const link = "https://onboard.example.com/x?token=abc"
	for _, tc := range []struct {
		template string
		data     any
		quoted   bool // shown in quotes (else a greeting, only broken)
	}{
		{mail.TemplateInvitation, mail.InvitationData{Link: link, Organization: "Acme IoT", AccountName: phishing, InviterName: phishing}, true},
		{mail.TemplateInvitationNotice, mail.InvitationNoticeData{Organization: "Acme IoT", AccountName: phishing, InviterName: phishing, SignInURL: link, ResetURL: link}, true},
		{mail.TemplateApprovalPending, mail.ApprovalPendingData{Organization: "Acme IoT", Name: phishing}, true},
		{mail.TemplateWelcome, mail.WelcomeData{Organization: "Acme IoT", FirstName: phishing, SignInURL: link}, false},
		{mail.TemplatePasswordChanged, mail.PasswordChangedData{Organization: "Acme IoT", FirstName: phishing, ResetURL: link}, false},
		{mail.TemplateEmailChangeRequested, mail.EmailChangeNoticeData{Organization: "Acme IoT", FirstName: phishing, NewEmail: "a@example.org", ResetURL: link}, false},
		{mail.TemplateEmailChanged, mail.EmailChangeNoticeData{Organization: "Acme IoT", FirstName: phishing, NewEmail: "a@example.org", ResetURL: link}, false},
		{mail.TemplateApprovalGranted, mail.ApprovalGrantedData{Organization: "Acme IoT", FirstName: phishing, SignInURL: link}, false},
		{mail.TemplateApprovalRejected, mail.ApprovalRejectedData{Organization: "Acme IoT", FirstName: phishing}, false},
		{mail.TemplateB2BVerify, mail.B2BVerifyData{Link: link, Labelpartner: "Acme Energy", FirstName: phishing}, false},
	} {
		t.Run(tc.template, func(t *testing.T) {
			r, err := tpl.Render(tc.template, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Subject, "mailbox") || strings.Contains(r.Subject, "evil") {
				t.Errorf("subject carries registrant text: %q", r.Subject)
			}
			if !strings.Contains(r.Subject, "Acme") && tc.template != mail.TemplateApprovalRejected && tc.template != mail.TemplateApprovalGranted {
				t.Logf("subject %q does not name the organization", r.Subject)
			}
			for part, body := range map[string]string{"text": r.Text, "html": r.HTML} {
				if strings.Contains(body, "http://evil") || strings.Contains(body, "evil.example") {
					t.Errorf("%s part has the registrant's URL intact:\n%s", part, body)
				}
				if strings.Contains(body, `href="http://evil`) || strings.Contains(body, `href="http[`) {
					t.Errorf("%s part links the registrant's text", part)
				}
				broken := "restore access at http[://]evil[.]example/login"
				if !strings.Contains(body, broken) {
					t.Errorf("%s part does not show the text as data (%q):\n%s", part, broken, body)
				}
				if tc.quoted && !strings.Contains(body, "“Your mailbox is full - "+broken+"”") {
					t.Errorf("%s part does not quote the text:\n%s", part, body)
				}
			}
		})
	}
}

// TestSubjectOverrideWithRegistrantTextRefused: an override subject that
// uses a field a registrant fills is refused when the templates load.
func TestSubjectOverrideWithRegistrantTextRefused(t *testing.T) {
	for file, body := range map[string]string{
		"invitation.subject.txt":        "{{.InviterName}} invites you",
		"invitation_notice.subject.txt": "{{with .AccountName}}{{.}}{{end}}",
		"welcome.subject.txt":           "Welcome {{.FirstName}}",
		"approval_pending.subject.txt":  "{{if .Name}}{{.Name}}{{end}}",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := mail.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("override %s %q: err = %v, want a refusal naming the file", file, body, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "invitation.subject.txt"), []byte("Join us{{with .Organization}} at {{.}}{{end}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadTemplates(dir); err != nil {
		t.Errorf("an override with the organization's name was refused: %v", err)
	}
}
