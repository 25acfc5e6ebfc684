package store

import (
	"context"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of the management of B2B clients (list, revoke, rotate, change)
// and the sweep of expired B2B links and tokens.

// clientTouchInterval is how often, at most, a client's last use is written:
// token endpoints are hot, and one row per client would otherwise be updated
// on every request.
const clientTouchInterval = time.Minute

// Clients lists every client of an organization, revoked ones included,
// oldest first.
func (q Queries) Clients(ctx context.Context, orgID string) ([]domain.Client, error) {
	return list(ctx, q.q, "clients", scanClient,
		`SELECT `+clientColumns+` FROM b2b_clients WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// LockClient returns the organization's client with that row id and, on
// PostgreSQL, locks its row until the transaction ends, so that changes to
// one client are serialized (SQLite transactions are serialized already).
// A client of another organization is domain.ErrNotFound. Call it in a Tx.
func (q Queries) LockClient(ctx context.Context, orgID, id string) (domain.Client, error) {
	c, err := scanClient(q.q.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM b2b_clients WHERE org_id = $1 AND id = $2`+q.engine.lock(forUpdate), orgID, id))
	if err != nil {
		return c, fmt.Errorf("lock client %s: %w", id, err)
	}
	return c, nil
}

// UpdateClient saves a client's name and labelpartners; a name taken by
// another unrevoked client of the organization is domain.ErrDuplicate.
func (q Queries) UpdateClient(ctx context.Context, c domain.Client) error {
	lps, err := toJSON(c.LabelpartnerIDs)
	if err != nil {
		return err
	}
	return q.execOne(ctx, "update client", `UPDATE b2b_clients SET name = $1, labelpartners = $2 WHERE org_id = $3 AND id = $4`,
		c.Name, lps, c.OrgID, c.ID)
}

// SetClientSecret replaces the secret hash of an unrevoked client;
// domain.ErrNotFound when there is no such unrevoked client.
func (q Queries) SetClientSecret(ctx context.Context, orgID, id string, hash []byte) error {
	return q.execOne(ctx, "set client secret", `UPDATE b2b_clients SET secret_hash = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
		hash, orgID, id)
}

// RevokeClient marks a client revoked; false when it was revoked already
// (or does not exist). The row stays, for the audit log.
func (q Queries) RevokeClient(ctx context.Context, orgID, id string, at time.Time) (bool, error) {
	return q.execFlag(ctx, "revoke client", `UPDATE b2b_clients SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
		Timestamp(at), orgID, id)
}

// TouchClient records that the client authenticated at, unless that was
// recorded less than a minute before.
func (q Queries) TouchClient(ctx context.Context, id string, at time.Time) error {
	at = Timestamp(at)
	_, err := q.q.ExecContext(ctx, `UPDATE b2b_clients SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`,
		at, id, at.Add(-clientTouchInterval))
	if err != nil {
		return fmt.Errorf("touch client: %w", err)
	}
	return nil
}

// RevokeB2BClientTokens revokes every unexpired token issued through the
// client with that public client_id: its own access tokens and, for an app
// client, the access and refresh tokens of the end users who signed in with
// it. It returns how many it revoked. b2b_tokens has no index on client_id
// (it would cost every token insert for a rare admin action): the bound on
// expires_at lets the engine read only the live tokens.
func (q Queries) RevokeB2BClientTokens(ctx context.Context, clientID string, at time.Time) (int64, error) {
	if clientID == "" {
		// Tokens without a client (single sign-on) belong to no client.
		return 0, fmt.Errorf("revoke client tokens: empty client_id")
	}
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL AND expires_at > $1`,
		Timestamp(at), clientID)
	if err != nil {
		return 0, fmt.Errorf("revoke client tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("revoke client tokens: %w", err)
	}
	return n, nil
}

// DeleteExpiredB2B removes the mailed B2B links that expired or were used,
// and the B2B tokens that expired or were revoked, more than keep before now
// (kept a while so that an old link still answers 410, not 404). It returns
// how many rows it deleted.
//
// Refresh tokens that were used (rotated) but have not expired stay: a
// rotated token presented again revokes its family, and that needs the row.
// Each criterion is its own statement, so that each uses its index
// (b2b_links_expires, b2b_links_used, b2b_tokens_expires, b2b_tokens_revoked).
func (q Queries) DeleteExpiredB2B(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	cutoff := Timestamp(now.Add(-keep))
	var total int64
	for _, st := range []struct{ what, query string }{
		{"expired links", `DELETE FROM b2b_links WHERE expires_at <= $1`},
		{"used links", `DELETE FROM b2b_links WHERE used_at <= $1`},
		{"expired tokens", `DELETE FROM b2b_tokens WHERE expires_at <= $1`},
		{"revoked tokens", `DELETE FROM b2b_tokens WHERE revoked_at <= $1`},
	} {
		res, err := q.q.ExecContext(ctx, st.query, cutoff)
		if err != nil {
			return total, fmt.Errorf("delete %s: %w", st.what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete %s: %w", st.what, err)
		}
		total += n
	}
	return total, nil
}
