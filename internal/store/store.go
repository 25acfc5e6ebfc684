// Package store keeps onboard's data in SQL: SQLite (embedded default) or PostgreSQL.
// It holds the embedded migrations of both engines, every query (accounts,
// sessions, the back office, B2B, jobs, the mail outbox, rate limits), the
// transactions and the sealing of secrets at rest (secretbox). All queries
// are plain SQL shared by both engines; the few differences live in dialect.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/secretbox"
)

// Engine names a database engine.
type Engine string

// Supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// rowLock is a row-locking clause of a SELECT on PostgreSQL.
type rowLock string

// The row locks the queries take.
const (
	forUpdate           rowLock = " FOR UPDATE"
	forShare            rowLock = " FOR SHARE"
	forUpdateSkipLocked rowLock = " FOR UPDATE SKIP LOCKED"
)

// lock returns the clause to append to a SELECT that locks its rows until the
// transaction ends: l on PostgreSQL, nothing on SQLite, whose transactions
// hold the database's write lock and so are serialized already.
func (e Engine) lock(l rowLock) string {
	if e == Postgres {
		return string(l)
	}
	return ""
}

// Store is the database. Its methods run outside a transaction; InTx runs a
// function inside one.
type Store struct {
	Queries
	db     *sql.DB
	pool   *pgxpool.Pool
	engine Engine
	// writer serializes transactions on SQLite, which allows one writer at a
	// time: waiting here queues them in order, where contending for the
	// database lock would poll with sleeps (SQLite's busy handler) and give
	// long tail latencies. Nil on PostgreSQL.
	writer chan struct{}
	stmts  *stmtCache    // prepared statements, SQLite only
	ckpt   *checkpointer // WAL checkpoints, SQLite only (see checkpoint.go)
	box    *secretbox.Keyring
	span   SpanFunc // nil unless tracing is on
	// discardEvents drops queued events (measurements only, see
	// DiscardEventsForMeasurement).
	discardEvents atomic.Bool
	// eventsWritten counts the events this process has written (see
	// EventsWritten).
	eventsWritten atomic.Int64
}

// Option is a setting of Open.
type Option func(*options)

type options struct {
	keyring     *secretbox.Keyring
	queryTracer pgx.QueryTracer
	span        SpanFunc
}

// SpanFunc starts a trace span named name and returns its context and a
// function that ends it with the outcome.
type SpanFunc func(ctx context.Context, name string) (context.Context, func(error))

// WithQueryTracer traces every statement on PostgreSQL (pgx's tracer hook).
func WithQueryTracer(t pgx.QueryTracer) Option {
	return func(o *options) { o.queryTracer = t }
}

// WithSpans makes every transaction (InTx) a trace span, on both engines.
func WithSpans(f SpanFunc) Option {
	return func(o *options) { o.span = f }
}

// WithKeyring sets the keyring that seals the secrets stored at rest (mail
// bodies, the Partner Provider secret, introspection client secrets). The
// service and its commands always pass the configured keyring; without this
// option the store seals under a random key that lives only as long as the
// process (enough for tests and tools that do not reopen what they sealed).
func WithKeyring(k *secretbox.Keyring) Option {
	return func(o *options) { o.keyring = k }
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL
// selects PostgreSQL, anything else is a SQLite file path.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.keyring == nil {
		k, err := secretbox.Parse(secretbox.Generate(time.Now()))
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		o.keyring = k
	}
	var s *Store
	var err error
	if IsPostgresDSN(dsn) {
		s, err = openPostgres(ctx, dsn, o.queryTracer)
	} else {
		s, err = openSQLite(ctx, dsn, defaultCheckpointConfig())
	}
	if err != nil {
		return nil, err
	}
	s.box = o.keyring
	s.Queries.box = o.keyring
	s.span = o.span
	return s, nil
}

// SQLitePath returns the file path a SQLite DSN names.
func SQLitePath(dsn string) string {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// uriPath escapes the characters of a file path that a SQLite URI filename
// would otherwise read as the start of its query or fragment, or as an
// escape ('%', '?', '#').
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// prepareSQLiteFiles creates the database file with mode 0600 when it does
// not exist, and takes group and other permissions away from the database
// and its WAL and shared-memory files when they exist. SQLite creates the WAL
// and shared-memory files with the database file's permissions.
func prepareSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

func openSQLite(ctx context.Context, path string, ckpt checkpointConfig) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	path = SQLitePath(path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := prepareSQLiteFiles(abs); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{}
	// wal_autocheckpoint(0): commits do not checkpoint; the checkpointer does.
	// secure_delete(ON): deleted content (erased mail bodies, deleted rows)
	// is overwritten with zeros instead of lingering in free pages.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)", "secure_delete(ON)",
		"wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", ckpt.journalSizeLimit())} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+uriPath(abs)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Eight connections for queries and one that the checkpointer keeps.
	db.SetMaxOpenConns(9)
	db.SetMaxIdleConns(9)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s := &Store{db: db, engine: SQLite, writer: make(chan struct{}, 1), stmts: newStmtCache(db)}
	s.Queries = Queries{q: cachedDB{s.stmts}, engine: SQLite}
	if s.ckpt, err = startCheckpointer(ctx, db, s.writer, ckpt); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, tracer pgx.QueryTracer) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{db: db, pool: pool, engine: Postgres}
	s.Queries = Queries{q: db, engine: Postgres}
	return s, nil
}

// Close closes the database. On SQLite it first stops the checkpointer and,
// after any transaction that holds the writer slot, checkpoints the whole WAL.
func (s *Store) Close() error {
	var errs []error
	if s.ckpt != nil {
		if err := s.ckpt.close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite: %w", err))
		}
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	if s.pool != nil {
		s.pool.Close()
	}
	return errors.Join(errs...)
}

// DB returns the underlying *sql.DB (for the rate limiter and health checks).
func (s *Store) DB() *sql.DB { return s.db }

// Engine tells which engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// InWriterSlot runs fn while holding the writer slot on SQLite, and directly
// on PostgreSQL. It is for statements that write on the pool (DB) outside a
// transaction, such as the rate limiter's: in the slot they never wait for
// SQLite's write lock in its busy handler, holding a connection that a
// transaction holding the lock may need, and they queue in order behind the
// transactions instead of polling. fn must not call InTx or InWriterSlot.
func (s *Store) InWriterSlot(ctx context.Context, fn func() error) error {
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-ctx.Done():
			return fmt.Errorf("writer slot: %w", ctx.Err())
		}
	}
	return fn()
}

// Tx is a transaction; it has every method of Queries.
type Tx struct {
	Queries
	tx *sql.Tx
	// events are the events queued by QueueEvent, written at commit.
	events        []StoredEvent
	discardEvents bool
	eventsWritten *atomic.Int64
}

// InTx runs fn in one transaction, committing when fn returns nil and rolling
// back otherwise. On SQLite the transaction takes the write lock at BEGIN.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if s.span != nil {
		var end func(error)
		ctx, end = s.span(ctx, "db.transaction")
		defer func() { end(err) }()
	}
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-ctx.Done():
			return fmt.Errorf("begin: %w", ctx.Err())
		}
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var q querier = sqlTx
	if s.stmts != nil {
		q = cachedTx{s.stmts, sqlTx}
	}
	tx := &Tx{Queries: Queries{q: q, engine: s.engine, box: s.box}, tx: sqlTx, discardEvents: s.discardEvents.Load(), eventsWritten: &s.eventsWritten}
	err = fn(tx)
	if err == nil {
		err = tx.flushEvents(ctx)
	}
	if err != nil {
		if rerr := sqlTx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries holds every query; Store runs them on the pool and Tx inside a transaction.
type Queries struct {
	q      querier
	engine Engine
	box    *secretbox.Keyring // seals secrets at rest (see secrets.go)
}

// NewID returns a new time-ordered opaque id.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Now returns the current time as stored: UTC, microsecond precision.
func Now() time.Time { return Timestamp(time.Now()) }

// Timestamp normalizes t to what both engines store: UTC, microseconds.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// mapErr turns engine-specific constraint errors into domain sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", domain.ErrDuplicate, pgErr.ConstraintName)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", domain.ErrDuplicate, sqErr.Error())
		}
	}
	return err
}
