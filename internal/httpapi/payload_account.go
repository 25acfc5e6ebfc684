package httpapi

import "time"

// Payloads of the account part of the API. The OpenAPI document's component
// schemas are generated from them (openapi_schemas.go).

// EmailSent is a mail is on its way (or, where the answer must not tell, may be).
type EmailSent struct {
	Status string `json:"status" jsonschema_extras:"const=email_sent"`
}

// InviteRequest is whom to invite, and as what.
type InviteRequest struct {
	// The address to invite. One plain address (no display name), surrounding spaces trimmed.
	Email string `json:"email" jsonschema:"format=idn-email,maxLength=254,example=charles@example.com"`
	// The name of the user type the new user gets: one of the organization's user types named after
	// the account's kind (`customer_*` for customers, `partner_*` for partners), e.g.
	// `customer_admin`, `customer_user`, `customer_viewer`.
	UserType string `json:"user_type" jsonschema:"example=customer_user"`
}

// Invitation is an invitation to join the account, as its administrators see it.
type Invitation struct {
	// The invitation's id. An opaque string; do not parse it.
	ID    string `json:"id"`
	Email string `json:"email" jsonschema:"format=idn-email,example=charles@example.com"`
	// The name of the user type the invitee gets.
	UserType string `json:"user_type" jsonschema:"example=customer_user"`
	// `pending`: the link works until `expires_at`; `accepted`: used; `revoked`: withdrawn;
	// `superseded`: a newer invitation to the same address replaced it; `expired`: pending past
	// `expires_at`.
	Status    string    `json:"status" jsonschema:"enum=pending,enum=accepted,enum=revoked,enum=superseded,enum=expired"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// The id of the inviting user; null when the back office invited or the user was deleted.
	InvitedBy  *string    `json:"invited_by" jsonschema:"nullable"`
	AcceptedAt *time.Time `json:"accepted_at" jsonschema:"nullable"`
	// The id of the user the invitation created or activated.
	AcceptedUserID *string    `json:"accepted_user_id" jsonschema:"nullable"`
	RevokedAt      *time.Time `json:"revoked_at" jsonschema:"nullable"`
}

// InvitationList is the invitations of the account, newest first, in every status.
type InvitationList struct {
	Invitations []Invitation `json:"invitations"`
}

// InvitationFormAccount is the account the invitation is to.
type InvitationFormAccount struct {
	Name string `json:"name" jsonschema:"example=Analytical Engines Ltd"`
	Kind string `json:"kind" jsonschema:"enum=customer,enum=partner"`
	// business or personal for customers, channel for partners.
	Type string `json:"type" jsonschema:"example=business"`
}

// InvitationFormUserType is a payload of the API.
type InvitationFormUserType struct {
	Name  string `json:"name" jsonschema:"example=customer_user"`
	Label string `json:"label" jsonschema:"example=Customer user"`
}

// InvitationForm is what an invitation link leads to: who invites, to what, and what the form must
// ask.
type InvitationForm struct {
	// Name (slug) of the organization.
	Organization string `json:"organization" jsonschema:"example=default"`
	// The account the invitation is to.
	Account InvitationFormAccount `json:"account"`
	// The full name of the inviting user; null when the back office invited or the user was deleted.
	InvitedBy *string `json:"invited_by" jsonschema:"nullable,example=Ada Lovelace"`
	// The invited address (fixed by the invitation); the new user signs in with it.
	Email    string                 `json:"email" jsonschema:"format=idn-email"`
	UserType InvitationFormUserType `json:"user_type"`
	// true when the invitation activates a user the back office created: the names are then optional
	// (given ones replace the stored ones).
	ExistingUser bool `json:"existing_user"`
	// When the link stops working.
	ExpiresAt time.Time `json:"expires_at"`
	// The user fields to ask (`user.<key>`), in display order.
	Fields []Field `json:"fields"`
	// The agreements of the account's type; those with `required: true` must be accepted.
	Agreements     []Agreement    `json:"agreements"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
}

// AcceptInvitationRequest is the filled-in invitation form. The keys of `user` are the `fields` of
// the form without their `user.` prefix; values are strings, trimmed (a null counts as absent).
type AcceptInvitationRequest struct {
	// User fields.
	User FormValues `json:"user"`
	// The new user's password; see the form's `password_policy`.
	Password string `json:"password" jsonschema:"example=difference engine no 2"`
	// Ids of the agreements accepted: every required agreement of the form, and only agreements of
	// the form.
	AcceptedAgreements []string `json:"accepted_agreements,omitempty"`
}

// InvitedUser is the user an accepted invitation created (or activated).
type InvitedUser struct {
	User User `json:"user"`
}

// AccountUsers is the users of the account, oldest first.
type AccountUsers struct {
	Users []User `json:"users"`
}

// ChangeUserTypeRequest is the user type to give the user.
type ChangeUserTypeRequest struct {
	// The name of a user type named after the account's kind (`customer_*`, `partner_*`).
	UserType string `json:"user_type" jsonschema:"example=customer_admin"`
}

// LocationRequest is a location's name.
type LocationRequest struct {
	// 1 to 100 characters once trimmed, no control or invisible characters; unique within the
	// customer, ignoring case.
	Name string `json:"name" jsonschema:"minLength=1,maxLength=100,example=Head office"`
}

// LocationList is the customer's locations, oldest first.
type LocationList struct {
	Locations []Location `json:"locations"`
}

// DeleteCustomerRequest is the confirmation of the deletion.
type DeleteCustomerRequest struct {
	// The name of the customer, exactly as `name` of the customer shows it.
	Confirm string `json:"confirm" jsonschema:"example=Analytical Engines Ltd"`
}

// PasswordResetRequest is the address whose password to reset.
type PasswordResetRequest struct {
	// The address the user signs in with.
	Email string `json:"email" jsonschema:"format=idn-email,maxLength=254,example=ada@example.com"`
	// The name (slug) of the organization. Omitted or empty means `default`.
	Organization string `json:"organization,omitempty" jsonschema:"default=default,example=default"`
}

// PasswordResetInfo is what a password-reset link leads to.
type PasswordResetInfo struct {
	// The user's address with most of the part before the @ hidden, to show whose password is set.
	Email string `json:"email" jsonschema:"example=a***@example.com"`
	// When the link stops working.
	ExpiresAt      time.Time      `json:"expires_at"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
}

// ResetPasswordRequest is the new password.
type ResetPasswordRequest struct {
	// The new password; see `password_policy`.
	Password string `json:"password" jsonschema:"example=difference engine no 2"`
}

// PasswordChanged is the password was changed.
type PasswordChanged struct {
	Status string `json:"status" jsonschema_extras:"const=password_changed"`
}

// ChangePasswordRequest is the current and the new password.
type ChangePasswordRequest struct {
	// At most 1024 bytes.
	CurrentPassword string `json:"current_password" jsonschema:"minLength=1,example=correct horse battery staple"`
	// The new password: it must follow the password policy and differ from the current one.
	NewPassword string `json:"new_password" jsonschema:"example=difference engine no 2"`
}

// ChangeEmailRequest is the new address and the current password.
type ChangeEmailRequest struct {
	// The new address.
	Email string `json:"email" jsonschema:"format=idn-email,maxLength=254,example=ada.lovelace@example.org"`
	// At most 1024 bytes.
	CurrentPassword string `json:"current_password" jsonschema:"minLength=1,example=correct horse battery staple"`
}

// EmailChangeInfo is what an email-change link leads to.
type EmailChangeInfo struct {
	// The new address (the one the link was mailed to).
	Email string `json:"email" jsonschema:"format=idn-email,example=ada.lovelace@example.org"`
	// The current address, with most of the part before the @ hidden.
	CurrentEmail string `json:"current_email" jsonschema:"example=a***@example.com"`
	// When the link stops working.
	ExpiresAt time.Time `json:"expires_at"`
}

// EmailChanged is the address was changed.
type EmailChanged struct {
	Status string `json:"status" jsonschema_extras:"const=email_changed"`
	// The user's address now.
	Email string `json:"email" jsonschema:"format=idn-email"`
}

// MySession is one session of the signed-in user (never its token).
type MySession struct {
	// The session's id. An opaque string; do not parse it.
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// The client address that signed in.
	ClientIP string `json:"client_ip" jsonschema:"example=203.0.113.7"`
	// The User-Agent that signed in (at most 256 bytes).
	UserAgent string `json:"user_agent" jsonschema:"example=Mozilla/5.0 (X11; Linux x86_64)"`
	// Whether this is the session of the request.
	Current bool `json:"current"`
}

// MySessions is the signed-in user's unexpired sessions, newest first.
type MySessions struct {
	Sessions []MySession `json:"sessions"`
}

// SessionsEnded is how many sessions were ended.
type SessionsEnded struct {
	Ended int64 `json:"ended" jsonschema:"minimum=0,example=2"`
}

// ExportOrganization is a payload of the API.
type ExportOrganization struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// ExportUserType is a payload of the API.
type ExportUserType struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Permissions []string `json:"permissions"`
}

// ExportUser is the profile.
type ExportUser struct {
	ID          string            `json:"id"`
	Email       string            `json:"email" jsonschema:"format=idn-email"`
	FirstName   string            `json:"first_name"`
	LastName    string            `json:"last_name"`
	Phone       string            `json:"phone"`
	Properties  map[string]string `json:"properties"`
	Status      string            `json:"status"`
	HasPassword bool              `json:"has_password"`
	UserType    ExportUserType    `json:"user_type"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// ExportAcceptance is a payload of the API.
type ExportAcceptance struct {
	AgreementID string    `json:"agreement_id"`
	Name        string    `json:"name"`
	Version     int       `json:"version" jsonschema:"minimum=1"`
	AcceptedAt  time.Time `json:"accepted_at"`
}

// ExportInvitation is a payload of the API.
type ExportInvitation struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	Email      string     `json:"email" jsonschema:"format=idn-email"`
	State      string     `json:"state" jsonschema:"enum=pending,enum=accepted,enum=revoked,enum=superseded"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at" jsonschema:"nullable"`
	RevokedAt  *time.Time `json:"revoked_at" jsonschema:"nullable"`
}

// ExportPasswordReset is a payload of the API.
type ExportPasswordReset struct {
	ID        string     `json:"id"`
	State     string     `json:"state" jsonschema:"enum=pending,enum=used,enum=superseded"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at" jsonschema:"nullable"`
}

// ExportEmailChange is a payload of the API.
type ExportEmailChange struct {
	ID        string     `json:"id"`
	OldEmail  string     `json:"old_email" jsonschema:"format=idn-email"`
	NewEmail  string     `json:"new_email" jsonschema:"format=idn-email"`
	State     string     `json:"state" jsonschema:"enum=pending,enum=used,enum=superseded"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at" jsonschema:"nullable"`
}

// ExportAuditEntry is a payload of the API.
type ExportAuditEntry struct {
	ID        string         `json:"id"`
	Actor     string         `json:"actor" jsonschema:"example=user:0196f1c4-7b10-7e55-8a0c-1d2e3f405162"`
	Action    string         `json:"action" jsonschema:"example=session.created"`
	SubjectID string         `json:"subject_id"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
}

// MyExport is everything onboard holds about the signed-in user, without secrets (no password
// hash, no token hashes).
type MyExport struct {
	ExportedAt   time.Time          `json:"exported_at"`
	Organization ExportOrganization `json:"organization"`
	// The profile.
	User    ExportUser `json:"user"`
	Account Customer   `json:"account"`
	// The agreement versions the user accepted.
	Acceptances []ExportAcceptance `json:"acceptances"`
	Sessions    []MySession        `json:"sessions"`
	// Invitations the user sent.
	InvitationsSent []ExportInvitation `json:"invitations_sent"`
	// Invitations the user accepted, or that are bound to the user.
	InvitationsReceived []ExportInvitation    `json:"invitations_received"`
	PasswordResets      []ExportPasswordReset `json:"password_resets"`
	EmailChanges        []ExportEmailChange   `json:"email_changes"`
	// Audit entries about the user or by the user, oldest first.
	Audit []ExportAuditEntry `json:"audit"`
}
