package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each query text once and reuses it, for SQLite, where
// parsing a statement costs more than running a small one. (pgx keeps a
// statement cache of its own on PostgreSQL.) The query texts are the store's
// own constants, so the cache stays small.
//
// Preparing a text takes a connection from the pool. A transaction must not
// wait for one: it holds SQLite's write lock, and the pool's connections may
// all be held by statements waiting for that lock (in SQLite's busy handler),
// which would wait for each other until the busy timeout. So a transaction
// runs a text not yet prepared as it is, on its own connection, and the text
// is prepared in the background for the next time; and no lock of the cache
// is held while a text is being prepared.
type stmtCache struct {
	db     *sql.DB
	ctx    context.Context // cancelled by close: ends background preparations
	cancel context.CancelFunc

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // texts being prepared in the background
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, ctx: ctx, cancel: cancel, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// cached returns query's prepared statement, or nil when it has none yet.
func (c *stmtCache) cached(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// stmt returns query's prepared statement, preparing it on a connection of
// the pool when the cache has none.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := c.cached(query); st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.keep(query, st), nil
}

// keep caches st as query's statement and returns the one cached: st, or one
// that another caller prepared meanwhile (then st is closed).
func (c *stmtCache) keep(query string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	have, ok := c.stmts[query]
	if !ok && !c.closed {
		c.stmts[query] = st
	}
	c.mu.Unlock()
	if ok {
		st.Close()
		return have
	}
	return st // after close, usable until the pool closes but not cached
}

// prepareLater prepares query in the background unless it is cached or
// being prepared already.
func (c *stmtCache) prepareLater(query string) {
	c.mu.Lock()
	if c.closed || c.pending[query] || c.stmts[query] != nil {
		c.mu.Unlock()
		return
	}
	c.pending[query] = true
	c.mu.Unlock()
	go func() {
		st, err := c.db.PrepareContext(c.ctx, query)
		c.mu.Lock()
		delete(c.pending, query)
		if err != nil {
			c.mu.Unlock()
			return // the next transaction runs the text unprepared and tries again
		}
		if c.closed || c.stmts[query] != nil {
			c.mu.Unlock()
			st.Close()
			return
		}
		c.stmts[query] = st
		c.mu.Unlock()
	}()
}

func (c *stmtCache) close() {
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}

// cachedDB runs queries outside transactions through the cache.
type cachedDB struct{ c *stmtCache }

func (d cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := d.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (d cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := d.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (d cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := d.c.stmt(ctx, query)
	if err != nil {
		return d.c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// cachedTx runs queries inside a transaction through the cache. A statement
// prepared on the pool is prepared again on the transaction's connection the
// first time that connection runs it (database/sql does this without taking
// another connection).
type cachedTx struct {
	c  *stmtCache
	tx *sql.Tx
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st := t.c.cached(query)
	if st == nil {
		t.c.prepareLater(query)
		return t.tx.ExecContext(ctx, query, args...)
	}
	return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st := t.c.cached(query)
	if st == nil {
		t.c.prepareLater(query)
		return t.tx.QueryContext(ctx, query, args...)
	}
	return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st := t.c.cached(query)
	if st == nil {
		t.c.prepareLater(query)
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}
