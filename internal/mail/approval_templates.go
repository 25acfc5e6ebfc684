package mail

// approvalZeroData returns the zero data of an approval template.
func approvalZeroData(name string) (any, bool) {
	switch name {
	case TemplateApprovalPending:
		return ApprovalPendingData{}, true
	case TemplateApprovalGranted:
		return ApprovalGrantedData{}, true
	case TemplateApprovalRejected:
		return ApprovalRejectedData{}, true
	}
	return b2bZeroData(name)
}
