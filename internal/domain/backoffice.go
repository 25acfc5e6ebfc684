package domain

import "time"

// Back-office roles: an org_admin manages one organization, a supervisor
// every organization and the system-wide settings.
const (
	RoleOrgAdmin   = "org_admin"
	RoleSupervisor = "supervisor"
)

// SessionConsole is the kind of a back-office session (the console's cookie).
const SessionConsole = "console"

// BackOfficeUser is a person of the organization running onboard who signs
// in to the console. Back-office users are not customers' users: they live
// in their own table and have their own sessions.
type BackOfficeUser struct {
	ID    string
	OrgID string // the organization an org_admin manages (a supervisor's home)
	Email string
	Role  string
	// PasswordHash is "" until the user set a password from the mailed link.
	PasswordHash string
	// TOTPSecret is the base32 secret of the second factor ("" when none);
	// TOTPEnabledAt is set once enrolment was confirmed with a code.
	TOTPSecret    string
	TOTPEnabledAt *time.Time
	// TOTPLastStep is the last time step a code was accepted for, so that a
	// code cannot be used twice.
	TOTPLastStep int64
	// RecoveryCodes are the SHA-256 (hex) of the unused recovery codes.
	RecoveryCodes []string
	Language      string
	DisabledAt    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// BackOfficeSession is a signed-in console browser.
type BackOfficeSession struct {
	ID        string
	UserID    string
	TokenHash []byte
	// SecondFactor is how the second factor was passed: "" (not yet, or the
	// user has none), "totp" or "recovery".
	SecondFactor  string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	ClientIP      string
	UserAgent     string
}
