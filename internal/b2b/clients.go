package b2b

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// Managing API clients: list, show, change, revoke, and rotate the secret.
//
// A revoked client stays (revoked_at is set) so that the audit log keeps
// naming a row; it can no longer obtain tokens, every token issued through
// it is revoked with it, and its name may be given to a new client.

// ClientDetails is an API client with the names of its labelpartners.
type ClientDetails struct {
	domain.Client
	// Labelpartners are the names of the client's labelpartners.
	Labelpartners []string
}

// ClientPatch changes a client; nil fields stay as they are.
type ClientPatch struct {
	Name          *string
	Labelpartners *[]string // names
}

func clientNotFound() error {
	return domain.Errorf(domain.ENotFound, "client-not-found", "There is no such client.")
}

func clientRevoked() error {
	return domain.Errorf(domain.EConflict, "client-revoked", "The client is revoked; it cannot be changed. Create another client.")
}

// Clients lists the organization's clients, revoked ones included, oldest
// first (for the command line and the API).
func Clients(ctx context.Context, st *store.Store, org domain.Organization) ([]ClientDetails, error) {
	cs, err := st.Clients(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	lpNames, err := labelpartnerNames(ctx, st.Queries, org)
	if err != nil {
		return nil, err
	}
	out := make([]ClientDetails, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientDetails(c, lpNames))
	}
	return out, nil
}

// Clients lists the organization's clients, revoked ones included.
func (s *Service) Clients(ctx context.Context, org domain.Organization) ([]ClientDetails, error) {
	return Clients(ctx, s.store, org)
}

// Client returns one client of the organization; a client of another
// organization is "not found", exactly like a missing one.
func (s *Service) Client(ctx context.Context, org domain.Organization, id string) (ClientDetails, error) {
	if !flows.ValidID(id) {
		return ClientDetails{}, clientNotFound()
	}
	c, err := s.store.ClientByID(ctx, id)
	if store.IsNotFound(err) || (err == nil && c.OrgID != org.ID) {
		return ClientDetails{}, clientNotFound()
	}
	if err != nil {
		return ClientDetails{}, err
	}
	lpNames, err := labelpartnerNames(ctx, s.store.Queries, org)
	if err != nil {
		return ClientDetails{}, err
	}
	return clientDetails(c, lpNames), nil
}

// UpdateClient changes a client's name and/or labelpartners. A b2b client's
// access tokens see the new labelpartners at once. Recorded as
// client.updated with before and after.
func (s *Service) UpdateClient(ctx context.Context, adm flows.Admin, org domain.Organization, id string, in ClientPatch) (ClientDetails, error) {
	if !flows.ValidID(id) {
		return ClientDetails{}, clientNotFound()
	}
	if in.Name == nil && in.Labelpartners == nil {
		return ClientDetails{}, domain.Invalid(domain.FieldError{Field: "name", Message: "give name, labelpartners or both"})
	}
	var errs []domain.FieldError
	var name string
	if in.Name != nil {
		n, fe := validName("name", *in.Name)
		if fe != nil {
			errs = append(errs, *fe)
		}
		name = n
	}
	var ids []string
	if in.Labelpartners != nil {
		var lpErrs []domain.FieldError
		var err error
		if ids, lpErrs, err = clientLabelpartners(ctx, s.store.Queries, org, *in.Labelpartners); err != nil {
			return ClientDetails{}, err
		}
		errs = append(errs, lpErrs...)
	}
	if len(errs) > 0 {
		return ClientDetails{}, domain.Invalid(errs...)
	}
	now := s.stamp()
	var next ClientDetails
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := lockClient(ctx, tx, org, id)
		if err != nil {
			return err
		}
		if prev.Revoked() {
			return clientRevoked()
		}
		lpNames, err := labelpartnerNames(ctx, tx.Queries, org)
		if err != nil {
			return err
		}
		c := prev
		if in.Name != nil {
			c.Name = name
		}
		if in.Labelpartners != nil {
			c.LabelpartnerIDs = ids
		}
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		next = clientDetails(c, lpNames)
		return flows.Audit(ctx, tx, org.ID, adm, "client.updated", c.ID,
			map[string]any{"before": clientAudit(clientDetails(prev, lpNames)), "after": clientAudit(next)}, now)
	})
	if store.IsDuplicate(err) {
		return ClientDetails{}, clientExists()
	}
	if err != nil {
		if domain.AsError(err) != nil {
			return ClientDetails{}, err
		}
		return ClientDetails{}, fmt.Errorf("update client: %w", err)
	}
	return next, nil
}

// RevokeClient revokes a client (for the command line and the API): it can
// no longer obtain tokens, and every unexpired token issued through it is
// revoked in the same transaction: a b2b client's access tokens and, for an
// app client, the access and refresh tokens of the end users who signed in
// with it (they sign in again with another app client). Tokens from single
// sign-on belong to no client and stay. Revoking a revoked client changes
// nothing and reports false. Recorded as client.revoked with before, after
// and the number of tokens revoked.
func RevokeClient(ctx context.Context, st *store.Store, org domain.Organization, id, actor string, now time.Time) (bool, error) {
	if !flows.ValidID(id) {
		return false, clientNotFound()
	}
	now = store.Timestamp(now)
	changed := false
	err := st.InTx(ctx, func(tx *store.Tx) error {
		prev, err := lockClient(ctx, tx, org, id)
		if err != nil {
			return err
		}
		if prev.Revoked() {
			return nil
		}
		if changed, err = tx.RevokeClient(ctx, org.ID, id, now); err != nil || !changed {
			return err
		}
		n, err := tx.RevokeB2BClientTokens(ctx, prev.ClientID, now)
		if err != nil {
			return err
		}
		lpNames, err := labelpartnerNames(ctx, tx.Queries, org)
		if err != nil {
			return err
		}
		next := prev
		next.RevokedAt = &now
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "client.revoked", SubjectID: id, CreatedAt: now,
			Data: map[string]any{"before": clientAudit(clientDetails(prev, lpNames)), "after": clientAudit(clientDetails(next, lpNames)),
				"tokens_revoked": n}})
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return false, err
		}
		return false, fmt.Errorf("revoke client: %w", err)
	}
	return changed, nil
}

// RevokeClient revokes a client; see the package-level RevokeClient.
// Revoking a revoked client is not an error.
func (s *Service) RevokeClient(ctx context.Context, adm flows.Admin, org domain.Organization, id string) error {
	_, err := RevokeClient(ctx, s.store, org, id, adm.Actor(), s.now())
	return err
}

// RotateClientSecret gives a client a new secret, returned only now and
// stored hashed; the old secret stops working at once. A b2b client's access
// tokens are revoked with it (they may have been obtained with a leaked
// secret; the client gets new ones with the new secret); the end users'
// tokens of an app client stay valid and are refreshed with the new secret.
// A revoked client is a conflict. Recorded as client.secret_rotated with a
// fingerprint of the secret before and after (never the secret).
func (s *Service) RotateClientSecret(ctx context.Context, adm flows.Admin, org domain.Organization, id string) (domain.Client, string, error) {
	if !flows.ValidID(id) {
		return domain.Client{}, "", clientNotFound()
	}
	secret, _, err := auth.NewToken()
	if err != nil {
		return domain.Client{}, "", err
	}
	hash := auth.HashToken(secret)
	now := s.stamp()
	var c domain.Client
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := lockClient(ctx, tx, org, id)
		if err != nil {
			return err
		}
		if prev.Revoked() {
			return clientRevoked()
		}
		if err := tx.SetClientSecret(ctx, org.ID, id, hash); err != nil {
			return err
		}
		var n int64
		if prev.Kind == domain.ClientB2B {
			if n, err = tx.RevokeB2BClientTokens(ctx, prev.ClientID, now); err != nil {
				return err
			}
		}
		c = prev
		c.SecretHash = hash
		return flows.Audit(ctx, tx, org.ID, adm, "client.secret_rotated", id, map[string]any{
			"before": map[string]any{"secret": secretFingerprint(prev.SecretHash)}, "after": map[string]any{"secret": secretFingerprint(hash)},
			"tokens_revoked": n}, now)
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return domain.Client{}, "", err
		}
		return domain.Client{}, "", fmt.Errorf("rotate client secret: %w", err)
	}
	return c, secret, nil
}

// lockClient returns the organization's client locked for the transaction;
// a missing client or one of another organization is "not found".
func lockClient(ctx context.Context, tx *store.Tx, org domain.Organization, id string) (domain.Client, error) {
	c, err := tx.LockClient(ctx, org.ID, id)
	if store.IsNotFound(err) {
		return c, clientNotFound()
	}
	return c, err
}

// labelpartnerNames maps the ids of the organization's labelpartners to
// their names.
func labelpartnerNames(ctx context.Context, q store.Queries, org domain.Organization) (map[string]string, error) {
	lps, err := q.Labelpartners(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(lps))
	for _, lp := range lps {
		out[lp.ID] = lp.Name
	}
	return out, nil
}

func clientDetails(c domain.Client, lpNames map[string]string) ClientDetails {
	d := ClientDetails{Client: c, Labelpartners: []string{}}
	for _, id := range c.LabelpartnerIDs {
		if n, ok := lpNames[id]; ok {
			d.Labelpartners = append(d.Labelpartners, n)
		}
	}
	return d
}

// clientAudit is what the audit log keeps of a client.
func clientAudit(c ClientDetails) map[string]any {
	m := map[string]any{"name": c.Name, "kind": c.Kind, "client_id": c.ClientID, "labelpartners": nonNil(c.Labelpartners)}
	if c.RevokedAt != nil {
		m["revoked_at"] = *c.RevokedAt
	}
	return m
}

// secretFingerprint names a secret in the audit log without giving it away:
// the first 4 bytes of its SHA-256 hash, which is what is stored.
func secretFingerprint(hash []byte) string {
	if len(hash) < 4 {
		return ""
	}
	return "sha256:" + hex.EncodeToString(hash[:4])
}
