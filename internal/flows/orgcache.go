package flows

import (
	"context"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// orgCacheTTL bounds how long an organization read from the database is
// reused. A change made through this process is seen at once (the cache is
// dropped); other nodes see it within this time, so that a change made on
// one node of several is in force on all of them within a second, request
// time included. A read every half second per node costs nothing.
const orgCacheTTL = 500 * time.Millisecond

// orgCache keeps recently read organizations by name and by id: nearly every
// request needs its organization, and organizations rarely change.
//
// A read that started before a change and ends after it must not put the
// older organization back once the change dropped the cache: forget advances
// a generation, and put keeps an organization only when no forget happened
// since the read began.
type orgCache struct {
	mu     sync.Mutex
	gen    uint64
	byName map[string]cachedOrg
	byID   map[string]cachedOrg

	// lookups are the organizations' registration lookups (lookupcache.go).
	lookups lookupCache
}

type cachedOrg struct {
	org domain.Organization
	at  time.Time
}

// get returns the organization with that id (byID) or name when it is
// fresh, and the generation to hand to put otherwise.
func (c *orgCache) get(byID bool, key string, now time.Time) (domain.Organization, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byName
	if byID {
		m = c.byID
	}
	e, ok := m[key]
	if !ok || now.Sub(e.at) > orgCacheTTL || now.Before(e.at) {
		return domain.Organization{}, c.gen, false
	}
	return e.org, c.gen, true
}

// put keeps org, read from now on, unless the cache was dropped since get
// returned gen.
func (c *orgCache) put(org domain.Organization, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
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
	c.gen++
	c.byName, c.byID = nil, nil
}

// orgByName returns the named organization, with its configuration's defaults filled.
func (s *Service) orgByName(ctx context.Context, name string) (domain.Organization, error) {
	now := time.Now()
	org, gen, ok := s.orgs.get(false, name, now)
	if !ok {
		var err error
		if org, err = s.store.OrganizationByName(ctx, name); err != nil {
			return org, err
		}
		org.Onboarding = org.Onboarding.WithDefaults()
		s.orgs.put(org, gen, now)
	}
	return enabledOrg(org)
}

// orgByID returns the organization with that id, with its configuration's defaults filled.
func (s *Service) orgByID(ctx context.Context, id string) (domain.Organization, error) {
	now := time.Now()
	org, gen, ok := s.orgs.get(true, id, now)
	if !ok {
		var err error
		if org, err = s.store.OrganizationByID(ctx, id); err != nil {
			return org, err
		}
		org.Onboarding = org.Onboarding.WithDefaults()
		s.orgs.put(org, gen, now)
	}
	return enabledOrg(org)
}

// enabledOrg is org, or domain.ErrNotFound when a supervisor disabled it:
// every public flow (pages, API, sign-in, sign-up, sessions, device setup,
// B2B) reads organizations through orgByName and orgByID, so that a
// disabled organization answers exactly as an unknown one. The console and
// the admin API read the store directly and still see it.
func enabledOrg(org domain.Organization) (domain.Organization, error) {
	if org.DisabledAt != nil {
		return domain.Organization{}, disabledOrgError{p: domain.Errorf(domain.ENotFound, "organization-not-found", "There is no such organization.")}
	}
	return org, nil
}

// disabledOrgError is the "no such organization" problem of a disabled
// organization that is also domain.ErrNotFound, so that callers that turn
// a missing organization into their own answer do the same for it.
type disabledOrgError struct{ p *domain.Error }

func (e disabledOrgError) Error() string   { return e.p.Error() }
func (e disabledOrgError) Unwrap() []error { return []error{e.p, domain.ErrNotFound} }

// EnabledOrganization checks that the organization with that id exists and
// is not disabled (domain.ErrNotFound otherwise), with the cache's
// one-second freshness; for services (B2B) that read their own rows.
func (s *Service) EnabledOrganization(ctx context.Context, id string) error {
	_, err := s.orgByID(ctx, id)
	return err
}
