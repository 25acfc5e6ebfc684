package flows

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// AdminKeyPrefix starts every admin API key onboard issues.
const AdminKeyPrefix = "obk_"

// Admin is an authenticated caller of the admin API.
type Admin struct {
	KeyID string // "" for the key from the environment
	Name  string
	OrgID string // "" = every organization (the key from the environment)
	// BackOfficeUserID is set when a back-office user of the console acts
	// (Name is then the user's email); the audit log names that user.
	BackOfficeUserID string
}

// Actor names the admin in audit entries.
func (a Admin) Actor() string {
	if a.BackOfficeUserID != "" {
		return "backoffice:" + a.BackOfficeUserID
	}
	if a.KeyID == "" {
		return "admin:environment"
	}
	return "admin:" + a.KeyID + ":" + a.Name
}

// AuthenticateAdmin checks an admin API key: the one configured in the
// environment (full rights) or a stored, unrevoked organization key.
func (s *Service) AuthenticateAdmin(ctx context.Context, key string) (Admin, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid admin API key is required.")
	if key == "" || len(key) > 512 {
		return Admin{}, unauth
	}
	hash := auth.HashToken(key)
	if len(s.cfg.AdminKeyHash) > 0 && subtle.ConstantTimeCompare(hash, s.cfg.AdminKeyHash) == 1 {
		return Admin{Name: "environment"}, nil
	}
	if !strings.HasPrefix(key, AdminKeyPrefix) || !auth.WellFormedToken(strings.TrimPrefix(key, AdminKeyPrefix)) {
		return Admin{}, unauth
	}
	k, err := s.store.AdminKeyByHash(ctx, hash)
	if store.IsNotFound(err) {
		return Admin{}, unauth
	}
	if err != nil {
		return Admin{}, err
	}
	if err := s.store.TouchAdminKey(ctx, k.ID, s.now()); err != nil {
		s.log.WarnContext(ctx, "touch admin key", "err", err)
	}
	return Admin{KeyID: k.ID, Name: k.Name, OrgID: k.OrgID}, nil
}

// AdminOrganization returns the named organization when the admin may see it;
// an organization of another tenant is "not found", exactly like a missing one.
func (s *Service) AdminOrganization(ctx context.Context, adm Admin, name string) (domain.Organization, error) {
	notFound := domain.Errorf(domain.ENotFound, "organization-not-found", "There is no such organization.")
	org, err := s.store.OrganizationByName(ctx, name)
	if store.IsNotFound(err) {
		return org, notFound
	}
	if err != nil {
		return org, err
	}
	if adm.OrgID != "" && adm.OrgID != org.ID {
		return domain.Organization{}, notFound
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	return org, nil
}

// CreateAdminKey issues a new admin API key for the named organization and
// returns it; only its hash is stored, so it cannot be shown again.
func CreateAdminKey(ctx context.Context, st *store.Store, orgName, keyName string) (string, domain.AdminKey, error) {
	keyName = strings.TrimSpace(keyName)
	if keyName == "" || len(keyName) > 100 {
		return "", domain.AdminKey{}, fmt.Errorf("key name must be 1 to 100 characters")
	}
	org, err := st.OrganizationByName(ctx, orgName)
	if err != nil {
		return "", domain.AdminKey{}, fmt.Errorf("organization %q: %w", orgName, err)
	}
	token, _, err := auth.NewToken()
	if err != nil {
		return "", domain.AdminKey{}, err
	}
	key := AdminKeyPrefix + token
	k := domain.AdminKey{ID: store.NewID(), OrgID: org.ID, Name: keyName, KeyHash: auth.HashToken(key), CreatedAt: store.Now()}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAdminKey(ctx, k); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "cli", Action: "admin_key.created", SubjectID: k.ID,
			Data: map[string]any{"name": keyName}, CreatedAt: k.CreatedAt})
	})
	if err != nil {
		return "", domain.AdminKey{}, fmt.Errorf("create admin key: %w", err)
	}
	return key, k, nil
}

func fullRightsRequired() error {
	return domain.Errorf(domain.EForbidden, "full-rights-key-required", "Only the full-rights admin key may manage admin keys.")
}

// AdminKeys lists the organization's admin keys (never a key or its hash).
// Only the full-rights key may.
func (s *Service) AdminKeys(ctx context.Context, adm Admin, org domain.Organization) ([]domain.AdminKey, error) {
	if adm.OrgID != "" {
		return nil, fullRightsRequired()
	}
	return s.store.AdminKeys(ctx, org.ID)
}

// RevokeAdminKey revokes an admin key of the organization: it stops working
// at once. Only the full-rights key may.
func (s *Service) RevokeAdminKey(ctx context.Context, adm Admin, org domain.Organization, id string) (domain.AdminKey, error) {
	if adm.OrgID != "" {
		return domain.AdminKey{}, fullRightsRequired()
	}
	k, _, err := RevokeAdminKey(ctx, s.store, org, id, adm.Actor(), s.now())
	if store.IsNotFound(err) {
		return k, domain.Errorf(domain.ENotFound, "admin-key-not-found", "The organization has no such admin key.")
	}
	return k, err
}

// ListAdminKeys lists the admin keys of the named organization (for the
// command line).
func ListAdminKeys(ctx context.Context, st *store.Store, orgName string) ([]domain.AdminKey, error) {
	org, err := st.OrganizationByName(ctx, orgName)
	if err != nil {
		return nil, fmt.Errorf("organization %q: %w", orgName, err)
	}
	return st.AdminKeys(ctx, org.ID)
}

// RevokeAdminKey revokes an admin key of org on behalf of actor and records
// it in the audit log (once: revoking a revoked key changes nothing). It
// returns the key and whether this call revoked it; store.IsNotFound tells
// of an unknown id.
func RevokeAdminKey(ctx context.Context, st *store.Store, org domain.Organization, id, actor string, now time.Time) (domain.AdminKey, bool, error) {
	var k domain.AdminKey
	if id == "" || len(id) > 64 {
		return k, false, fmt.Errorf("revoke admin key: %w", domain.ErrNotFound)
	}
	revoked := false
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if k, revoked, err = tx.RevokeAdminKey(ctx, org.ID, id, now); err != nil || !revoked {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "admin_key.revoked", SubjectID: k.ID,
			Data: map[string]any{"name": k.Name}, CreatedAt: now})
	})
	if err != nil {
		return domain.AdminKey{}, false, err
	}
	return k, revoked, nil
}
