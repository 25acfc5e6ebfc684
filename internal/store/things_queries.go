package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onboard-dev/onboard/internal/domain"
)

// ---- products and things ----

const productColumns = `id, org_id, serial_number, model, metadata, token_hash, state, thing_id, account_id, location_id,
	name, activated_at, created_at, updated_at`

// productCopyColumns are the columns a new product is written with.
var productCopyColumns = []string{"id", "org_id", "serial_number", "model", "metadata", "token_hash", "state", "created_at", "updated_at"}

const productInsertColumns = `id, org_id, serial_number, model, metadata, token_hash, state, created_at, updated_at`

func productArgs(p domain.Product) ([]any, error) {
	meta := "{}"
	if len(p.Metadata) > 0 {
		var err error
		if meta, err = toJSON(p.Metadata); err != nil {
			return nil, err
		}
	}
	var hash any
	if p.TokenHash != nil {
		hash = p.TokenHash
	}
	return []any{p.ID, p.OrgID, p.SerialNumber, p.Model, meta, hash, domain.ProductUnassigned,
		Timestamp(p.CreatedAt), Timestamp(p.CreatedAt)}, nil
}

func scanProduct(row interface{ Scan(...any) error }) (domain.Product, error) {
	var p domain.Product
	var meta string
	var thing, acct, loc sql.NullString
	var activated sql.NullTime
	err := row.Scan(&p.ID, &p.OrgID, &p.SerialNumber, &p.Model, &meta, &p.TokenHash, &p.State, &thing, &acct, &loc,
		&p.Name, &activated, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, mapErr(err)
	}
	if err := fromJSON(meta, &p.Metadata); err != nil {
		return p, err
	}
	if len(p.TokenHash) == 0 {
		p.TokenHash = nil
	}
	p.ThingID, p.AccountID, p.LocationID = thing.String, acct.String, loc.String
	p.ActivatedAt = nullTime(activated)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

// CreateProduct adds a product; a serial number the organization already
// has is domain.ErrDuplicate.
func (q Queries) CreateProduct(ctx context.Context, p domain.Product) error {
	args, err := productArgs(p)
	if err != nil {
		return err
	}
	if _, err := q.q.ExecContext(ctx, `INSERT INTO products (`+productInsertColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		args...); err != nil {
		return fmt.Errorf("create product: %w", mapErr(err))
	}
	return nil
}

// ProductBySerial finds a product of the organization by serial number.
func (q Queries) ProductBySerial(ctx context.Context, orgID, serial string) (domain.Product, error) {
	p, err := scanProduct(q.q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE org_id = $1 AND serial_number = $2`,
		orgID, serial))
	if err != nil {
		return p, fmt.Errorf("product by serial: %w", err)
	}
	return p, nil
}

// LockProduct reads a product of the organization by id, locking it until
// the transaction ends (on PostgreSQL).
func (q Queries) LockProduct(ctx context.Context, orgID, id string) (domain.Product, error) {
	p, err := scanProduct(q.q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE org_id = $1 AND id = $2`+
		q.engine.lock(forUpdate), orgID, id))
	if err != nil {
		return p, fmt.Errorf("lock product: %w", err)
	}
	return p, nil
}

// Products lists the organization's products by serial number, at most
// limit of them, starting after the serial number after ("" from the first).
func (q Queries) Products(ctx context.Context, orgID, after string, limit int) ([]domain.Product, error) {
	return list(ctx, q.q, "products", scanProduct, `SELECT `+productColumns+` FROM products
		WHERE org_id = $1 AND serial_number > $2 ORDER BY serial_number LIMIT $3`, orgID, after, limit)
}

// ThingsByAccount lists the things of a customer, in one of its locations
// when locationID is not empty, oldest activation first.
func (q Queries) ThingsByAccount(ctx context.Context, orgID, accountID, locationID string) ([]domain.Product, error) {
	if locationID != "" {
		return list(ctx, q.q, "things", scanProduct, `SELECT `+productColumns+` FROM products
			WHERE org_id = $1 AND account_id = $2 AND location_id = $3 ORDER BY activated_at, thing_id`, orgID, accountID, locationID)
	}
	return list(ctx, q.q, "things", scanProduct, `SELECT `+productColumns+` FROM products
		WHERE org_id = $1 AND account_id = $2 ORDER BY activated_at, thing_id`, orgID, accountID)
}

// ThingByID finds a thing of a customer, locking it until the transaction
// ends (on PostgreSQL).
func (q Queries) ThingByID(ctx context.Context, orgID, accountID, thingID string) (domain.Product, error) {
	p, err := scanProduct(q.q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products
		WHERE org_id = $1 AND account_id = $2 AND thing_id = $3`+q.engine.lock(forUpdate), orgID, accountID, thingID))
	if err != nil {
		return p, fmt.Errorf("thing: %w", err)
	}
	return p, nil
}

// ActivateProduct makes an unassigned product the thing thingID of a
// customer, in one of its locations. It reports false, changing nothing,
// when the product is no longer unassigned: of two concurrent activations
// exactly one wins.
func (q Queries) ActivateProduct(ctx context.Context, orgID, productID, accountID, locationID, thingID, name string, at time.Time) (bool, error) {
	return q.execFlag(ctx, "activate product", `UPDATE products SET state = $1, thing_id = $2, account_id = $3, location_id = $4,
		name = $5, activated_at = $6, updated_at = $6 WHERE org_id = $7 AND id = $8 AND state = $9`,
		domain.ProductActive, thingID, accountID, locationID, name, Timestamp(at), orgID, productID, domain.ProductUnassigned)
}

// UpdateThing sets the name and location of a customer's thing.
func (q Queries) UpdateThing(ctx context.Context, orgID, accountID, thingID, name, locationID string, at time.Time) error {
	return q.execOne(ctx, "update thing", `UPDATE products SET name = $1, location_id = $2, updated_at = $3
		WHERE org_id = $4 AND account_id = $5 AND thing_id = $6`, name, locationID, Timestamp(at), orgID, accountID, thingID)
}

// releaseSet is the assignment that makes a product unassigned again.
const releaseSet = `state = 'UNASSIGNED', thing_id = NULL, account_id = NULL, location_id = NULL, name = '', activated_at = NULL`

// ReleaseProduct makes a product unassigned again (nothing when it is).
// It reports whether it was assigned.
func (q Queries) ReleaseProduct(ctx context.Context, orgID, productID string, at time.Time) (bool, error) {
	return q.execFlag(ctx, "release product", `UPDATE products SET `+releaseSet+`, updated_at = $1
		WHERE org_id = $2 AND id = $3 AND state <> 'UNASSIGNED'`, Timestamp(at), orgID, productID)
}

// CountThingsInLocation counts the things in a location of a customer.
func (q Queries) CountThingsInLocation(ctx context.Context, orgID, accountID, locationID string) (int, error) {
	var n int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE org_id = $1 AND account_id = $2 AND location_id = $3`,
		orgID, accountID, locationID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count things: %w", err)
	}
	return n, nil
}

// releaseAccountProducts releases every thing of an account (part of
// PurgeAccount).
const releaseAccountProducts = `UPDATE products SET ` + releaseSet + ` WHERE org_id = $1 AND account_id = $2`

// ---- bulk import of products ----

// ProductImportOutcome is what became of one row of a product import batch.
type ProductImportOutcome struct {
	Created bool
	// ID is the new product's id, or the id of the product that already
	// has the serial number.
	ID string
}

// ImportProducts inserts a batch of products of one organization in one
// transaction, skipping those whose serial number the organization already
// has (or an earlier row of the batch), and tells for each row whether it
// was created or which product holds its serial number. On PostgreSQL the
// rows go straight into the table through COPY, or, when a concurrent
// writer took a serial number meanwhile, through a staging table.
func (s *Store) ImportProducts(ctx context.Context, orgID string, rows []domain.Product) ([]ProductImportOutcome, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if s.engine == Postgres {
		out, err := s.importProductsDirect(ctx, orgID, rows)
		if errors.Is(err, domain.ErrDuplicate) {
			return s.importProductsStaged(ctx, orgID, rows)
		}
		return out, err
	}
	return s.importProductsSQLite(ctx, orgID, rows)
}

// planProducts decides, in input order, which rows are new given the
// holders of serial numbers already in the database.
func planProducts(rows []domain.Product, existing map[string]string) (out []ProductImportOutcome, create []int) {
	out = make([]ProductImportOutcome, len(rows))
	seen := make(map[string]string, len(rows))
	for i, p := range rows {
		if id, ok := existing[p.SerialNumber]; ok {
			out[i] = ProductImportOutcome{ID: id}
			continue
		}
		if id, ok := seen[p.SerialNumber]; ok {
			out[i] = ProductImportOutcome{ID: id}
			continue
		}
		seen[p.SerialNumber] = p.ID
		out[i] = ProductImportOutcome{Created: true, ID: p.ID}
		create = append(create, i)
	}
	return out, create
}

func serials(rows []domain.Product) []string {
	out := make([]string, len(rows))
	for i, p := range rows {
		out[i] = p.SerialNumber
	}
	return out
}

func (s *Store) importProductsSQLite(ctx context.Context, orgID string, rows []domain.Product) ([]ProductImportOutcome, error) {
	var out []ProductImportOutcome
	err := s.InTx(ctx, func(tx *Tx) error {
		existing := make(map[string]string)
		all := serials(rows)
		const lookup = 500
		for start := 0; start < len(all); start += lookup {
			part := all[start:min(start+lookup, len(all))]
			args := make([]any, 0, len(part)+1)
			args = append(args, orgID)
			for _, sn := range part {
				args = append(args, sn)
			}
			res, err := tx.tx.QueryContext(ctx, `SELECT serial_number, id FROM products WHERE org_id = ? AND serial_number IN (?`+
				strings.Repeat(",?", len(part)-1)+`)`, args...)
			if err != nil {
				return fmt.Errorf("import products: existing: %w", err)
			}
			for res.Next() {
				var sn, id string
				if err := res.Scan(&sn, &id); err != nil {
					res.Close()
					return fmt.Errorf("import products: existing: %w", err)
				}
				existing[sn] = id
			}
			err = res.Err()
			res.Close()
			if err != nil {
				return fmt.Errorf("import products: existing: %w", err)
			}
		}
		var create []int
		out, create = planProducts(rows, existing)
		// Positional ? parameters: SQLite looks named ones up linearly.
		const chunk = 100
		n := len(productCopyColumns)
		insert := func(k int) string {
			row := "(?" + strings.Repeat(",?", n-1) + ")"
			return `INSERT INTO products (` + productInsertColumns + `) VALUES ` + row + strings.Repeat(","+row, k-1)
		}
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		args := make([]any, 0, chunk*n)
		for start := 0; start < len(create); start += chunk {
			part := create[start:min(start+chunk, len(create))]
			args = args[:0]
			for _, i := range part {
				a, err := productArgs(rows[i])
				if err != nil {
					return err
				}
				args = append(args, a...)
			}
			var err error
			if len(part) == chunk {
				if full == nil {
					if full, err = tx.tx.PrepareContext(ctx, insert(chunk)); err != nil {
						return fmt.Errorf("import products: prepare: %w", err)
					}
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.tx.ExecContext(ctx, insert(len(part)), args...)
			}
			if err != nil {
				return fmt.Errorf("import products: insert: %w", mapErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pgProductHolders finds the products of the organization that have the
// given serial numbers.
func pgProductHolders(ctx context.Context, tx pgx.Tx, orgID string, sns []string) (map[string]string, error) {
	res, err := tx.Query(ctx, `SELECT serial_number, id FROM products WHERE org_id = $1 AND serial_number = ANY($2)`, orgID, sns)
	if err != nil {
		return nil, fmt.Errorf("import products: existing: %w", err)
	}
	defer res.Close()
	found := make(map[string]string)
	for res.Next() {
		var sn, id string
		if err := res.Scan(&sn, &id); err != nil {
			return nil, fmt.Errorf("import products: existing: %w", err)
		}
		found[sn] = id
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("import products: existing: %w", err)
	}
	return found, nil
}

func (s *Store) importProductsDirect(ctx context.Context, orgID string, rows []domain.Product) ([]ProductImportOutcome, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("import products: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("import products: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after commit it is a no-op
	existing, err := pgProductHolders(ctx, tx, orgID, serials(rows))
	if err != nil {
		return nil, err
	}
	out, create := planProducts(rows, existing)
	if len(create) > 0 {
		src := make([][]any, len(create))
		for k, i := range create {
			if src[k], err = productArgs(rows[i]); err != nil {
				return nil, err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"}, productCopyColumns, pgx.CopyFromRows(src)); err != nil {
			return nil, fmt.Errorf("import products: copy: %w", mapErr(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("import products: commit: %w", mapErr(err))
	}
	return out, nil
}

// importProductsStaged COPYs the batch into a temporary table and inserts
// from there with ON CONFLICT DO NOTHING, so that concurrent imports of the
// same serial numbers cannot fail it.
func (s *Store) importProductsStaged(ctx context.Context, orgID string, rows []domain.Product) ([]ProductImportOutcome, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("import products: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("import products: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after commit it is a no-op
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS products_import_stage (
		ord INTEGER NOT NULL, id TEXT, org_id TEXT, serial_number TEXT, model TEXT, metadata TEXT, token_hash BYTEA,
		state TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ) ON COMMIT DELETE ROWS`); err != nil {
		return nil, fmt.Errorf("import products: staging table: %w", err)
	}
	src := make([][]any, len(rows))
	for i, p := range rows {
		a, err := productArgs(p)
		if err != nil {
			return nil, err
		}
		src[i] = append([]any{i}, a...)
	}
	cols := append([]string{"ord"}, productCopyColumns...)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products_import_stage"}, cols, pgx.CopyFromRows(src)); err != nil {
		return nil, fmt.Errorf("import products: copy: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO products (`+productInsertColumns+`)
		SELECT `+productInsertColumns+` FROM products_import_stage ORDER BY ord ON CONFLICT DO NOTHING`); err != nil {
		return nil, fmt.Errorf("import products: insert: %w", mapErr(err))
	}
	holders, err := pgProductHolders(ctx, tx, orgID, serials(rows))
	if err != nil {
		return nil, err
	}
	out := make([]ProductImportOutcome, len(rows))
	for i, p := range rows {
		id := holders[p.SerialNumber]
		out[i] = ProductImportOutcome{Created: id == p.ID, ID: id}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("import products: commit: %w", err)
	}
	return out, nil
}
