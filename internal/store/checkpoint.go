package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite checkpoints run off the request path.
//
// In WAL mode a commit appends its pages to the -wal file, and a checkpoint
// copies them into the database file. SQLite's automatic checkpoint runs in
// the commit that takes the WAL past 1000 pages: that request waits for the
// copy and its fsyncs while it holds the writer slot, and so does every
// transaction queued behind it. The store opens SQLite with
// wal_autocheckpoint(0) instead, and a checkpointer goroutine, started by Open
// and stopped by Close, does the work:
//
//   - Every interval it runs a PASSIVE checkpoint, which copies what it can
//     without waiting for readers or writers; writers go on appending
//     meanwhile. With nothing new in the WAL it returns at once.
//   - A checkpoint that runs beside writers never catches up with them, and
//     SQLite writes the WAL from its start again only when a transaction
//     begins with every frame copied and no reader on an older snapshot.
//     Under constant load the file would grow without bound. So once the WAL
//     holds restartFrames frames, the checkpointer copies the frames appended
//     meanwhile with further PASSIVE checkpoints (up to three, until one is
//     quick), then takes the writer slot (transactions of this process queue
//     behind it) and copies the few that are left: the next transaction
//     starts the WAL over.
//   - Readers of older snapshots can keep that from happening. When the WAL
//     reaches hardFrames all the same, the checkpointer runs a RESTART
//     checkpoint in the writer slot, which also waits (up to restartWait)
//     for those readers to finish. journal_size_limit trims the file when it
//     starts over, so that a burst does not leave it large.
//   - Close runs a TRUNCATE checkpoint, which leaves an empty WAL.
//
// A checkpoint copies only committed pages, so a crash at any point leaves
// the database as of its last commit (WAL recovery), checkpointed or not.

// checkpointConfig tunes the checkpointer.
type checkpointConfig struct {
	interval      time.Duration // between PASSIVE checkpoints
	restartFrames int           // WAL frames from which the checkpointer copies the rest in the writer slot
	restartWait   time.Duration // how long a RESTART checkpoint retries while readers are in the way
}

func defaultCheckpointConfig() checkpointConfig {
	// 2048 frames of 4 KiB pages is a WAL of 8 MiB.
	return checkpointConfig{interval: 50 * time.Millisecond, restartFrames: 2048, restartWait: 10 * time.Millisecond}
}

// hardFrames is the WAL length from which the checkpointer waits for readers.
func (c checkpointConfig) hardFrames() int { return 4 * c.restartFrames }

// journalSizeLimit is the size in bytes to which SQLite trims the WAL when it
// starts it over.
func (c checkpointConfig) journalSizeLimit() int64 { return int64(c.hardFrames()) * 4096 }

// checkpointer runs the checkpoints of one SQLite store on a connection of
// its own.
type checkpointer struct {
	cfg    checkpointConfig
	conn   *sql.Conn
	writer chan struct{} // the store's writer slot
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	stats checkpointStats
}

// checkpointStats count what the checkpointer did, for tests and diagnosis.
type checkpointStats struct {
	passive   atomic.Int64 // PASSIVE checkpoints run outside the writer slot
	inSlot    atomic.Int64 // times the checkpointer took the writer slot
	restarts  atomic.Int64 // RESTART or TRUNCATE checkpoints run
	busy      atomic.Int64 // of those, ones that readers kept from finishing
	failures  atomic.Int64 // ticks that failed with an error
	maxFrames atomic.Int64 // largest WAL seen, in frames
	maxHold   atomic.Int64 // longest time in the writer slot, in nanoseconds
	lastErr   atomic.Pointer[error]
}

// startCheckpointer takes a connection of db for the checkpointer and starts it.
func startCheckpointer(ctx context.Context, db *sql.DB, writer chan struct{}, cfg checkpointConfig) (*checkpointer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpointer connection: %w", err)
	}
	// Readers in the way of a RESTART or TRUNCATE checkpoint make it return
	// busy at once, and restart retries at short intervals: SQLite's busy
	// handler sleeps 1, 2, 5, 10 ms … between attempts, much longer than the
	// reads it waits for, while writers wait for the slot.
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("checkpointer busy timeout: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{cfg: cfg, conn: conn, writer: writer, cancel: cancel, done: make(chan struct{})}
	go c.run(runCtx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.tick(ctx); err != nil && ctx.Err() == nil {
			c.stats.failures.Add(1)
			c.stats.lastErr.Store(&err)
		}
	}
}

// tick runs a PASSIVE checkpoint and, when the WAL is long, finishes the
// copy in the writer slot so that the WAL starts over.
func (c *checkpointer) tick(ctx context.Context) error {
	r, err := c.checkpoint(ctx, "PASSIVE")
	if err != nil {
		return err
	}
	c.stats.passive.Add(1)
	if r.frames < c.cfg.restartFrames {
		return nil
	}
	// Writers appended while that checkpoint ran. Copy those frames too,
	// again until a checkpoint is quick, so that little is left to copy and
	// sync in the writer slot.
	for range 3 {
		start := time.Now()
		if _, err := c.checkpoint(ctx, "PASSIVE"); err != nil {
			return err
		}
		c.stats.passive.Add(1)
		if time.Since(start) < 2*time.Millisecond {
			break
		}
	}
	return c.inSlot(ctx, func() error {
		r, err := c.checkpoint(ctx, "PASSIVE")
		if err != nil || r.frames < c.cfg.hardFrames() {
			return err
		}
		return c.restart(ctx, "RESTART")
	})
}

// inSlot runs fn in the writer slot.
func (c *checkpointer) inSlot(ctx context.Context, fn func() error) error {
	select {
	case c.writer <- struct{}{}:
		defer func() { <-c.writer }()
	case <-ctx.Done():
		return nil
	}
	c.stats.inSlot.Add(1)
	start := time.Now()
	defer func() {
		if held := int64(time.Since(start)); held > c.stats.maxHold.Load() {
			c.stats.maxHold.Store(held) // checkpoints never run two at a time
		}
	}()
	return fn()
}

// restart runs a RESTART or TRUNCATE checkpoint, retrying for up to
// restartWait while readers of older snapshots are in its way. Call it in
// the writer slot.
func (c *checkpointer) restart(ctx context.Context, mode string) error {
	start := time.Now()
	for {
		r, err := c.checkpoint(ctx, mode)
		if err != nil {
			return err
		}
		if !r.busy {
			c.stats.restarts.Add(1)
			return nil
		}
		if time.Since(start) >= c.cfg.restartWait {
			c.stats.restarts.Add(1)
			c.stats.busy.Add(1)
			return nil // the next tick tries again
		}
		select {
		case <-time.After(200 * time.Microsecond):
		case <-ctx.Done():
			return nil
		}
	}
}

// walState is the answer of PRAGMA wal_checkpoint.
type walState struct {
	busy   bool // the checkpoint could not finish (readers, writers or another checkpoint)
	frames int  // frames in the WAL (-1 when the database is not in WAL mode)
	copied int  // of those, frames now in the database file
}

func (c *checkpointer) checkpoint(ctx context.Context, mode string) (walState, error) {
	var r walState
	var busy int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &r.frames, &r.copied); err != nil {
		return r, fmt.Errorf("wal checkpoint %s: %w", mode, err)
	}
	r.busy = busy != 0
	if n := int64(r.frames); n > c.stats.maxFrames.Load() {
		c.stats.maxFrames.Store(n) // checkpoints never run two at a time
	}
	return r, nil
}

// close stops the checkpointer, empties the WAL with a TRUNCATE checkpoint in
// the writer slot and releases the connection. Call it before the store's
// *sql.DB is closed.
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		c.cancel()
		<-c.done
		ctx := context.Background()
		err = errors.Join(c.inSlot(ctx, func() error { return c.restart(ctx, "TRUNCATE") }), c.conn.Close())
	})
	return err
}
