package b2b

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// EndUserInput provisions one end user.
type EndUserInput struct {
	Email              string          `json:"email"`
	FirstName          string          `json:"first_name"`
	LastName           string          `json:"last_name"`
	Labelpartner       string          `json:"labelpartner"`
	CreateVerifiedUser bool            `json:"create_verified_user"`
	ExternalID         string          `json:"external_authentication_provider_id"`
	Order              *EndUserOrder   `json:"order,omitempty"`
	Customer           json.RawMessage `json:"customer,omitempty"`     // a JSON object
	Installation       json.RawMessage `json:"installation,omitempty"` // a JSON object
}

// EndUserOrder is the order block of a provisioned end user.
type EndUserOrder struct {
	VoucherCode string `json:"voucher_code"`
}

// lpResolver finds the labelpartner an end user is provisioned under.
type lpResolver struct {
	st      *store.Store
	orgID   string
	allowed func(lpID string) bool
	cache   map[string]domain.Labelpartner
	def     string
}

func (r *lpResolver) resolve(ctx context.Context, name string) (domain.Labelpartner, *domain.FieldError, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = r.def
	}
	if name == "" {
		return domain.Labelpartner{}, &domain.FieldError{Field: "labelpartner", Message: "is required"}, nil
	}
	if lp, ok := r.cache[name]; ok {
		return lp, nil, nil
	}
	lp, err := r.st.LabelpartnerByName(ctx, name)
	if store.IsNotFound(err) || (err == nil && (lp.OrgID != r.orgID || !r.allowed(lp.ID))) {
		return domain.Labelpartner{}, &domain.FieldError{Field: "labelpartner", Message: "is not a labelpartner of this client"}, nil
	}
	if err != nil {
		return domain.Labelpartner{}, nil, err
	}
	if len(r.cache) < 1000 {
		r.cache[name] = lp
	}
	return lp, nil, nil
}

// validExternalID checks an external_authentication_provider_id, as a
// client provisions it and as an identity provider's introspection answer
// gives it: at most 255 bytes, no control or invisible characters.
func validExternalID(id string) *domain.FieldError {
	switch {
	case len(id) > 255:
		return &domain.FieldError{Field: "external_authentication_provider_id", Message: "must be at most 255 characters"}
	case !domain.PlainText(id):
		return &domain.FieldError{Field: "external_authentication_provider_id", Message: "must not contain control or invisible characters"}
	}
	return nil
}

// endUser validates input into a new end user; field errors are returned as
// an *domain.Error.
func (r *lpResolver) endUser(ctx context.Context, in EndUserInput, now time.Time) (domain.EndUser, error) {
	var errs []domain.FieldError
	email, fe := flows.ValidEmail("email", in.Email)
	if fe != nil {
		errs = append(errs, *fe)
	}
	first, fe := validName("first_name", in.FirstName)
	if fe != nil {
		errs = append(errs, *fe)
	}
	last, fe := validName("last_name", in.LastName)
	if fe != nil {
		errs = append(errs, *fe)
	}
	ext := strings.TrimSpace(in.ExternalID)
	if fe := validExternalID(ext); fe != nil {
		errs = append(errs, *fe)
	}
	var voucher string
	if in.Order != nil {
		voucher = strings.TrimSpace(in.Order.VoucherCode)
		if len(voucher) > 100 {
			errs = append(errs, domain.FieldError{Field: "order.voucher_code", Message: "must be at most 100 characters"})
		}
	}
	customer, fe := jsonObject("customer", in.Customer)
	if fe != nil {
		errs = append(errs, *fe)
	}
	installation, fe := jsonObject("installation", in.Installation)
	if fe != nil {
		errs = append(errs, *fe)
	}
	lp, fe, err := r.resolve(ctx, in.Labelpartner)
	if err != nil {
		return domain.EndUser{}, err
	}
	if fe != nil {
		errs = append(errs, *fe)
	} else if lp.RequireVoucher && voucher == "" {
		errs = append(errs, domain.FieldError{Field: "order.voucher_code", Message: "is required by the labelpartner"})
	}
	if len(errs) > 0 {
		return domain.EndUser{}, domain.Invalid(errs...)
	}
	return domain.EndUser{ID: store.NewID(), OrgID: r.orgID, LabelpartnerID: lp.ID, Labelpartner: lp.Name, Email: email,
		FirstName: first, LastName: last, ExternalID: ext, VoucherCode: voucher, CreateVerified: in.CreateVerifiedUser,
		Customer: customer, Installation: installation, State: domain.EndUserProvisioned, CreatedAt: now}, nil
}

// jsonObject accepts free details given as a JSON object; null or nothing
// is no details. The JSON is already well formed: it was decoded.
func jsonObject(field string, raw json.RawMessage) (json.RawMessage, *domain.FieldError) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] != '{':
		return nil, &domain.FieldError{Field: field, Message: "must be an object"}
	}
	return raw, nil
}

func (s *Service) resolver(c B2BClient, def string) *lpResolver {
	return &lpResolver{st: s.store, orgID: c.OrgID, allowed: c.May, cache: map[string]domain.Labelpartner{}, def: def}
}

// CreateEndUser provisions an end user in state provisioned.
func (s *Service) CreateEndUser(ctx context.Context, c B2BClient, in EndUserInput) (domain.EndUser, error) {
	u, err := s.resolver(c, "").endUser(ctx, in, s.now())
	if err != nil {
		return u, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateEndUser(ctx, u); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: c.OrgID, Actor: "client:" + c.ClientID, Action: "end_user.provisioned",
			SubjectID: u.ID, Data: map[string]any{"labelpartner": u.Labelpartner}, CreatedAt: u.CreatedAt})
	})
	if store.IsDuplicate(err) {
		return domain.EndUser{}, s.endUserClash(ctx, c, u)
	}
	if err != nil {
		return domain.EndUser{}, fmt.Errorf("create end user: %w", err)
	}
	return u, nil
}

// endUserClash answers a provision whose address or external id is taken:
// 409 end-user-exists when the end user holding it is under one of the
// client's labelpartners, and otherwise the refusal any unacceptable provision
// gets, so that a client does not learn of end users of labelpartners it does
// not serve.
func (s *Service) endUserClash(ctx context.Context, c B2BClient, u domain.EndUser) error {
	holder, err := s.store.EndUserByOrgEmail(ctx, c.OrgID, u.Email)
	if store.IsNotFound(err) && u.ExternalID != "" {
		holder, err = s.store.EndUserByExternalID(ctx, c.OrgID, u.ExternalID)
	}
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	if err == nil && c.May(holder.LabelpartnerID) {
		return domain.Errorf(domain.EConflict, "end-user-exists",
			"An end user with this email address or external authentication provider id exists.")
	}
	return endUserRefused()
}

// endUserRefused is the refusal of a provision that cannot be done with its
// details, saying no more.
func endUserRefused() error {
	return domain.Errorf(domain.EInvalid, "end-user-refused", "The end user cannot be provisioned with these details.")
}

func endUserNotFound() error {
	return domain.Errorf(domain.ENotFound, "end-user-not-found", "There is no such end user.")
}

// EndUser returns an end user the client may see.
func (s *Service) EndUser(ctx context.Context, c B2BClient, id string) (domain.EndUser, error) {
	if id == "" || len(id) > 64 {
		return domain.EndUser{}, endUserNotFound()
	}
	u, err := s.store.EndUserByID(ctx, c.OrgID, id)
	if store.IsNotFound(err) || (err == nil && !c.May(u.LabelpartnerID)) {
		return domain.EndUser{}, endUserNotFound()
	}
	return u, err
}

// RecordActivity records a first measurement: a registered end user becomes
// active. An active end user stays as it is; a provisioned one is a conflict.
func (s *Service) RecordActivity(ctx context.Context, c B2BClient, id string, measuredAt time.Time) (domain.EndUser, error) {
	u, err := s.EndUser(ctx, c, id)
	if err != nil {
		return u, err
	}
	return s.activate(ctx, u, measuredAt, "client:"+c.ClientID)
}

// activate applies a first measurement to u, on behalf of actor (the audit
// log's actor): registered becomes active, active stays as it is (without
// a second audit entry), provisioned is a conflict; the measurement time is
// required and must not be in the future.
func (s *Service) activate(ctx context.Context, u domain.EndUser, measuredAt time.Time, actor string) (domain.EndUser, error) {
	now := s.now()
	if measuredAt.IsZero() {
		return u, domain.Invalid(domain.FieldError{Field: "measurement_received_at", Message: "is required"})
	}
	if measuredAt.After(now.Add(5 * time.Minute)) {
		return u, domain.Invalid(domain.FieldError{Field: "measurement_received_at", Message: "must not be in the future"})
	}
	switch u.State {
	case domain.EndUserActive:
		return u, nil
	case domain.EndUserProvisioned:
		return u, domain.Errorf(domain.EConflict, "end-user-not-registered", "The end user has not registered yet; it cannot become active.")
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ActivateEndUser(ctx, u.ID, measuredAt, now)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.EConflict, "end-user-state-changed", "The end user's state changed; try again.")
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: actor, Action: "end_user.activated",
			SubjectID: u.ID, CreatedAt: now})
	})
	if err != nil {
		return u, err
	}
	return s.store.EndUserByID(ctx, u.OrgID, u.ID)
}
