package ratelimit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/onboard-dev/onboard/internal/batch"
)

// Group commit on PostgreSQL: the calls of Allow and AllowAll that arrive
// while an earlier one is being decided wait for it and are then decided
// together. The first caller when nothing is in flight goes at once, alone;
// under concurrency the statements per decision fall with the number of
// callers sharing them.
//
// A batch (one call or many) is one statement when every key it names has
// room for all the events its calls ask for, the usual case: it reads the
// windows, computes the effective limits and counts the events at once
// (pgReadAndCount). Otherwise that statement writes nothing, the calls are
// decided on the windows it read, as if they came one after another in
// arrival order, each up to its first refusal, and a second statement counts
// the shares handed out (pgCountBatch).
//
// The database stays the arbiter, as with a call on its own: each key's
// share is added only if the window then still has room for all of it
// (count + n <= effective limit). When another node took slots meanwhile,
// the events of the keys without room are counted again one at a time, in
// arrival order, with the single-event conditional upsert (sqlIncrement); so
// a window never holds more than its effective limit, whatever the nodes
// do, and a call refused that way may have had its later checks counted, as
// with AllowAll.

// maxBatch is the most calls decided together.
const maxBatch = 128

// isPostgres reports whether db reaches PostgreSQL through pgx.
func isPostgres(db *sql.DB) bool {
	if db == nil {
		return false
	}
	_, ok := db.Driver().(*stdlib.Driver)
	return ok
}

// limitCall is one AllowAll (or Allow) and its decision.
type limitCall struct {
	checks []Check

	d   Decision
	idx int
	err error
}

// coalescer runs calls with run one batch at a time (package batch): a call
// arriving while none is in flight runs at once on its own; the calls
// arriving meanwhile are queued and run together, by one goroutine, when it
// is done.
type coalescer struct {
	run func(ctx context.Context, calls []*limitCall)

	once    sync.Once
	batcher *batch.Batcher[*limitCall]
}

// do decides checks, alone or with the calls concurrent with it.
func (c *coalescer) do(ctx context.Context, checks []Check) (Decision, int, error) {
	c.once.Do(func() { c.batcher = batch.New(maxBatch, c.run) })
	call := &limitCall{checks: checks}
	if err := c.batcher.Do(ctx, call); err != nil {
		// The batch may still count the event: as with a statement
		// cancelled in flight, a cancelled call can be counted.
		return Decision{}, 0, err
	}
	return call.d, call.idx, call.err
}

// PostgreSQL statements of a batch; the keys come as arrays, so each
// statement has one text whatever the batch's size.
const (
	// pgReadAndCount reads the current ($2[i]) and previous ($3[i])
	// windows of each key $1[i], and its effective limit (limit $5[i],
	// window $7[i] ns of which $6[i] ns still lie in the previous one); if
	// every key has room for its share $4[i], it adds the shares, each only
	// if its window then still has room (the count in the answer is null
	// for a key not counted). fits tells whether the shares were tried.
	//
	// The windows are read by one primary-key lookup each (a correlated
	// subquery; OFFSET 0 keeps each evaluated once), never by a join: the
	// statement is prepared per connection, and the generic plan PostgreSQL
	// settles on after five executions, made while the table was still
	// small (a new database, a fresh node), hash-joined the keys with a
	// sequential scan of the whole table, twice per batch, for as long as
	// the plan was cached: every start read every counter of the hour.
	pgReadAndCount = `WITH v AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[])
    AS v(key, ws, pws, n, lim, lft, size)
), s AS (
  SELECT w.key, w.ws, w.n, w.cur, w.prev,
    LEAST(w.lim - div(w.prev::numeric * w.lft, w.size), 2147483647)::bigint AS eff
  FROM (SELECT v.*,
      COALESCE((SELECT c.count FROM rate_limits c WHERE c.key = v.key AND c.window_start = v.ws), 0) AS cur,
      COALESCE((SELECT p.count FROM rate_limits p WHERE p.key = v.key AND p.window_start = v.pws), 0) AS prev
    FROM v OFFSET 0) w
), f AS (
  SELECT NOT EXISTS (SELECT 1 FROM s WHERE s.cur + s.n > s.eff) AS fits
), up AS (
  INSERT INTO rate_limits AS r (key, window_start, count)
  SELECT s.key, s.ws, s.n FROM s, f WHERE f.fits ORDER BY s.key
  ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + excluded.count
  WHERE r.count::bigint + excluded.count <= (SELECT s.eff FROM s WHERE s.key = r.key)
  RETURNING r.key, r.count
)
SELECT s.key, s.cur, s.prev, s.eff, up.count, f.fits FROM s CROSS JOIN f LEFT JOIN up ON up.key = s.key`
	// pgCountBatch adds $3[i] events to the window ($1[i], $2[i]) if it
	// then holds at most $4[i], and returns the new counts; a key missing
	// from the answer had no room for its share. The keys come sorted, so
	// concurrent batches lock their rows in the same order.
	pgCountBatch = `INSERT INTO rate_limits AS r (key, window_start, count)
SELECT v.key, v.ws, v.n FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS v(key, ws, n) ORDER BY v.key
ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + excluded.count
WHERE r.count::bigint + excluded.count <= (SELECT c.cap FROM unnest($1::text[], $4::integer[]) AS c(key, cap) WHERE c.key = r.key LIMIT 1)
RETURNING r.key, r.count`
)

// batchKey is one key of a batch: its rule, windows and share.
type batchKey struct {
	rule      Rule
	start     int64 // current fixed window, unix seconds
	prevStart int64
	w         window
	eff       int64
	want      int64 // events the batch's calls ask for
	local     int64 // count after the shares handed out so far
	base      int64 // count the shares are added to: as read, then as counted
	counted   bool  // the upsert counted the whole share
}

// grant is one event of a call handed a share of a key.
type grant struct {
	key     string
	check   int   // index in the call's checks
	ordinal int64 // place in the key's share, from 0
}

// decideBatch decides calls as if each called AllowAll on its own, one
// after another in the order given, at one instant.
func (s *SQL) decideBatch(ctx context.Context, calls []*limitCall) {
	now := s.now().UnixNano()
	keys := map[string]*batchKey{}
	var solo []*limitCall
	for _, call := range calls {
		if !s.addKeys(keys, call, now) {
			solo = append(solo, call)
		}
	}
	for _, call := range calls {
		if slices.Contains(solo, call) {
			continue
		}
		for _, c := range call.checks {
			if c.Rule.Limit > 0 {
				keys[c.Key].want++
			}
		}
	}
	fits := true
	if len(keys) > 0 {
		var err error
		if fits, err = s.readAndCount(ctx, keys); err != nil {
			for _, call := range calls {
				call.err = err
			}
			return
		}
	}
	grants := make(map[*limitCall][]grant, len(calls))
	for _, call := range calls {
		if slices.Contains(solo, call) {
			continue
		}
		grants[call] = handOut(keys, call)
	}
	// When a key had no room for every call's event, the shares handed out
	// above (in arrival order, up to each call's first refusal) are counted
	// by a second statement.
	var err error
	if !fits {
		err = s.countBatch(ctx, keys)
	}
	if err != nil {
		for _, call := range calls {
			if !slices.Contains(solo, call) {
				call.err = err
			}
		}
	} else {
		for _, call := range calls {
			if !slices.Contains(solo, call) {
				s.settle(ctx, keys, call, grants[call])
			}
		}
	}
	// A call naming a key of the batch under another rule (which callers
	// should not do) is decided on its own.
	for _, call := range solo {
		call.d, call.idx, call.err = s.allowAllDirect(ctx, call.checks)
	}
}

// addKeys adds the limited keys of call to keys; it reports false, adding
// nothing, when one of them is in keys under another rule.
func (s *SQL) addKeys(keys map[string]*batchKey, call *limitCall, now int64) bool {
	for _, c := range call.checks {
		if k, ok := keys[c.Key]; ok && c.Rule.Limit > 0 && k.rule != c.Rule {
			return false
		}
	}
	for _, c := range call.checks {
		if c.Rule.Limit <= 0 || keys[c.Key] != nil {
			continue
		}
		secs := int64(c.Rule.Window / time.Second)
		if c.Rule.Window%time.Second != 0 {
			secs++
		}
		size := secs * int64(time.Second)
		startNs := floorDiv(now, size) * size
		start := startNs / int64(time.Second)
		keys[c.Key] = &batchKey{rule: c.Rule, start: start, prevStart: start - secs,
			w: window{limit: int64(c.Rule.Limit), elapsed: now - startNs, size: size}}
	}
	return true
}

// readAndCount loads the current and previous windows of every key and
// their effective limits, and, if every key has room for all the events
// its calls ask for, counts them, all in one statement: it reports whether
// they were tried. Then a key is marked counted unless another node took
// slots of its window meanwhile.
func (s *SQL) readAndCount(ctx context.Context, keys map[string]*batchKey) (bool, error) {
	n := len(keys)
	names := make([]string, 0, n)
	starts, prevStarts, limits, lefts, sizes := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	wants := make([]int32, 0, n)
	for key, k := range keys {
		names = append(names, key)
		starts, prevStarts = append(starts, k.start), append(prevStarts, k.prevStart)
		wants = append(wants, int32(min(k.want, maxSQLCount)))
		limits = append(limits, k.w.limit)
		lefts, sizes = append(lefts, k.w.size-1-k.w.elapsed), append(sizes, k.w.size)
	}
	fits := false
	err := queryGeneric(ctx, s.db, func(rows rowScanner) error {
		var key string
		var cur, prev, eff int64
		var counted sql.NullInt64
		if err := rows.Scan(&key, &cur, &prev, &eff, &counted, &fits); err != nil {
			return err
		}
		k := keys[key]
		if k == nil {
			return nil
		}
		k.w.cur, k.w.prev, k.eff = cur, prev, eff
		k.local, k.base = cur, cur
		if counted.Valid {
			k.counted = true
			k.base = counted.Int64 - k.want
		}
		return nil
	}, pgReadAndCount, names, starts, prevStarts, wants, limits, lefts, sizes)
	if err != nil {
		return false, fmt.Errorf("read and count windows: %w", err)
	}
	return fits, nil
}

// rowScanner is a row of an answer, of database/sql or of pgx.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryGeneric runs query on PostgreSQL, through pgx, with the generic plan
// of its prepared statement, and calls each with every row of the answer.
//
// The connection's prepared statement would otherwise, with PostgreSQL's
// default plan_cache_mode (auto), be planned anew at every execution for
// small batches: a custom plan knows that the arrays hold, say, two keys,
// and looks cheaper than the generic plan, costed for arrays of ten, so
// PostgreSQL keeps making custom plans, whose planning was about a twentieth
// of the server's CPU per signup start. The generic plan is the one wanted
// (TestReadAndCountPlanUsesKeys), so the statement is sent in one round
// trip after set_config('plan_cache_mode', 'force_generic_plan', true):
// both run in the implicit transaction of the pipeline (pgx.Batch), which
// ends with it, and the setting with it (TestReadAndCountRunsGeneric).
func queryGeneric(ctx context.Context, db *sql.DB, each func(rowScanner) error, query string, args ...any) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection of %T, not pgx", dc)
		}
		b := &pgx.Batch{}
		b.Queue(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`)
		b.Queue(query, args...).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				if err := each(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		return c.Conn().SendBatch(ctx, b).Close()
	})
}

// handOut decides call's checks in order on the windows as read and the
// shares handed out before it, up to the first one without room: it sets
// call's decision when refused and returns the events granted.
func handOut(keys map[string]*batchKey, call *limitCall) []grant {
	var out []grant
	call.d, call.idx = unlimited(), -1
	for i, c := range call.checks {
		if c.Rule.Limit <= 0 {
			continue
		}
		k := keys[c.Key]
		if k.local >= k.eff {
			w := k.w
			w.cur = k.local
			call.d, call.idx = Decision{RetryAfter: retryAfter(w.wait())}, i
			return out
		}
		out = append(out, grant{key: c.Key, check: i, ordinal: k.local - k.w.cur})
		k.local++
	}
	return out
}

// countBatch counts every key's share in one statement, each only if its
// window has room for all of it; the keys counted are marked so.
func (s *SQL) countBatch(ctx context.Context, keys map[string]*batchKey) error {
	var names []string
	for key, k := range keys {
		if k.local > k.w.cur {
			names = append(names, key)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.SortFunc(names, strings.Compare)
	starts := make([]int64, len(names))
	shares := make([]int32, len(names))
	caps := make([]int32, len(names))
	for i, key := range names {
		k := keys[key]
		starts[i], shares[i], caps[i] = k.start, int32(k.local-k.w.cur), int32(k.eff)
	}
	rows, err := s.db.QueryContext(ctx, pgCountBatch, names, starts, shares, caps)
	if err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int64
		if err := rows.Scan(&key, &n); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		if k := keys[key]; k != nil {
			k.counted = true
			k.base = n - (k.local - k.w.cur)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	return nil
}

// settle completes call's decision from its grants: an event of a key
// counted by the batch is allowed; one of a key that had no room for the
// whole share (another node took slots meanwhile) is counted on its own, and
// the call stops at the first one refused.
func (s *SQL) settle(ctx context.Context, keys map[string]*batchKey, call *limitCall, grants []grant) {
	remaining := call.d.Remaining
	if !call.d.Allowed {
		remaining = 0
	}
	for _, g := range grants {
		k := keys[g.key]
		if k.counted {
			remaining = min(remaining, clampInt(max(k.eff-(k.base+g.ordinal+1), 0)))
			continue
		}
		d, err := s.countOne(ctx, g.key, k.start, k.eff, k.w)
		if err != nil {
			call.d, call.idx, call.err = Decision{}, g.check, err
			return
		}
		if !d.Allowed {
			call.d, call.idx = d, g.check
			return
		}
		remaining = min(remaining, d.Remaining)
	}
	if call.d.Allowed {
		call.d.Remaining = remaining
	}
}

// allowAllDirect is AllowAll without the batch.
func (s *SQL) allowAllDirect(ctx context.Context, checks []Check) (Decision, int, error) {
	return (&SQL{db: s.db, now: s.now}).AllowAll(ctx, checks)
}
