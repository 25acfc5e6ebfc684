package mail

// Templates of self-service account management: invitations, password
// resets and changes, email changes and account deletion.
const (
	// TemplateInvitation carries the link to join an account; data is
	// InvitationData.
	TemplateInvitation = "invitation"
	// TemplateInvitationNotice answers an invitation of an address that
	// already has a user: it has no link; data is InvitationNoticeData.
	TemplateInvitationNotice = "invitation_notice"
	// TemplatePasswordReset carries the link to set a new password; data is
	// PasswordResetData.
	TemplatePasswordReset = "password_reset"
	// TemplatePasswordChanged tells a user their password was changed; data
	// is PasswordChangedData.
	TemplatePasswordChanged = "password_changed"
	// TemplateEmailChange carries, to the new address, the link that
	// confirms an email change; data is EmailChangeData.
	TemplateEmailChange = "email_change"
	// TemplateEmailChangeRequested tells the old address that a change was
	// requested; data is EmailChangeNoticeData.
	TemplateEmailChangeRequested = "email_change_requested"
	// TemplateEmailChanged tells the old address that the change was
	// confirmed; data is EmailChangeNoticeData.
	TemplateEmailChanged = "email_changed"
	// TemplateAccountDeleted confirms the deletion of an account to the
	// administrator who deleted it; data is AccountDeletedData.
	TemplateAccountDeleted = "account_deleted"
)

// InvitationData is the data for TemplateInvitation.
type InvitationData struct {
	// Link is the invitation link, included verbatim in the text part.
	Link string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// AccountName is the name of the account the invitation is to
	// (quoted, never in the subject).
	AccountName string `mail:"quote"`
	// InviterName is the full name of the inviting user; empty when the
	// back office invited (quoted, never in the subject).
	InviterName string `mail:"quote"`
	// ExpiresIn is a human description of the link lifetime, e.g. "7 days".
	ExpiresIn string
}

// InvitationNoticeData is the data for TemplateInvitationNotice. It
// deliberately has no invitation link.
type InvitationNoticeData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// AccountName is the name of the account the invitation was to
	// (quoted, never in the subject).
	AccountName string `mail:"quote"`
	// InviterName is the full name of the inviting user (quoted, never in
	// the subject).
	InviterName string `mail:"quote"`
	// SignInURL is the sign-in page.
	SignInURL string
	// ResetURL is the password-reset page.
	ResetURL string
}

// PasswordResetData is the data for TemplatePasswordReset.
type PasswordResetData struct {
	// Link is the reset link, included verbatim in the text part.
	Link string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// ExpiresIn is a human description of the link lifetime, e.g. "1 hour".
	ExpiresIn string
}

// PasswordChangedData is the data for TemplatePasswordChanged.
type PasswordChangedData struct {
	// FirstName is the user's first name (defanged, never in the subject).
	FirstName string `mail:"defang"`
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// ResetURL is the password-reset page, for when it was not the user.
	ResetURL string
}

// EmailChangeData is the data for TemplateEmailChange.
type EmailChangeData struct {
	// Link is the confirmation link, included verbatim in the text part.
	Link string
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// ExpiresIn is a human description of the link lifetime.
	ExpiresIn string
}

// EmailChangeNoticeData is the data for TemplateEmailChangeRequested and
// TemplateEmailChanged.
type EmailChangeNoticeData struct {
	// FirstName is the user's first name (defanged, never in the subject).
	FirstName string `mail:"defang"`
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// NewEmail is the address the account is changing, or changed, to.
	NewEmail string
	// ResetURL is the password-reset page, for when it was not the user.
	ResetURL string
}

// AccountDeletedData is the data for TemplateAccountDeleted. It holds no
// personal data: the account is gone when the mail is sent.
type AccountDeletedData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
}

// accountZeroData returns the zero value of the data type of an account
// management template.
func accountZeroData(name string) (any, bool) {
	switch name {
	case TemplateInvitation:
		return InvitationData{}, true
	case TemplateInvitationNotice:
		return InvitationNoticeData{}, true
	case TemplatePasswordReset:
		return PasswordResetData{}, true
	case TemplatePasswordChanged:
		return PasswordChangedData{}, true
	case TemplateEmailChange:
		return EmailChangeData{}, true
	case TemplateEmailChangeRequested, TemplateEmailChanged:
		return EmailChangeNoticeData{}, true
	case TemplateAccountDeleted:
		return AccountDeletedData{}, true
	}
	return approvalZeroData(name)
}
