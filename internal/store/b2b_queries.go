package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- labelpartners ----

// CreateLabelpartner inserts a labelpartner.
func (q Queries) CreateLabelpartner(ctx context.Context, lp domain.Labelpartner) error {
	secret, err := q.seal(lp.IntrospectionClientSecret, introspectionSecretAD(lp.ID))
	if err != nil {
		return fmt.Errorf("create labelpartner: %w", err)
	}
	links, err := appLinksColumn(lp.AppLinks)
	if err != nil {
		return fmt.Errorf("create labelpartner: %w", err)
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO b2b_labelpartners (id, org_id, name, password_policy, introspection_url,
		introspection_client_id, introspection_client_secret, api_key_hash, created_at, app_links, require_voucher) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		lp.ID, lp.OrgID, lp.Name, lp.PasswordPolicy, lp.IntrospectionURL, lp.IntrospectionClientID, secret,
		lp.APIKeyHash, Timestamp(lp.CreatedAt), links, lp.RequireVoucher)
	if err != nil {
		return fmt.Errorf("create labelpartner: %w", mapErr(err))
	}
	return nil
}

const lpColumns = `id, org_id, name, password_policy, introspection_url, introspection_client_id, introspection_client_secret, api_key_hash, created_at, app_links, require_voucher`

func (q Queries) scanLabelpartner(row interface{ Scan(...any) error }) (domain.Labelpartner, error) {
	var lp domain.Labelpartner
	var links sql.NullString
	err := row.Scan(&lp.ID, &lp.OrgID, &lp.Name, &lp.PasswordPolicy, &lp.IntrospectionURL, &lp.IntrospectionClientID,
		&lp.IntrospectionClientSecret, &lp.APIKeyHash, &lp.CreatedAt, &links, &lp.RequireVoucher)
	if err != nil {
		return lp, mapErr(err)
	}
	lp.CreatedAt = lp.CreatedAt.UTC()
	if lp.AppLinks, err = appLinksFromColumn(links); err != nil {
		return lp, fmt.Errorf("app links of labelpartner %s: %w", lp.ID, err)
	}
	if lp.IntrospectionClientSecret, err = q.unseal(lp.IntrospectionClientSecret, introspectionSecretAD(lp.ID)); err != nil {
		return lp, fmt.Errorf("introspection client secret of labelpartner %s: %w", lp.ID, err)
	}
	return lp, nil
}

// Labelpartners lists an organization's labelpartners by name.
func (q Queries) Labelpartners(ctx context.Context, orgID string) ([]domain.Labelpartner, error) {
	return list(ctx, q.q, "labelpartners", q.scanLabelpartner,
		`SELECT `+lpColumns+` FROM b2b_labelpartners WHERE org_id = $1 ORDER BY name`, orgID)
}

// LabelpartnerByName returns the labelpartner of that name (names are
// unique across organizations).
func (q Queries) LabelpartnerByName(ctx context.Context, name string) (domain.Labelpartner, error) {
	lp, err := q.scanLabelpartner(q.q.QueryRowContext(ctx, `SELECT `+lpColumns+` FROM b2b_labelpartners WHERE name = $1`, name))
	if err != nil {
		return lp, fmt.Errorf("labelpartner %q: %w", name, err)
	}
	return lp, nil
}

// LabelpartnerByID returns a labelpartner.
func (q Queries) LabelpartnerByID(ctx context.Context, id string) (domain.Labelpartner, error) {
	lp, err := q.scanLabelpartner(q.q.QueryRowContext(ctx, `SELECT `+lpColumns+` FROM b2b_labelpartners WHERE id = $1`, id))
	if err != nil {
		return lp, fmt.Errorf("labelpartner %s: %w", id, err)
	}
	return lp, nil
}

// LabelpartnerByKeyHash returns the labelpartner whose API key has that hash.
func (q Queries) LabelpartnerByKeyHash(ctx context.Context, hash []byte) (domain.Labelpartner, error) {
	lp, err := q.scanLabelpartner(q.q.QueryRowContext(ctx, `SELECT `+lpColumns+` FROM b2b_labelpartners WHERE api_key_hash = $1`, hash))
	if err != nil {
		return lp, fmt.Errorf("labelpartner by key: %w", err)
	}
	return lp, nil
}

// ---- clients ----

// CreateClient inserts an API client.
func (q Queries) CreateClient(ctx context.Context, c domain.Client) error {
	lps, err := toJSON(c.LabelpartnerIDs)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO b2b_clients (id, org_id, name, kind, client_id, secret_hash, labelpartners, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, c.OrgID, c.Name, c.Kind, c.ClientID, c.SecretHash, lps, Timestamp(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create client: %w", mapErr(err))
	}
	return nil
}

const clientColumns = `id, org_id, name, kind, client_id, secret_hash, labelpartners, created_at, last_used_at, revoked_at`

func scanClient(row interface{ Scan(...any) error }) (domain.Client, error) {
	var c domain.Client
	var lps string
	var used, revoked sql.NullTime
	if err := row.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &c.ClientID, &c.SecretHash, &lps, &c.CreatedAt, &used, &revoked); err != nil {
		return c, mapErr(err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.LastUsedAt, c.RevokedAt = nullTime(used), nullTime(revoked)
	return c, fromJSON(lps, &c.LabelpartnerIDs)
}

// ClientByClientID returns the client with that public client_id.
func (q Queries) ClientByClientID(ctx context.Context, clientID string) (domain.Client, error) {
	c, err := scanClient(q.q.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM b2b_clients WHERE client_id = $1`, clientID))
	if err != nil {
		return c, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// ClientByID returns the client row with that id.
func (q Queries) ClientByID(ctx context.Context, id string) (domain.Client, error) {
	c, err := scanClient(q.q.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM b2b_clients WHERE id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// ---- end users ----

// endUserInsertColumns are the columns an insert of an end user fills, in
// the order of endUserArgs.
const endUserInsertColumns = `id, org_id, labelpartner_id, email, email_lower, first_name, last_name, external_id, voucher_code,
	create_verified, details, state, created_at, email_verified_at`

const endUserInsertCount = 14

func endUserArgs(u domain.EndUser) ([]any, error) {
	d := endUserDetails(u)
	var ext any
	if u.ExternalID != "" {
		ext = u.ExternalID
	}
	cv := 0
	if u.CreateVerified {
		cv = 1
	}
	var verified any
	if u.EmailVerifiedAt != nil {
		verified = Timestamp(*u.EmailVerifiedAt)
	}
	return []any{u.ID, u.OrgID, u.LabelpartnerID, u.Email, strings.ToLower(strings.TrimSpace(u.Email)), u.FirstName, u.LastName,
		ext, u.VoucherCode, cv, d, u.State, Timestamp(u.CreatedAt), verified}, nil
}

// CreateEndUser inserts an end user; a taken email or external id of the
// organization is domain.ErrDuplicate.
func (q Queries) CreateEndUser(ctx context.Context, u domain.EndUser) error {
	args, err := endUserArgs(u)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO b2b_end_users (`+endUserInsertColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	if err != nil {
		return fmt.Errorf("create end user: %w", mapErr(err))
	}
	return nil
}

const endUserColumns = `e.id, e.org_id, e.labelpartner_id, l.name, e.email, e.first_name, e.last_name, e.external_id, e.voucher_code,
	e.create_verified, e.details, e.state, e.password_hash, e.created_at, e.email_verified_at, e.registered_at, e.activated_at, e.first_measurement_at`

const endUserFrom = ` FROM b2b_end_users e JOIN b2b_labelpartners l ON l.id = e.labelpartner_id `

func scanEndUser(row interface{ Scan(...any) error }) (domain.EndUser, error) {
	var u domain.EndUser
	var ext sql.NullString
	var cv int
	var details string
	var verified, registered, activated, measured sql.NullTime
	err := row.Scan(&u.ID, &u.OrgID, &u.LabelpartnerID, &u.Labelpartner, &u.Email, &u.FirstName, &u.LastName, &ext, &u.VoucherCode,
		&cv, &details, &u.State, &u.PasswordHash, &u.CreatedAt, &verified, &registered, &activated, &measured)
	if err != nil {
		return u, mapErr(err)
	}
	u.ExternalID = ext.String
	u.CreateVerified = cv != 0
	u.CreatedAt = u.CreatedAt.UTC()
	u.EmailVerifiedAt, u.RegisteredAt, u.ActivatedAt, u.FirstMeasurementAt = nullTime(verified), nullTime(registered), nullTime(activated), nullTime(measured)
	var d struct {
		Customer     json.RawMessage `json:"customer"`
		Installation json.RawMessage `json:"installation"`
	}
	if err := fromJSON(details, &d); err != nil {
		return u, err
	}
	u.Customer, u.Installation = d.Customer, d.Installation
	return u, nil
}

// endUserDetails is the details column: {"customer": …, "installation": …}
// with the parts the end user has.
func endUserDetails(u domain.EndUser) string {
	if u.Customer == nil && u.Installation == nil {
		return "{}"
	}
	b := make([]byte, 0, len(u.Customer)+len(u.Installation)+32)
	b = append(b, '{')
	if u.Customer != nil {
		b = append(b, `"customer":`...)
		b = append(b, u.Customer...)
	}
	if u.Installation != nil {
		if u.Customer != nil {
			b = append(b, ',')
		}
		b = append(b, `"installation":`...)
		b = append(b, u.Installation...)
	}
	return string(append(b, '}'))
}

func (q Queries) endUsers(ctx context.Context, where string, args ...any) ([]domain.EndUser, error) {
	return list(ctx, q.q, "end users", scanEndUser,
		`SELECT `+endUserColumns+endUserFrom+`WHERE `+where+` ORDER BY e.id LIMIT 100`, args...)
}

// EndUserByID returns an end user of the organization.
func (q Queries) EndUserByID(ctx context.Context, orgID, id string) (domain.EndUser, error) {
	u, err := scanEndUser(q.q.QueryRowContext(ctx, `SELECT `+endUserColumns+endUserFrom+`WHERE e.org_id = $1 AND e.id = $2`, orgID, id))
	if err != nil {
		return u, fmt.Errorf("end user %s: %w", id, err)
	}
	return u, nil
}

// EndUsersByEmail returns the end users with that address, in every
// organization (at most 100).
func (q Queries) EndUsersByEmail(ctx context.Context, email string) ([]domain.EndUser, error) {
	return q.endUsers(ctx, `e.email_lower = $1`, strings.ToLower(strings.TrimSpace(email)))
}

// EndUserByOrgEmail returns the organization's end user with that address.
func (q Queries) EndUserByOrgEmail(ctx context.Context, orgID, email string) (domain.EndUser, error) {
	u, err := scanEndUser(q.q.QueryRowContext(ctx, `SELECT `+endUserColumns+endUserFrom+`WHERE e.org_id = $1 AND e.email_lower = $2`,
		orgID, strings.ToLower(strings.TrimSpace(email))))
	if err != nil {
		return u, fmt.Errorf("end user by email: %w", err)
	}
	return u, nil
}

// EndUserByExternalID returns the organization's end user with that
// external authentication provider id.
func (q Queries) EndUserByExternalID(ctx context.Context, orgID, externalID string) (domain.EndUser, error) {
	u, err := scanEndUser(q.q.QueryRowContext(ctx, `SELECT `+endUserColumns+endUserFrom+`WHERE e.org_id = $1 AND e.external_id = $2`,
		orgID, externalID))
	if err != nil {
		return u, fmt.Errorf("end user by external id: %w", err)
	}
	return u, nil
}

// MarkEndUserVerified records that the address was verified (once).
func (q Queries) MarkEndUserVerified(ctx context.Context, id string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE b2b_end_users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL`, id, Timestamp(at))
	if err != nil {
		return fmt.Errorf("verify end user: %w", err)
	}
	return nil
}

// RegisterEndUser moves a provisioned end user to registered, with a
// password hash ("" for SSO users); false when it was not provisioned.
func (q Queries) RegisterEndUser(ctx context.Context, id, passwordHash string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_end_users SET state = $2, password_hash = $3, registered_at = $4
		WHERE id = $1 AND state = $5`, id, domain.EndUserRegistered, passwordHash, Timestamp(at), domain.EndUserProvisioned)
	return affected(res, err, "register end user")
}

// ActivateEndUser moves a registered end user to active; false when it was
// not registered.
func (q Queries) ActivateEndUser(ctx context.Context, id string, measuredAt, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_end_users SET state = $2, activated_at = $3, first_measurement_at = $4
		WHERE id = $1 AND state = $5`, id, domain.EndUserActive, Timestamp(at), Timestamp(measuredAt), domain.EndUserRegistered)
	return affected(res, err, "activate end user")
}

// SetEndUserPassword replaces the password hash of a registered or active
// end user.
func (q Queries) SetEndUserPassword(ctx context.Context, id, passwordHash string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_end_users SET password_hash = $2 WHERE id = $1 AND state IN ($3, $4)`,
		id, passwordHash, domain.EndUserRegistered, domain.EndUserActive)
	return affected(res, err, "set end user password")
}

func affected(res sql.Result, err error, what string) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n > 0, nil
}

// ---- links ----

// CreateB2BLink inserts a mailed link.
func (q Queries) CreateB2BLink(ctx context.Context, l domain.B2BLink) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO b2b_links (id, org_id, end_user_id, purpose, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, l.ID, l.OrgID, l.EndUserID, l.Purpose, l.TokenHash, Timestamp(l.CreatedAt), Timestamp(l.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create link: %w", mapErr(err))
	}
	return nil
}

// B2BLinkByHash returns the link of that purpose with the token hash.
func (q Queries) B2BLinkByHash(ctx context.Context, purpose string, hash []byte) (domain.B2BLink, error) {
	var l domain.B2BLink
	var used sql.NullTime
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, end_user_id, purpose, token_hash, created_at, expires_at, used_at
		FROM b2b_links WHERE token_hash = $1 AND purpose = $2`, hash, purpose).
		Scan(&l.ID, &l.OrgID, &l.EndUserID, &l.Purpose, &l.TokenHash, &l.CreatedAt, &l.ExpiresAt, &used)
	if err != nil {
		return l, fmt.Errorf("link: %w", mapErr(err))
	}
	l.UsedAt = nullTime(used)
	return l, nil
}

// UseB2BLink consumes an unused, unexpired link; false when it was not.
func (q Queries) UseB2BLink(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2`, id, Timestamp(at))
	return affected(res, err, "use link")
}

// ---- tokens ----

// CreateB2BToken inserts an access or refresh token.
func (q Queries) CreateB2BToken(ctx context.Context, t domain.B2BToken) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO b2b_tokens (id, org_id, kind, subject_id, client_id, family_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.ID, t.OrgID, t.Kind, t.SubjectID, t.ClientID, t.FamilyID, t.TokenHash,
		Timestamp(t.CreatedAt), Timestamp(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create token: %w", mapErr(err))
	}
	return nil
}

// B2BTokenByHash returns the token of that kind with the hash.
func (q Queries) B2BTokenByHash(ctx context.Context, kind string, hash []byte) (domain.B2BToken, error) {
	var t domain.B2BToken
	var used, revoked sql.NullTime
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, kind, subject_id, client_id, family_id, token_hash, created_at, expires_at, used_at, revoked_at
		FROM b2b_tokens WHERE token_hash = $1 AND kind = $2`, hash, kind).
		Scan(&t.ID, &t.OrgID, &t.Kind, &t.SubjectID, &t.ClientID, &t.FamilyID, &t.TokenHash, &t.CreatedAt, &t.ExpiresAt, &used, &revoked)
	if err != nil {
		return t, fmt.Errorf("token: %w", mapErr(err))
	}
	t.UsedAt, t.RevokedAt = nullTime(used), nullTime(revoked)
	t.ExpiresAt = t.ExpiresAt.UTC()
	return t, nil
}

// UseB2BToken marks a refresh token used (rotated), when it is unused,
// unrevoked and unexpired; false otherwise.
func (q Queries) UseB2BToken(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE b2b_tokens SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, id, Timestamp(at))
	return affected(res, err, "use token")
}

// RevokeB2BTokenFamily revokes every token of a refresh-token family.
func (q Queries) RevokeB2BTokenFamily(ctx context.Context, familyID string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE b2b_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, familyID, Timestamp(at))
	if err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

// RevokeB2BSubjectTokens revokes every token of an end user or client.
func (q Queries) RevokeB2BSubjectTokens(ctx context.Context, subjectID string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE b2b_tokens SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL`, subjectID, Timestamp(at))
	if err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}

// ---- bulk import ----

// ImportOutcome is what became of one row of an import batch.
type ImportOutcome struct {
	Created bool
	// ID is the new row's id, or the id of the end user that already has
	// the address ("" when the row clashed on the external id only).
	ID string
	// LabelpartnerID is the labelpartner of the existing end user.
	LabelpartnerID string
}

// ImportEndUsers inserts a batch of end users of one organization in one
// transaction, skipping rows whose address or external id is taken, and
// tells for each row whether it was created or, if not, which end user
// holds its address. On PostgreSQL the rows go through COPY into a
// temporary staging table.
func (s *Store) ImportEndUsers(ctx context.Context, orgID string, rows []domain.EndUser) ([]ImportOutcome, error) {
	return s.ImportEndUsersWithEvents(ctx, orgID, rows, nil)
}

// ImportEvent builds the event row of an end user an import created.
type ImportEvent func(u domain.EndUser) (StoredEvent, error)

// ImportEndUsersWithEvents is ImportEndUsers that also writes, in the
// batch's transaction, the event event builds for every end user the batch
// creates (none for the others), in input order: with one multi-row INSERT
// per 100 events on SQLite, with COPY on PostgreSQL. A nil event writes
// none.
func (s *Store) ImportEndUsersWithEvents(ctx context.Context, orgID string, rows []domain.EndUser, event ImportEvent) ([]ImportOutcome, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if s.engine == Postgres {
		return s.importPostgres(ctx, orgID, rows, event)
	}
	return s.importSQLite(ctx, orgID, rows, event)
}

// importEvents builds the events of the rows created.
func importEvents(rows []domain.EndUser, created func(i int) bool, event ImportEvent) ([]StoredEvent, error) {
	if event == nil {
		return nil, nil
	}
	var evs []StoredEvent
	for i, u := range rows {
		if !created(i) {
			continue
		}
		e, err := event(u)
		if err != nil {
			return nil, fmt.Errorf("import end users: event: %w", err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// eventColumns are the columns a new event row is written with.
var eventColumns = []string{"id", "org_id", "type", "subject", "body", "occurred_at"}

// copyEvents writes events with COPY (PostgreSQL).
func copyEvents(ctx context.Context, tx pgx.Tx, evs []StoredEvent) error {
	if len(evs) == 0 {
		return nil
	}
	src := make([][]any, len(evs))
	for i, e := range evs {
		src[i] = []any{e.ID, e.OrgID, e.Type, e.Subject, e.Body, Timestamp(e.OccurredAt)}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(src)); err != nil {
		return fmt.Errorf("import end users: copy events: %w", mapErr(err))
	}
	return nil
}

// insertEventsSQLite writes events with multi-row INSERTs (SQLite).
func insertEventsSQLite(ctx context.Context, tx *Tx, evs []StoredEvent) error {
	const chunk = 100
	args := make([]any, 0, chunk*len(eventColumns))
	for start := 0; start < len(evs); start += chunk {
		part := evs[start:min(start+chunk, len(evs))]
		args = args[:0]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (` + strings.Join(eventColumns, ", ") + `) VALUES `)
		for i, e := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?,?)")
			args = append(args, e.ID, e.OrgID, e.Type, e.Subject, e.Body, Timestamp(e.OccurredAt))
		}
		if _, err := tx.tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("import end users: insert events: %w", mapErr(err))
		}
	}
	return nil
}

func (s *Store) importSQLite(ctx context.Context, orgID string, rows []domain.EndUser, event ImportEvent) ([]ImportOutcome, error) {
	out := make([]ImportOutcome, len(rows))
	created := make(map[string]bool, len(rows))
	// Positional ? parameters: SQLite resolves each named $n parameter by a
	// linear search, which makes wide multi-row statements quadratic.
	insert := func(n int) string {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO b2b_end_users (` + endUserInsertColumns + `) VALUES `)
		row := "(?" + strings.Repeat(",?", endUserInsertCount-1) + ")"
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(row)
		}
		sb.WriteString(` ON CONFLICT DO NOTHING RETURNING id`)
		return sb.String()
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		const chunk = 100
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		args := make([]any, 0, chunk*endUserInsertCount)
		for start := 0; start < len(rows); start += chunk {
			part := rows[start:min(start+chunk, len(rows))]
			args = args[:0]
			for _, u := range part {
				a, err := endUserArgs(u)
				if err != nil {
					return err
				}
				args = append(args, a...)
			}
			var res *sql.Rows
			var err error
			if len(part) == chunk {
				if full == nil {
					if full, err = tx.tx.PrepareContext(ctx, insert(chunk)); err != nil {
						return fmt.Errorf("import end users: prepare: %w", err)
					}
				}
				res, err = full.QueryContext(ctx, args...)
			} else {
				res, err = tx.tx.QueryContext(ctx, insert(len(part)), args...)
			}
			if err := collectIDs(res, err)(created); err != nil {
				return fmt.Errorf("import end users: %w", err)
			}
		}
		evs, err := importEvents(rows, func(i int) bool { return created[rows[i].ID] }, event)
		if err != nil {
			return err
		}
		if err := insertEventsSQLite(ctx, tx, evs); err != nil {
			return err
		}
		return resolveExisting(rows, created, out, func(emails []string) (map[string]ImportOutcome, error) {
			found := make(map[string]ImportOutcome, len(emails))
			const chunk = 500 // bound the statement's parameters
			for start := 0; start < len(emails); start += chunk {
				part := emails[start:min(start+chunk, len(emails))]
				q := `SELECT id, email_lower, labelpartner_id FROM b2b_end_users WHERE org_id = ? AND email_lower IN (?` +
					strings.Repeat(",?", len(part)-1) + `)`
				qa := make([]any, 0, len(part)+1)
				qa = append(qa, orgID)
				for _, e := range part {
					qa = append(qa, e)
				}
				res, err := tx.tx.QueryContext(ctx, q, qa...)
				if err != nil {
					return nil, err
				}
				for res.Next() {
					var id, e, lp string
					if err := res.Scan(&id, &e, &lp); err != nil {
						res.Close()
						return nil, err
					}
					found[e] = ImportOutcome{ID: id, LabelpartnerID: lp}
				}
				err = res.Err()
				res.Close()
				if err != nil {
					return nil, err
				}
			}
			return found, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func collectIDs(rows *sql.Rows, err error) func(map[string]bool) error {
	return func(into map[string]bool) error {
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			into[id] = true
		}
		return rows.Err()
	}
}

// resolveExisting fills out: created rows, and for the others the end user
// holding the address, as holders finds them (by lower-case address).
func resolveExisting(rows []domain.EndUser, created map[string]bool, out []ImportOutcome,
	holders func(emails []string) (map[string]ImportOutcome, error)) error {
	var missing []string
	seen := map[string]bool{}
	for i, u := range rows {
		if created[u.ID] {
			out[i] = ImportOutcome{Created: true, ID: u.ID, LabelpartnerID: u.LabelpartnerID}
			continue
		}
		if e := importKey(u); !seen[e] {
			seen[e] = true
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := holders(missing)
	if err != nil {
		return fmt.Errorf("import end users: existing: %w", err)
	}
	for i, u := range rows {
		if !created[u.ID] {
			out[i] = found[importKey(u)]
		}
	}
	return nil
}

// importPostgres plans the batch against the rows the organization already
// has and COPYs the new ones straight into the table. When a concurrent
// writer takes an address or external id between the check and the COPY,
// the unique index refuses the COPY and the batch is redone through the
// conflict-tolerant staging path.
func (s *Store) importPostgres(ctx context.Context, orgID string, rows []domain.EndUser, event ImportEvent) ([]ImportOutcome, error) {
	out, err := s.importPostgresDirect(ctx, orgID, rows, event)
	if errors.Is(err, domain.ErrDuplicate) {
		return s.importPostgresStaged(ctx, orgID, rows, event)
	}
	return out, err
}

// importKey is the address an end user is unique by within its organization.
func importKey(u domain.EndUser) string { return strings.ToLower(strings.TrimSpace(u.Email)) }

// planImport decides, in input order, which rows are new: a row is created
// unless its address is taken (in the database or by an earlier created
// row of the batch) or its external id is. This is what INSERT … ON
// CONFLICT DO NOTHING in input order would do, followed by a lookup of
// the holders of the addresses not created.
func planImport(rows []domain.EndUser, existing map[string]ImportOutcome, takenExt map[string]bool) (out []ImportOutcome, create []int) {
	out = make([]ImportOutcome, len(rows))
	created := make(map[string]int, len(rows))
	for i, u := range rows {
		e := importKey(u)
		if h, ok := existing[e]; ok {
			out[i] = h
			continue
		}
		if j, ok := created[e]; ok {
			out[i] = ImportOutcome{ID: rows[j].ID, LabelpartnerID: rows[j].LabelpartnerID}
			continue
		}
		if u.ExternalID != "" {
			if takenExt[u.ExternalID] {
				continue // rejected: the external id is used
			}
			takenExt[u.ExternalID] = true
		}
		created[e] = i
		out[i] = ImportOutcome{Created: true, ID: u.ID, LabelpartnerID: u.LabelpartnerID}
		create = append(create, i)
	}
	// A row refused for its external id names the end user that holds its
	// address after the batch, if a later row created one.
	for i, u := range rows {
		if out[i] == (ImportOutcome{}) {
			if j, ok := created[importKey(u)]; ok {
				out[i] = ImportOutcome{ID: rows[j].ID, LabelpartnerID: rows[j].LabelpartnerID}
			}
		}
	}
	return out, create
}

func (s *Store) importPostgresDirect(ctx context.Context, orgID string, rows []domain.EndUser, event ImportEvent) ([]ImportOutcome, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("import end users: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("import end users: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after commit it is a no-op
	emails := make([]string, 0, len(rows))
	var exts []string
	for _, u := range rows {
		emails = append(emails, importKey(u))
		if u.ExternalID != "" {
			exts = append(exts, u.ExternalID)
		}
	}
	existing, err := pgHolders(ctx, tx, orgID)(emails)
	if err != nil {
		return nil, fmt.Errorf("import end users: existing: %w", err)
	}
	takenExt := make(map[string]bool)
	if len(exts) > 0 {
		er, err := tx.Query(ctx, `SELECT external_id FROM b2b_end_users WHERE org_id = $1 AND external_id = ANY($2)`, orgID, exts)
		if err != nil {
			return nil, fmt.Errorf("import end users: external ids: %w", err)
		}
		for er.Next() {
			var x string
			if err := er.Scan(&x); err != nil {
				er.Close()
				return nil, fmt.Errorf("import end users: external ids: %w", err)
			}
			takenExt[x] = true
		}
		er.Close()
		if err := er.Err(); err != nil {
			return nil, fmt.Errorf("import end users: external ids: %w", err)
		}
	}
	out, create := planImport(rows, existing, takenExt)
	if len(create) > 0 {
		src := make([][]any, len(create))
		for k, i := range create {
			if src[k], err = endUserArgs(rows[i]); err != nil {
				return nil, err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"b2b_end_users"}, endUserCopyColumns, pgx.CopyFromRows(src)); err != nil {
			return nil, fmt.Errorf("import end users: copy: %w", mapErr(err))
		}
	}
	evs, err := importEvents(rows, func(i int) bool { return out[i].Created }, event)
	if err != nil {
		return nil, err
	}
	if err := copyEvents(ctx, tx, evs); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("import end users: commit: %w", mapErr(err))
	}
	return out, nil
}

// pgHolders finds, in one query, the end users of the organization that
// hold the given lower-case addresses.
func pgHolders(ctx context.Context, tx pgx.Tx, orgID string) func(emails []string) (map[string]ImportOutcome, error) {
	return func(emails []string) (map[string]ImportOutcome, error) {
		rows, err := tx.Query(ctx, `SELECT id, email_lower, labelpartner_id FROM b2b_end_users WHERE org_id = $1 AND email_lower = ANY($2)`, orgID, emails)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		found := make(map[string]ImportOutcome, len(emails))
		for rows.Next() {
			var id, e, lp string
			if err := rows.Scan(&id, &e, &lp); err != nil {
				return nil, err
			}
			found[e] = ImportOutcome{ID: id, LabelpartnerID: lp}
		}
		return found, rows.Err()
	}
}

// endUserCopyColumns are endUserInsertColumns as a list.
var endUserCopyColumns = []string{"id", "org_id", "labelpartner_id", "email", "email_lower", "first_name", "last_name",
	"external_id", "voucher_code", "create_verified", "details", "state", "created_at", "email_verified_at"}

// importPostgresStaged COPYs the batch into a temporary table and inserts
// from there with ON CONFLICT DO NOTHING, so concurrent imports of the same
// addresses cannot fail it.
func (s *Store) importPostgresStaged(ctx context.Context, orgID string, rows []domain.EndUser, event ImportEvent) ([]ImportOutcome, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("import end users: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("import end users: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after commit it is a no-op
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS b2b_import_stage (
		ord INTEGER NOT NULL, id TEXT, org_id TEXT, labelpartner_id TEXT, email TEXT, email_lower TEXT, first_name TEXT,
		last_name TEXT, external_id TEXT, voucher_code TEXT, create_verified INTEGER, details TEXT, state TEXT,
		created_at TIMESTAMPTZ, email_verified_at TIMESTAMPTZ) ON COMMIT DELETE ROWS`); err != nil {
		return nil, fmt.Errorf("import end users: staging table: %w", err)
	}
	src := make([][]any, len(rows))
	for i, u := range rows {
		a, err := endUserArgs(u)
		if err != nil {
			return nil, err
		}
		src[i] = append([]any{i}, a...)
	}
	cols := append([]string{"ord"}, endUserCopyColumns...)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"b2b_import_stage"}, cols, pgx.CopyFromRows(src)); err != nil {
		return nil, fmt.Errorf("import end users: copy: %w", err)
	}
	res, err := tx.Query(ctx, `INSERT INTO b2b_end_users (`+endUserInsertColumns+`)
		SELECT `+endUserInsertColumns+` FROM b2b_import_stage ORDER BY ord ON CONFLICT DO NOTHING RETURNING id`)
	if err != nil {
		return nil, fmt.Errorf("import end users: insert: %w", err)
	}
	created := make(map[string]bool, len(rows))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			res.Close()
			return nil, fmt.Errorf("import end users: insert: %w", err)
		}
		created[id] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("import end users: insert: %w", mapErr(err))
	}
	out := make([]ImportOutcome, len(rows))
	if err := resolveExisting(rows, created, out, pgHolders(ctx, tx, orgID)); err != nil {
		return nil, err
	}
	evs, err := importEvents(rows, func(i int) bool { return created[rows[i].ID] }, event)
	if err != nil {
		return nil, err
	}
	if err := copyEvents(ctx, tx, evs); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("import end users: commit: %w", err)
	}
	return out, nil
}
