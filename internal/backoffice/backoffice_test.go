package backoffice_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(t *testing.T, dsn string, clk *clock) (*store.Store, *backoffice.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{flows.DefaultOrganization, "acme"} {
		if _, err := flows.EnsureOrganization(ctx, st, n, n); err != nil {
			t.Fatal(err)
		}
	}
	templates, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	params := auth.DefaultParams()
	params.Memory, params.Time = 64, 1
	svc := backoffice.New(backoffice.Deps{Store: st, Hasher: auth.NewHasher(params, 2), Policy: auth.DefaultPolicy(), Mail: templates,
		Limiter: ratelimit.NewMemory(clk.Now), Now: clk.Now}, backoffice.Config{PublicURL: "http://onboard.test", MailFrom: "no-reply@onboard.test"})
	return st, svc
}

var linkRE = regexp.MustCompile(`/admin/set-password\?token=([A-Za-z0-9_-]+)`)

// mailedToken reads the set-password token from the one queued mail to addr.
func mailedToken(t *testing.T, st *store.Store, now time.Time, addr string) string {
	t.Helper()
	ms, err := st.ClaimMail(context.Background(), now.Add(time.Second), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.To == addr && m.Template == mail.TemplateBackOfficeInvite {
			if g := linkRE.FindStringSubmatch(m.Text); g != nil {
				return g[1]
			}
		}
	}
	t.Fatalf("no set-password mail to %s among %d", addr, len(ms))
	return ""
}

func code(t *testing.T, err error) domain.Code {
	t.Helper()
	de := domain.AsError(err)
	if de == nil {
		t.Fatalf("error %v is not a domain error", err)
	}
	return de.Code
}

func TestBackOfficeUsers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		st, svc := newService(t, dsn, clk)

		// Bad input: field errors, nothing written.
		_, err := svc.CreateUser(ctx, "cli", backoffice.NewUser{Organization: "nope", Email: "not an address", Role: "king"})
		if de := domain.AsError(err); de == nil || de.Code != domain.EInvalid || len(de.Fields) != 3 {
			t.Fatalf("bad input: %v", err)
		}
		u, err := svc.CreateUser(ctx, "cli", backoffice.NewUser{Organization: "acme", Email: "Ada@Acme.test"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != domain.RoleOrgAdmin {
			t.Fatalf("role %q", u.Role)
		}
		if _, err := svc.CreateUser(ctx, "cli", backoffice.NewUser{Organization: "acme", Email: "ada@acme.test"}); code(t, err) != domain.EInvalid {
			t.Fatalf("duplicate email: %v", err)
		}
		// No password yet: sign-in fails like a wrong password.
		if _, _, err := svc.Login(ctx, backoffice.Login{Email: "ada@acme.test", Password: "whatever-long", ClientIP: "1.2.3.4"}); code(t, err) != domain.EUnauthorized {
			t.Fatalf("login before password: %v", err)
		}
		token := mailedToken(t, st, clk.Now(), "Ada@Acme.test")
		if err := svc.SetPassword(ctx, token, "short"); code(t, err) != domain.EInvalid {
			t.Fatalf("short password: %v", err)
		}
		const pw = "a long back-office passphrase"
		if err := svc.SetPassword(ctx, token, pw); err != nil {
			t.Fatal(err)
		}
		if err := svc.SetPassword(ctx, token, pw); code(t, err) != domain.EGone {
			t.Fatalf("second use of the link: %v", err)
		}
		tok, p, err := svc.Login(ctx, backoffice.Login{Email: "ADA@acme.test", Password: pw, ClientIP: "1.2.3.4"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Ready() || p.Supervisor() {
			t.Fatalf("principal %+v", p)
		}
		if _, err := svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// An org_admin sees its organization and not another.
		if _, err := svc.Organization(ctx, p, "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Organization(ctx, p, flows.DefaultOrganization); code(t, err) != domain.ENotFound {
			t.Fatalf("other organization: %v", err)
		}
		if got := p.Admin().Actor(); got != "backoffice:"+u.ID {
			t.Fatalf("actor %q", got)
		}
		if err := svc.SetRequireTOTP(ctx, p, true); code(t, err) != domain.EForbidden {
			t.Fatalf("org_admin changes a system setting: %v", err)
		}
		if err := svc.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, tok); code(t, err) != domain.EUnauthorized {
			t.Fatalf("after logout: %v", err)
		}
		// Lockout after five failures (one above, before the password was
		// set), even with the right password.
		for range 4 {
			if _, _, err := svc.Login(ctx, backoffice.Login{Email: "ada@acme.test", Password: "wrong password!", ClientIP: "1.2.3.4"}); code(t, err) != domain.EUnauthorized {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if _, _, err := svc.Login(ctx, backoffice.Login{Email: "ada@acme.test", Password: pw, ClientIP: "1.2.3.4"}); code(t, err) != domain.ERateLimited {
			t.Fatalf("locked out: %v", err)
		}
		clk.Add(2 * time.Hour)
		if _, _, err := svc.Login(ctx, backoffice.Login{Email: "ada@acme.test", Password: pw, ClientIP: "1.2.3.4"}); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// A customer-side session token never opens the console.
		custTok, _, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, custTok); code(t, err) != domain.EUnauthorized {
			t.Fatalf("foreign token: %v", err)
		}
	})
}

func TestBackOfficeTOTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		st, svc := newService(t, dsn, clk)
		if _, err := svc.CreateUser(ctx, "cli", backoffice.NewUser{Email: "sup@onboard.test", Role: domain.RoleSupervisor}); err != nil {
			t.Fatal(err)
		}
		const pw = "supervising all the things"
		if err := svc.SetPassword(ctx, mailedToken(t, st, clk.Now(), "sup@onboard.test"), pw); err != nil {
			t.Fatal(err)
		}
		login := func() (string, backoffice.Principal) {
			t.Helper()
			tok, p, err := svc.Login(ctx, backoffice.Login{Email: "sup@onboard.test", Password: pw, ClientIP: "5.6.7.8"})
			if err != nil {
				t.Fatal(err)
			}
			return tok, p
		}
		_, p := login()
		if !p.Supervisor() || !p.Ready() {
			t.Fatalf("principal %+v", p)
		}
		if err := svc.SetRequireTOTP(ctx, p, true); err != nil {
			t.Fatal(err)
		}
		tok, p := login()
		if !p.MustEnrol {
			t.Fatal("TOTP required but no enrolment asked")
		}
		e, err := svc.BeginEnrolment(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if png, err := backoffice.QRCode(e, 200); err != nil || len(png) < 100 {
			t.Fatalf("qr: %d bytes, %v", len(png), err)
		}
		if pe, err := svc.PendingEnrolment(ctx, p); err != nil || pe.Secret != e.Secret {
			t.Fatalf("pending enrolment %+v, %v", pe, err)
		}
		if _, _, err := svc.ConfirmEnrolment(ctx, p, "000000"); code(t, err) != domain.EInvalid {
			t.Fatalf("wrong code: %v", err)
		}
		c, err := totp.GenerateCode(e.Secret, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, recovery, err := svc.ConfirmEnrolment(ctx, p, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(recovery) != backoffice.RecoveryCodes || !p.Ready() {
			t.Fatalf("recovery %d, principal %+v", len(recovery), p)
		}
		if p2, err := svc.Authenticate(ctx, tok); err != nil || !p2.Ready() {
			t.Fatalf("session after enrolment: %+v %v", p2, err)
		}
		// A new sign-in needs a code; the code just used does not work twice.
		_, p = login()
		if !p.NeedsSecondFactor || p.Ready() {
			t.Fatalf("second sign-in %+v", p)
		}
		if _, err := svc.VerifyCode(ctx, p, c); code(t, err) != domain.EInvalid {
			t.Fatalf("replayed code: %v", err)
		}
		clk.Add(30 * time.Second)
		c2, _ := totp.GenerateCode(e.Secret, clk.Now())
		if p, err = svc.VerifyCode(ctx, p, c2); err != nil || !p.Ready() {
			t.Fatalf("next code: %+v %v", p, err)
		}
		// A recovery code works once.
		_, p = login()
		if p, err = svc.VerifyCode(ctx, p, recovery[0]); err != nil || !p.Ready() {
			t.Fatalf("recovery code: %v", err)
		}
		_, p = login()
		if _, err := svc.VerifyCode(ctx, p, recovery[0]); code(t, err) != domain.EInvalid {
			t.Fatalf("recovery code twice: %v", err)
		}
	})
}
