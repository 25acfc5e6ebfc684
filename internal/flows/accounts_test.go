package flows

import (
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

func TestMaskEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ada@example.com", "a***@example.com"},
		{"a@example.com", "a***@example.com"},
		{"Émile@example.fr", "É***@example.fr"},
		{"@example.com", "***@example.com"},
		{"no-at-sign", "***"},
	} {
		if got := MaskEmail(tc.in); got != tc.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAccountAdministrators(t *testing.T) {
	admin := domain.UserType{ID: "a", Name: "customer_admin", Permissions: []string{domain.PermAccountAdmin}}
	partnerAdmin := domain.UserType{ID: "p", Name: "partner_admin", Permissions: []string{domain.PermPartnerAccountAdmin}}
	plain := domain.UserType{ID: "u", Name: "customer_user", Permissions: []string{domain.PermLocationRead}}
	for _, tc := range []struct {
		kind string
		ut   domain.UserType
		want bool
	}{
		{domain.KindCustomer, admin, true},
		{domain.KindCustomer, partnerAdmin, false},
		{domain.KindCustomer, plain, false},
		{domain.KindPartner, partnerAdmin, true},
		{domain.KindPartner, admin, false},
		{domain.KindDataRecipient, admin, false},
		{"", admin, false},
	} {
		if got := isAccountAdmin(tc.kind, tc.ut); got != tc.want {
			t.Errorf("isAccountAdmin(%q, %s) = %v, want %v", tc.kind, tc.ut.Name, got, tc.want)
		}
	}
	types := map[string]domain.UserType{"a": admin, "u": plain}
	users := []domain.User{
		{ID: "1", UserTypeID: "a", Status: domain.StatusActive},
		{ID: "2", UserTypeID: "a", Status: domain.StatusInvited},
		{ID: "3", UserTypeID: "u", Status: domain.StatusActive},
		{ID: "4", UserTypeID: "a", Status: domain.StatusActive},
	}
	for _, tc := range []struct {
		except string
		want   int
	}{{"", 2}, {"1", 1}, {"2", 2}, {"3", 2}, {"4", 1}} {
		if got := activeAdmins(domain.KindCustomer, users, types, tc.except); got != tc.want {
			t.Errorf("activeAdmins except %q = %d, want %d", tc.except, got, tc.want)
		}
	}
	for _, tc := range []struct {
		kind, name string
		want       bool
	}{
		{domain.KindCustomer, "customer_viewer", true},
		{domain.KindCustomer, "partner_user", false},
		{domain.KindPartner, "partner_user", true},
		{domain.KindPartner, "partners_x", false},
		{"", "customer_user", false},
	} {
		if got := assignable(tc.kind, domain.UserType{Name: tc.name}); got != tc.want {
			t.Errorf("assignable(%q, %q) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}

func TestInvitationStatus(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		state   string
		expires time.Time
		want    string
	}{
		{domain.InvitationPending, now.Add(time.Second), "pending"},
		{domain.InvitationPending, now, "expired"},
		{domain.InvitationAccepted, now.Add(-time.Hour), "accepted"},
		{domain.InvitationRevoked, now.Add(time.Hour), "revoked"},
		{domain.InvitationSuperseded, now.Add(-time.Hour), "superseded"},
	} {
		if got := invitationStatus(domain.Invitation{State: tc.state, ExpiresAt: tc.expires}, now); got != tc.want {
			t.Errorf("%s expiring %v: %q, want %q", tc.state, tc.expires.Sub(now), got, tc.want)
		}
	}
}

func TestHumanTTL(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "7 days"},
		{2 * 24 * time.Hour, "2 days"},
		{24 * time.Hour, "24 hours"},
		{36 * time.Hour, "36 hours"},
		{time.Hour, "1 hour"},
		{30 * time.Minute, "30 minutes"},
	} {
		if got := humanTTL(tc.d); got != tc.want {
			t.Errorf("humanTTL(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
