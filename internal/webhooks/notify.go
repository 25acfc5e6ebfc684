package webhooks

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// AdminMailer tells an organization's administrators that one of its
// endpoints was disabled: a mail to every active back-office user with the
// org_admin role, in their language, queued in the outbox.
type AdminMailer struct {
	Templates *obmail.Templates
	// From is the sender's address; its domain names the messages.
	From string
	// Now is the clock; nil → time.Now.
	Now func() time.Time
}

// Disabled queues the mails in tx, the transaction that disables ep (use
// it as, or from, Worker.OnDisabled), so that a disabling that rolls back
// mails nobody and one that commits cannot lose its mails. It returns the
// number of mails queued.
func (m AdminMailer) Disabled(ctx context.Context, tx *store.Tx, ep store.WebhookEndpoint, reason string) (int, error) {
	org, err := tx.OrganizationByID(ctx, ep.OrgID)
	if err != nil {
		return 0, fmt.Errorf("mail admins of disabled endpoint: %w", err)
	}
	users, err := tx.BackOfficeUsersByOrg(ctx, ep.OrgID)
	if err != nil {
		return 0, fmt.Errorf("mail admins of disabled endpoint: %w", err)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	at := now()
	data := obmail.WebhookDisabledData{Organization: orgDisplayName(org), URL: ep.URL, Description: ep.Description, Gone: reason == ReasonGone}
	if !data.Gone && ep.FailingSince != nil {
		data.FailingSince = ep.FailingSince.UTC().Format("2006-01-02 15:04 UTC")
	}
	n := 0
	for _, u := range users {
		if u.Role != domain.RoleOrgAdmin || u.DisabledAt != nil {
			continue
		}
		r, err := m.Templates.RenderIn(u.Language, brand.Of(org.Onboarding.Branding.AccentColor), obmail.TemplateWebhookDisabled, data)
		if err != nil {
			return n, fmt.Errorf("mail admins of disabled endpoint: %w", err)
		}
		id := store.NewID()
		if err := tx.EnqueueMail(ctx, domain.OutboxMail{ID: id, OrgID: org.ID, MessageID: "<" + id + "@" + messageHost(m.From) + ">",
			Template: obmail.TemplateWebhookDisabled, To: u.Email, Subject: r.Subject, Text: r.Text, HTML: r.HTML}, at); err != nil {
			return n, fmt.Errorf("mail admins of disabled endpoint: %w", err)
		}
		n++
	}
	return n, nil
}

func orgDisplayName(org domain.Organization) string {
	if org.Onboarding.Branding.DisplayName != "" {
		return org.Onboarding.Branding.DisplayName
	}
	if org.DisplayName != "" {
		return org.DisplayName
	}
	return org.Name
}

func messageHost(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "onboard.invalid"
}
