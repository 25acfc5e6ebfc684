package flows

import (
	"context"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// orgCacheTTL bounds how long an organization read from the database is
// reused. A change made through this process is seen at once (the cache is
// dropped); other nodes see it within this time.
const orgCacheTTL = time.Second

// orgCache keeps recently read organizations by name and by id: nearly every
// request needs its organization, and organizations rarely change.
type orgCache struct {
	mu     sync.Mutex
	byName map[string]cachedOrg
	byID   map[string]cachedOrg
}

type cachedOrg struct {
	org domain.Organization
	at  time.Time
}

func (c *orgCache) get(m map[string]cachedOrg, key string, now time.Time) (domain.Organization, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[key]
	if !ok || now.Sub(e.at) > orgCacheTTL || now.Before(e.at) {
		return domain.Organization{}, false
	}
	return e.org, true
}

func (c *orgCache) put(org domain.Organization, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil || len(c.byName) > 10000 {
		c.byName, c.byID = map[string]cachedOrg{}, map[string]cachedOrg{}
	}
	c.byName[org.Name] = cachedOrg{org, now}
	c.byID[org.ID] = cachedOrg{org, now}
}

// forget drops every cached organization (after a change).
func (c *orgCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName, c.byID = nil, nil
}

// orgByName returns the named organization, with its configuration's defaults filled.
func (s *Service) orgByName(ctx context.Context, name string) (domain.Organization, error) {
	now := time.Now()
	if org, ok := s.orgs.get(s.orgs.byName, name, now); ok {
		return org, nil
	}
	org, err := s.store.OrganizationByName(ctx, name)
	if err != nil {
		return org, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	s.orgs.put(org, now)
	return org, nil
}

// orgByID returns the organization with that id, with its configuration's defaults filled.
func (s *Service) orgByID(ctx context.Context, id string) (domain.Organization, error) {
	now := time.Now()
	if org, ok := s.orgs.get(s.orgs.byID, id, now); ok {
		return org, nil
	}
	org, err := s.store.OrganizationByID(ctx, id)
	if err != nil {
		return org, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	s.orgs.put(org, now)
	return org, nil
}
