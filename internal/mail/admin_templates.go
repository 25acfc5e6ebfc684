package mail

// Templates of the approval of data recipients: the notice at registration
// and the organization's decision. approvalZeroData registers them.
const (
	// TemplateApprovalPending tells a data recipient that registered that its
	// account awaits the organization's approval; data is ApprovalPendingData.
	TemplateApprovalPending = "approval_pending"
	// TemplateApprovalGranted tells a user of an approved data recipient
	// that they may sign in; data is ApprovalGrantedData.
	TemplateApprovalGranted = "approval_granted"
	// TemplateApprovalRejected tells a user of a rejected data recipient
	// why; data is ApprovalRejectedData.
	TemplateApprovalRejected = "approval_rejected"
)

// ApprovalPendingData is the data for TemplateApprovalPending.
type ApprovalPendingData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// Name is the name of the registered data recipient account (quoted,
	// never in the subject).
	Name string `mail:"quote"`
}

// ApprovalGrantedData is the data for TemplateApprovalGranted.
type ApprovalGrantedData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// FirstName is the user's first name (defanged, never in the subject).
	FirstName string `mail:"defang"`
	// SignInURL is the sign-in page.
	SignInURL string
}

// ApprovalRejectedData is the data for TemplateApprovalRejected.
type ApprovalRejectedData struct {
	// Organization is the display name of the organisation running the
	// service.
	Organization string
	// FirstName is the user's first name (defanged, never in the subject).
	FirstName string `mail:"defang"`
	// Reason is the organization's reason, as the administrator wrote it.
	Reason string
}
