package store

import "testing"

// TestEngineLock: PostgreSQL gets the row-locking clause, SQLite (whose
// transactions are serialized) none.
func TestEngineLock(t *testing.T) {
	for _, tc := range []struct {
		engine Engine
		lock   rowLock
		want   string
	}{
		{Postgres, forUpdate, " FOR UPDATE"},
		{Postgres, forShare, " FOR SHARE"},
		{Postgres, forUpdateSkipLocked, " FOR UPDATE SKIP LOCKED"},
		{SQLite, forUpdate, ""},
		{SQLite, forShare, ""},
		{SQLite, forUpdateSkipLocked, ""},
	} {
		if got := tc.engine.lock(tc.lock); got != tc.want {
			t.Errorf("%s lock(%q) = %q, want %q", tc.engine, tc.lock, got, tc.want)
		}
	}
}
