package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestTxDoesNotTakeAConnectionToPrepare runs, in a transaction, a query
// text the statement cache has not prepared yet while every other
// connection of the pool is taken. The transaction holds SQLite's write
// lock, and the connections may be held by statements waiting for that
// lock: preparing on the pool would then wait until the busy timeout (the
// "database is locked" errors of concurrent signup starts with the rate
// limits in the database). The text must run on the transaction's own
// connection, and be cached for later once a connection is free.
func TestTxDoesNotTakeAConnectionToPrepare(t *testing.T) {
	ctx := context.Background()
	st, err := openSQLite(ctx, filepath.Join(t.TempDir(), "onboard.db"), defaultCheckpointConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Nine connections: the checkpointer keeps one, the transaction needs
	// one, the test takes the other seven.
	var held []*sql.Conn
	for range 7 {
		c, err := st.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	const fresh = `SELECT COUNT(*) FROM rate_limits WHERE window_start > $1`
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = st.InTx(tctx, func(tx *Tx) error {
		var n int64
		if err := tx.q.QueryRowContext(tctx, fresh, 0).Scan(&n); err != nil {
			return err
		}
		_, err := tx.q.ExecContext(tctx, `DELETE FROM rate_limits WHERE window_start < $1`, 0)
		return err
	})
	if err != nil {
		t.Fatalf("transaction with every other connection taken: %v", err)
	}
	for _, c := range held {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.stmts.cached(fresh) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the text run unprepared in the transaction was not prepared for later")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInWriterSlotQueuesWithTransactions checks that InWriterSlot holds the
// slot the transactions take on SQLite.
func TestInWriterSlotQueuesWithTransactions(t *testing.T) {
	ctx := context.Background()
	st, err := openSQLite(ctx, filepath.Join(t.TempDir(), "onboard.db"), defaultCheckpointConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	done := make(chan error, 1)
	err = st.InWriterSlot(ctx, func() error {
		go func() { done <- st.InTx(ctx, func(*Tx) error { return nil }) }()
		select {
		case err := <-done:
			t.Errorf("a transaction ran while the writer slot was held (err %v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("transaction after the slot was released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the transaction did not run after the slot was released")
	}
}
