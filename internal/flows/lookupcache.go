package flows

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// lookupCacheTTL bounds how long the registration lookups of an organization
// (property definitions, current agreements, user types) are reused. A change
// made through this process is seen at once (the entry is dropped); other
// nodes see it within this time. A completion therefore accepts an agreement
// version at most this long (plus its own duration, as without the cache)
// after a newer one was published on another node, and the user is asked for
// the newer one at the next sign-in.
const lookupCacheTTL = orgCacheTTL

// regLookups are what completing a registration reads of its organization's
// configuration. They are shared between requests: read them, never change
// them.
type regLookups struct {
	props      []domain.PropertyDefinition
	agreements []domain.Agreement // the current version of each
	userTypes  []domain.UserType
}

// userType returns the user type with that name.
func (l regLookups) userType(name string) (domain.UserType, bool) {
	for _, ut := range l.userTypes {
		if ut.Name == name {
			return ut, true
		}
	}
	return domain.UserType{}, false
}

// lookupCache keeps recently read regLookups by organization id.
//
// A read that started before a change and ends after it must not put its
// older answer back once the change dropped the entry: forget advances a
// generation, and put keeps an answer only when no forget happened since the
// read began.
type lookupCache struct {
	mu    sync.Mutex
	gen   uint64
	byOrg map[string]cachedLookups
}

type cachedLookups struct {
	v  regLookups
	at time.Time
}

// get returns the organization's cached lookups when they are fresh, and the
// generation to hand to put otherwise.
func (c *lookupCache) get(orgID string, now time.Time) (regLookups, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byOrg[orgID]
	if !ok || now.Sub(e.at) > lookupCacheTTL || now.Before(e.at) {
		return regLookups{}, c.gen, false
	}
	return e.v, c.gen, true
}

// put keeps v, read from at on, unless the cache was dropped since get
// returned gen.
func (c *lookupCache) put(orgID string, v regLookups, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.byOrg == nil || len(c.byOrg) > 10000 {
		c.byOrg = map[string]cachedLookups{}
	}
	c.byOrg[orgID] = cachedLookups{v, at}
}

// forget drops the organization's lookups (after a change of its property
// definitions, agreements or user types) and keeps reads that began earlier
// from putting theirs back.
func (c *lookupCache) forget(orgID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.byOrg, orgID)
}

// regLookups returns the organization's property definitions, current
// agreements and user types, read at most lookupCacheTTL ago and after the
// last change this process made to them.
func (s *Service) regLookups(ctx context.Context, orgID string) (regLookups, error) {
	now := time.Now()
	v, gen, ok := s.orgs.lookups.get(orgID, now)
	if ok {
		return v, nil
	}
	var err error
	if v.props, err = s.store.PropertyDefinitions(ctx, orgID); err != nil {
		return v, fmt.Errorf("registration lookups: %w", err)
	}
	if v.agreements, err = s.store.CurrentAgreements(ctx, orgID); err != nil {
		return v, fmt.Errorf("registration lookups: %w", err)
	}
	if v.userTypes, err = s.store.UserTypes(ctx, orgID); err != nil {
		return v, fmt.Errorf("registration lookups: %w", err)
	}
	s.orgs.lookups.put(orgID, v, gen, now)
	return v, nil
}
