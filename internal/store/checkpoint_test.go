package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// TestCheckpointerBoundsWAL writes many transactions while readers scan the
// table (holding older snapshots, which keep a PASSIVE checkpoint from
// finishing) and checks that commits do not checkpoint, that the -wal file
// stays bounded, that Close leaves it empty, and that every row is there
// after reopening.
func TestCheckpointerBoundsWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "onboard.db")
	cfg := checkpointConfig{interval: 5 * time.Millisecond, restartFrames: 256, restartWait: 10 * time.Millisecond}
	st, err := openSQLite(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := st.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, want 0: commits would checkpoint", auto)
	}
	org := domain.Organization{ID: NewID(), Name: "acme", DisplayName: "Acme", Onboarding: domain.DefaultOnboarding(), CreatedAt: Now()}
	if err := st.InTx(ctx, func(tx *Tx) error { return tx.CreateOrganization(ctx, org) }); err != nil {
		t.Fatal(err)
	}

	// Each row is about 3 KB, so each commit appends at least two 4 KiB
	// frames (table and index): without checkpoints the WAL would reach
	// several times the bound below.
	const rows = 2000
	pad := strings.Repeat("x", 3000)
	walPath := path + "-wal"
	bound := 3 * int64(cfg.hardFrames()) * 4096 // 12 MiB; without checkpoints the WAL reaches about 65 MiB

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var maxWAL, reads atomic.Int64
	wg.Go(func() { // sample the size of the -wal file
		for {
			if fi, err := os.Stat(walPath); err == nil && fi.Size() > maxWAL.Load() {
				maxWAL.Store(fi.Size())
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	for range 2 { // readers of the newest rows
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n, size int64
				if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0)
					FROM (SELECT data FROM audit_log ORDER BY rowid DESC LIMIT 100)`).Scan(&n, &size); err != nil {
					t.Errorf("read: %v", err)
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range rows {
		err := st.InTx(ctx, func(tx *Tx) error {
			return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "test", Action: "test.write", SubjectID: NewID(),
				Data: map[string]any{"i": i, "pad": pad}, CreatedAt: Now()})
		})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("write %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()

	s := &st.ckpt.stats
	t.Logf("WAL at most %d bytes (bound %d), %d frames; %d PASSIVE checkpoints, %d in the writer slot (longest %v), %d RESTART (%d busy); %d reads",
		maxWAL.Load(), bound, s.maxFrames.Load(), s.passive.Load(), s.inSlot.Load(), time.Duration(s.maxHold.Load()), s.restarts.Load(), s.busy.Load(), reads.Load())
	if n := s.failures.Load(); n > 0 {
		t.Errorf("%d checkpoints failed, the last with %v", n, *s.lastErr.Load())
	}
	if s.inSlot.Load() == 0 {
		t.Error("the checkpointer never took the writer slot to let the WAL start over")
	}
	if got := maxWAL.Load(); got > bound {
		t.Errorf("the WAL grew to %d bytes, more than %d", got, bound)
	}

	closed = true
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if fi, err := os.Stat(walPath); err == nil && fi.Size() != 0 {
		t.Errorf("after Close the WAL holds %d bytes, want none", fi.Size())
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}

	st2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var check string
	if err := st2.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	var n, size int64
	if err := st2.db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(LENGTH(data)) FROM audit_log WHERE action = 'test.write'`).Scan(&n, &size); err != nil {
		t.Fatal(err)
	}
	if n != rows || size < rows*int64(len(pad)) {
		t.Fatalf("after reopening: %d rows of %d bytes in all, want %d rows of at least %d bytes", n, size, rows, rows*len(pad))
	}
}

// TestCheckpointerStopsOnClose checks that Close stops the checkpointer and
// can be called again.
func TestCheckpointerStopsOnClose(t *testing.T) {
	ctx := context.Background()
	st, err := openSQLite(ctx, filepath.Join(t.TempDir(), "onboard.db"), defaultCheckpointConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-st.ckpt.done:
	default:
		t.Fatal("the checkpointer still runs after Close")
	}
	if err := st.ckpt.close(); err != nil {
		t.Fatalf("second close of the checkpointer: %v", err)
	}
}
