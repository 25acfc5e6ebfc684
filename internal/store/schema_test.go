package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// The schemas of the two engines, as facts that can be compared one by one:
//
//	table T
//	column T.c TYPE null|not null
//	default T.c VALUE
//	primary key T (a, b)
//	unique T (a, b) [partial]
//	index T (a, b) [partial]
//	foreign key T (a) -> R (x) on delete ACTION
//
// TYPE is a small vocabulary both engines map to: text, integer, boolean,
// bytes, timestamp (with time zone on PostgreSQL, where a zoneless one stays
// "timestamp without time zone" so that it shows as a difference).
//
// schemaDifferences lists, with the reason, every fact one engine has and the
// other has not. Anything else that differs fails TestMigrationsAgree, and so
// does an entry here that no longer differs.
var schemaDifferences = []struct {
	engine, fact, why string
}{
	// SQLite has no boolean type: its booleans are INTEGER 0 and 1, which the
	// driver scans into bool like PostgreSQL's BOOLEAN.
	{"sqlite", "column agreements.required integer not null", "SQLite has no boolean type"},
	{"postgres", "column agreements.required boolean not null", "SQLite has no boolean type"},
	{"sqlite", "column property_definitions.required integer not null", "SQLite has no boolean type"},
	{"postgres", "column property_definitions.required boolean not null", "SQLite has no boolean type"},
	{"sqlite", "column b2b_labelpartners.require_voucher integer not null", "SQLite has no boolean type"},
	{"postgres", "column b2b_labelpartners.require_voucher boolean not null", "SQLite has no boolean type"},
	{"sqlite", "default b2b_labelpartners.require_voucher 0", "SQLite has no boolean type"},
	{"postgres", "default b2b_labelpartners.require_voucher false", "SQLite has no boolean type"},
	// On PostgreSQL, statement-level triggers replace this foreign key, which
	// cost a row lookup and lock per row of a bulk import (see
	// postgres/0006_b2b_end_users_labelpartner_check.sql);
	// TestMigrationsAgree checks that the triggers exist.
	{"sqlite", "unique events (seq)",
		"PostgreSQL dropped it (0025: two index entries per event that no query reads); on SQLite an inline UNIQUE goes only with a rebuild of the table"},
	{"sqlite", "foreign key b2b_end_users (labelpartner_id) -> b2b_labelpartners (id) on delete cascade",
		"PostgreSQL checks it with statement-level triggers"},
	// The same for products' organization (postgres/0012_things.sql).
	{"sqlite", "foreign key products (org_id) -> organizations (id) on delete cascade",
		"PostgreSQL checks it with statement-level triggers"},
	// And for signups' and funnel subjects' organization, and an index no
	// query reads (postgres/0026_start_writes.sql): on SQLite dropping an
	// inline UNIQUE or a foreign key goes only with a rebuild of the table.
	{"sqlite", "foreign key signups (org_id) -> organizations (id) on delete cascade",
		"PostgreSQL checks it with statement-level triggers"},
	{"sqlite", "foreign key funnel_subjects (org_id) -> organizations (id) on delete cascade",
		"PostgreSQL checks it with statement-level triggers"},
	{"sqlite", "unique outbox (message_id)",
		"PostgreSQL dropped it (0026: built from the primary key, read by no query, an entry per queued and per sent mail)"},
	// PostgreSQL indexes the time of events with BRIN (0029: no entry per
	// event); SQLite has no BRIN and keeps its partial B-tree.
	{"sqlite", "index events (occurred_at) partial", "PostgreSQL's is a BRIN index over every row (0029); SQLite has no BRIN"},
	{"postgres", "index events (occurred_at)", "PostgreSQL's is a BRIN index over every row (0029); SQLite has no BRIN"},
}

// labelpartnerTriggers are the PostgreSQL triggers that stand for the
// foreign keys of b2b_end_users.labelpartner_id, products.org_id,
// signups.org_id and funnel_subjects.org_id.
var labelpartnerTriggers = []string{
	"b2b_end_users.b2b_end_users_labelpartner_insert",
	"b2b_end_users.b2b_end_users_labelpartner_update",
	"b2b_labelpartners.b2b_labelpartners_delete",
	// and those of products.org_id
	"products.products_org_insert",
	"products.products_org_update",
	"organizations.organizations_delete_products",
	// and those of signups.org_id and funnel_subjects.org_id
	"signups.signups_org_insert",
	"signups.signups_org_update",
	"funnel_subjects.funnel_subjects_org_insert",
	"funnel_subjects.funnel_subjects_org_update",
	"organizations.organizations_delete_signups",
}

// TestMigrationsAgree migrates a SQLite file and a PostgreSQL schema and
// compares their tables, columns (type, nullability, default), primary keys,
// unique constraints and indexes, other indexes and foreign keys, so that
// the per-engine migration folders cannot drift apart unnoticed.
func TestMigrationsAgree(t *testing.T) {
	pgDSN := dbtest.Postgres(t) // skips without PostgreSQL
	ctx := context.Background()
	lite, err := sqliteSchema(ctx, open(t, dbtest.SQLite(t)).DB())
	if err != nil {
		t.Fatalf("sqlite schema: %v", err)
	}
	pgDB := open(t, pgDSN).DB()
	pg, err := postgresSchema(ctx, pgDB)
	if err != nil {
		t.Fatalf("postgres schema: %v", err)
	}
	if len(lite) < 50 || len(pg) < 50 {
		t.Fatalf("read %d SQLite and %d PostgreSQL facts; the schema queries found too little", len(lite), len(pg))
	}

	allowed := map[string]string{}
	for _, d := range schemaDifferences {
		allowed[d.engine+": "+d.fact] = d.why
	}
	var unexpected []string
	for _, f := range sortedFacts(lite) {
		if !pg[f] {
			k := "sqlite: " + f
			if _, ok := allowed[k]; ok {
				delete(allowed, k)
			} else {
				unexpected = append(unexpected, "only on SQLite:     "+f)
			}
		}
	}
	for _, f := range sortedFacts(pg) {
		if !lite[f] {
			k := "postgres: " + f
			if _, ok := allowed[k]; ok {
				delete(allowed, k)
			} else {
				unexpected = append(unexpected, "only on PostgreSQL: "+f)
			}
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("the migrations of the two engines differ (add a migration to both folders, or list a legitimate difference in schemaDifferences):\n  %s",
			strings.Join(unexpected, "\n  "))
	}
	for _, k := range slices.Sorted(maps.Keys(allowed)) {
		t.Errorf("schemaDifferences lists %q, but both engines agree there now: remove the entry", k)
	}

	have := map[string]bool{}
	rows, err := pgDB.QueryContext(ctx, `SELECT c.relname || '.' || tg.tgname FROM pg_trigger tg
		JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND NOT tg.tgisinternal`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		have[name] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tg := range labelpartnerTriggers {
		if !have[tg] {
			t.Errorf("PostgreSQL lacks trigger %s, which stands for a foreign key (b2b_end_users.labelpartner_id, products.org_id, signups.org_id, funnel_subjects.org_id)", tg)
		}
	}
}

// TestSchemaFactsSeeDrift shows that the comparison can fail: a column, a
// unique constraint and a foreign key added on one engine only are facts the
// other engine lacks.
func TestSchemaFactsSeeDrift(t *testing.T) {
	ctx := context.Background()
	db := open(t, dbtest.SQLite(t)).DB()
	before, err := sqliteSchema(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE organizations ADD COLUMN drift TEXT DEFAULT 'x'`,
		`CREATE UNIQUE INDEX organizations_drift ON organizations (display_name, drift)`,
		`CREATE TABLE drift (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE SET NULL)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	after, err := sqliteSchema(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, f := range sortedFacts(after) {
		if !before[f] {
			added = append(added, f)
		}
	}
	want := []string{
		"column drift.id text not null",
		"column drift.org_id text not null",
		"column organizations.drift text null",
		"default organizations.drift 'x'",
		"foreign key drift (org_id) -> organizations (id) on delete set null",
		"primary key drift (id)",
		"table drift",
		"unique organizations (display_name, drift)",
	}
	if !slices.Equal(added, want) {
		t.Errorf("new facts:\n  %s\nwant:\n  %s", strings.Join(added, "\n  "), strings.Join(want, "\n  "))
	}
}

// castSuffix is the type cast PostgreSQL adds to a default's literal.
var castSuffix = regexp.MustCompile(`::[a-z ]+$`)

func sortedFacts(facts map[string]bool) []string { return slices.Sorted(maps.Keys(facts)) }

// skipTable tells which tables are not the migrations' own: the runner's
// bookkeeping (created by Migrate, the same on both engines) and SQLite's.
func skipTable(name string) bool {
	return name == "schema_migrations" || strings.HasPrefix(name, "sqlite_")
}

func indexFact(table string, cols []string, unique, primary, partial bool) string {
	kind := "index"
	switch {
	case primary:
		kind = "primary key"
	case unique:
		kind = "unique"
	}
	f := fmt.Sprintf("%s %s (%s)", kind, table, strings.Join(cols, ", "))
	if partial {
		f += " partial"
	}
	return f
}

func nullability(notNull bool) string {
	if notNull {
		return "not null"
	}
	return "null"
}

func sqliteSchema(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	facts := map[string]bool{}
	tables, err := queryStrings(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for _, tbl := range tables {
		if skipTable(tbl) {
			continue
		}
		facts["table "+tbl] = true

		// Columns and the primary key.
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", pk, dflt_value FROM pragma_table_info(?) ORDER BY cid`, tbl)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", tbl, err)
		}
		pk := map[int]string{}
		for rows.Next() {
			var name, typ string
			var notNull bool
			var pkPos int
			var dflt sql.NullString
			if err := rows.Scan(&name, &typ, &notNull, &pkPos, &dflt); err != nil {
				rows.Close()
				return nil, err
			}
			if pkPos > 0 {
				pk[pkPos] = name
				// A primary key column takes no NULL in practice (every
				// insert gives an id); PostgreSQL makes it NOT NULL.
				notNull = true
			}
			facts[fmt.Sprintf("column %s.%s %s %s", tbl, name, sqliteType(typ), nullability(notNull))] = true
			if dflt.Valid {
				facts[fmt.Sprintf("default %s.%s %s", tbl, name, dflt.String)] = true
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if len(pk) > 0 {
			var cols []string
			for _, k := range slices.Sorted(maps.Keys(pk)) {
				cols = append(cols, pk[k])
			}
			facts[indexFact(tbl, cols, true, true, false)] = true
		}

		// Indexes: UNIQUE constraints (origin u) and CREATE [UNIQUE] INDEX
		// (origin c); the primary key's own index (origin pk) is above.
		type index struct {
			name            string
			unique, partial bool
		}
		var idxs []index
		rows, err = db.QueryContext(ctx, `SELECT name, "unique", partial FROM pragma_index_list(?) WHERE origin <> 'pk'`, tbl)
		if err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", tbl, err)
		}
		for rows.Next() {
			var ix index
			if err := rows.Scan(&ix.name, &ix.unique, &ix.partial); err != nil {
				rows.Close()
				return nil, err
			}
			idxs = append(idxs, ix)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, ix := range idxs {
			cols, err := queryStrings(ctx, db, `SELECT coalesce(name, '<expression>') FROM pragma_index_info(?) ORDER BY seqno`, ix.name)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", ix.name, err)
			}
			facts[indexFact(tbl, cols, ix.unique, false, ix.partial)] = true
		}

		// Foreign keys, one per id, columns in order.
		rows, err = db.QueryContext(ctx, `SELECT id, "table", "from", coalesce("to", ''), on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, tbl)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", tbl, err)
		}
		type fk struct {
			ref, onDelete string
			from, to      []string
		}
		fks := map[int]*fk{}
		for rows.Next() {
			var id int
			var ref, from, to, onDelete string
			if err := rows.Scan(&id, &ref, &from, &to, &onDelete); err != nil {
				rows.Close()
				return nil, err
			}
			if fks[id] == nil {
				fks[id] = &fk{ref: ref, onDelete: strings.ToLower(onDelete)}
			}
			fks[id].from = append(fks[id].from, from)
			fks[id].to = append(fks[id].to, to)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, k := range fks {
			if slices.Contains(k.to, "") {
				// REFERENCES t without columns: t's primary key.
				pkCols, err := queryStrings(ctx, db, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, k.ref)
				if err != nil {
					return nil, err
				}
				k.to = pkCols
			}
			facts[fmt.Sprintf("foreign key %s (%s) -> %s (%s) on delete %s", tbl, strings.Join(k.from, ", "), k.ref, strings.Join(k.to, ", "), k.onDelete)] = true
		}
	}
	return facts, nil
}

// sqliteType maps a declared SQLite type to the common vocabulary.
func sqliteType(declared string) string {
	switch t := strings.ToUpper(declared); t {
	case "TEXT":
		return "text"
	case "INTEGER", "BIGINT":
		return "integer"
	case "BOOLEAN":
		return "boolean"
	case "BLOB":
		return "bytes"
	case "TIMESTAMP":
		return "timestamp"
	default:
		return "sqlite " + strings.ToLower(t)
	}
}

// postgresType maps a PostgreSQL data_type to the common vocabulary.
func postgresType(dataType string) string {
	switch dataType {
	case "text":
		return "text"
	case "integer", "bigint", "smallint":
		return "integer"
	case "boolean":
		return "boolean"
	case "bytea":
		return "bytes"
	case "timestamp with time zone":
		return "timestamp"
	default:
		return "postgres " + dataType
	}
}

func postgresSchema(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	facts := map[string]bool{}
	tables, err := queryStrings(ctx, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, err
	}
	for _, tbl := range tables {
		if !skipTable(tbl) {
			facts["table "+tbl] = true
		}
	}

	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable = 'NO', column_default
		FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	for rows.Next() {
		var tbl, col, typ string
		var notNull bool
		var dflt sql.NullString
		if err := rows.Scan(&tbl, &col, &typ, &notNull, &dflt); err != nil {
			rows.Close()
			return nil, err
		}
		if !skipTable(tbl) {
			facts[fmt.Sprintf("column %s.%s %s %s", tbl, col, postgresType(typ), nullability(notNull))] = true
			if dflt.Valid {
				// '{}'::text is '{}' as SQLite shows it.
				facts[fmt.Sprintf("default %s.%s %s", tbl, col, castSuffix.ReplaceAllString(dflt.String, ""))] = true
			}
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	// Indexes, including those behind PRIMARY KEY and UNIQUE constraints.
	rows, err = db.QueryContext(ctx, `SELECT t.relname, ix.indisunique, ix.indisprimary, ix.indpred IS NOT NULL,
			array_to_string(ARRAY(
				SELECT coalesce(a.attname, '<expression>')
				FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
				LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
				ORDER BY k.ord), ',')
		FROM pg_index ix
		JOIN pg_class t ON t.oid = ix.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	for rows.Next() {
		var tbl, cols string
		var unique, primary, partial bool
		if err := rows.Scan(&tbl, &unique, &primary, &partial, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		if !skipTable(tbl) {
			facts[indexFact(tbl, strings.Split(cols, ","), unique, primary, partial)] = true
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	rows, err = db.QueryContext(ctx, `SELECT t.relname, r.relname, c.confdeltype,
			array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord), ','),
			array_to_string(ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord), ',')
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_class r ON r.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	actions := map[string]string{"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
	for rows.Next() {
		var tbl, ref, action, from, to string
		if err := rows.Scan(&tbl, &ref, &action, &from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		facts[fmt.Sprintf("foreign key %s (%s) -> %s (%s) on delete %s", tbl,
			strings.ReplaceAll(from, ",", ", "), ref, strings.ReplaceAll(to, ",", ", "), actions[action])] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return facts, nil
}

func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
