package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	// memoryShards is the number of independently locked shards of a Memory.
	memoryShards = 32
	// defaultMaxPerShard caps the entries of one shard, so a Memory holds at
	// most memoryShards*defaultMaxPerShard (about half a million) keys.
	defaultMaxPerShard = 1 << 14
	// tailSweepPerCall is how many stale entries one Allow may drop from
	// the least recently used end of its shard.
	tailSweepPerCall = 4
	// minFullSweep is the shard size below which no full sweep is done.
	minFullSweep = 1024
)

// Memory is an in-process Limiter, safe for concurrent use.
//
// Keys are spread over 32 mutex-protected shards by FNV-1a hash. Each shard
// keeps its entries in least-recently-used order; memory stays bounded
// without a background goroutine:
//
//   - every Allow drops a few entries from the least recently used end of its
//     shard if they are stale (no event for two windows, so forgetting them
//     changes no decision);
//   - when a shard has doubled in size since its last full sweep, all its
//     entries are checked and the stale ones dropped;
//   - a shard never holds more than 16384 entries: past that the least
//     recently used entry is evicted, even if not stale, so a flood of
//     distinct keys cannot grow memory without bound (at the price of
//     forgetting the counts of the keys idle the longest).
//
// The counts live in one process: a service running several nodes should
// use SQL instead, or accept per-node limits.
type Memory struct {
	now         func() time.Time
	maxPerShard int
	shards      [memoryShards]memShard
}

// memKey identifies an entry: a key is counted separately per window length.
type memKey struct {
	key    string
	window int64
}

// memEntry holds the counts of one key; it is a node of its shard's LRU list.
type memEntry struct {
	k     memKey
	start int64 // start of the current fixed window, Unix ns
	cur   int64 // events in the current fixed window
	prev  int64 // events in the previous fixed window

	newer, older *memEntry
}

// stale reports whether e is no longer needed at now: both of its windows
// are over, so a fresh entry would decide the same.
func (e *memEntry) stale(now int64) bool {
	d := now - e.start
	return d >= e.k.window && d-e.k.window >= e.k.window
}

// roll moves e to the fixed window starting at start.
func (e *memEntry) roll(start int64) {
	switch {
	case start == e.start:
	case start == e.start+e.k.window:
		e.prev, e.cur, e.start = e.cur, 0, start
	case start > e.start:
		e.prev, e.cur, e.start = 0, 0, start
	default:
		// The clock went backwards (or callers raced reading it): keep
		// counting in the entry's current window.
	}
}

// memShard is one locked part of a Memory.
type memShard struct {
	mu            sync.Mutex
	entries       map[memKey]*memEntry
	newest        *memEntry // head of the LRU list
	oldest        *memEntry // tail of the LRU list
	nextFullSweep int       // size at which the next full sweep happens
	_             [64]byte  // keep shards on separate cache lines
}

// NewMemory returns an empty in-memory Limiter reading the time from now,
// or from time.Now when now is nil.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, maxPerShard: defaultMaxPerShard}
	for i := range m.shards {
		m.shards[i].entries = make(map[memKey]*memEntry)
		m.shards[i].nextFullSweep = minFullSweep
	}
	return m
}

// Allow implements Limiter. It never fails for a valid Rule; ctx is unused
// since no I/O is done.
func (m *Memory) Allow(_ context.Context, key string, r Rule) (Decision, error) {
	if r.Limit <= 0 {
		return unlimited(), nil
	}
	if r.Window <= 0 {
		return Decision{}, fmt.Errorf("ratelimit: memory allow %q with window %v: %w", key, r.Window, ErrInvalidRule)
	}
	size := int64(r.Window)
	now := m.now().UnixNano()
	start := floorDiv(now, size) * size
	k := memKey{key: key, window: size}

	sh := &m.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	sh.sweepOldest(now, tailSweepPerCall)
	e := sh.entries[k]
	if e == nil {
		sh.makeRoom(now, m.maxPerShard)
		e = &memEntry{k: k, start: start}
		sh.entries[k] = e
	} else {
		sh.unlink(e)
		e.roll(start)
	}
	sh.pushNewest(e)

	elapsed := min(max(now-e.start, 0), size-1)
	allowed, remaining, wait := window{
		limit:   int64(r.Limit),
		cur:     e.cur,
		prev:    e.prev,
		elapsed: elapsed,
		size:    size,
	}.decide()
	if !allowed {
		return Decision{RetryAfter: retryAfter(wait)}, nil
	}
	e.cur++
	return Decision{Allowed: true, Remaining: clampInt(remaining)}, nil
}

// len returns the number of entries held, for tests.
func (m *Memory) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// shardOf returns the shard index of key (FNV-1a, inlined to avoid
// allocating a hash.Hash).
func shardOf(key string) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= prime32
	}
	return int(h % memoryShards)
}

// makeRoom prepares the shard for one more entry: a full sweep when it has
// doubled since the last one, then LRU eviction down to below limit.
func (sh *memShard) makeRoom(now int64, limit int) {
	if len(sh.entries) >= sh.nextFullSweep {
		sh.sweepAll(now)
		sh.nextFullSweep = max(2*len(sh.entries), minFullSweep)
	}
	for len(sh.entries) >= limit && sh.oldest != nil {
		sh.remove(sh.oldest)
	}
}

// sweepOldest drops up to n stale entries from the least recently used end.
func (sh *memShard) sweepOldest(now int64, n int) {
	for ; n > 0 && sh.oldest != nil && sh.oldest.stale(now); n-- {
		sh.remove(sh.oldest)
	}
}

// sweepAll drops every stale entry of the shard.
func (sh *memShard) sweepAll(now int64) {
	for e := sh.oldest; e != nil; {
		newer := e.newer
		if e.stale(now) {
			sh.remove(e)
		}
		e = newer
	}
}

// remove unlinks e and deletes it from the map.
func (sh *memShard) remove(e *memEntry) {
	sh.unlink(e)
	delete(sh.entries, e.k)
}

// unlink takes e out of the LRU list.
func (sh *memShard) unlink(e *memEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		sh.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		sh.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

// pushNewest puts an unlinked e at the most recently used end.
func (sh *memShard) pushNewest(e *memEntry) {
	e.older = sh.newest
	if sh.newest != nil {
		sh.newest.newer = e
	} else {
		sh.oldest = e
	}
	sh.newest = e
}

// Peek reports what Allow would decide for key now, without counting an event.
func (m *Memory) Peek(_ context.Context, key string, r Rule) (Decision, error) {
	if r.Limit <= 0 {
		return unlimited(), nil
	}
	if r.Window <= 0 {
		return Decision{}, fmt.Errorf("ratelimit: memory peek %q with window %v: %w", key, r.Window, ErrInvalidRule)
	}
	size := int64(r.Window)
	now := m.now().UnixNano()
	start := floorDiv(now, size) * size
	sh := &m.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.entries[memKey{key: key, window: size}]
	if e == nil {
		return Decision{Allowed: true, Remaining: r.Limit}, nil
	}
	snap := *e
	snap.roll(start)
	allowed, remaining, wait := window{
		limit:   int64(r.Limit),
		cur:     snap.cur,
		prev:    snap.prev,
		elapsed: min(max(now-snap.start, 0), size-1),
		size:    size,
	}.decide()
	if !allowed {
		return Decision{RetryAfter: retryAfter(wait)}, nil
	}
	return Decision{Allowed: true, Remaining: clampInt(remaining + 1)}, nil
}
