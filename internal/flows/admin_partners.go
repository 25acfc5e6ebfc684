package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// PartnerInput is a partner the back office registers.
type PartnerInput struct {
	Name       string
	Properties map[string]any
}

// Partner is a channel partner account with the code its users register with.
type Partner struct {
	Account domain.Account
	Code    string
}

// codeAttempts bounds the retries when a new partner code collides with an
// existing one (about one chance in 2^72 each).
const codeAttempts = 3

func partnerNotFound() error {
	return domain.Errorf(domain.ENotFound, "partner-not-found", "There is no such partner.")
}

// Partners lists an organization's partners with their codes, oldest first.
func (s *Service) Partners(ctx context.Context, org domain.Organization) ([]Partner, error) {
	accts, err := s.store.AccountsByKind(ctx, org.ID, domain.KindPartner)
	if err != nil {
		return nil, err
	}
	codes, err := s.store.PartnerCodes(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Partner, 0, len(accts))
	for _, a := range accts {
		out = append(out, Partner{Account: a, Code: codes[a.ID]})
	}
	return out, nil
}

// CreatePartner registers a channel partner without users and gives it a new
// code; its users join it by registering with that code.
func (s *Service) CreatePartner(ctx context.Context, adm Admin, org domain.Organization, in PartnerInput) (Partner, error) {
	var f fieldErrors
	name := f.text("name", in.Name, true, maxLabelLength, false)
	props, err := s.accountProperties(ctx, org, domain.AccountChannelPartner, in.Properties, &f)
	if err != nil {
		return Partner{}, err
	}
	if err := f.err(); err != nil {
		return Partner{}, err
	}
	now := s.stamp()
	p := Partner{Account: domain.Account{
		ID: store.NewID(), OrgID: org.ID, Kind: domain.KindPartner, Type: domain.PartnerChannel, Name: name, Properties: props,
		Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now,
	}}
	for attempt := 1; ; attempt++ {
		if p.Code, err = NewPartnerCode(); err != nil {
			return Partner{}, err
		}
		err = s.store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateAccount(ctx, p.Account); err != nil {
				return err
			}
			if err := tx.SetPartnerCode(ctx, org.ID, p.Account.ID, p.Code, now); err != nil {
				return err
			}
			return Audit(ctx, tx, org.ID, adm, "partner.created", p.Account.ID,
				map[string]any{"after": map[string]any{"name": name, "properties": props, "code": maskCode(p.Code)}}, now)
		})
		if err == nil || !store.IsDuplicate(err) || attempt == codeAttempts {
			break
		}
	}
	if err != nil {
		return Partner{}, fmt.Errorf("create partner: %w", err)
	}
	return p, nil
}

// RegeneratePartnerCode gives a partner a new code; the old one stops working
// at once.
func (s *Service) RegeneratePartnerCode(ctx context.Context, adm Admin, org domain.Organization, id string) (Partner, error) {
	if !ValidID(id) {
		return Partner{}, partnerNotFound()
	}
	now := s.stamp()
	var p Partner
	var err error
	for attempt := 1; ; attempt++ {
		code, cerr := NewPartnerCode()
		if cerr != nil {
			return Partner{}, cerr
		}
		err = s.store.InTx(ctx, func(tx *store.Tx) error {
			a, err := tx.AccountByID(ctx, org.ID, id)
			if store.IsNotFound(err) || (err == nil && a.Kind != domain.KindPartner) {
				return partnerNotFound()
			}
			if err != nil {
				return err
			}
			codes, err := tx.PartnerCodes(ctx, org.ID)
			if err != nil {
				return err
			}
			if err := tx.SetPartnerCode(ctx, org.ID, id, code, now); err != nil {
				return err
			}
			p = Partner{Account: a, Code: code}
			return Audit(ctx, tx, org.ID, adm, "partner.code_regenerated", id,
				map[string]any{"before": map[string]any{"code": maskCode(codes[id])}, "after": map[string]any{"code": maskCode(code)}}, now)
		})
		var de *domain.Error
		if err == nil || errors.As(err, &de) || !store.IsDuplicate(err) || attempt == codeAttempts {
			break
		}
	}
	if err != nil {
		return Partner{}, fmt.Errorf("regenerate partner code: %w", err)
	}
	return p, nil
}

// maskCode keeps the last three characters of a partner code for the audit
// log, which must not hold codes that still work.
func maskCode(code string) string {
	if code == "" {
		return ""
	}
	if len(code) <= 4 {
		return "…"
	}
	return "…" + code[len(code)-3:]
}
