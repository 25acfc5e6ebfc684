package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// ProfileUpdate is a signed-in user's new names, phone and language ("" for
// no choice: pages follow the browser).
type ProfileUpdate struct {
	FirstName string
	LastName  string
	Phone     string
	Language  string
}

// UpdateProfile replaces the principal's names, phone and language, checked
// as on the registration form (names required, phone optional, a language
// among Languages or none), and returns the user as stored.
func (s *Service) UpdateProfile(ctx context.Context, p Principal, in ProfileUpdate) (domain.User, error) {
	first, last := strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	phone, lang := strings.TrimSpace(in.Phone), strings.ToLower(strings.TrimSpace(in.Language))
	var fields []domain.FieldError
	for _, c := range []struct {
		f Field
		v string
	}{
		{Field{Name: "first_name", Type: "string", Required: true, MaxLength: maxFieldLength}, first},
		{Field{Name: "last_name", Type: "string", Required: true, MaxLength: maxFieldLength}, last},
		{Field{Name: "phone", Type: "phone", MaxLength: 32}, phone},
	} {
		if msg := s.checkValue(c.f, c.v); msg != "" {
			fields = append(fields, domain.FieldError{Field: c.f.Name, Message: msg})
		}
	}
	if lang != "" && !slices.Contains(Languages, lang) {
		fields = append(fields, domain.FieldError{Field: "language", Message: "must be one of " + strings.Join(Languages, ", ")})
	}
	if len(fields) > 0 {
		return domain.User{}, domain.Invalid(fields...)
	}
	u := p.User
	u.FirstName, u.LastName, u.Phone, u.Language = first, last, phone, lang
	if u.FirstName == p.User.FirstName && u.LastName == p.User.LastName && u.Phone == p.User.Phone && u.Language == p.User.Language {
		return u, nil
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserProfile(ctx, u, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "user:" + u.ID, Action: "user.profile_updated",
			SubjectID: u.ID, Data: map[string]any{"language": lang}, CreatedAt: now})
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("update profile: %w", err)
	}
	u.UpdatedAt = store.Timestamp(now)
	return u, nil
}

// Acceptances lists the agreement versions the principal accepted, with when.
func (s *Service) Acceptances(ctx context.Context, p Principal) ([]domain.Acceptance, error) {
	return s.store.AcceptancesByUser(ctx, p.User.OrgID, p.User.ID)
}

// ResendInvitation sends a pending (or expired) invitation of the
// principal's account again: a new invitation to the same address with the
// same user type replaces it, with a new link and expiry, as Invite does. An
// invitation of another account, or none, answers 404; an accepted one 409;
// a revoked or replaced one 409 too (invite anew instead). Only account
// administrators may.
func (s *Service) ResendInvitation(ctx context.Context, p Principal, ref AccountRef, id, clientIP string) (InvitationInfo, error) {
	list, err := s.Invitations(ctx, p, ref)
	if err != nil {
		return InvitationInfo{}, err
	}
	i := slices.IndexFunc(list, func(in InvitationInfo) bool { return in.Invitation.ID == id })
	if i < 0 {
		return InvitationInfo{}, domain.Errorf(domain.ENotFound, "invitation-not-found", "The account has no such invitation.")
	}
	switch list[i].Status {
	case domain.InvitationPending, "expired":
	case domain.InvitationAccepted:
		return InvitationInfo{}, domain.Errorf(domain.EConflict, "invitation-accepted", "The invitation was accepted already.")
	default:
		return InvitationInfo{}, domain.Errorf(domain.EConflict, "invitation-closed", "The invitation was withdrawn or replaced; invite the address anew.")
	}
	return s.Invite(ctx, p, ref, Invite{Email: list[i].Invitation.Email, UserType: list[i].UserType.Name, ClientIP: clientIP})
}

// AssignableUserTypes lists the user types the users of the principal's
// account may have (those named after its kind), by name. Only account
// administrators may.
func (s *Service) AssignableUserTypes(ctx context.Context, p Principal, ref AccountRef) ([]domain.UserType, error) {
	acct, err := s.adminAccount(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	all, err := s.store.UserTypes(ctx, acct.OrgID)
	if err != nil {
		return nil, err
	}
	var out []domain.UserType
	for _, ut := range all {
		if assignable(acct.Kind, ut) {
			out = append(out, ut)
		}
	}
	slices.SortFunc(out, func(a, b domain.UserType) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
