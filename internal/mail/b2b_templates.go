package mail

// Templates of B2B end users.
const (
	// TemplateB2BVerify carries the link that verifies a provisioned end
	// user's address; data is B2BVerifyData.
	TemplateB2BVerify = "b2b_verify"
	// TemplateB2BReset carries the link to set a new password or pincode;
	// data is B2BResetData.
	TemplateB2BReset = "b2b_reset"
)

// B2BVerifyData is the data for TemplateB2BVerify.
type B2BVerifyData struct {
	// Link verifies the address when opened.
	Link string
	// Labelpartner is the brand the end user was provisioned under.
	Labelpartner string
	// FirstName is the end user's first name (defanged, never in the
	// subject).
	FirstName string `mail:"defang"`
	// ExpiresIn is a human description of the link lifetime.
	ExpiresIn string
}

// B2BResetData is the data for TemplateB2BReset.
type B2BResetData struct {
	// Link leads to setting a new password or pincode.
	Link string
	// Labelpartner is the brand the end user was provisioned under.
	Labelpartner string
	// ExpiresIn is a human description of the link lifetime.
	ExpiresIn string
}

// b2bZeroData returns the zero data of a B2B template.
func b2bZeroData(name string) (any, bool) {
	switch name {
	case TemplateB2BVerify:
		return B2BVerifyData{}, true
	case TemplateB2BReset:
		return B2BResetData{}, true
	}
	return thingsZeroData(name)
}
