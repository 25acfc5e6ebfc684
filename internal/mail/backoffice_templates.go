package mail

// TemplateBackOfficeInvite carries the link with which a new back-office
// user of the console sets a password; data is BackOfficeInviteData.
const TemplateBackOfficeInvite = "backoffice_invite"

// BackOfficeInviteData is the data for TemplateBackOfficeInvite.
type BackOfficeInviteData struct {
	// Link is the set-password link, included verbatim in the text part.
	Link string
	// Organization is the display name of the organization the user
	// manages.
	Organization string
	// Role describes the role: "organization administrator" or "supervisor".
	Role string
	// ExpiresIn is a human description of the link lifetime, e.g. "72 hours".
	ExpiresIn string
}

// TemplateWebhookDisabled tells an organization's administrators that one
// of its webhook endpoints was disabled; data is WebhookDisabledData.
const TemplateWebhookDisabled = "webhook_disabled"

// WebhookDisabledData is the data for TemplateWebhookDisabled.
type WebhookDisabledData struct {
	// Organization is the display name of the organization.
	Organization string
	// URL is the endpoint's address.
	URL string
	// Description is the endpoint's description ("" when none).
	Description string
	// Gone is set when the endpoint answered 410 Gone; otherwise it had
	// failed since FailingSince.
	Gone bool
	// FailingSince is when the endpoint began failing, e.g.
	// "2026-03-02 09:15 UTC" ("" when it answered 410 Gone).
	FailingSince string
}

// backofficeZeroData returns the zero data of a back-office template.
func backofficeZeroData(name string) (any, bool) {
	switch name {
	case TemplateBackOfficeInvite:
		return BackOfficeInviteData{}, true
	case TemplateWebhookDisabled:
		return WebhookDisabledData{}, true
	}
	return nil, false
}
