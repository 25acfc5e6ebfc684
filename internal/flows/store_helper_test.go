package flows

import (
	"context"
	"testing"

	"github.com/onboard-dev/onboard/internal/store"
)

// openStore opens the database at dsn with opts, migrates it and closes it
// when the test ends.
func openStore(t *testing.T, dsn string, opts ...store.Option) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
