package flows

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// StartSignup is the input of the first registration step.
type StartSignup struct {
	Organization string
	Email        string
	AccountType  string
	ClientIP     string
	// Language is the language of the page the request came from; the
	// mails of the registration use it.
	Language string
}

// StartSignup sends a registration link to a new address, or a "you already
// have an account" notice to a registered one. The caller cannot tell which:
// both write the same job and succeed the same way (see runSignupJob).
func (s *Service) StartSignup(ctx context.Context, in StartSignup) error {
	var fields []domain.FieldError
	email, ferr := ValidEmail("email", in.Email)
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	if in.AccountType == "" {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "is required"})
	} else if !slices.Contains(domain.AccountTypes, in.AccountType) {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "must be one of " + strings.Join(domain.AccountTypes, ", ")})
	}
	if len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	org, err := s.organization(ctx, in.Organization)
	if err != nil {
		return err
	}
	if !org.Onboarding.SelfRegistration.Enabled {
		return domain.Errorf(domain.EForbidden, "self-registration-disabled", "Self-registration is not available.")
	}
	if !org.Onboarding.Offers(in.AccountType) {
		return domain.Invalid(domain.FieldError{Field: "account_type", Message: "is not offered for self-registration"})
	}
	if req := org.Onboarding.EmailRequirement; req != "" {
		re, err := s.wholeRegexp(req)
		if err != nil {
			return fmt.Errorf("email requirement of %s: %w", org.Name, err)
		}
		if !re.MatchString(email) {
			return domain.Invalid(domain.FieldError{Field: "email", Message: "is not accepted for self-registration here"})
		}
	}
	if err := s.rateLimitAll(ctx,
		ratelimit.Check{Key: "signup:ip:" + in.ClientIP, Rule: s.cfg.Limits.SignupPerIP},
		ratelimit.Check{Key: "signup:email:" + org.ID + ":" + domain.NormalizeEmail(email), Rule: s.cfg.Limits.SignupPerEmail},
	); err != nil {
		return err
	}

	return s.EnqueueJob(ctx, org.ID, jobSignup, email, signupJob{Email: email, AccountType: in.AccountType, Language: in.Language})
}

// signupJob is a signup start waiting for the job worker.
type signupJob struct {
	Email       string `json:"email"`
	AccountType string `json:"account_type"`
	// Language is the language of the page the signup was started on.
	Language string `json:"language,omitempty"`
	// Purpose is domain.SignupDeviceSetup for a device owner's sign-up.
	Purpose string `json:"purpose,omitempty"`
}

// runSignupJob queues, in tx, a registration link for a new address (its
// earlier pending links are superseded) or the "you already have an account"
// notice for a registered one.
func (s *Service) runSignupJob(ctx context.Context, tx *store.Tx, orgID string, p signupJob, now time.Time) (bool, error) {
	mails, err := s.runSignupJobs(ctx, tx, []queuedSignup{{orgID: orgID, job: p}}, now, time.Time{})
	return len(mails) > 0, err
}

// queuedSignup is a signup job of a batch.
type queuedSignup struct {
	orgID string
	job   signupJob
}

// runSignupJobs runs signup jobs as runSignupJob does, in tx, with a few
// statements for all of them: one to find the registered addresses and one
// to supersede earlier pending links (each per organization), one each for
// the signups, the funnel's subjects and its counters, and the mails. A job
// later in jobs supersedes the link of an earlier one for the same address,
// as when they run one after the other. It returns the mails it wrote:
// queued when until is zero, else leased until until for this node's mail
// worker (EnqueueLeasedMails), which the caller hands them to once tx
// commits.
func (s *Service) runSignupJobs(ctx context.Context, tx *store.Tx, jobs []queuedSignup, now, until time.Time) ([]domain.OutboxMail, error) {
	p, err := s.planSignupJobs(ctx, tx, jobs, now)
	if err != nil {
		return nil, err
	}
	if err := p.write(ctx, tx, now, until); err != nil {
		return nil, err
	}
	return p.mails, nil
}

// registeredReader finds registered addresses: a transaction, or the store
// outside one.
type registeredReader interface {
	EmailsRegistered(ctx context.Context, orgID string, emails []string) (map[string]bool, error)
}

// signupPlan is what a batch of signup jobs writes, worked out from the
// addresses registered when it was planned (planSignupJobs): rendering the
// mails, drawing the tokens and sealing the bodies need no transaction.
type signupPlan struct {
	// orgs are the organizations of the jobs that still exist, and emails
	// the addresses of their jobs.
	orgs []signupPlanOrg
	// registered holds, by organization, the registered addresses the plan
	// was made with (normalized).
	registered map[string]map[string]bool
	mails      []domain.OutboxMail
	signups    []domain.Signup
	starts     []store.FunnelStart
	supersede  map[string][]string // by organization, addresses whose earlier links to supersede
	// sealed holds the mails sealed beforehand (seal), nil until then.
	sealed *store.SealedMails
}

type signupPlanOrg struct {
	org    domain.Organization
	emails []string
}

// planSignupJobs works out what runSignupJobs writes for jobs, reading the
// registered addresses with q.
func (s *Service) planSignupJobs(ctx context.Context, q registeredReader, jobs []queuedSignup, now time.Time) (*signupPlan, error) {
	var orgs []*signupPlanOrg
	byOrg := map[string]*signupPlanOrg{}
	for _, j := range jobs {
		if o := byOrg[j.orgID]; o != nil {
			o.emails = append(o.emails, j.job.Email)
			continue
		}
		org, err := s.orgByID(ctx, j.orgID)
		if store.IsNotFound(err) {
			byOrg[j.orgID] = &signupPlanOrg{} // gone: its jobs are done without effect
			continue
		}
		if err != nil {
			return nil, err
		}
		o := &signupPlanOrg{org: org, emails: []string{j.job.Email}}
		byOrg[j.orgID], orgs = o, append(orgs, o)
	}
	p := &signupPlan{registered: map[string]map[string]bool{}, supersede: map[string][]string{}}
	for _, o := range orgs {
		r, err := q.EmailsRegistered(ctx, o.org.ID, o.emails)
		if err != nil {
			return nil, err
		}
		p.registered[o.org.ID] = r
		p.orgs = append(p.orgs, *o)
	}

	type address struct{ org, email string }
	newest := map[address]int{} // index in p.signups of an address's newest link
	for _, j := range jobs {
		o := byOrg[j.orgID]
		if o.org.ID == "" {
			continue
		}
		org, job := o.org, j.job
		lower := domain.NormalizeEmail(job.Email)
		if p.registered[org.ID][lower] {
			m, err := s.QueueMail(org, job.Language, "already_registered", job.Email, obmail.AlreadyRegisteredData{
				Organization: displayName(org), SignInURL: s.pageURL(org, "/login"), ResetURL: s.pageURL(org, "/reset-password"),
			})
			if err != nil {
				return nil, err
			}
			p.mails = append(p.mails, m)
			continue
		}
		token, hash, err := auth.NewToken()
		if err != nil {
			return nil, fmt.Errorf("start signup: %w", err)
		}
		ttl := s.cfg.SignupTTL
		if t := org.Onboarding.SignupLinkTTL; t > 0 {
			ttl = time.Duration(t)
		}
		m, err := s.QueueMail(org, job.Language, "signup", job.Email, obmail.SignupData{
			Organization: displayName(org), Link: s.pageLink(org, "/register", token), ExpiresIn: HumanDuration(ttl),
		})
		if err != nil {
			return nil, err
		}
		su := domain.Signup{
			ID: store.NewID(), OrgID: org.ID, Email: job.Email, AccountType: job.AccountType, TokenHash: hash,
			State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(ttl), Language: knownLanguage(job.Language),
			Purpose: job.Purpose,
		}
		addr := address{org.ID, lower}
		if k, ok := newest[addr]; ok {
			p.signups[k].State = domain.SignupSuperseded
		} else {
			p.supersede[org.ID] = append(p.supersede[org.ID], lower)
		}
		newest[addr] = len(p.signups)
		p.signups = append(p.signups, su)
		p.starts = append(p.starts, store.FunnelStart{SignupID: su.ID, OrgID: org.ID, AccountType: su.AccountType, At: now})
		p.mails = append(p.mails, m)
	}
	return p, nil
}

// seal seals the plan's mails with st's keyring, so that write does not.
func (p *signupPlan) seal(st *store.Store) error {
	sm, err := st.SealMails(p.mails)
	if err != nil {
		return err
	}
	p.sealed = &sm
	return nil
}

// stillRegistered reports whether the registered addresses of the plan's
// jobs are, in tx, what the plan was made with.
func (p *signupPlan) stillRegistered(ctx context.Context, tx *store.Tx) (bool, error) {
	for _, o := range p.orgs {
		r, err := tx.EmailsRegistered(ctx, o.org.ID, o.emails)
		if err != nil {
			return false, err
		}
		if !maps.Equal(r, p.registered[o.org.ID]) {
			return false, nil
		}
	}
	return true, nil
}

// write writes the plan in tx: the mails queued when until is zero, else
// leased until until.
func (p *signupPlan) write(ctx context.Context, tx *store.Tx, now, until time.Time) error {
	for _, o := range p.orgs {
		if emails := p.supersede[o.org.ID]; len(emails) > 0 {
			if err := tx.SupersedePendingSignupsOf(ctx, o.org.ID, emails); err != nil {
				return err
			}
		}
	}
	if err := tx.CreateSignups(ctx, p.signups); err != nil {
		return err
	}
	if err := tx.FunnelSignupsStarted(ctx, p.starts); err != nil {
		return err
	}
	if p.sealed != nil {
		return tx.EnqueueSealedMails(ctx, *p.sealed, now, until)
	}
	if until.IsZero() {
		return tx.EnqueueMails(ctx, p.mails, now)
	}
	return tx.EnqueueLeasedMails(ctx, p.mails, now, until)
}
