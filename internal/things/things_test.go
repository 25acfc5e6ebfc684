package things_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/things"
)

// env is a migrated database with the default organization, the things
// service and the flows over it.
type env struct {
	st     *store.Store
	svc    *things.Service
	flows  *flows.Service
	org    domain.Organization
	adm    flows.Admin
	types  map[string]domain.UserType // by name
	serial int
	tag    string // makes serial numbers and addresses of this env unique
}

func newEnv(t *testing.T, dsn string, limits things.Limits) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	org, err := flows.EnsureDefaultOrganization(ctx, st, "Acme IoT")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.NewMemory(nil)
	svc := things.New(things.Deps{Store: st, Limiter: lim, Mail: tpl}, things.Config{PublicURL: "http://onboard.test", MailFrom: "no-reply@onboard.test", Limits: limits})
	fl := flows.New(flows.Deps{Store: st, Hasher: auth.NewHasher(auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1),
		Policy: auth.DefaultPolicy(), Mail: tpl, Limiter: lim}, flows.Config{PublicURL: "http://onboard.test", MailFrom: "no-reply@onboard.test"})
	uts, err := st.UserTypes(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, svc: svc, flows: fl, org: org, adm: flows.Admin{Name: "test"}, types: map[string]domain.UserType{},
		tag: store.NewID()[24:]}
	for _, ut := range uts {
		e.types[ut.Name] = ut
	}
	return e
}

// customer is a customer account with one location and one user.
type customer struct {
	acct domain.Account
	loc  domain.Location
	p    flows.Principal
}

// newCustomer creates a customer, its location "Home" and a user of the
// user type named typeName.
func (e *env) newCustomer(t *testing.T, name, typeName string) customer {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	acct := domain.Account{ID: store.NewID(), OrgID: e.org.ID, Kind: domain.KindCustomer, Type: domain.CustomerPersonal, Name: name,
		Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
	loc := domain.Location{ID: store.NewID(), OrgID: e.org.ID, AccountID: acct.ID, Name: "Home", CreatedAt: now}
	ut := e.types[typeName]
	u := domain.User{ID: store.NewID(), OrgID: e.org.ID, AccountID: acct.ID, UserTypeID: ut.ID,
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "." + e.tag + "@example.com", FirstName: "Ada", LastName: name,
		Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		if err := tx.CreateLocation(ctx, loc); err != nil {
			return err
		}
		return tx.CreateUser(ctx, u)
	})
	if err != nil {
		t.Fatalf("customer: %v", err)
	}
	return customer{acct: acct, loc: loc, p: flows.Principal{User: u, UserType: ut, Account: acct}}
}

// product registers a product with a new serial number (and the token, if
// not empty).
func (e *env) product(t *testing.T, token string) domain.Product {
	t.Helper()
	e.serial++
	p, err := e.svc.CreateProduct(context.Background(), e.adm, e.org, things.ProductInput{
		SerialNumber: fmt.Sprintf("SN-%s-%05d", e.tag, e.serial), Model: "Heat pump X200", ConnectionToken: token})
	if err != nil {
		t.Fatalf("create product: %v", err)
	}
	return p
}

func slug(err error) string {
	if de := domain.AsError(err); de != nil {
		return de.Slug
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func fast() things.Limits {
	return things.Limits{
		FailuresPerUser:   ratelimit.Rule{Limit: 1000, Window: time.Hour},
		FailuresPerSerial: ratelimit.Rule{Limit: 1000, Window: time.Hour},
	}
}

func TestSeedGrantsActivate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, fast())
		if !e.types["customer_admin"].Has(domain.PermThingsActivate) {
			t.Errorf("customer_admin permissions = %v, want %s", e.types["customer_admin"].Permissions, domain.PermThingsActivate)
		}
		if e.types["customer_viewer"].Has(domain.PermThingsActivate) {
			t.Error("customer_viewer may activate things")
		}
	})
}

func TestActivateRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		a := e.newCustomer(t, "Alice Home", "customer_admin")
		b := e.newCustomer(t, "Bob Home", "customer_admin")
		viewer := e.newCustomer(t, "Vera View", "customer_viewer")
		withToken := e.product(t, "7Q4M-KX2P-99HD")
		plain := e.product(t, "")
		taken := e.product(t, "")
		if _, err := e.svc.Activate(ctx, b.p, b.acct.ID, things.Activation{SerialNumber: taken.SerialNumber, LocationID: b.loc.ID}); err != nil {
			t.Fatalf("b activates: %v", err)
		}
		mine := e.product(t, "")
		if _, err := e.svc.Activate(ctx, a.p, a.acct.ID, things.Activation{SerialNumber: mine.SerialNumber, LocationID: a.loc.ID}); err != nil {
			t.Fatalf("a activates: %v", err)
		}
		tests := []struct {
			name     string
			who      customer
			customer string
			in       things.Activation
			want     string // problem slug, "" for success
		}{
			{"unknown serial", a, a.acct.ID, things.Activation{SerialNumber: "SN-NOPE", LocationID: a.loc.ID}, "thing-not-activatable"},
			{"another customer's product", a, a.acct.ID, things.Activation{SerialNumber: taken.SerialNumber, LocationID: a.loc.ID}, "thing-not-activatable"},
			{"wrong token", a, a.acct.ID, things.Activation{SerialNumber: withToken.SerialNumber, ConnectionToken: "WRONG", LocationID: a.loc.ID}, "thing-not-activatable"},
			{"missing token", a, a.acct.ID, things.Activation{SerialNumber: withToken.SerialNumber, LocationID: a.loc.ID}, "thing-not-activatable"},
			{"no permission", viewer, viewer.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, LocationID: viewer.loc.ID}, "permission-denied"},
			{"another customer's id", a, b.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, LocationID: b.loc.ID}, "account-not-found"},
			{"another customer's location", a, a.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, LocationID: b.loc.ID}, "location-not-found"},
			{"no serial", a, a.acct.ID, things.Activation{LocationID: a.loc.ID}, "validation-error"},
			{"no location", a, a.acct.ID, things.Activation{SerialNumber: plain.SerialNumber}, "validation-error"},
			{"both locations", a, a.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, LocationID: a.loc.ID, NewLocation: "Office"}, "validation-error"},
			{"new location name taken", a, a.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, NewLocation: "home"}, "location-name-taken"},
			{"already mine", a, a.acct.ID, things.Activation{SerialNumber: mine.SerialNumber, LocationID: a.loc.ID}, "thing-already-activated"},
			{"right token", a, a.acct.ID, things.Activation{SerialNumber: withToken.SerialNumber, ConnectionToken: "7Q4M-KX2P-99HD", Name: "Cellar", LocationID: a.loc.ID}, ""},
			{"no token needed, new location", a, a.acct.ID, things.Activation{SerialNumber: plain.SerialNumber, NewLocation: "Holiday home"}, ""},
		}
		var notActivatable []string
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := e.svc.Activate(ctx, tt.who.p, tt.customer, tt.in)
				if s := slug(err); s != tt.want {
					t.Fatalf("Activate: %v (slug %q), want %q", err, s, tt.want)
				}
				if tt.want == "thing-not-activatable" {
					de := domain.AsError(err)
					notActivatable = append(notActivatable, fmt.Sprint(de.Code, de.Slug, de.Detail, de.Fields))
				}
				if tt.want != "" {
					return
				}
				if got.State != domain.ProductActive || got.ThingID == "" || got.AccountID != a.acct.ID || got.LocationID == "" {
					t.Errorf("thing = %+v", got)
				}
				if tt.in.NewLocation != "" {
					locs, _ := e.st.LocationsByAccount(ctx, e.org.ID, a.acct.ID)
					if !slices.ContainsFunc(locs, func(l domain.Location) bool { return l.ID == got.LocationID && l.Name == tt.in.NewLocation }) {
						t.Errorf("no new location %q holding the thing: %+v", tt.in.NewLocation, locs)
					}
				}
				ts, err := e.svc.Things(ctx, a.p, a.acct.ID, got.LocationID)
				if err != nil || !slices.ContainsFunc(ts, func(p domain.Product) bool { return p.ThingID == got.ThingID }) {
					t.Errorf("Things(location) = %v, %v; want the new thing", ts, err)
				}
			})
		}
		if len(notActivatable) != 4 || len(slices.Compact(slices.Clone(notActivatable))) != 1 {
			t.Errorf("the refusals differ: %q", notActivatable)
		}
		// A failed activation leaves nothing behind: the other customer's
		// product is still theirs.
		p, err := e.st.ProductBySerial(ctx, e.org.ID, taken.SerialNumber)
		if err != nil || p.AccountID != b.acct.ID {
			t.Errorf("taken product = %+v, %v; want it still b's", p, err)
		}
	})
}

func TestActivateRaceExactlyOneWins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		const rounds, racers = 5, 4
		var cs []customer
		for i := range racers {
			cs = append(cs, e.newCustomer(t, fmt.Sprintf("Racer %d", i), "customer_admin"))
		}
		for range rounds {
			prod := e.product(t, "tok")
			var wg sync.WaitGroup
			errs := make([]error, racers)
			start := make(chan struct{})
			for i, c := range cs {
				wg.Go(func() {
					<-start
					_, errs[i] = e.svc.Activate(ctx, c.p, c.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, ConnectionToken: "tok", LocationID: c.loc.ID})
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch slug(err) {
				case "":
					wins++
				case "thing-not-activatable":
				default:
					t.Errorf("racer: %v", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d winners, want exactly 1 (%v)", wins, errs)
			}
			p, err := e.st.ProductBySerial(ctx, e.org.ID, prod.SerialNumber)
			if err != nil || p.State != domain.ProductActive {
				t.Fatalf("product after race = %+v, %v", p, err)
			}
		}
	})
}

func TestActivateRateLimits(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		tests := []struct {
			name      string
			limits    things.Limits
			sameUser  bool // the limited tries come from one user (else from many)
			refusedBy string
		}{
			{"per user", things.Limits{FailuresPerUser: ratelimit.Rule{Limit: 3, Window: time.Hour}, FailuresPerSerial: ratelimit.Rule{Limit: 100, Window: time.Hour}}, true, "user"},
			{"per serial", things.Limits{FailuresPerUser: ratelimit.Rule{Limit: 100, Window: time.Hour}, FailuresPerSerial: ratelimit.Rule{Limit: 3, Window: time.Hour}}, false, "serial"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, dsn, tt.limits)
				prod := e.product(t, "right")
				other := e.product(t, "")
				var users []customer
				for i := range 4 {
					users = append(users, e.newCustomer(t, fmt.Sprintf("Try %d", i), "customer_admin"))
				}
				who := func(i int) customer {
					if tt.sameUser {
						return users[0]
					}
					return users[i]
				}
				for i := range 3 {
					c := who(i)
					_, err := e.svc.Activate(ctx, c.p, c.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, ConnectionToken: "wrong", LocationID: c.loc.ID})
					if slug(err) != "thing-not-activatable" {
						t.Fatalf("try %d: %v", i, err)
					}
				}
				// The fourth try is refused even with the right token.
				c := who(3)
				_, err := e.svc.Activate(ctx, c.p, c.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, ConnectionToken: "right", LocationID: c.loc.ID})
				if slug(err) != "rate-limited" {
					t.Fatalf("after the limit: %v, want rate-limited", err)
				}
				// The limit is of the user or of the serial number only.
				if tt.refusedBy == "user" {
					_, err = e.svc.Activate(ctx, users[1].p, users[1].acct.ID, things.Activation{SerialNumber: prod.SerialNumber, ConnectionToken: "right", LocationID: users[1].loc.ID})
				} else {
					_, err = e.svc.Activate(ctx, c.p, c.acct.ID, things.Activation{SerialNumber: other.SerialNumber, LocationID: c.loc.ID})
				}
				if err != nil {
					t.Errorf("an activation outside the spent limit: %v", err)
				}
			})
		}
	})
}

// The three refusals do the same work: their durations, measured
// interleaved, have medians within max(1 ms, 50 %) of each other (a loose
// bound for a shared machine; a refusal that skipped the hash or the
// lookup would still be far faster than the others are slow).
func TestRefusalsTakeTheSameTime(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, things.Limits{FailuresPerUser: ratelimit.Rule{Limit: 1 << 30, Window: time.Hour}, FailuresPerSerial: ratelimit.Rule{Limit: 1 << 30, Window: time.Hour}})
		a := e.newCustomer(t, "Alice Time", "customer_admin")
		b := e.newCustomer(t, "Bob Time", "customer_admin")
		withToken := e.product(t, "tok")
		taken := e.product(t, "")
		if _, err := e.svc.Activate(ctx, b.p, b.acct.ID, things.Activation{SerialNumber: taken.SerialNumber, LocationID: b.loc.ID}); err != nil {
			t.Fatal(err)
		}
		kinds := []things.Activation{
			{SerialNumber: "SN-UNKNOWN", ConnectionToken: "tok", LocationID: a.loc.ID},
			{SerialNumber: taken.SerialNumber, ConnectionToken: "tok", LocationID: a.loc.ID},
			{SerialNumber: withToken.SerialNumber, ConnectionToken: "bad", LocationID: a.loc.ID},
		}
		// measure returns the medians of the three kinds, measured in an
		// order shuffled every round.
		measure := func() []time.Duration {
			const n = 60
			times := make([][]time.Duration, len(kinds))
			order := []int{0, 1, 2}
			for i := range n + 5 {
				rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				for _, k := range order {
					start := time.Now()
					_, err := e.svc.Activate(ctx, a.p, a.acct.ID, kinds[k])
					d := time.Since(start)
					if slug(err) != "thing-not-activatable" {
						t.Fatalf("kind %d: %v", k, err)
					}
					if i >= 5 {
						times[k] = append(times[k], d)
					}
				}
			}
			var medians []time.Duration
			for _, ts := range times {
				slices.Sort(ts)
				medians = append(medians, ts[len(ts)/2])
			}
			return medians
		}
		// A loaded machine can slow one kind down for a while: the test
		// fails when three measurements in a row find a difference.
		var tries [][]time.Duration
		for range 3 {
			medians := measure()
			lo, hi := slices.Min(medians), slices.Max(medians)
			if hi-lo <= max(time.Millisecond, lo/2) {
				return
			}
			tries = append(tries, medians)
		}
		t.Errorf("medians differ too much, three times: %v", tries)
	})
}

func TestThingsRenameMoveRelease(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		a := e.newCustomer(t, "Alice Moves", "customer_admin")
		b := e.newCustomer(t, "Bob Moves", "customer_admin")
		viewer := e.newCustomer(t, "Vic Moves", "customer_viewer")
		prod := e.product(t, "")
		th, err := e.svc.Activate(ctx, a.p, a.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, NewLocation: "Office"})
		if err != nil {
			t.Fatal(err)
		}
		str := func(s string) *string { return &s }
		tests := []struct {
			name     string
			who      customer
			customer string
			thing    string
			patch    things.ThingPatch
			want     string
			check    func(t *testing.T, p domain.Product)
		}{
			{"rename", a, a.acct.ID, th.ThingID, things.ThingPatch{Name: str("  Boiler ")}, "", func(t *testing.T, p domain.Product) {
				if p.Name != "Boiler" {
					t.Errorf("name = %q", p.Name)
				}
			}},
			{"move", a, a.acct.ID, th.ThingID, things.ThingPatch{LocationID: str(a.loc.ID)}, "", func(t *testing.T, p domain.Product) {
				if p.LocationID != a.loc.ID {
					t.Errorf("location = %q, want %q", p.LocationID, a.loc.ID)
				}
			}},
			{"move to another customer's location", a, a.acct.ID, th.ThingID, things.ThingPatch{LocationID: str(b.loc.ID)}, "validation-error", nil},
			{"name too long", a, a.acct.ID, th.ThingID, things.ThingPatch{Name: str(strings.Repeat("x", 101))}, "validation-error", nil},
			{"another customer's thing", b, b.acct.ID, th.ThingID, things.ThingPatch{Name: str("Mine")}, "thing-not-found", nil},
			{"no permission", viewer, viewer.acct.ID, th.ThingID, things.ThingPatch{Name: str("X")}, "permission-denied", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := e.svc.UpdateThing(ctx, tt.who.p, tt.customer, tt.thing, tt.patch)
				if s := slug(err); s != tt.want {
					t.Fatalf("UpdateThing: %v, want %q", err, tt.want)
				}
				if tt.check != nil {
					tt.check(t, got)
					stored, err := e.svc.Thing(ctx, a.p, a.acct.ID, tt.thing)
					if err != nil {
						t.Fatal(err)
					}
					tt.check(t, stored)
				}
			})
		}
		// A location holding things cannot be deleted.
		if err := e.flows.DeleteLocation(ctx, a.p, a.acct.ID, a.loc.ID); slug(err) != "location-has-things" {
			t.Errorf("delete a location with things: %v", err)
		}
		if err := e.svc.ReleaseThing(ctx, b.p, b.acct.ID, th.ThingID); slug(err) != "thing-not-found" {
			t.Errorf("release another's thing: %v", err)
		}
		if err := e.svc.ReleaseThing(ctx, a.p, a.acct.ID, th.ThingID); err != nil {
			t.Fatalf("release: %v", err)
		}
		p, err := e.st.ProductBySerial(ctx, e.org.ID, prod.SerialNumber)
		if err != nil || p.State != domain.ProductUnassigned || p.AccountID != "" || p.ThingID != "" || p.Name != "" {
			t.Fatalf("released product = %+v, %v", p, err)
		}
		// Released, anyone may activate it: b now, with a new thing id.
		th2, err := e.svc.Activate(ctx, b.p, b.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, LocationID: b.loc.ID})
		if err != nil || th2.ThingID == th.ThingID {
			t.Fatalf("activate after release: %+v, %v", th2, err)
		}
		if ts, err := e.svc.Things(ctx, a.p, a.acct.ID, ""); err != nil || len(ts) != 0 {
			t.Errorf("a's things = %v, %v; want none", ts, err)
		}
	})
}

func TestFactoryReset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		a := e.newCustomer(t, "Alice Reset", "customer_admin")
		prod := e.product(t, "")
		if _, err := e.svc.Activate(ctx, a.p, a.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, LocationID: a.loc.ID, Name: "Attic"}); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.FactoryReset(ctx, e.adm, e.org, prod.SerialNumber)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != domain.ProductUnassigned || got.AccountID != "" {
			t.Errorf("after reset: %+v", got)
		}
		var n int
		if err := e.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE org_id = $1 AND template = $2 AND to_lower = $3`,
			e.org.ID, mail.TemplateThingFactoryReset, a.p.User.Email).Scan(&n); err != nil || n != 1 {
			t.Errorf("factory-reset mails to the administrator = %d, %v; want 1", n, err)
		}
		audit, err := e.st.AuditByActionPrefix(ctx, e.org.ID, "product.factory_reset", 10)
		if err != nil || len(audit) != 1 || audit[0].Data["account_id"] != a.acct.ID {
			t.Errorf("audit = %+v, %v", audit, err)
		}
		if _, err := e.svc.FactoryReset(ctx, e.adm, e.org, "SN-NONE"); slug(err) != "product-not-found" {
			t.Errorf("reset of an unknown product: %v", err)
		}
	})
}

func TestDeleteCustomerReleasesThings(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		a := e.newCustomer(t, "Alice Leaves", "customer_admin")
		prod := e.product(t, "")
		if _, err := e.svc.Activate(ctx, a.p, a.acct.ID, things.Activation{SerialNumber: prod.SerialNumber, LocationID: a.loc.ID}); err != nil {
			t.Fatal(err)
		}
		if err := e.flows.DeleteCustomer(ctx, a.p, a.acct.ID, a.acct.Name); err != nil {
			t.Fatalf("delete customer: %v", err)
		}
		p, err := e.st.ProductBySerial(ctx, e.org.ID, prod.SerialNumber)
		if err != nil || p.State != domain.ProductUnassigned || p.AccountID != "" || p.LocationID != "" {
			t.Errorf("product after deletion = %+v, %v; want unassigned", p, err)
		}
	})
}

func TestCreateProductRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		tests := []struct {
			name string
			in   things.ProductInput
			want string
		}{
			{"ok", things.ProductInput{SerialNumber: "HP-1", Model: "X", ConnectionToken: "t", Metadata: map[string]string{"batch": "B1"}}, ""},
			{"duplicate", things.ProductInput{SerialNumber: "HP-1", Model: "X"}, "product-exists"},
			{"no serial", things.ProductInput{Model: "X"}, "validation-error"},
			{"bad serial", things.ProductInput{SerialNumber: "HP 1", Model: "X"}, "validation-error"},
			{"no model", things.ProductInput{SerialNumber: "HP-2"}, "validation-error"},
			{"bad metadata key", things.ProductInput{SerialNumber: "HP-3", Model: "X", Metadata: map[string]string{"a b": "c"}}, "validation-error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.CreateProduct(ctx, e.adm, e.org, tt.in)
				if s := slug(err); s != tt.want {
					t.Fatalf("CreateProduct: %v, want %q", err, tt.want)
				}
			})
		}
		p, err := e.svc.Product(ctx, e.org, "HP-1")
		if err != nil || p.TokenHash == nil || string(p.TokenHash) == "t" || p.Metadata["batch"] != "B1" {
			t.Errorf("stored product = %+v, %v (token kept hashed, metadata kept)", p, err)
		}
	})
}

func TestImportProductsWithBadLines(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, fast())
		if _, err := e.svc.CreateProduct(ctx, e.adm, e.org, things.ProductInput{SerialNumber: "OLD-1", Model: "X"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, format, body string
			want               []string // status per answered line (line:status)
		}{
			{"ndjson", things.ImportNDJSON, strings.Join([]string{
				`{"serial_number":"N-1","model":"Heat pump","connection_token":"abc"}`,
				`{"serial_number":"N 2","model":"Heat pump"}`,
				``,
				`{"serial_number":"N-3"}`,
				`not json`,
				`{"serial_number":"N-4","model":"Heat pump","colour":"red"}`,
				`{"serial_number":"OLD-1","model":"X"}`,
				`{"serial_number":"N-1","model":"again"}`,
				`{"serial_number":"N-5","model":"Heat pump","metadata":{"batch":"B7"}}`,
			}, "\n"), []string{"1:created", "2:rejected", "4:rejected", "5:rejected", "6:rejected", "7:unchanged", "8:unchanged", "9:created"}},
			{"csv", things.ImportCSV, "serial_number,model,connection_token,metadata.batch\r\nC-1,Thermostat,,B1\r\nC-2,,x,\r\n\"C-3\",Thermostat,tok,\r\nC-4,too,many,fields,here\r\n",
				[]string{"2:created", "3:rejected", "4:created", "5:rejected"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				sum, err := e.svc.ImportProducts(ctx, e.adm.Actor(), e.org, strings.NewReader(tt.body), tt.format, func(r things.ImportResult) error {
					got = append(got, fmt.Sprintf("%d:%s", r.Line, r.Status))
					if r.Status == "rejected" && r.Error == "" {
						t.Errorf("line %d rejected without a reason", r.Line)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("answers = %v, want %v", got, tt.want)
				}
				if sum.Created+sum.Unchanged+sum.Rejected != len(tt.want) {
					t.Errorf("summary %+v does not count %d lines", sum, len(tt.want))
				}
			})
		}
		p, err := e.svc.Product(ctx, e.org, "N-5")
		if err != nil || p.Metadata["batch"] != "B7" {
			t.Errorf("imported N-5 = %+v, %v", p, err)
		}
		p, err = e.svc.Product(ctx, e.org, "C-3")
		if err != nil || p.TokenHash == nil {
			t.Errorf("imported C-3 = %+v, %v; want a token hash", p, err)
		}
		// An imported token is checked at activation like any other.
		c := e.newCustomer(t, "Importer Check", "customer_admin")
		if _, err := e.svc.Activate(ctx, c.p, c.acct.ID, things.Activation{SerialNumber: "N-1", ConnectionToken: "abc", LocationID: c.loc.ID}); err != nil {
			t.Errorf("activate imported N-1: %v", err)
		}
		// A bad CSV header stops the import before any line.
		_, err = e.svc.ImportProducts(ctx, e.adm.Actor(), e.org, strings.NewReader("serial,model\nA,B\n"), things.ImportCSV, func(things.ImportResult) error { return nil })
		if slug(err) != "bad-import-header" {
			t.Errorf("bad header: %v", err)
		}
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.EBadRequest {
			t.Errorf("bad header code: %v", err)
		}
	})
}
