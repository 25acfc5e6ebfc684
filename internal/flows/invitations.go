package flows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Invitations: an account administrator invites someone by email to become a
// user of the account. The invitee gets a link (valid for the invitation
// TTL, single use) that leads to a form: names, password, agreements.
//
// Inviting an address that already belongs to a user of the organization
// answers exactly as for a new address, and creates a (then unusable)
// invitation the same way, but mails the address a notice instead of a
// link: an administrator cannot find out whether someone else's address is
// registered.

// Invite is the input of an invitation.
type Invite struct {
	Email    string
	UserType string // name of the user type the new user gets
	ClientIP string
}

// InvitationInfo is an invitation as the account's administrators see it.
type InvitationInfo struct {
	Invitation domain.Invitation
	UserType   domain.UserType
	Status     string // pending | accepted | revoked | superseded | expired
}

// invitationStatus is the state of an invitation as shown: a pending
// invitation past its expiry is expired.
func invitationStatus(i domain.Invitation, now time.Time) string {
	if i.State == domain.InvitationPending && !now.Before(i.ExpiresAt) {
		return "expired"
	}
	return i.State
}

func fullName(u domain.User) string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// Invite creates an invitation to the principal's account and mails it (or,
// to an address that already has a user, a notice without link). A new
// invitation to the same address replaces the account's pending one. Only
// account administrators may; rate limited per client address and per
// invited address like signup starts, and per account (fewer a day while
// the account is young).
func (s *Service) Invite(ctx context.Context, p Principal, ref AccountRef, in Invite) (InvitationInfo, error) {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return InvitationInfo{}, err
	}
	var fields []domain.FieldError
	email, ferr := ValidEmail("email", in.Email)
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	ut, err := s.assignableType(ctx, acct.OrgID, acct.Kind, "user_type", in.UserType)
	if de := domain.AsError(err); de != nil && de.Code == domain.EInvalid {
		fields = append(fields, de.Fields...)
	} else if err != nil {
		return InvitationInfo{}, err
	}
	if len(fields) > 0 {
		return InvitationInfo{}, domain.Invalid(fields...)
	}
	if err := s.rateLimit(ctx, "invite:ip:"+in.ClientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return InvitationInfo{}, err
	}
	if err := s.rateLimitInvites(ctx, acct); err != nil {
		return InvitationInfo{}, err
	}
	if err := s.rateLimit(ctx, "invite:email:"+acct.OrgID+":"+domain.NormalizeEmail(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return InvitationInfo{}, err
	}
	org, err := s.store.OrganizationByID(ctx, acct.OrgID)
	if err != nil {
		return InvitationInfo{}, err
	}
	registered, err := s.store.EmailRegistered(ctx, org.ID, email)
	if err != nil {
		return InvitationInfo{}, err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return InvitationInfo{}, fmt.Errorf("invite: %w", err)
	}
	now := s.now()
	ttl := s.accountConfig().InvitationTTL
	inv := domain.Invitation{
		ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, Email: email, UserTypeID: ut.ID, InvitedBy: p.User.ID,
		TokenHash: hash, State: domain.InvitationPending, CreatedAt: store.Timestamp(now), ExpiresAt: store.Timestamp(now.Add(ttl)),
		Language: p.User.Language,
	}
	var m domain.OutboxMail
	if registered {
		m, err = s.QueueMail(org, p.User.Language, obmail.TemplateInvitationNotice, email, obmail.InvitationNoticeData{
			Organization: displayName(org), AccountName: acct.Name, InviterName: fullName(p.User),
			SignInURL: s.pageURL(org, "/login"), ResetURL: s.pageURL(org, "/reset-password"),
		})
	} else {
		m, err = s.QueueMail(org, p.User.Language, obmail.TemplateInvitation, email, obmail.InvitationData{
			Organization: displayName(org), AccountName: acct.Name, InviterName: fullName(p.User),
			Link: s.pageLink(org, "/invitation", token), ExpiresIn: humanTTL(ttl),
		})
	}
	if err != nil {
		return InvitationInfo{}, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		if err := tx.SupersedePendingInvitations(ctx, org.ID, acct.ID, email); err != nil {
			return err
		}
		if err := tx.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		if err := tx.EnqueueMail(ctx, m, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + p.User.ID, Action: "invitation.created",
			SubjectID: inv.ID, Data: map[string]any{"account_id": acct.ID, "email": email, "user_type": ut.Name}, CreatedAt: now})
	})
	if err != nil {
		return InvitationInfo{}, fmt.Errorf("invite: %w", err)
	}
	s.notify()
	return InvitationInfo{Invitation: inv, UserType: ut, Status: domain.InvitationPending}, nil
}

// rateLimitInvites counts an invitation of acct: under its own key while
// the account is younger than NewAccountAge (the lower limit), under
// another afterwards.
func (s *Service) rateLimitInvites(ctx context.Context, acct domain.Account) error {
	l := s.cfg.Limits
	if s.now().Sub(acct.CreatedAt) < l.NewAccountAge {
		return s.rateLimit(ctx, "invite:account:new:"+acct.ID, l.InvitesPerNewAccount)
	}
	return s.rateLimit(ctx, "invite:account:"+acct.ID, l.InvitesPerAccount)
}

// InviteExistingUserTx creates, inside tx, an invitation bound to an
// existing user of acct who has no password yet (status invited, e.g. one the
// back office just created), and queues its mail. Completing the invitation
// sets the user's password, names (when given) and acceptances and makes the
// user active. Earlier pending invitations of the user are superseded. The
// caller commits tx and then wakes the mail worker (s.notify).
func (s *Service) InviteExistingUserTx(ctx context.Context, tx *store.Tx, org domain.Organization, acct domain.Account, u domain.User, now time.Time) error {
	if u.AccountID != acct.ID || u.OrgID != org.ID || acct.OrgID != org.ID {
		return fmt.Errorf("invite existing user %s: not a user of account %s of organization %s", u.ID, acct.ID, org.ID)
	}
	if u.Status != domain.StatusInvited || u.PasswordHash != "" {
		return domain.Errorf(domain.EConflict, "user-not-invitable", "Only a user in status invited, without a password, can be invited.")
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return fmt.Errorf("invite existing user: %w", err)
	}
	ttl := s.accountConfig().InvitationTTL
	inv := domain.Invitation{
		ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, Email: u.Email, UserTypeID: u.UserTypeID, UserID: u.ID,
		TokenHash: hash, State: domain.InvitationPending, CreatedAt: store.Timestamp(now), ExpiresAt: store.Timestamp(now.Add(ttl)),
		Language: u.Language,
	}
	m, err := s.QueueMail(org, u.Language, obmail.TemplateInvitation, u.Email, obmail.InvitationData{
		Organization: displayName(org), AccountName: acct.Name, Link: s.pageLink(org, "/invitation", token), ExpiresIn: humanTTL(ttl),
	})
	if err != nil {
		return err
	}
	if err := tx.SupersedeUserInvitations(ctx, org.ID, u.ID); err != nil {
		return err
	}
	if err := tx.CreateInvitation(ctx, inv); err != nil {
		return err
	}
	if err := tx.EnqueueMail(ctx, m, now); err != nil {
		return err
	}
	return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "back_office", Action: "invitation.created",
		SubjectID: inv.ID, Data: map[string]any{"account_id": acct.ID, "user_id": u.ID}, CreatedAt: now})
}

// Invitations lists the invitations of the principal's account, newest
// first. Only account administrators may.
func (s *Service) Invitations(ctx context.Context, p Principal, ref AccountRef) ([]InvitationInfo, error) {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	invs, err := s.store.InvitationsByAccount(ctx, acct.OrgID, acct.ID)
	if err != nil {
		return nil, err
	}
	types, err := userTypesByID(ctx, s.store, acct.OrgID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]InvitationInfo, 0, len(invs))
	for _, i := range invs {
		out = append(out, InvitationInfo{Invitation: i, UserType: types[i.UserTypeID], Status: invitationStatus(i, now)})
	}
	return out, nil
}

// RevokeInvitation makes an invitation of the principal's account unusable.
// Revoking one that can no longer be used anyway succeeds; an accepted one
// answers 409. Only account administrators may.
func (s *Service) RevokeInvitation(ctx context.Context, p Principal, ref AccountRef, id string) error {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		inv, err := tx.InvitationByID(ctx, acct.OrgID, acct.ID, id)
		if store.IsNotFound(err) {
			return domain.Errorf(domain.ENotFound, "invitation-not-found", "The account has no such invitation.")
		}
		if err != nil {
			return err
		}
		if inv.State == domain.InvitationAccepted {
			return domain.Errorf(domain.EConflict, "invitation-accepted", "The invitation was accepted already; delete the user instead.")
		}
		revoked, err := tx.RevokeInvitation(ctx, acct.OrgID, acct.ID, id, now)
		if err != nil || !revoked {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: acct.OrgID, Actor: "user:" + p.User.ID, Action: "invitation.revoked",
			SubjectID: inv.ID, Data: map[string]any{"account_id": acct.ID}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// invitation loads the invitation a link token names: 404 when unknown, 410
// when accepted, revoked, replaced or expired.
func (s *Service) invitation(ctx context.Context, token string) (domain.Invitation, error) {
	notFound := domain.Errorf(domain.ENotFound, "invitation-not-found", "This invitation link is not valid.")
	if !auth.WellFormedToken(token) {
		return domain.Invitation{}, notFound
	}
	inv, err := s.store.InvitationByTokenHash(ctx, auth.HashToken(token))
	if store.IsNotFound(err) {
		return inv, notFound
	}
	if err != nil {
		return inv, err
	}
	if err := invitationGone(inv.State); err != nil {
		return inv, err
	}
	if !s.now().Before(inv.ExpiresAt) {
		return inv, domain.Errorf(domain.EGone, "invitation-expired", "This invitation has expired. Ask for a new one.")
	}
	return inv, nil
}

// invitationGone is the 410 of an invitation in a state other than pending.
func invitationGone(state string) error {
	switch state {
	case domain.InvitationPending:
		return nil
	case domain.InvitationAccepted:
		return domain.Errorf(domain.EGone, "invitation-used", "This invitation was accepted already.")
	case domain.InvitationRevoked:
		return domain.Errorf(domain.EGone, "invitation-revoked", "This invitation was withdrawn.")
	default:
		return domain.Errorf(domain.EGone, "invitation-replaced", "A newer invitation was sent; use that one.")
	}
}

// InvitationForm is what an invitation link leads to.
type InvitationForm struct {
	Invitation   domain.Invitation
	Organization domain.Organization
	Account      domain.Account
	UserType     domain.UserType
	InvitedBy    string // the inviting user's name; empty when the back office invited or the user is gone
	Existing     bool   // the invitation activates an existing user: names may be left out
	Fields       []Field
	Agreements   []domain.Agreement
	Policy       auth.PolicyDescription
}

// invitationForm gathers the form of a valid invitation.
func (s *Service) invitationForm(ctx context.Context, inv domain.Invitation) (InvitationForm, error) {
	org, err := s.store.OrganizationByID(ctx, inv.OrgID)
	if err != nil {
		return InvitationForm{}, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	acct, err := s.store.AccountByID(ctx, inv.OrgID, inv.AccountID)
	if err != nil {
		return InvitationForm{}, err
	}
	ut, err := s.store.UserTypeByID(ctx, inv.OrgID, inv.UserTypeID)
	if err != nil {
		return InvitationForm{}, err
	}
	props, err := s.store.PropertyDefinitions(ctx, org.ID)
	if err != nil {
		return InvitationForm{}, err
	}
	all, err := s.store.CurrentAgreements(ctx, org.ID)
	if err != nil {
		return InvitationForm{}, err
	}
	form := InvitationForm{
		Invitation: inv, Organization: org, Account: acct, UserType: ut, Existing: inv.UserID != "",
		Agreements: targetedAgreements(all, acct.AccountType()), Policy: s.policy.Describe(),
	}
	for _, f := range formFields(org, acct.AccountType(), props) {
		if !strings.HasPrefix(f.Name, "user.") {
			continue
		}
		if form.Existing && (f.Name == "user.first_name" || f.Name == "user.last_name") {
			f.Required = false
		}
		form.Fields = append(form.Fields, f)
	}
	if inv.InvitedBy != "" {
		inviter, err := s.store.UserByID(ctx, inv.OrgID, inv.InvitedBy)
		if err != nil && !store.IsNotFound(err) {
			return InvitationForm{}, err
		}
		form.InvitedBy = fullName(inviter)
	}
	return form, nil
}

// Invitation returns the form an invitation link leads to. Reading it does
// not use the link.
func (s *Service) Invitation(ctx context.Context, token string) (InvitationForm, error) {
	inv, err := s.invitation(ctx, token)
	if err != nil {
		return InvitationForm{}, err
	}
	return s.invitationForm(ctx, inv)
}

// InvitationCompletion is the filled-in invitation form.
type InvitationCompletion struct {
	User               map[string]any
	Password           string
	AcceptedAgreements []string
	// Language is the language of the page the invitation was accepted on;
	// a new user starts with it (else with the invitation's).
	Language string
}

// AcceptInvitation validates the form and, in one transaction, uses up the
// link and creates the new user of the account (or activates the existing
// user the invitation is bound to) with the agreement acceptances, and
// queues a welcome mail. A rejected completion changes nothing and leaves the
// link usable.
func (s *Service) AcceptInvitation(ctx context.Context, token string, in InvitationCompletion) (AccountUser, error) {
	inv, err := s.invitation(ctx, token)
	if err != nil {
		return AccountUser{}, err
	}
	form, err := s.invitationForm(ctx, inv)
	if err != nil {
		return AccountUser{}, err
	}
	values, fields := s.validateForm(form.Fields, nil, in.User)
	for _, v := range s.policy.Check(in.Password, inv.Email) {
		fields = append(fields, domain.FieldError{Field: "password", Message: v.Message})
	}
	fields = append(fields, checkAgreements(form.Agreements, in.AcceptedAgreements)...)
	if len(fields) > 0 {
		return AccountUser{}, domain.Invalid(fields...)
	}
	registeredErr := domain.Errorf(domain.EConflict, "email-registered",
		"A user with this email address was created in the meantime. Sign in instead.")
	var existing domain.User
	if form.Existing {
		existing, err = s.store.UserByID(ctx, inv.OrgID, inv.UserID)
		if err != nil {
			return AccountUser{}, err
		}
		if existing.Status != domain.StatusInvited {
			return AccountUser{}, invitationGone(domain.InvitationAccepted)
		}
	} else if registered, err := s.store.EmailRegistered(ctx, inv.OrgID, inv.Email); err != nil {
		return AccountUser{}, err
	} else if registered {
		return AccountUser{}, registeredErr
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return AccountUser{}, fmt.Errorf("accept invitation: %w", err)
	}
	now := s.now()
	userProps := scoped(values, "user.")
	for _, k := range []string{"first_name", "last_name", "phone"} {
		delete(userProps, k)
	}
	u := domain.User{
		ID: store.NewID(), OrgID: inv.OrgID, AccountID: inv.AccountID, UserTypeID: inv.UserTypeID, Email: inv.Email,
		FirstName: values["user.first_name"], LastName: values["user.last_name"], Phone: values["user.phone"],
		Properties: userProps, PasswordHash: hash, Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now,
		Language: cmp.Or(knownLanguage(in.Language), inv.Language),
	}
	if form.Existing {
		first, last, phone := u.FirstName, u.LastName, u.Phone
		u = existing
		u.PasswordHash, u.Status, u.UpdatedAt = hash, domain.StatusActive, store.Timestamp(now)
		if first != "" {
			u.FirstName = first
		}
		if last != "" {
			u.LastName = last
		}
		if phone != "" {
			u.Phone = phone
		}
	}
	welcome, err := s.QueueMail(form.Organization, u.Language, obmail.TemplateWelcome, u.Email, obmail.WelcomeData{
		Organization: displayName(form.Organization), FirstName: u.FirstName, SignInURL: s.pageURL(form.Organization, "/login"), AccountType: form.Account.Type,
	})
	if err != nil {
		return AccountUser{}, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		had := map[string]bool{}
		if form.Existing {
			activated, err := tx.ActivateInvitedUser(ctx, u, now)
			if err != nil {
				return err
			}
			if !activated {
				return errLinkUsed
			}
			prev, err := tx.AcceptancesByUser(ctx, u.OrgID, u.ID)
			if err != nil {
				return err
			}
			for _, a := range prev {
				had[a.AgreementID] = true
			}
		} else if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		// Consumed after the user exists (the invitation refers to it).
		ok, err := tx.ConsumeInvitation(ctx, inv.ID, u.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return errLinkUsed
		}
		for _, a := range form.Agreements {
			if had[a.ID] || !slices.Contains(in.AcceptedAgreements, a.ID) {
				continue
			}
			if err := tx.CreateAcceptance(ctx, domain.Acceptance{
				ID: store.NewID(), OrgID: u.OrgID, UserID: u.ID, AgreementID: a.ID, Name: a.Name, Version: a.Version, AcceptedAt: now,
			}); err != nil {
				return err
			}
		}
		if err := tx.EnqueueMail(ctx, welcome, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "user:" + u.ID, Action: "invitation.accepted",
			SubjectID: u.ID, Data: map[string]any{"account_id": inv.AccountID, "invitation_id": inv.ID, "user_type": form.UserType.Name,
				"existing_user": form.Existing}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, errLinkUsed):
		return AccountUser{}, invitationGone(domain.InvitationAccepted)
	case store.IsDuplicate(err):
		return AccountUser{}, registeredErr
	case err != nil:
		return AccountUser{}, fmt.Errorf("accept invitation: %w", err)
	}
	s.notify()
	return AccountUser{User: u, UserType: form.UserType}, nil
}
