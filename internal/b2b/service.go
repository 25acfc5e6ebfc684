// Package b2b holds onboard's business-to-business rules: labelpartners and
// their app links, B2B and app clients with their secrets, end users
// (created one by one, imported in bulk from NDJSON or CSV, provisioned and
// registered from the apps), their activity, OAuth-style tokens for clients
// and end users, password resets of end users, and sign-in through a
// labelpartner's identity provider (token introspection). Like flows it
// knows nothing of HTTP: it takes typed input, checks the rules and calls
// the store, and fails with *domain.Error codes the HTTP edge maps.
//
// It shares the flows Service's store, clock, limiter, mail and job worker
// (flows.Service.Deps, QueueMail, EnqueueJob, HandleJob).
package b2b

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// Job kinds of the B2B flows, run by the flows job worker.
const (
	jobB2BProvision = "b2b_provision"
	jobB2BReset     = "b2b_reset"
)

// Service runs the B2B flows.
type Service struct {
	core     *flows.Service
	store    *store.Store
	hasher   *auth.Hasher
	policy   auth.Policy
	limiter  flows.Limiter
	now      func() time.Time
	log      *slog.Logger
	http     *outbound.Client
	cfg      flows.Config // public URL, rate limits, link lifetimes
	settings Config
}

// New returns a Service sharing core's store, clock, limiter, mail and job
// worker; it makes core's worker run the B2B jobs.
func New(core *flows.Service, cfg Config) *Service {
	d := core.Deps()
	s := &Service{core: core, store: d.Store, hasher: d.Hasher, policy: d.Policy, limiter: d.Limiter,
		now: d.Now, log: d.Logger, http: d.HTTP, cfg: core.Config(), settings: cfg.withDefaults()}
	core.HandleJob(jobB2BProvision, func(ctx context.Context, tx *store.Tx, _ string, payload []byte, now time.Time) (bool, error) {
		var p provisionJob
		if err := json.Unmarshal(payload, &p); err != nil {
			return false, fmt.Errorf("provision job: %w", err)
		}
		return s.runProvisionJob(ctx, tx, p, now)
	})
	core.HandleJob(jobB2BReset, func(ctx context.Context, tx *store.Tx, _ string, payload []byte, now time.Time) (bool, error) {
		var p b2bResetJob
		if err := json.Unmarshal(payload, &p); err != nil {
			return false, fmt.Errorf("b2b reset job: %w", err)
		}
		return s.runB2BResetJob(ctx, tx, p, now)
	})
	return s
}

// stamp returns the current time as stored (UTC, microseconds).
func (s *Service) stamp() time.Time { return store.Timestamp(s.now()) }

func (s *Service) rateLimit(ctx context.Context, key string, r ratelimit.Rule) error {
	d, err := s.limiter.Allow(ctx, key, r)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return flows.RateLimited(d.RetryAfter)
	}
	return nil
}

// link is onboard's own page at path with the token.
func (s *Service) link(path string, token string) string {
	return s.cfg.PublicURL + path + "?token=" + url.QueryEscape(token)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
