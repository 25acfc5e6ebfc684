package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Queries of the console's directory (customers, partners and their users)
// and audit log. Every list is paged by keyset: a page is the rows after
// (or before) the sort key and id of a cursor, read in the order of an
// index that ends in the id (migration 0018), so that a page a million rows
// in costs what the first one does. OFFSET is never used.

// ErrBadCursor is returned for a cursor this package did not make.
var ErrBadCursor = errors.New("not a cursor of this list")

// Cursor is a position in a keyset-paged list: the sort key and id of a
// row, and whether the page wanted is the one before it (Back) or after.
type Cursor struct {
	Key  string `json:"k"`
	ID   string `json:"i"`
	Back bool   `json:"b,omitempty"`
}

// Encode is the cursor as an opaque URL-safe string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c) // a struct of strings and a bool: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor Encode made; "" is the first page (a zero
// Cursor).
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 4096 {
		return c, ErrBadCursor
	}
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return Cursor{}, ErrBadCursor
	}
	return c, nil
}

// Page is one page of a keyset-paged list with the cursors of the pages
// before and after it ("" when there is none).
type Page[T any] struct {
	Items      []T
	Prev, Next string
}

// keyset describes one keyset-paged query.
type keyset[T any] struct {
	// from is "FROM … WHERE …" with the filters; args are its arguments
	// ($1…$n).
	from string
	args []any
	// columns are the selected columns, scanned by scan.
	columns string
	// key and id are the sort expressions (an index ends in them).
	key, id string
	// desc: newest (largest) first.
	desc bool
	// keyArg turns a cursor's key into the query argument.
	keyArg func(string) (any, error)
	// scan reads a row and returns it with its sort key and id.
	scan func(row interface{ Scan(...any) error }) (T, string, string, error)
}

// MaxPageSize is the largest page of the directory and the audit log.
const MaxPageSize = 200

// page runs a keyset query: limit rows after (or, Back, before) cur.
func page[T any](ctx context.Context, q querier, what string, k keyset[T], cur Cursor, limit int) (Page[T], error) {
	limit = min(max(limit, 1), MaxPageSize)
	asc := !k.desc != cur.Back // the order rows are read in
	op, dir := ">", "ASC"
	if !asc {
		op, dir = "<", "DESC"
	}
	query := "SELECT " + k.columns + " " + k.from
	args := slices.Clone(k.args)
	if cur.ID != "" {
		key, err := k.keyArg(cur.Key)
		if err != nil {
			return Page[T]{}, ErrBadCursor
		}
		n := len(args)
		query += fmt.Sprintf(" AND (%s, %s) %s ($%d, $%d)", k.key, k.id, op, n+1, n+2)
		args = append(args, key, cur.ID)
	}
	query += fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT $%d", k.key, dir, k.id, dir, len(args)+1)
	args = append(args, limit+1)

	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return Page[T]{}, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	type row struct {
		v       T
		key, id string
	}
	var got []row
	for rows.Next() {
		v, key, id, err := k.scan(rows)
		if err != nil {
			return Page[T]{}, fmt.Errorf("%s: %w", what, err)
		}
		got = append(got, row{v, key, id})
	}
	if err := rows.Err(); err != nil {
		return Page[T]{}, fmt.Errorf("%s: %w", what, err)
	}
	more := len(got) > limit
	if more {
		got = got[:limit]
	}
	if cur.Back {
		slices.Reverse(got)
	}
	p := Page[T]{Items: make([]T, 0, len(got))}
	for _, r := range got {
		p.Items = append(p.Items, r.v)
	}
	if len(got) == 0 {
		if cur.Back && cur.ID != "" {
			p.Next = Cursor{Key: cur.Key, ID: cur.ID}.Encode()
		}
		return p, nil
	}
	first, last := got[0], got[len(got)-1]
	switch {
	case cur.Back:
		// Came from the page after: there is one.
		p.Next = Cursor{Key: last.key, ID: last.id}.Encode()
		if more {
			p.Prev = Cursor{Key: first.key, ID: first.id, Back: true}.Encode()
		}
	default:
		if more {
			p.Next = Cursor{Key: last.key, ID: last.id}.Encode()
		}
		if cur.ID != "" {
			p.Prev = Cursor{Key: first.key, ID: first.id, Back: true}.Encode()
		}
	}
	return p, nil
}

func textKey(s string) (any, error) { return s, nil }

func timeKey(s string) (any, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, err
	}
	return Timestamp(t), nil
}

// likeContains is the LIKE pattern of a case-insensitive "contains" search
// (the text lower-cased, its wildcards taken literally; ESCAPE '\').
func likeContains(text string) string {
	return "%" + likeEscaper.Replace(strings.ToLower(strings.TrimSpace(text))) + "%"
}

// DirectoryAccount is an account as the console's directory lists it.
type DirectoryAccount struct {
	domain.Account
	// Users is how many users the account has.
	Users int
}

// DirectoryAccounts pages through the organization's accounts of a kind by
// name (then id); search, when not empty, keeps those whose name or a
// user's email address contains it, ignoring case.
func (q Queries) DirectoryAccounts(ctx context.Context, orgID, kind, search string, cur Cursor, limit int) (Page[DirectoryAccount], error) {
	k := keyset[DirectoryAccount]{
		from: `FROM accounts a WHERE a.org_id = $1 AND a.kind = $2`, args: []any{orgID, kind},
		columns: prefixed("a.", accountColumns) + `, (SELECT count(*) FROM users u WHERE u.account_id = a.id)`,
		key:     "a.name", id: "a.id", keyArg: textKey,
		scan: func(row interface{ Scan(...any) error }) (DirectoryAccount, string, string, error) {
			var d DirectoryAccount
			var props string
			var verified, decided sql.NullTime
			err := row.Scan(&d.ID, &d.OrgID, &d.Kind, &d.Type, &d.Name, &props, &d.Status, &d.Origin, &verified, &decided,
				&d.DecisionReason, &d.ExternalRef, &d.CreatedAt, &d.UpdatedAt, &d.Users)
			if err != nil {
				return d, "", "", err
			}
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			d.VerifiedAt, d.DecidedAt = nullTime(verified), nullTime(decided)
			return d, d.Name, d.ID, fromJSON(props, &d.Properties)
		},
	}
	if s := strings.TrimSpace(search); s != "" {
		k.from += ` AND (lower(a.name) LIKE $3 ESCAPE '\' OR EXISTS (SELECT 1 FROM users u
			WHERE u.account_id = a.id AND u.email_lower LIKE $3 ESCAPE '\'))`
		k.args = append(k.args, likeContains(s))
	}
	return page(ctx, q.q, "directory accounts", k, cur, limit)
}

// DirectoryUser is a user as the console's directory lists it, with its
// account and user type.
type DirectoryUser struct {
	domain.User
	AccountName, AccountKind, UserType string
}

const directoryUserColumns = `u.id, u.org_id, u.account_id, u.user_type_id, u.email, u.first_name, u.last_name, u.phone,
	u.status, u.created_at, u.updated_at, u.email_lower, a.name, a.kind, ut.name`

func scanDirectoryUser(row interface{ Scan(...any) error }) (DirectoryUser, string, string, error) {
	var d DirectoryUser
	var key string
	err := row.Scan(&d.ID, &d.OrgID, &d.AccountID, &d.UserTypeID, &d.Email, &d.FirstName, &d.LastName, &d.Phone,
		&d.Status, &d.CreatedAt, &d.UpdatedAt, &key, &d.AccountName, &d.AccountKind, &d.UserType)
	if err != nil {
		return d, "", "", mapErr(err)
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, key, d.ID, nil
}

const directoryUserFrom = `FROM users u JOIN accounts a ON a.id = u.account_id JOIN user_types ut ON ut.id = u.user_type_id
	WHERE u.org_id = $1`

// DirectoryUsers pages through the organization's users by email address
// (then id); search, when not empty, keeps those whose email address or
// name contains it, ignoring case.
func (q Queries) DirectoryUsers(ctx context.Context, orgID, search string, cur Cursor, limit int) (Page[DirectoryUser], error) {
	k := keyset[DirectoryUser]{from: directoryUserFrom, args: []any{orgID}, columns: directoryUserColumns,
		key: "u.email_lower", id: "u.id", keyArg: textKey, scan: scanDirectoryUser}
	if s := strings.TrimSpace(search); s != "" {
		k.from += ` AND (u.email_lower LIKE $2 ESCAPE '\' OR lower(u.first_name || ' ' || u.last_name) LIKE $2 ESCAPE '\')`
		k.args = append(k.args, likeContains(s))
	}
	return page(ctx, q.q, "directory users", k, cur, limit)
}

// DirectoryUser returns one user of the organization with its account and
// user type.
func (q Queries) DirectoryUser(ctx context.Context, orgID, id string) (DirectoryUser, error) {
	d, _, _, err := scanDirectoryUser(q.q.QueryRowContext(ctx, `SELECT `+directoryUserColumns+` `+directoryUserFrom+` AND u.id = $2`, orgID, id))
	if err != nil {
		return d, fmt.Errorf("directory user %s: %w", id, err)
	}
	return d, nil
}

// DirectoryUsersOfAccount lists an account's users with their user types,
// by email address.
func (q Queries) DirectoryUsersOfAccount(ctx context.Context, orgID, accountID string) ([]DirectoryUser, error) {
	return list(ctx, q.q, "users of account", func(row interface{ Scan(...any) error }) (DirectoryUser, error) {
		d, _, _, err := scanDirectoryUser(row)
		return d, err
	}, `SELECT `+directoryUserColumns+` `+directoryUserFrom+` AND u.account_id = $2 ORDER BY u.email_lower, u.id`, orgID, accountID)
}

// AccountThingCounts are how many things and devices an account has.
type AccountThingCounts struct {
	Things, Devices int
}

// ThingCounts counts an account's things and devices (both indexed by
// account).
func (q Queries) ThingCounts(ctx context.Context, orgID, accountID string) (AccountThingCounts, error) {
	var c AccountThingCounts
	err := q.q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM products WHERE account_id = $2 AND org_id = $1),
		(SELECT count(*) FROM devices WHERE org_id = $1 AND account_id = $2)`, orgID, accountID).Scan(&c.Things, &c.Devices)
	if err != nil {
		return c, fmt.Errorf("thing counts of %s: %w", accountID, err)
	}
	return c, nil
}

// AuditAboutAccount lists the newest audit entries about an account or one
// of its users, at most limit, newest first.
func (q Queries) AuditAboutAccount(ctx context.Context, orgID, accountID string, limit int) ([]domain.AuditEntry, error) {
	out, err := q.auditEntries(ctx, `SELECT id, org_id, actor, action, subject_id, data, created_at FROM audit_log
		WHERE org_id = $1 AND (subject_id = $2 OR subject_id IN (SELECT id FROM users WHERE org_id = $1 AND account_id = $2))
		ORDER BY created_at DESC, id DESC LIMIT $3`, orgID, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit about account: %w", err)
	}
	return out, nil
}

// AuditFilter narrows the audit log; empty fields do not filter.
type AuditFilter struct {
	Actor   string // exact, e.g. "backoffice:<id>" or "user:<id>"
	Action  string // prefix, taken literally ("customer." matches "customer.created")
	Subject string // exact id of the object
	// From (inclusive) and To (exclusive) bound the time; zero is open.
	From, To time.Time
}

// AuditPage pages through the organization's audit log, newest first.
func (q Queries) AuditPage(ctx context.Context, orgID string, f AuditFilter, cur Cursor, limit int) (Page[domain.AuditEntry], error) {
	k := keyset[domain.AuditEntry]{from: `FROM audit_log WHERE org_id = $1`, args: []any{orgID},
		columns: `id, org_id, actor, action, subject_id, data, created_at`, key: "created_at", id: "id", desc: true, keyArg: timeKey,
		scan: func(row interface{ Scan(...any) error }) (domain.AuditEntry, string, string, error) {
			var e domain.AuditEntry
			var data string
			if err := row.Scan(&e.ID, &e.OrgID, &e.Actor, &e.Action, &e.SubjectID, &data, &e.CreatedAt); err != nil {
				return e, "", "", err
			}
			e.CreatedAt = e.CreatedAt.UTC()
			return e, e.CreatedAt.Format(time.RFC3339Nano), e.ID, fromJSON(data, &e.Data)
		}}
	add := func(cond string, v any) {
		k.args = append(k.args, v)
		k.from += fmt.Sprintf(" AND "+cond, len(k.args))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add(`action LIKE $%d ESCAPE '\'`, likeEscaper.Replace(f.Action)+"%")
	}
	if f.Subject != "" {
		add("subject_id = $%d", f.Subject)
	}
	if !f.From.IsZero() {
		add("created_at >= $%d", Timestamp(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < $%d", Timestamp(f.To))
	}
	return page(ctx, q.q, "audit page", k, cur, limit)
}
