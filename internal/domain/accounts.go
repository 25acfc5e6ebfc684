package domain

import "time"

// StatusInvited is the status of a user created without a password, who
// becomes active by completing the invitation mailed to them.
const StatusInvited = "invited"

// States of an invitation.
const (
	InvitationPending    = "pending"
	InvitationAccepted   = "accepted"
	InvitationRevoked    = "revoked"
	InvitationSuperseded = "superseded"
)

// States of a single-use mailed link (password reset, email change).
const (
	LinkPending    = "pending"
	LinkUsed       = "used"
	LinkSuperseded = "superseded"
)

// Invitation asks someone by mail to join an account as a user. It either
// creates a new user when completed, or, when UserID is set, activates that
// existing user (one created by the back office without a password).
type Invitation struct {
	ID         string
	OrgID      string
	AccountID  string
	Email      string
	UserTypeID string
	InvitedBy  string // the inviting user's id; empty when the back office invited
	UserID     string // the existing user the invitation activates; empty for a new user
	TokenHash  []byte
	State      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	AcceptedBy string // the user the invitation created or activated
	RevokedAt  *time.Time
	// Language is the language of the invitation mail (the inviter's); the
	// user it creates starts with it.
	Language string
}

// PasswordReset is a mailed link that lets a user set a new password.
type PasswordReset struct {
	ID        string
	OrgID     string
	UserID    string
	TokenHash []byte
	State     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// EmailChange is a requested change of a user's address, confirmed by a
// link mailed to the new address.
type EmailChange struct {
	ID        string
	OrgID     string
	UserID    string
	OldEmail  string
	NewEmail  string
	TokenHash []byte
	State     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}
