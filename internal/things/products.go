package things

import (
	"context"
	"errors"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// ProductInput is a product the organization registers.
type ProductInput struct {
	SerialNumber string
	Model        string
	// ConnectionToken, when not empty, must be given at activation; only
	// its hash is kept.
	ConnectionToken string
	Metadata        map[string]string
}

// product checks in and returns the product it describes (not stored).
func (s *Service) product(orgID string, in ProductInput) (domain.Product, error) {
	var fields []domain.FieldError
	sn, fe := checkSerial("serial_number", in.SerialNumber)
	if fe != nil {
		fields = append(fields, *fe)
	}
	model, fe := checkText("model", in.Model, true, maxModel)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if in.ConnectionToken != "" {
		if fe := checkToken("connection_token", in.ConnectionToken); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if fe := checkMetadata("metadata", in.Metadata); fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return domain.Product{}, domain.Invalid(fields...)
	}
	now := s.now()
	p := domain.Product{ID: store.NewID(), OrgID: orgID, SerialNumber: sn, Model: model, Metadata: in.Metadata,
		State: domain.ProductUnassigned, CreatedAt: now, UpdatedAt: now}
	if in.ConnectionToken != "" {
		p.TokenHash = tokenHash(orgID, sn, in.ConnectionToken)
	}
	return p, nil
}

// CreateProduct registers a product of the organization. A serial number
// the organization already has is a 409.
func (s *Service) CreateProduct(ctx context.Context, adm flows.Admin, org domain.Organization, in ProductInput) (domain.Product, error) {
	p, err := s.product(org.ID, in)
	if err != nil {
		return p, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateProduct(ctx, p); err != nil {
			if store.IsDuplicate(err) {
				return domain.Errorf(domain.EConflict, "product-exists", "The organization already has a product with serial number %q.", p.SerialNumber)
			}
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "product.created", SubjectID: p.ID,
			Data: map[string]any{"serial_number": p.SerialNumber, "model": p.Model}, CreatedAt: p.CreatedAt})
	})
	if err != nil {
		return domain.Product{}, fmt.Errorf("create product: %w", err)
	}
	return p, nil
}

// Product returns a product of the organization by serial number.
func (s *Service) Product(ctx context.Context, org domain.Organization, serial string) (domain.Product, error) {
	sn, fe := checkSerial("serial_number", serial)
	if fe != nil {
		return domain.Product{}, productNotFound()
	}
	p, err := s.store.ProductBySerial(ctx, org.ID, sn)
	if store.IsNotFound(err) {
		return p, productNotFound()
	}
	return p, err
}

// MaxProductsPage is the most products a page of Products holds.
const MaxProductsPage = 1000

// Products lists the organization's products by serial number: at most
// limit (1 to MaxProductsPage; 100 when 0) after the serial number after.
func (s *Service) Products(ctx context.Context, org domain.Organization, after string, limit int) ([]domain.Product, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > MaxProductsPage {
		return nil, domain.Invalid(domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be 1 to %d", MaxProductsPage)})
	}
	return s.store.Products(ctx, org.ID, after, limit)
}

// FactoryReset puts a product back to UNASSIGNED: the customer that had it
// loses it. The reset is audited and, when a customer had the product, its
// account administrators are told by mail, in the same transaction.
func (s *Service) FactoryReset(ctx context.Context, adm flows.Admin, org domain.Organization, serial string) (domain.Product, error) {
	p, err := s.Product(ctx, org, serial)
	if err != nil {
		return p, err
	}
	// The notices are rendered before the transaction, for the customer
	// that has the product then; if another customer has it by the time
	// the transaction locks it, the reset starts again.
	for range 3 {
		var mails []domain.OutboxMail
		if p.AccountID != "" {
			if mails, err = s.resetMails(ctx, org, p); err != nil {
				return p, err
			}
		}
		now := s.now()
		err = s.store.InTx(ctx, func(tx *store.Tx) error {
			cur, err := tx.LockProduct(ctx, org.ID, p.ID)
			if err != nil {
				return err
			}
			if cur.AccountID != p.AccountID {
				p = cur
				return errChanged
			}
			released, err := tx.ReleaseProduct(ctx, org.ID, p.ID, now)
			if err != nil {
				return err
			}
			data := map[string]any{"serial_number": p.SerialNumber, "was_assigned": released}
			if released {
				data["account_id"], data["thing_id"] = p.AccountID, p.ThingID
			}
			if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "product.factory_reset",
				SubjectID: p.ID, Data: data, CreatedAt: now}); err != nil {
				return err
			}
			for _, m := range mails {
				if err := tx.EnqueueMail(ctx, m, now); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, errChanged) {
			continue
		}
		if err != nil {
			return p, fmt.Errorf("factory reset: %w", err)
		}
		if len(mails) > 0 {
			s.notify()
		}
		return s.Product(ctx, org, p.SerialNumber)
	}
	return p, domain.Errorf(domain.EConflict, "product-changing", "The product is changing hands right now. Try again.")
}

// errChanged tells FactoryReset's transaction that the product changed
// hands since its notices were rendered.
var errChanged = errors.New("product changed hands")

// resetMails renders the factory-reset notice for each active account
// administrator of the customer that has p.
func (s *Service) resetMails(ctx context.Context, org domain.Organization, p domain.Product) ([]domain.OutboxMail, error) {
	users, err := s.store.UsersByAccount(ctx, org.ID, p.AccountID)
	if err != nil {
		return nil, err
	}
	types, err := s.store.UserTypes(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	admin := map[string]bool{}
	for _, ut := range types {
		admin[ut.ID] = ut.Has(domain.PermAccountAdmin)
	}
	var out []domain.OutboxMail
	for _, u := range users {
		if u.Status != domain.StatusActive || !admin[u.UserTypeID] {
			continue
		}
		m, err := s.queueMail(org, u.Language, obmail.TemplateThingFactoryReset, u.Email, obmail.ThingFactoryResetData{
			Organization: displayName(org), SerialNumber: p.SerialNumber, Model: p.Model, ThingName: p.Name})
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
