package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestMigrationGrantsThingsActivate: migration 0012 gives the customer
// administrator type of organizations created before it the permission
// things.activate, once, and leaves other types alone.
func TestMigrationGrantsThingsActivate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, _ := fixture(t, st)
		admin := domain.UserType{ID: store.NewID(), OrgID: org.ID, Name: "customer_admin", Label: "Admin",
			Permissions: []string{domain.PermAccountAdmin, domain.PermThingsWrite}}
		viewer := domain.UserType{ID: store.NewID(), OrgID: org.ID, Name: "customer_viewer", Label: "Viewer",
			Permissions: []string{domain.PermThingsRead}}
		for _, ut := range []domain.UserType{admin, viewer} {
			if err := st.CreateUserType(ctx, ut); err != nil {
				t.Fatal(err)
			}
		}
		// Undo 0012 and run it again, as on a database from before it.
		undo := []string{`DROP TABLE products`, `DELETE FROM schema_migrations WHERE name = '0012_things.sql'`}
		if st.Engine() == store.Postgres {
			undo = append(undo, `DROP TRIGGER organizations_delete_products ON organizations`,
				`DROP FUNCTION organizations_delete_products, products_org_check, products_org_check_row`)
		}
		for _, q := range undo {
			if _, err := st.DB().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		types, err := st.UserTypes(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ut := range types {
			n := 0
			for _, p := range ut.Permissions {
				if p == domain.PermThingsActivate {
					n++
				}
			}
			want := 0
			if ut.Name == "customer_admin" {
				want = 1
			}
			if n != want {
				t.Errorf("%s has things.activate %d times, want %d: %v", ut.Name, n, want, ut.Permissions)
			}
			if ut.Name == "customer_admin" && !slices.Contains(ut.Permissions, domain.PermThingsWrite) {
				t.Errorf("customer_admin lost its permissions: %v", ut.Permissions)
			}
		}
	})
}

// TestImportProductsOutcomes: a batch with serial numbers the organization
// has and repeats within the batch.
func TestImportProductsOutcomes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, _ := fixture(t, st)
		now := store.Now()
		mk := func(sn string) domain.Product {
			return domain.Product{ID: store.NewID(), OrgID: org.ID, SerialNumber: sn, Model: "M", CreatedAt: now, UpdatedAt: now}
		}
		old := mk("A")
		if err := st.CreateProduct(ctx, old); err != nil {
			t.Fatal(err)
		}
		rows := []domain.Product{mk("B"), mk("A"), mk("C"), mk("B")}
		out, err := st.ImportProducts(ctx, org.ID, rows)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.ProductImportOutcome{{Created: true, ID: rows[0].ID}, {ID: old.ID}, {Created: true, ID: rows[2].ID}, {ID: rows[0].ID}}
		if !slices.Equal(out, want) {
			t.Errorf("outcomes = %+v, want %+v", out, want)
		}
		ps, err := st.Products(ctx, org.ID, "", 10)
		if err != nil || len(ps) != 3 {
			t.Errorf("products = %d, %v; want 3", len(ps), err)
		}
		// The organization must exist (a foreign key on SQLite, triggers on
		// PostgreSQL), for one product and for a batch.
		stray := mk("Z")
		stray.OrgID = store.NewID()
		if err := st.CreateProduct(ctx, stray); err == nil {
			t.Error("a product of no organization was stored")
		}
		if _, err := st.ImportProducts(ctx, stray.OrgID, []domain.Product{stray}); err == nil {
			t.Error("an import into no organization was stored")
		}
	})
}

// TestImportProductsConcurrent: imports of overlapping serial numbers at
// once all succeed, and each serial number is created exactly once.
func TestImportProductsConcurrent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, _ := fixture(t, st)
		const importers, rows = 4, 2000
		created := make([]int, importers)
		errs := make(chan error, importers)
		for i := range importers {
			go func() {
				now := store.Now()
				batch := make([]domain.Product, rows)
				for k := range batch {
					batch[k] = domain.Product{ID: store.NewID(), OrgID: org.ID, SerialNumber: fmt.Sprintf("SN-%05d", k), Model: "M", CreatedAt: now, UpdatedAt: now}
				}
				out, err := st.ImportProducts(ctx, org.ID, batch)
				for _, o := range out {
					if o.Created {
						created[i]++
					}
					if o.ID == "" {
						err = fmt.Errorf("an outcome without id")
					}
				}
				errs <- err
			}()
		}
		for range importers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		total := 0
		for _, n := range created {
			total += n
		}
		if total != rows {
			t.Errorf("created %v = %d in all, want %d", created, total, rows)
		}
	})
}
