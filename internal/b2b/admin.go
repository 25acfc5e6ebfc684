package b2b

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// LabelpartnerKeyPrefix starts every labelpartner API key.
const LabelpartnerKeyPrefix = "lpk_"

// ClientIDPrefix starts every client_id.
const ClientIDPrefix = "cl_"

// LabelpartnerInput creates a labelpartner.
type LabelpartnerInput struct {
	Name           string
	PasswordPolicy string
	// Introspection is the labelpartner's identity provider (RFC 7662);
	// empty URL when its end users do not use SSO.
	IntrospectionURL, IntrospectionClientID, IntrospectionClientSecret string
	// AppLinks are its apps and link templates; nil when none.
	AppLinks *domain.AppLinks
	// RequireVoucher makes a voucher code mandatory for every end user.
	RequireVoucher bool
}

func validName(field, name string) (string, *domain.FieldError) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", &domain.FieldError{Field: field, Message: "is required"}
	}
	if len(name) > 100 || !domain.PlainText(name) {
		return "", &domain.FieldError{Field: field, Message: "must be at most 100 characters without control or invisible characters"}
	}
	return name, nil
}

// CreateLabelpartner creates a labelpartner of the organization and returns
// it with its API key, which is shown only now.
func (s *Service) CreateLabelpartner(ctx context.Context, adm flows.Admin, org domain.Organization, in LabelpartnerInput) (domain.Labelpartner, string, error) {
	var errs []domain.FieldError
	name, fe := validName("name", in.Name)
	if fe != nil {
		errs = append(errs, *fe)
	}
	switch in.PasswordPolicy {
	case domain.PolicyPincode, domain.PolicyPassword, domain.PolicyDefault:
	default:
		errs = append(errs, domain.FieldError{Field: "password_policy", Message: "must be pincode, password or default"})
	}
	if in.IntrospectionURL != "" {
		if err := s.http.CheckURL(in.IntrospectionURL); err != nil {
			errs = append(errs, domain.FieldError{Field: "introspection.url", Message: err.Error()})
		}
		if in.IntrospectionClientID == "" || len(in.IntrospectionClientID) > 500 {
			errs = append(errs, domain.FieldError{Field: "introspection.client_id", Message: "is required, at most 500 characters"})
		}
		if len(in.IntrospectionClientSecret) > 500 {
			errs = append(errs, domain.FieldError{Field: "introspection.client_secret", Message: "must be at most 500 characters"})
		}
	} else if in.IntrospectionClientID != "" || in.IntrospectionClientSecret != "" {
		errs = append(errs, domain.FieldError{Field: "introspection.url", Message: "is required"})
	}
	links, linkErrs := validAppLinks(in.AppLinks)
	errs = append(errs, linkErrs...)
	if len(errs) > 0 {
		return domain.Labelpartner{}, "", domain.Invalid(errs...)
	}
	token, _, err := auth.NewToken()
	if err != nil {
		return domain.Labelpartner{}, "", err
	}
	key := LabelpartnerKeyPrefix + token
	lp := domain.Labelpartner{ID: store.NewID(), OrgID: org.ID, Name: name, PasswordPolicy: in.PasswordPolicy,
		IntrospectionURL: in.IntrospectionURL, IntrospectionClientID: in.IntrospectionClientID,
		IntrospectionClientSecret: in.IntrospectionClientSecret, APIKeyHash: auth.HashToken(key), RequireVoucher: in.RequireVoucher,
		CreatedAt: s.now(), AppLinks: links}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateLabelpartner(ctx, lp); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "labelpartner.created", SubjectID: lp.ID,
			Data: map[string]any{"name": name, "password_policy": lp.PasswordPolicy, "require_voucher": lp.RequireVoucher, "app_links": appLinksAudit(links)}, CreatedAt: lp.CreatedAt})
	})
	if store.IsDuplicate(err) {
		return domain.Labelpartner{}, "", domain.Errorf(domain.EConflict, "labelpartner-exists", "A labelpartner of that name exists.")
	}
	if err != nil {
		return domain.Labelpartner{}, "", fmt.Errorf("create labelpartner: %w", err)
	}
	return lp, key, nil
}

// Labelpartners lists the organization's labelpartners.
func (s *Service) Labelpartners(ctx context.Context, org domain.Organization) ([]domain.Labelpartner, error) {
	return s.store.Labelpartners(ctx, org.ID)
}

// ClientInput creates an API client.
type ClientInput struct {
	Name          string
	Kind          string   // domain.ClientB2B or domain.ClientApp
	Labelpartners []string // names; the end users a b2b client may provision and see
}

// CreateClient creates an API client of the organization and returns it
// with its secret, which is shown only now and stored hashed.
func (s *Service) CreateClient(ctx context.Context, adm flows.Admin, org domain.Organization, in ClientInput) (domain.Client, string, error) {
	return CreateClient(ctx, s.store, org, in, adm.Actor(), s.now())
}

// CreateClient creates an API client (for the command line and the API).
func CreateClient(ctx context.Context, st *store.Store, org domain.Organization, in ClientInput, actor string, now time.Time) (domain.Client, string, error) {
	var errs []domain.FieldError
	name, fe := validName("name", in.Name)
	if fe != nil {
		errs = append(errs, *fe)
	}
	if in.Kind != domain.ClientB2B && in.Kind != domain.ClientApp {
		errs = append(errs, domain.FieldError{Field: "kind", Message: "must be b2b or app"})
	}
	ids, lpErrs, err := clientLabelpartners(ctx, st.Queries, org, in.Labelpartners)
	if err != nil {
		return domain.Client{}, "", err
	}
	errs = append(errs, lpErrs...)
	if len(errs) > 0 {
		return domain.Client{}, "", domain.Invalid(errs...)
	}
	idTok, _, err := auth.NewToken()
	if err != nil {
		return domain.Client{}, "", err
	}
	secret, _, err := auth.NewToken()
	if err != nil {
		return domain.Client{}, "", err
	}
	c := domain.Client{ID: store.NewID(), OrgID: org.ID, Name: name, Kind: in.Kind, ClientID: ClientIDPrefix + idTok[:22],
		SecretHash: auth.HashToken(secret), LabelpartnerIDs: ids, CreatedAt: store.Timestamp(now)}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "client.created", SubjectID: c.ID,
			Data: map[string]any{"name": name, "kind": c.Kind, "client_id": c.ClientID}, CreatedAt: c.CreatedAt})
	})
	if store.IsDuplicate(err) {
		return domain.Client{}, "", clientExists()
	}
	if err != nil {
		return domain.Client{}, "", fmt.Errorf("create client: %w", err)
	}
	return c, secret, nil
}

// clientExists is the answer when another unrevoked client of the
// organization has the name.
func clientExists() error {
	return domain.Errorf(domain.EConflict, "client-exists", "A client of that name exists.")
}

// clientLabelpartners resolves the labelpartner names of a client's input
// to the ids of labelpartners of the organization (without repeats, never
// nil). Unknown names, and names of other organizations' labelpartners, are
// field errors.
func clientLabelpartners(ctx context.Context, q store.Queries, org domain.Organization, names []string) ([]string, []domain.FieldError, error) {
	ids := []string{}
	var errs []domain.FieldError
	if len(names) > 100 {
		return ids, []domain.FieldError{{Field: "labelpartners", Message: "must have at most 100 names"}}, nil
	}
	for i, n := range names {
		lp, err := q.LabelpartnerByName(ctx, strings.TrimSpace(n))
		if store.IsNotFound(err) || (err == nil && lp.OrgID != org.ID) {
			errs = append(errs, domain.FieldError{Field: fmt.Sprintf("labelpartners[%d]", i), Message: "is not a labelpartner of the organization"})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if !containsString(ids, lp.ID) {
			ids = append(ids, lp.ID)
		}
	}
	return ids, errs, nil
}
