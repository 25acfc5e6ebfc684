package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// directoryFixture adds accounts to the fixture's organization: names
// with ties ("beta" three times), one user each, a partner, and an
// account of another organization that must never show. It returns the
// customers' names and ids in (name, id) order.
func directoryFixture(t *testing.T, st *store.Store) (domain.Organization, []domain.Account) {
	t.Helper()
	ctx := context.Background()
	org, ut, first := fixture(t, st) // "Acme BV"
	other := domain.Organization{ID: store.NewID(), Name: "other", DisplayName: "Other", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
	otherUT := domain.UserType{ID: store.NewID(), OrgID: other.ID, Name: "admin", Label: "Admin"}
	names := []string{"alpha", "beta", "beta", "beta", "delta", "epsilon", "gamma", "zeta"}
	accts := []domain.Account{first}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		for i, n := range names {
			a := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: domain.CustomerBusiness, Name: n,
				Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			email := fmt.Sprintf("user%d@%s.example", i, n)
			if n == "gamma" {
				email = "Findme@Example.com"
			}
			u := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: a.ID, UserTypeID: ut.ID, Email: email,
				FirstName: "First", LastName: fmt.Sprintf("Last%d", i), Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			accts = append(accts, a)
		}
		p := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindPartner, Type: domain.PartnerChannel, Name: "beta partner",
			Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateAccount(ctx, p); err != nil {
			return err
		}
		if err := tx.CreateOrganization(ctx, other); err != nil {
			return err
		}
		if err := tx.CreateUserType(ctx, otherUT); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, domain.Account{ID: store.NewID(), OrgID: other.ID, Kind: domain.KindCustomer, Type: domain.CustomerBusiness,
			Name: "beta", Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(accts, func(a, b domain.Account) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return org, accts
}

// walk pages through a list forwards, then back from the last page, and
// returns the ids in the order of each walk with the number of pages.
func walk[T any](t *testing.T, get func(store.Cursor) (store.Page[T], error), id func(T) string) (fwd, back []string, pages int) {
	t.Helper()
	var cur store.Cursor
	var last store.Page[T]
	for {
		p, err := get(cur)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		if pages == 1 && p.Prev != "" {
			t.Fatal("the first page has a previous page")
		}
		for _, it := range p.Items {
			fwd = append(fwd, id(it))
		}
		last = p
		if p.Next == "" {
			break
		}
		if cur, err = store.DecodeCursor(p.Next); err != nil {
			t.Fatal(err)
		}
	}
	// Back from the last page to the first.
	var pageIDs [][]string
	for p := last; ; {
		var ids []string
		for _, it := range p.Items {
			ids = append(ids, id(it))
		}
		pageIDs = append(pageIDs, ids)
		if p.Prev == "" {
			break
		}
		c, err := store.DecodeCursor(p.Prev)
		if err != nil {
			t.Fatal(err)
		}
		if p, err = get(c); err != nil {
			t.Fatal(err)
		}
		if p.Next == "" {
			t.Fatal("a page reached backwards has no next page")
		}
		if len(pageIDs) > 100 {
			t.Fatal("paging back does not end")
		}
	}
	slices.Reverse(pageIDs)
	for _, ids := range pageIDs {
		back = append(back, ids...)
	}
	return fwd, back, pages
}

func TestDirectoryAccountsKeyset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, accts := directoryFixture(t, st)
		ids := func(match func(domain.Account) bool) []string {
			var out []string
			for _, a := range accts {
				if match(a) {
					out = append(out, a.ID)
				}
			}
			return out
		}
		all := ids(func(domain.Account) bool { return true })
		for _, tc := range []struct {
			name, kind, search string
			limit, pages       int
			want               []string
		}{
			{"one page holds all", domain.KindCustomer, "", 50, 1, all},
			{"exactly full pages", domain.KindCustomer, "", 3, 3, all},
			{"ties split across pages", domain.KindCustomer, "", 2, 5, all},
			{"one per page", domain.KindCustomer, "", 1, 9, all},
			{"search by name, ignoring case", domain.KindCustomer, "BET", 2, 2, ids(func(a domain.Account) bool { return a.Name == "beta" })},
			{"search by a user's email", domain.KindCustomer, "findme@", 2, 1, ids(func(a domain.Account) bool { return a.Name == "gamma" })},
			{"search wildcards are literal", domain.KindCustomer, "%", 2, 1, nil},
			{"partners apart", domain.KindPartner, "", 5, 1, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fwd, back, pages := walk(t, func(c store.Cursor) (store.Page[store.DirectoryAccount], error) {
					return st.DirectoryAccounts(ctx, org.ID, tc.kind, tc.search, c, tc.limit)
				}, func(a store.DirectoryAccount) string { return a.ID })
				want := tc.want
				if tc.kind == domain.KindPartner {
					if len(fwd) != 1 {
						t.Fatalf("partners %v", fwd)
					}
					want = fwd
				}
				if !slices.Equal(fwd, want) {
					t.Errorf("forwards %v, want %v", fwd, want)
				}
				if !slices.Equal(back, want) {
					t.Errorf("backwards %v, want %v", back, want)
				}
				if pages != tc.pages {
					t.Errorf("%d pages, want %d", pages, tc.pages)
				}
			})
		}
		p, err := st.DirectoryAccounts(ctx, org.ID, domain.KindCustomer, "gamma", store.Cursor{}, 10)
		if err != nil || len(p.Items) != 1 || p.Items[0].Users != 1 {
			t.Fatalf("users count: %+v %v", p, err)
		}
	})
}

func TestDirectoryUsersKeyset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _ := directoryFixture(t, st)
		for _, tc := range []struct {
			search string
			limit  int
			want   int
		}{{"", 3, 8}, {"", 8, 8}, {"beta.example", 1, 3}, {"last5", 2, 1}, {"FINDME", 2, 1}, {"nobody", 2, 0}} {
			t.Run(fmt.Sprintf("%q by %d", tc.search, tc.limit), func(t *testing.T) {
				var emails []string
				fwd, back, _ := walk(t, func(c store.Cursor) (store.Page[store.DirectoryUser], error) {
					p, err := st.DirectoryUsers(ctx, org.ID, tc.search, c, tc.limit)
					for _, u := range p.Items {
						if u.AccountName == "" || u.UserType != "admin" {
							t.Errorf("user without account or type: %+v", u)
						}
						emails = append(emails, strings.ToLower(u.Email))
					}
					return p, err
				}, func(u store.DirectoryUser) string { return u.ID })
				if len(fwd) != tc.want || !slices.Equal(fwd, back) {
					t.Fatalf("forwards %v, backwards %v, want %d", fwd, back, tc.want)
				}
				if fwdEmails := emails[:len(fwd)]; !slices.IsSorted(fwdEmails) {
					t.Fatalf("not by email: %v", fwdEmails)
				}
			})
		}
	})
}

func TestAuditPageKeyset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, acct := fixture(t, st)
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var entries []domain.AuditEntry
		for i := range 12 {
			e := domain.AuditEntry{OrgID: org.ID, Actor: "backoffice:a", Action: "customer.created", SubjectID: acct.ID,
				CreatedAt: base.Add(time.Duration(i/3) * time.Hour)} // ties: three entries per hour
			switch i % 3 {
			case 1:
				e.Actor, e.Action = "user:u", "user.updated"
			case 2:
				e.Action, e.SubjectID = "customer_type.updated", "other"
			}
			if err := st.AddAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
		count := func(f func(domain.AuditEntry) bool) int {
			n := 0
			for _, e := range entries {
				if f(e) {
					n++
				}
			}
			return n
		}
		for _, tc := range []struct {
			name string
			f    store.AuditFilter
			want int
		}{
			{"all", store.AuditFilter{}, 12},
			{"actor", store.AuditFilter{Actor: "user:u"}, count(func(e domain.AuditEntry) bool { return e.Actor == "user:u" })},
			{"action prefix is literal", store.AuditFilter{Action: "customer."}, count(func(e domain.AuditEntry) bool { return e.Action == "customer.created" })},
			{"subject", store.AuditFilter{Subject: "other"}, 4},
			{"time range", store.AuditFilter{From: base.Add(time.Hour), To: base.Add(3 * time.Hour)}, 6},
			{"all filters", store.AuditFilter{Actor: "backoffice:a", Action: "customer", Subject: acct.ID, From: base.Add(time.Hour)}, 3},
		} {
			for _, limit := range []int{2, 5, 50} {
				t.Run(fmt.Sprintf("%s by %d", tc.name, limit), func(t *testing.T) {
					var seen []domain.AuditEntry
					fwd, back, _ := walk(t, func(c store.Cursor) (store.Page[domain.AuditEntry], error) {
						p, err := st.AuditPage(ctx, org.ID, tc.f, c, limit)
						if !c.Back {
							seen = append(seen, p.Items...)
						}
						return p, err
					}, func(e domain.AuditEntry) string { return e.ID })
					if len(fwd) != tc.want || !slices.Equal(fwd, back) {
						t.Fatalf("forwards %v, backwards %v, want %d", fwd, back, tc.want)
					}
					for i := 1; i < len(seen); i++ {
						if seen[i].CreatedAt.After(seen[i-1].CreatedAt) {
							t.Fatalf("not newest first at %d", i)
						}
					}
					if len(slices.Compact(slices.Sorted(slices.Values(fwd)))) != len(fwd) {
						t.Fatal("an entry shows twice")
					}
				})
			}
		}
	})
}

func TestDirectoryCursor(t *testing.T) {
	for _, s := range []string{"!!", "bm90IGpzb24", store.Cursor{Key: "x"}.Encode()} {
		if _, err := store.DecodeCursor(s); err == nil {
			t.Errorf("cursor %q accepted", s)
		}
	}
	c := store.Cursor{Key: "beta", ID: "01J", Back: true}
	got, err := store.DecodeCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip %+v %v", got, err)
	}
}

// TestDirectoryQueriesUseIndexes: on SQLite, a deep page is a range over
// the keyset indexes of migration 0018, never a scan and sort. (The
// PostgreSQL side is measured in bench/directory_test.go.)
func TestDirectoryQueriesUseIndexes(t *testing.T) {
	st := open(t, dbtest.SQLite(t))
	ctx := context.Background()
	for _, tc := range []struct{ query, index string }{
		{`SELECT a.id FROM accounts a WHERE a.org_id = 'o' AND a.kind = 'customer' AND (a.name, a.id) > ('m', 'x') ORDER BY a.name, a.id LIMIT 51`, "accounts_directory"},
		{`SELECT u.id FROM users u WHERE u.org_id = 'o' AND (u.email_lower, u.id) < ('m', 'x') ORDER BY u.email_lower DESC, u.id DESC LIMIT 51`, "users_directory"},
		{`SELECT id FROM audit_log WHERE org_id = 'o' AND (created_at, id) < ('2026-01-01', 'x') ORDER BY created_at DESC, id DESC LIMIT 51`, "audit_keyset"},
		{`SELECT id FROM audit_log WHERE org_id = 'o' AND actor = 'a' AND (created_at, id) < ('2026-01-01', 'x') ORDER BY created_at DESC, id DESC LIMIT 51`, "audit_actor_keyset"},
	} {
		rows, err := st.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, tc.index) || strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, ">") && !strings.Contains(p, "<") {
			t.Errorf("plan of %s: %s", tc.index, p)
		}
	}
}
