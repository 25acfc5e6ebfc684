package flows

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// PendingAccount is an account awaiting the organization's decision, with
// its users.
type PendingAccount struct {
	Account domain.Account
	Users   []domain.User
}

func approvalNotFound() error {
	return domain.Errorf(domain.ENotFound, "account-not-found", "There is no such data recipient account.")
}

// PendingApprovals lists the data recipients awaiting approval, oldest first.
func (s *Service) PendingApprovals(ctx context.Context, org domain.Organization) ([]PendingAccount, error) {
	accts, err := s.store.AccountsByStatus(ctx, org.ID, domain.KindDataRecipient, domain.StatusPendingApproval)
	if err != nil {
		return nil, err
	}
	out := make([]PendingAccount, 0, len(accts))
	for _, a := range accts {
		users, err := s.store.UsersByAccount(ctx, org.ID, a.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, PendingAccount{Account: a, Users: users})
	}
	return out, nil
}

// ApproveAccount activates a data recipient awaiting approval and its users,
// and mails them that they may sign in.
func (s *Service) ApproveAccount(ctx context.Context, adm Admin, org domain.Organization, id string) (PendingAccount, error) {
	return s.decide(ctx, adm, org, id, domain.StatusActive, "")
}

// RejectAccount rejects a data recipient awaiting approval, with a reason
// that is mailed to its users.
func (s *Service) RejectAccount(ctx context.Context, adm Admin, org domain.Organization, id, reason string) (PendingAccount, error) {
	var f fieldErrors
	reason = f.text("reason", reason, true, maxReasonLength, true)
	if err := f.err(); err != nil {
		return PendingAccount{}, err
	}
	return s.decide(ctx, adm, org, id, domain.StatusRejected, reason)
}

// decide moves a pending data recipient and its users to status to, mails the
// users and records the decision, in one transaction.
func (s *Service) decide(ctx context.Context, adm Admin, org domain.Organization, id, to, reason string) (PendingAccount, error) {
	if !ValidID(id) {
		return PendingAccount{}, approvalNotFound()
	}
	acct, err := s.store.AccountByID(ctx, org.ID, id)
	if store.IsNotFound(err) || (err == nil && acct.Kind != domain.KindDataRecipient) {
		return PendingAccount{}, approvalNotFound()
	}
	if err != nil {
		return PendingAccount{}, err
	}
	notPending := func(status string) error {
		return domain.Errorf(domain.EConflict, "account-not-pending",
			"The account is not awaiting approval (its status is %s); it was decided already.", status)
	}
	if acct.Status != domain.StatusPendingApproval {
		return PendingAccount{}, notPending(acct.Status)
	}
	users, err := s.store.UsersByAccount(ctx, org.ID, id)
	if err != nil {
		return PendingAccount{}, err
	}
	var mails []domain.OutboxMail
	for _, u := range users {
		var m domain.OutboxMail
		if to == domain.StatusActive {
			m, err = s.QueueMail(org, u.Language, obmail.TemplateApprovalGranted, u.Email, obmail.ApprovalGrantedData{
				Organization: displayName(org), FirstName: u.FirstName, SignInURL: s.pageURL(org, "/login")})
		} else {
			m, err = s.QueueMail(org, u.Language, obmail.TemplateApprovalRejected, u.Email, obmail.ApprovalRejectedData{
				Organization: displayName(org), FirstName: u.FirstName, Reason: reason})
		}
		if err != nil {
			return PendingAccount{}, err
		}
		mails = append(mails, m)
	}
	action := "account.approved"
	if to == domain.StatusRejected {
		action = "account.rejected"
	}
	now := s.stamp()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.DecideAccount(ctx, org.ID, id, domain.StatusPendingApproval, to, reason, now)
		if err != nil {
			return err
		}
		if !ok {
			return notPending("decided by another request")
		}
		// The users were read before the transaction; a user added since
		// would miss the mail, so read them again and refuse if they changed.
		again, err := tx.UsersByAccount(ctx, org.ID, id)
		if err != nil {
			return err
		}
		if len(again) != len(users) {
			return domain.Errorf(domain.EConflict, "account-changed", "The account's users changed meanwhile; try again.")
		}
		if err := tx.SetUsersStatus(ctx, org.ID, id, to, now); err != nil {
			return err
		}
		for _, m := range mails {
			if err := tx.EnqueueMail(ctx, m, now); err != nil {
				return err
			}
		}
		after := map[string]any{"status": to}
		if reason != "" {
			after["reason"] = reason
		}
		return Audit(ctx, tx, org.ID, adm, action, id,
			map[string]any{"before": map[string]any{"status": acct.Status}, "after": after, "users": len(users)}, now)
	})
	if err != nil {
		return PendingAccount{}, fmt.Errorf("%s: %w", action, err)
	}
	s.notify()
	acct.Status, acct.DecidedAt, acct.DecisionReason, acct.UpdatedAt = to, &now, reason, now
	for i := range users {
		users[i].Status, users[i].UpdatedAt = to, now
	}
	return PendingAccount{Account: acct, Users: users}, nil
}
