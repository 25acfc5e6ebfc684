package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of the labelpartners' app links (b2b_labelpartners.app_links, a
// JSON text column, NULL when a labelpartner has none).

// appLinksJSON is the stored form of domain.AppLinks.
type appLinksJSON struct {
	VerifyURL string       `json:"verify_url,omitempty"`
	ResetURL  string       `json:"reset_url,omitempty"`
	IOS       *iosJSON     `json:"ios,omitempty"`
	Android   *androidJSON `json:"android,omitempty"`
}

type iosJSON struct {
	AppIDs []string `json:"app_ids"`
}

type androidJSON struct {
	PackageName            string   `json:"package_name"`
	SHA256CertFingerprints []string `json:"sha256_cert_fingerprints"`
}

// appLinksColumn encodes app links for the column: NULL for nil.
func appLinksColumn(l *domain.AppLinks) (sql.NullString, error) {
	if l == nil {
		return sql.NullString{}, nil
	}
	v := appLinksJSON{VerifyURL: l.VerifyURL, ResetURL: l.ResetURL}
	if l.IOS != nil {
		v.IOS = &iosJSON{AppIDs: l.IOS.AppIDs}
	}
	if l.Android != nil {
		v.Android = &androidJSON{PackageName: l.Android.PackageName, SHA256CertFingerprints: l.Android.SHA256CertFingerprints}
	}
	s, err := toJSON(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: s, Valid: true}, nil
}

// appLinksFromColumn decodes the column: nil for NULL.
func appLinksFromColumn(c sql.NullString) (*domain.AppLinks, error) {
	if !c.Valid {
		return nil, nil
	}
	var v appLinksJSON
	if err := fromJSON(c.String, &v); err != nil {
		return nil, err
	}
	l := &domain.AppLinks{VerifyURL: v.VerifyURL, ResetURL: v.ResetURL}
	if v.IOS != nil {
		l.IOS = &domain.IOSApps{AppIDs: v.IOS.AppIDs}
	}
	if v.Android != nil {
		l.Android = &domain.AndroidApp{PackageName: v.Android.PackageName, SHA256CertFingerprints: v.Android.SHA256CertFingerprints}
	}
	return l, nil
}

// LockLabelpartner returns the organization's labelpartner with that id
// and, on PostgreSQL, locks its row until the transaction ends (SQLite
// transactions are serialized already). A labelpartner of another
// organization is domain.ErrNotFound. Call it in a Tx.
func (q Queries) LockLabelpartner(ctx context.Context, orgID, id string) (domain.Labelpartner, error) {
	lock := ""
	if q.engine == Postgres {
		lock = " FOR UPDATE"
	}
	lp, err := q.scanLabelpartner(q.q.QueryRowContext(ctx, `SELECT `+lpColumns+` FROM b2b_labelpartners WHERE org_id = $1 AND id = $2`+lock, orgID, id))
	if err != nil {
		return lp, fmt.Errorf("lock labelpartner %s: %w", id, err)
	}
	return lp, nil
}

// SetLabelpartnerAppLinks replaces the app links of the organization's
// labelpartner (nil removes them); domain.ErrNotFound when there is no such
// labelpartner.
func (q Queries) SetLabelpartnerAppLinks(ctx context.Context, orgID, id string, links *domain.AppLinks) error {
	c, err := appLinksColumn(links)
	if err != nil {
		return fmt.Errorf("set app links: %w", err)
	}
	return q.execOne(ctx, "set app links", `UPDATE b2b_labelpartners SET app_links = $1 WHERE org_id = $2 AND id = $3`, c, orgID, id)
}

// AllAppLinks returns the app links of every labelpartner of every
// organization that has them, by labelpartner name. It reads no secret.
func (q Queries) AllAppLinks(ctx context.Context) ([]domain.AppLinks, error) {
	return list(ctx, q.q, "app links", func(row interface{ Scan(...any) error }) (domain.AppLinks, error) {
		var c sql.NullString
		if err := row.Scan(&c); err != nil {
			return domain.AppLinks{}, err
		}
		l, err := appLinksFromColumn(c)
		if err != nil || l == nil {
			return domain.AppLinks{}, err
		}
		return *l, nil
	}, `SELECT app_links FROM b2b_labelpartners WHERE app_links IS NOT NULL ORDER BY name`)
}
