package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// SQL statements, valid on both PostgreSQL and SQLite.
const (
	// sqlSelectWindows reads the counts of the current and previous windows.
	sqlSelectWindows = `SELECT window_start, count FROM rate_limits WHERE key = $1 AND window_start IN ($2, $3)`
	// sqlSelectWindow reads the count of one window.
	sqlSelectWindow = `SELECT count FROM rate_limits WHERE key = $1 AND window_start = $2`
	// sqlIncrement counts one event in a window unless that window already
	// holds $3 events; no row is returned when it does. It is a single
	// atomic statement, so concurrent callers (on any number of nodes)
	// never push a window past $3.
	sqlIncrement = `INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
WHERE rate_limits.count < $3
RETURNING count`
	// sqlSweep deletes the windows that started before $1.
	sqlSweep = `DELETE FROM rate_limits WHERE window_start < $1`
)

// maxSQLCount is the largest count the INTEGER column holds on every engine;
// effective limits above it are capped to it.
const maxSQLCount = math.MaxInt32

// maxSQLWindow is the longest Window SQL accepts, so that its length in
// nanoseconds, rounded up to whole seconds, cannot overflow.
const maxSQLWindow = time.Duration(math.MaxInt64) - time.Second

// SQL is a Limiter keeping its counts in the rate_limits table of a database
// shared by many service nodes. It works on PostgreSQL (driver "pgx") and
// SQLite (driver "sqlite"); the table is created by the service's migrations:
//
//	CREATE TABLE rate_limits (
//	    key          TEXT    NOT NULL,
//	    window_start BIGINT  NOT NULL,   -- unix seconds of the fixed window start
//	    count        INTEGER NOT NULL,
//	    PRIMARY KEY (key, window_start)
//	);
//
// Fixed windows are aligned to whole seconds, so a Rule.Window that is not a
// whole number of seconds is rounded up to one (and to at least 1s). Limits
// above 2^31-1 are capped to it.
//
// Each Allow reads the current and previous windows of its key, folds the
// weighted previous count into an effective limit for the current window,
// and, if that leaves room, counts the event with one conditional upsert
// that refuses atomically when a concurrent caller took the last slot. A
// refused event writes nothing. Old windows are not deleted by Allow: call
// Sweep periodically.
//
// On PostgreSQL, the calls of Allow and AllowAll made while another is in
// flight are decided together, by one statement reading and counting when
// every key has room (group commit, see coalesce.go), with the same guarantee: the database
// decides, and a window never holds more than its effective limit whatever
// the nodes do.
//
// The nodes' clocks should agree to well within a window.
type SQL struct {
	db  *sql.DB
	now func() time.Time
	// batch gathers concurrent calls into one read and one upsert; nil on
	// SQLite, where every call goes on its own.
	batch *coalescer
	// writes runs each decision that may write, and Sweep (see WithWrites).
	writes func(ctx context.Context, fn func() error) error
}

// SQLOption is a setting of NewSQL.
type SQLOption func(*SQL)

// WithWrites makes the limiter run each decision that may write (the read
// of the windows and the conditional upsert that follows it) and each Sweep
// as fn inside run. On SQLite, which has one writer at a time, run should
// hold the slot in which the application's transactions take their turns
// (store.Store.InWriterSlot): the limiter's writes then queue with the
// transactions instead of waiting for SQLite's write lock in its busy
// handler, which holds a connection meanwhile and polls with sleeps. run
// must call fn at most once and return its error. It is not used for the
// batched decisions on PostgreSQL.
func WithWrites(run func(ctx context.Context, fn func() error) error) SQLOption {
	return func(s *SQL) { s.writes = run }
}

// NewSQL returns a Limiter over db reading the time from now, or from
// time.Now when now is nil.
func NewSQL(db *sql.DB, now func() time.Time, opts ...SQLOption) *SQL {
	if now == nil {
		now = time.Now
	}
	s := &SQL{db: db, now: now}
	for _, opt := range opts {
		opt(s)
	}
	if isPostgres(db) {
		s.batch = &coalescer{run: s.decideBatch}
	}
	return s
}

// write runs fn as WithWrites says: inside the configured run, or directly.
func (s *SQL) write(ctx context.Context, fn func() error) error {
	if s.writes == nil {
		return fn()
	}
	return s.writes(ctx, fn)
}

// Allow implements Limiter.
func (s *SQL) Allow(ctx context.Context, key string, r Rule) (Decision, error) {
	if r.Limit <= 0 {
		return unlimited(), nil
	}
	if r.Window <= 0 || r.Window > maxSQLWindow {
		return Decision{}, fmt.Errorf("ratelimit: sql allow %q with window %v: %w", key, r.Window, ErrInvalidRule)
	}
	if s.batch != nil {
		d, _, err := s.batch.do(ctx, []Check{{Key: key, Rule: r}})
		if err != nil {
			return Decision{}, fmt.Errorf("ratelimit: sql allow %q: %w", key, err)
		}
		return d, nil
	}
	secs := int64(r.Window / time.Second)
	if r.Window%time.Second != 0 {
		secs++
	}
	size := secs * int64(time.Second)
	now := s.now().UnixNano()
	startNs := floorDiv(now, size) * size
	start := startNs / int64(time.Second) // exact: size is whole seconds
	prevStart := start - secs

	w := window{limit: int64(r.Limit), elapsed: now - startNs, size: size}
	var d Decision
	err := s.write(ctx, func() error {
		if err := s.readWindows(ctx, key, start, prevStart, &w); err != nil {
			return err
		}
		eff := min(w.effectiveLimit(), maxSQLCount)
		if w.cur >= eff {
			d = Decision{RetryAfter: retryAfter(w.wait())}
			return nil
		}
		var err error
		d, err = s.countOne(ctx, key, start, eff, w)
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// countOne counts one event in key's window start unless it holds eff events
// already, and returns the decision; w is the window as read, for RetryAfter.
func (s *SQL) countOne(ctx context.Context, key string, start, eff int64, w window) (Decision, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, sqlIncrement, key, start, eff).Scan(&n)
	switch {
	case err == nil:
		return Decision{Allowed: true, Remaining: clampInt(max(eff-n, 0))}, nil
	case errors.Is(err, sql.ErrNoRows):
		// A concurrent caller filled the window between the read and the
		// upsert: re-read the count for RetryAfter.
		err = s.db.QueryRowContext(ctx, sqlSelectWindow, key, start).Scan(&w.cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Decision{}, fmt.Errorf("ratelimit: sql allow %q: re-read window %d: %w", key, start, err)
		}
		w.cur = max(w.cur, eff)
		return Decision{RetryAfter: retryAfter(w.wait())}, nil
	default:
		return Decision{}, fmt.Errorf("ratelimit: sql allow %q: count event in window %d: %w", key, start, err)
	}
}

// readWindows loads the counts of key's current window (start) and previous
// window (prevStart) into w.
func (s *SQL) readWindows(ctx context.Context, key string, start, prevStart int64, w *window) error {
	rows, err := s.db.QueryContext(ctx, sqlSelectWindows, key, start, prevStart)
	if err != nil {
		return fmt.Errorf("ratelimit: sql allow %q: read windows: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ws, n int64
		if err := rows.Scan(&ws, &n); err != nil {
			return fmt.Errorf("ratelimit: sql allow %q: scan window: %w", key, err)
		}
		switch ws {
		case start:
			w.cur = n
		case prevStart:
			w.prev = n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ratelimit: sql allow %q: read windows: %w", key, err)
	}
	return nil
}

// Sweep deletes the windows that started more than olderThan ago and returns
// how many rows it deleted. Allow only ever reads the current and previous
// window of a key, so olderThan should be at least twice the longest
// Rule.Window in use; it must be positive.
func (s *SQL) Sweep(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("ratelimit: sql sweep: olderThan must be positive, got %v", olderThan)
	}
	cutoff := floorDiv(s.now().Add(-olderThan).UnixNano(), int64(time.Second))
	var n int64
	err := s.write(ctx, func() error {
		res, err := s.db.ExecContext(ctx, sqlSweep, cutoff)
		if err != nil {
			return fmt.Errorf("ratelimit: sql sweep windows before %d: %w", cutoff, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("ratelimit: sql sweep: rows affected: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Peek reports what Allow would decide for key now, without counting an event.
func (s *SQL) Peek(ctx context.Context, key string, r Rule) (Decision, error) {
	if r.Limit <= 0 {
		return unlimited(), nil
	}
	if r.Window <= 0 || r.Window > maxSQLWindow {
		return Decision{}, fmt.Errorf("ratelimit: sql peek %q with window %v: %w", key, r.Window, ErrInvalidRule)
	}
	secs := int64(r.Window / time.Second)
	if r.Window%time.Second != 0 {
		secs++
	}
	size := secs * int64(time.Second)
	now := s.now().UnixNano()
	startNs := floorDiv(now, size) * size
	start := startNs / int64(time.Second)
	w := window{limit: int64(r.Limit), elapsed: now - startNs, size: size}
	if err := s.readWindows(ctx, key, start, start-secs, &w); err != nil {
		return Decision{}, err
	}
	eff := min(w.effectiveLimit(), maxSQLCount)
	if w.cur >= eff {
		return Decision{RetryAfter: retryAfter(w.wait())}, nil
	}
	return Decision{Allowed: true, Remaining: clampInt(eff - w.cur)}, nil
}
