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

// backofficeZeroData returns the zero data of a back-office template.
func backofficeZeroData(name string) (any, bool) {
	if name == TemplateBackOfficeInvite {
		return BackOfficeInviteData{}, true
	}
	return nil, false
}
