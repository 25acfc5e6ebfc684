package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Check is one key and the Rule it is counted under, for AllowAll.
type Check struct {
	Key  string
	Rule Rule
}

// Allower is the part of a Limiter that AllowAll needs.
type Allower interface {
	Allow(ctx context.Context, key string, r Rule) (Decision, error)
}

// BatchLimiter is a Limiter that decides several checks at once, with fewer
// round trips than one Allow per check. AllowAll has the semantics of
// calling Allow for each check in order and stopping at the first refusal.
type BatchLimiter interface {
	// AllowAll counts an event for each check in order up to the first one
	// refused. It returns that check's Decision and index, or, when every
	// check is allowed, an allowed Decision (Remaining the smallest of the
	// checks') and -1.
	AllowAll(ctx context.Context, checks []Check) (Decision, int, error)
}

// AllowAll decides checks as BatchLimiter.AllowAll does: with l's AllowAll
// when l has one, otherwise with one Allow per check in order.
func AllowAll(ctx context.Context, l Allower, checks ...Check) (Decision, int, error) {
	if b, ok := l.(BatchLimiter); ok {
		return b.AllowAll(ctx, checks)
	}
	return allowEach(ctx, l, checks)
}

// allowEach calls Allow for each check in order up to the first refusal.
func allowEach(ctx context.Context, l Allower, checks []Check) (Decision, int, error) {
	all := unlimited()
	for i, c := range checks {
		d, err := l.Allow(ctx, c.Key, c.Rule)
		if err != nil {
			return Decision{}, i, err
		}
		if !d.Allowed {
			return d, i, nil
		}
		all.Remaining = min(all.Remaining, d.Remaining)
	}
	return all, -1, nil
}

// sqlCheck is one limited check of SQL.AllowAll.
type sqlCheck struct {
	idx       int // index in the caller's checks
	key       string
	start     int64 // current fixed window, unix seconds
	prevStart int64
	w         window
	eff       int64
}

// AllowAll implements BatchLimiter with two statements for any number of
// checks, instead of two per check: one reads the current and previous
// windows of every key, one conditional upsert counts the event in each key
// that has room. The upsert keeps the guarantee of Allow: a window never
// holds more events than its effective limit, whatever other callers (on any
// node) do meanwhile. When a concurrent caller takes the last slot of a
// check between the read and the upsert, that check is refused and the
// checks after it in the same call may have been counted: a refusal can then
// count more than Allow in sequence would, never less. On PostgreSQL the
// calls are batched instead (see coalesce.go): one statement when every key
// has room, two otherwise, shared by the concurrent calls.
func (s *SQL) AllowAll(ctx context.Context, checks []Check) (Decision, int, error) {
	var todo []sqlCheck
	seen := map[string]bool{}
	now := s.now().UnixNano()
	for i, c := range checks {
		if c.Rule.Limit <= 0 {
			continue
		}
		if c.Rule.Window <= 0 || c.Rule.Window > maxSQLWindow {
			return Decision{}, i, fmt.Errorf("ratelimit: sql allow %q with window %v: %w", c.Key, c.Rule.Window, ErrInvalidRule)
		}
		if seen[c.Key] {
			// One statement cannot count one row twice.
			return allowEach(ctx, s, checks)
		}
		seen[c.Key] = true
		secs := int64(c.Rule.Window / time.Second)
		if c.Rule.Window%time.Second != 0 {
			secs++
		}
		size := secs * int64(time.Second)
		startNs := floorDiv(now, size) * size
		start := startNs / int64(time.Second)
		todo = append(todo, sqlCheck{idx: i, key: c.Key, start: start, prevStart: start - secs,
			w: window{limit: int64(c.Rule.Limit), elapsed: now - startNs, size: size}})
	}
	if s.batch != nil && len(todo) > 0 {
		d, i, err := s.batch.do(ctx, checks)
		if err != nil {
			return Decision{}, i, fmt.Errorf("ratelimit: sql allow all: %w", err)
		}
		return d, i, nil
	}
	switch len(todo) {
	case 0:
		return unlimited(), -1, nil
	case 1:
		d, err := s.Allow(ctx, todo[0].key, checks[todo[0].idx].Rule)
		if err != nil || !d.Allowed {
			return d, todo[0].idx, err
		}
		return d, -1, nil
	}
	var (
		d   Decision
		idx int
	)
	err := s.write(ctx, func() error {
		var err error
		d, idx, err = s.decideAll(ctx, todo)
		return err
	})
	if err != nil {
		return Decision{}, idx, err
	}
	return d, idx, nil
}

// decideAll reads the windows of todo (two or more checks with distinct
// keys) and counts their events as AllowAll says.
func (s *SQL) decideAll(ctx context.Context, todo []sqlCheck) (Decision, int, error) {
	if err := s.readAllWindows(ctx, todo); err != nil {
		return Decision{}, todo[0].idx, err
	}
	// The checks before the first one without room are counted, as Allow in
	// sequence would.
	refused := -1
	for i := range todo {
		todo[i].eff = min(todo[i].w.effectiveLimit(), maxSQLCount)
		if todo[i].w.cur >= todo[i].eff {
			refused = i
			break
		}
	}
	count := todo
	if refused >= 0 {
		count = todo[:refused]
	}
	counted, err := s.countAll(ctx, count)
	if err != nil {
		return Decision{}, todo[0].idx, err
	}
	all := unlimited()
	for _, c := range count {
		n, ok := counted[c.key]
		if !ok {
			// A concurrent caller filled the window meanwhile.
			return s.refuse(ctx, c), c.idx, nil
		}
		all.Remaining = min(all.Remaining, clampInt(max(c.eff-n, 0)))
	}
	if refused >= 0 {
		c := todo[refused]
		return Decision{RetryAfter: retryAfter(c.w.wait())}, c.idx, nil
	}
	return all, -1, nil
}

// refuse is the Decision for check c found full at the upsert: its window is
// read again for RetryAfter.
func (s *SQL) refuse(ctx context.Context, c sqlCheck) Decision {
	w := c.w
	if err := s.db.QueryRowContext(ctx, sqlSelectWindow, c.key, c.start).Scan(&w.cur); err != nil {
		w.cur = 0 // the answer is a refusal either way; eff below bounds the wait
	}
	w.cur = max(w.cur, c.eff)
	return Decision{RetryAfter: retryAfter(w.wait())}
}

// readAllWindows loads the current and previous windows of every check.
func (s *SQL) readAllWindows(ctx context.Context, todo []sqlCheck) error {
	var b strings.Builder
	b.WriteString(`SELECT key, window_start, count FROM rate_limits WHERE `)
	args := make([]any, 0, 3*len(todo))
	for i, c := range todo {
		if i > 0 {
			b.WriteString(" OR ")
		}
		n := len(args)
		fmt.Fprintf(&b, "(key = $%d AND window_start IN ($%d, $%d))", n+1, n+2, n+3)
		args = append(args, c.key, c.start, c.prevStart)
	}
	rows, err := s.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("ratelimit: sql allow all: read windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var ws, n int64
		if err := rows.Scan(&key, &ws, &n); err != nil {
			return fmt.Errorf("ratelimit: sql allow all: scan window: %w", err)
		}
		for i := range todo {
			if todo[i].key != key {
				continue
			}
			switch ws {
			case todo[i].start:
				todo[i].w.cur = n
			case todo[i].prevStart:
				todo[i].w.prev = n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ratelimit: sql allow all: read windows: %w", err)
	}
	return nil
}

// countAll counts one event in the current window of each check that still
// holds fewer than its effective limit, in one statement, and returns the
// new counts by key; a key missing from the answer had no room. The rows
// are written in key order, so that concurrent calls lock them in the same
// order and cannot deadlock.
func (s *SQL) countAll(ctx context.Context, todo []sqlCheck) (map[string]int64, error) {
	if len(todo) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(todo)
	slices.SortFunc(sorted, func(a, b sqlCheck) int { return strings.Compare(a.key, b.key) })
	var values, caps strings.Builder
	args := make([]any, 0, 3*len(sorted))
	for i, c := range sorted {
		if i > 0 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($%d, $%d, 1)", n+1, n+2)
		fmt.Fprintf(&caps, " WHEN $%d THEN CAST($%d AS INTEGER)", n+1, n+3)
		args = append(args, c.key, c.start, c.eff)
	}
	q := `INSERT INTO rate_limits (key, window_start, count) VALUES ` + values.String() + `
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
WHERE rate_limits.count < CASE rate_limits.key` + caps.String() + ` END
RETURNING key, count`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: sql allow all: count events: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(sorted))
	for rows.Next() {
		var key string
		var n int64
		if err := rows.Scan(&key, &n); err != nil {
			return nil, fmt.Errorf("ratelimit: sql allow all: count events: %w", err)
		}
		out[key] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ratelimit: sql allow all: count events: %w", err)
	}
	return out, nil
}
