package flows

import (
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

func TestOrgCache(t *testing.T) {
	var c orgCache
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	org := domain.Organization{ID: "o1", Name: "acme"}
	if _, ok := c.get(c.byName, "acme", now); ok {
		t.Fatal("hit on an empty cache")
	}
	c.put(org, now)
	cases := []struct {
		name  string
		m     map[string]cachedOrg
		key   string
		at    time.Time
		found bool
	}{
		{"by name", c.byName, "acme", now, true},
		{"by id", c.byID, "o1", now.Add(orgCacheTTL), true},
		{"expired", c.byName, "acme", now.Add(orgCacheTTL + time.Nanosecond), false},
		{"clock went back", c.byName, "acme", now.Add(-time.Second), false},
		{"other name", c.byName, "other", now, false},
	}
	for _, tc := range cases {
		got, ok := c.get(tc.m, tc.key, tc.at)
		if ok != tc.found || (ok && got.ID != "o1") {
			t.Errorf("%s: got %v, %v", tc.name, got, ok)
		}
	}
	c.forget()
	if _, ok := c.get(c.byName, "acme", now); ok {
		t.Fatal("hit after forget")
	}
}
