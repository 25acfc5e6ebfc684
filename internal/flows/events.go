package flows

import (
	"context"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
)

// Events (internal/events) are written in the transaction of the change
// they tell of; these helpers keep the flows' calls to one line.

// emit writes one event about subject.
func emit(ctx context.Context, tx *store.Tx, org domain.Organization, at time.Time, subject string, d events.Data) error {
	_, err := events.Emit(ctx, tx, org, at, subject, d)
	return err
}

// emitUserCreated writes user.created for a new user of acct, and
// partner.user_created too when acct is a partner.
func emitUserCreated(ctx context.Context, tx *store.Tx, org domain.Organization, acct domain.Account, u domain.User, userType string, at time.Time) error {
	if err := emit(ctx, tx, org, at, u.ID, events.UserCreated{UserID: u.ID, AccountID: acct.ID, AccountKind: acct.Kind, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, UserType: userType}); err != nil {
		return err
	}
	if acct.Kind != domain.KindPartner {
		return nil
	}
	return emit(ctx, tx, org, at, u.ID, events.PartnerUserCreated{AccountID: acct.ID, UserID: u.ID, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, UserType: userType})
}

// emitAccountCreated writes customer.created or data_recipient.pending for
// a new account (partners are told of by partner.user_created).
func emitAccountCreated(ctx context.Context, tx *store.Tx, org domain.Organization, acct domain.Account, at time.Time) error {
	switch {
	case acct.Kind == domain.KindCustomer:
		return emit(ctx, tx, org, at, acct.ID, events.CustomerCreated{AccountID: acct.ID, Type: acct.Type, Name: acct.Name, Origin: acct.Origin})
	case acct.Kind == domain.KindDataRecipient && acct.Status == domain.StatusPendingApproval:
		return emit(ctx, tx, org, at, acct.ID, events.DataRecipientPending(acct.ID, acct.Name))
	}
	return nil
}

// emitAccepted writes agreement.accepted.
func emitAccepted(ctx context.Context, tx *store.Tx, org domain.Organization, u domain.User, a domain.Agreement, at time.Time) error {
	return emit(ctx, tx, org, at, u.ID, events.AgreementAccepted{UserID: u.ID, AccountID: u.AccountID, Agreement: a.Name, Version: a.Version})
}
