package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/klauspost/compress/s2"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/secretbox"
)

// Secrets at rest. Every value onboard stores and must read back in the
// clear later (mail bodies until they are delivered, the Partner Provider
// secret, identity providers' client secrets, labelpartners' introspection client secrets) is sealed with the
// store's keyring before it is written, bound to its table, column and row
// id as associated data, so that a sealed value copied to another row does
// not open. Values written in plaintext by older versions are read as they
// are and sealed by SealSecrets, which the service runs at every start.

// Associated data of each sealed column.
func outboxAD(column, id string) string { return "outbox." + column + ":" + id }
func partnerSecretAD(orgID string) string {
	return "organizations.onboarding.partner_provider.secret:" + orgID
}
func ssoSecretAD(orgID, provider string) string {
	return "organizations.onboarding.sso.client_secret:" + orgID + ":" + provider
}
func introspectionSecretAD(id string) string {
	return "b2b_labelpartners.introspection_client_secret:" + id
}

var errNoKeyring = errors.New("store: no keyring to seal secrets")

// seal seals a non-empty value under the active key; "" stays "".
func (q Queries) seal(value, ad string) (string, error) {
	if value == "" {
		return "", nil
	}
	if q.box == nil {
		return "", errNoKeyring
	}
	return q.box.Seal(value, ad), nil
}

// unseal opens a sealed value; "" and values written in plaintext by older
// versions (not yet sealed by SealSecrets) are returned as they are.
func (q Queries) unseal(value, ad string) (string, error) {
	if value == "" || !secretbox.IsSealed(value) {
		return value, nil
	}
	if q.box == nil {
		return "", errNoKeyring
	}
	plain, err := q.box.Open(value, ad)
	if err != nil {
		return "", fmt.Errorf("open secret: %w", err)
	}
	return plain, nil
}

// needsSeal reports whether a stored value must be (re)sealed: it is in
// plaintext, or sealed under a key other than the active one.
func (q Queries) needsSeal(value string) bool {
	return value != "" && secretbox.KeyID(value) != q.box.ActiveID()
}

// onboardingJSON encodes an organization's onboarding configuration with
// its Partner Provider secret sealed.
func (q Queries) onboardingJSON(orgID string, cfg domain.Onboarding) (string, error) {
	if pp := cfg.PartnerProvider; pp != nil && pp.Secret != "" {
		sealed := *pp
		var err error
		if sealed.Secret, err = q.seal(pp.Secret, partnerSecretAD(orgID)); err != nil {
			return "", err
		}
		cfg.PartnerProvider = &sealed
	}
	if cfg.SSO != nil {
		sso := *cfg.SSO
		sso.Providers = make([]domain.SSOProvider, len(cfg.SSO.Providers))
		for i, p := range cfg.SSO.Providers {
			var err error
			if p.ClientSecret, err = q.seal(p.ClientSecret, ssoSecretAD(orgID, p.Name)); err != nil {
				return "", err
			}
			sso.Providers[i] = p
		}
		cfg.SSO = &sso
	}
	return toJSON(cfg)
}

// onboardingFromJSON decodes what onboardingJSON wrote.
func (q Queries) onboardingFromJSON(orgID, raw string, cfg *domain.Onboarding) error {
	if err := fromJSON(raw, cfg); err != nil {
		return err
	}
	if pp := cfg.PartnerProvider; pp != nil {
		secret, err := q.unseal(pp.Secret, partnerSecretAD(orgID))
		if err != nil {
			return fmt.Errorf("partner provider secret of organization %s: %w", orgID, err)
		}
		pp.Secret = secret
	}
	if cfg.SSO != nil {
		for i, p := range cfg.SSO.Providers {
			secret, err := q.unseal(p.ClientSecret, ssoSecretAD(orgID, p.Name))
			if err != nil {
				return fmt.Errorf("client secret of identity provider %q of organization %s: %w", p.Name, orgID, err)
			}
			cfg.SSO.Providers[i].ClientSecret = secret
		}
	}
	return nil
}

// SealSecrets brings every stored secret under the active key: it seals
// values older versions wrote in plaintext, re-seals values sealed under an
// older key of the ring (so that, once it has run, older keys can be
// dropped), and erases the bodies of delivered and abandoned mail. Each
// value is replaced only if it did not change meanwhile, so nodes starting at
// the same time do not overwrite each other's work. It returns how many
// values it changed; an error names a value that no key of the ring opens.
func (s *Store) SealSecrets(ctx context.Context) (int, error) {
	n1, err := s.sealOutbox(ctx)
	if err != nil {
		return n1, err
	}
	n2, err := s.sealPartnerSecrets(ctx)
	if err != nil {
		return n1 + n2, err
	}
	n3, err := s.sealIntrospectionSecrets(ctx)
	return n1 + n2 + n3, err
}

func (s *Store) sealOutbox(ctx context.Context) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE outbox SET text_body = '', html_body = ''
			WHERE state IN ('sent', 'abandoned') AND (text_body <> '' OR html_body <> '')`)
		if err != nil {
			return fmt.Errorf("erase delivered mail: %w", err)
		}
		erased, _ := res.RowsAffected()
		n += int(erased)
		type row struct{ id, text, html string }
		rows, err := list(ctx, tx.q, "sealed mail", func(r interface{ Scan(...any) error }) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.text, &x.html)
		}, `SELECT id, text_body, html_body FROM outbox WHERE text_body <> '' OR html_body <> ''`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !tx.needsSeal(r.text) && !tx.needsSeal(r.html) {
				continue
			}
			text, err := tx.reseal(r.text, outboxAD("text_body", r.id))
			if err != nil {
				return fmt.Errorf("mail %s: %w", r.id, err)
			}
			html, err := tx.reseal(r.html, outboxAD("html_body", r.id))
			if err != nil {
				return fmt.Errorf("mail %s: %w", r.id, err)
			}
			res, err := tx.q.ExecContext(ctx, `UPDATE outbox SET text_body = $1, html_body = $2
				WHERE id = $3 AND text_body = $4 AND html_body = $5`, text, html, r.id, r.text, r.html)
			if err != nil {
				return fmt.Errorf("seal mail %s: %w", r.id, err)
			}
			changed, _ := res.RowsAffected()
			n += int(changed)
		}
		return nil
	})
	return n, err
}

func (s *Store) sealPartnerSecrets(ctx context.Context) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		type row struct{ id, raw string }
		rows, err := list(ctx, tx.q, "organizations", func(r interface{ Scan(...any) error }) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.raw)
		}, `SELECT id, onboarding FROM organizations`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var raw struct {
				PartnerProvider *domain.PartnerProvider `json:"partner_provider"`
				SSO             *domain.SSO             `json:"sso"`
			}
			if err := fromJSON(r.raw, &raw); err != nil {
				return fmt.Errorf("organization %s: %w", r.id, err)
			}
			stale := raw.PartnerProvider != nil && tx.needsSeal(raw.PartnerProvider.Secret)
			if raw.SSO != nil {
				for _, p := range raw.SSO.Providers {
					stale = stale || tx.needsSeal(p.ClientSecret)
				}
			}
			if !stale {
				continue
			}
			var cfg domain.Onboarding
			if err := tx.onboardingFromJSON(r.id, r.raw, &cfg); err != nil {
				return err
			}
			next, err := tx.onboardingJSON(r.id, cfg)
			if err != nil {
				return err
			}
			res, err := tx.q.ExecContext(ctx, `UPDATE organizations SET onboarding = $1 WHERE id = $2 AND onboarding = $3`, next, r.id, r.raw)
			if err != nil {
				return fmt.Errorf("seal partner provider secret of organization %s: %w", r.id, err)
			}
			changed, _ := res.RowsAffected()
			n += int(changed)
		}
		return nil
	})
	return n, err
}

func (s *Store) sealIntrospectionSecrets(ctx context.Context) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		type row struct{ id, secret string }
		rows, err := list(ctx, tx.q, "labelpartners", func(r interface{ Scan(...any) error }) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.secret)
		}, `SELECT id, introspection_client_secret FROM b2b_labelpartners WHERE introspection_client_secret <> ''`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !tx.needsSeal(r.secret) {
				continue
			}
			next, err := tx.reseal(r.secret, introspectionSecretAD(r.id))
			if err != nil {
				return fmt.Errorf("introspection client secret of labelpartner %s: %w", r.id, err)
			}
			res, err := tx.q.ExecContext(ctx, `UPDATE b2b_labelpartners SET introspection_client_secret = $1
				WHERE id = $2 AND introspection_client_secret = $3`, next, r.id, r.secret)
			if err != nil {
				return fmt.Errorf("seal introspection client secret of labelpartner %s: %w", r.id, err)
			}
			changed, _ := res.RowsAffected()
			n += int(changed)
		}
		return nil
	})
	return n, err
}

// reseal opens value (or takes it as plaintext) and seals it again under
// the active key.
func (q Queries) reseal(value, ad string) (string, error) {
	plain, err := q.unseal(value, ad)
	if err != nil {
		return "", err
	}
	return q.seal(plain, ad)
}

// Outbox bodies are compressed before they are sealed when that makes them
// smaller: a sealed value is ciphertext (incompressible) in base64 (a third
// larger), so a registration mail's HTML of about 2.4 kB took 3.2 kB in its
// row, which left room for one row per page on PostgreSQL. S2 (a Snappy
// variant) shrinks it to about 1.3 kB in a few microseconds, less than the
// sealing and writing of the bytes it saves cost.
//
// The plaintext of a compressed body is bodyCompressed followed by the S2
// block. It starts with 0xFF, which no UTF-8 text does, so a body written
// before (sealed or in plaintext) is never taken for a compressed one.
const (
	bodyCompressed = "\xffs2"
	// bodyCompressMin is the shortest body worth trying: short bodies
	// (most text/plain ones) barely shrink.
	bodyCompressMin = 512
)

// sealBody seals an outbox body, compressed when that makes it smaller.
func (q Queries) sealBody(body, ad string) (string, error) {
	if limit := s2.MaxEncodedLen(len(body)); len(body) >= bodyCompressMin && limit > 0 { // limit < 0: past S2's block size
		buf := make([]byte, len(bodyCompressed)+limit)
		copy(buf, bodyCompressed)
		n := len(s2.Encode(buf[len(bodyCompressed):], []byte(body)))
		if len(bodyCompressed)+n < len(body) {
			return q.seal(string(buf[:len(bodyCompressed)+n]), ad)
		}
	}
	return q.seal(body, ad)
}

// openBody is unseal for outbox bodies: it also expands a compressed one.
func (q Queries) openBody(value, ad string) (string, error) {
	plain, err := q.unseal(value, ad)
	if err != nil {
		return "", err
	}
	block, ok := strings.CutPrefix(plain, bodyCompressed)
	if !ok {
		return plain, nil
	}
	body, err := s2.Decode(nil, []byte(block))
	if err != nil {
		return "", fmt.Errorf("expand mail body: %w", err)
	}
	return string(body), nil
}
