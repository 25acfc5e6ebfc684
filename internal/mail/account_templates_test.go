package mail_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/mail"
)

// accountTemplateNames are the templates of account management.
var accountTemplateNames = []string{
	mail.TemplateInvitation, mail.TemplateInvitationNotice, mail.TemplatePasswordReset, mail.TemplatePasswordChanged,
	mail.TemplateEmailChange, mail.TemplateEmailChangeRequested, mail.TemplateEmailChanged, mail.TemplateAccountDeleted,
}

func TestAccountTemplates(t *testing.T) {
	const (
		link  = "https://onboard.example.com/invitation?token=Ab3-_xYz&x=1"
		reset = "https://onboard.example.com/reset-password?from=mail&x=1"
		login = "https://onboard.example.com/login"
	)
	amp := func(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }
	tests := []struct {
		name, template string
		data           any
		wantSubject    string
		wantText       []string
		wantHTML       []string
		notWant        []string // in neither part
		notWantHTML    []string
		links          []string // verbatim, standalone in the text part
	}{
		{"invitation", mail.TemplateInvitation,
			mail.InvitationData{Link: link, Organization: "Acme IoT", AccountName: "Engines Ltd", InviterName: "Ada Lovelace", ExpiresIn: "168 hours"},
			"You are invited to an account on Acme IoT",
			[]string{"“Ada Lovelace” invited you to join “Engines Ltd” on Acme IoT", "expires in 168 hours", "ignore this email"},
			[]string{`href="` + amp(link) + `"`, "<strong>“Ada Lovelace”</strong>"}, nil, nil, []string{link}},
		{"invitation by the back office", mail.TemplateInvitation,
			mail.InvitationData{Link: link, AccountName: "Engines Ltd"},
			"You are invited to an account", []string{"You are invited to join “Engines Ltd”", "expires soon"}, nil, nil, nil, []string{link}},
		{"invitation escapes names in HTML", mail.TemplateInvitation,
			mail.InvitationData{Link: link, AccountName: `<img src=x onerror=alert(1)>`, InviterName: "Eve\r\nBcc: x@example.com"},
			"You are invited to an account", []string{"“Eve Bcc: x@example[.]com” invited you"},
			[]string{"&lt;img src=x onerror=alert(1)&gt;"}, nil, []string{"<img src=x"}, nil},
		{"invitation notice has no link", mail.TemplateInvitationNotice,
			mail.InvitationNoticeData{Organization: "Acme IoT", AccountName: "Engines Ltd", InviterName: "Ada", SignInURL: login, ResetURL: reset},
			"Invitation to an account on Acme IoT", []string{"“Ada” invited you to join “Engines Ltd”", "already belongs to a user", "Nothing has been changed"},
			[]string{`href="` + amp(reset) + `"`}, []string{"token", "invitation?"}, nil, []string{login, reset}},
		{"password reset", mail.TemplatePasswordReset, mail.PasswordResetData{Link: link, Organization: "Acme IoT", ExpiresIn: "1 hour"},
			"Reset your Acme IoT password", []string{"expires in 1 hour", "works once", "signs you out everywhere", "has not been changed"},
			[]string{`href="` + amp(link) + `"`}, nil, nil, []string{link}},
		{"password changed", mail.TemplatePasswordChanged, mail.PasswordChangedData{FirstName: "Ada", Organization: "Acme IoT", ResetURL: reset},
			"Your Acme IoT password was changed", []string{"Hi Ada,", "was changed", "If it was not you"},
			[]string{`href="` + amp(reset) + `"`}, []string{"token"}, nil, []string{reset}},
		{"email change", mail.TemplateEmailChange, mail.EmailChangeData{Link: link, Organization: "Acme IoT", ExpiresIn: "24 hours"},
			"Confirm your new Acme IoT email address", []string{"confirm the change", "expires in 24 hours"},
			[]string{`href="` + amp(link) + `"`}, nil, nil, []string{link}},
		{"email change requested", mail.TemplateEmailChangeRequested,
			mail.EmailChangeNoticeData{FirstName: "Ada", Organization: "Acme IoT", NewEmail: "new@example.com", ResetURL: reset},
			"A change of your Acme IoT email address was requested", []string{"to new@example.com", "confirmed from the new address"},
			[]string{"<strong>new@example.com</strong>", `href="` + amp(reset) + `"`}, []string{"token"}, nil, []string{reset}},
		{"email changed", mail.TemplateEmailChanged,
			mail.EmailChangeNoticeData{FirstName: "Ada", Organization: "Acme IoT", NewEmail: "new@example.com", ResetURL: reset},
			"Your Acme IoT email address was changed", []string{"to new@example.com", "contact the support of Acme IoT"},
			[]string{"<strong>new@example.com</strong>"}, []string{"token"}, nil, nil},
		{"account deleted", mail.TemplateAccountDeleted, mail.AccountDeletedData{Organization: "Acme IoT"},
			"Your Acme IoT account was deleted", []string{"was deleted", "personal data"}, []string{"Acme IoT"}, []string{"http"}, nil, nil},
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
				if strings.Contains(r.Text, s) || strings.Contains(r.HTML, s) {
					t.Errorf("a part contains %q:\n%s\n%s", s, r.Text, r.HTML)
				}
			}
			for _, s := range tt.notWantHTML {
				if strings.Contains(r.HTML, s) {
					t.Errorf("HTML part contains %q:\n%s", s, r.HTML)
				}
			}
			for _, l := range tt.links {
				if !slices.Contains(strings.Fields(r.Text), l) {
					t.Errorf("text part does not have %q as a standalone token:\n%s", l, r.Text)
				}
			}
		})
	}
}

func TestAccountTemplatesZeroData(t *testing.T) {
	tpl := loadEmbedded(t)
	for _, name := range accountTemplateNames {
		t.Run(name, func(t *testing.T) {
			var data any
			switch name {
			case mail.TemplateInvitation:
				data = mail.InvitationData{}
			case mail.TemplateInvitationNotice:
				data = mail.InvitationNoticeData{}
			case mail.TemplatePasswordReset:
				data = mail.PasswordResetData{}
			case mail.TemplatePasswordChanged:
				data = mail.PasswordChangedData{}
			case mail.TemplateEmailChange:
				data = mail.EmailChangeData{}
			case mail.TemplateEmailChangeRequested, mail.TemplateEmailChanged:
				data = mail.EmailChangeNoticeData{}
			case mail.TemplateAccountDeleted:
				data = mail.AccountDeletedData{}
			}
			r, err := tpl.Render(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject == "" || strings.Contains(r.Subject, "  ") || strings.Contains(r.Text+r.HTML, "<no value>") || !strings.Contains(r.HTML, "</html>") {
				t.Fatalf("broken rendering: %+v", r)
			}
		})
	}
}
