package flows

import (
	"context"
	"fmt"
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
	type orgJobs struct {
		org    domain.Organization
		emails []string
	}
	var orgs []*orgJobs
	byOrg := map[string]*orgJobs{}
	for _, j := range jobs {
		if o := byOrg[j.orgID]; o != nil {
			o.emails = append(o.emails, j.job.Email)
			continue
		}
		org, err := s.orgByID(ctx, j.orgID)
		if store.IsNotFound(err) {
			byOrg[j.orgID] = &orgJobs{} // gone: its jobs are done without effect
			continue
		}
		if err != nil {
			return nil, err
		}
		o := &orgJobs{org: org, emails: []string{j.job.Email}}
		byOrg[j.orgID], orgs = o, append(orgs, o)
	}
	registered := map[string]map[string]bool{}
	for _, o := range orgs {
		r, err := tx.EmailsRegistered(ctx, o.org.ID, o.emails)
		if err != nil {
			return nil, err
		}
		registered[o.org.ID] = r
	}

	type address struct{ org, email string }
	var (
		mails     []domain.OutboxMail
		signups   []domain.Signup
		starts    []store.FunnelStart
		newest    = map[address]int{} // index in signups of an address's newest link
		supersede = map[string][]string{}
	)
	for _, j := range jobs {
		o := byOrg[j.orgID]
		if o.org.ID == "" {
			continue
		}
		org, p := o.org, j.job
		lower := domain.NormalizeEmail(p.Email)
		if registered[org.ID][lower] {
			m, err := s.QueueMail(org, p.Language, "already_registered", p.Email, obmail.AlreadyRegisteredData{
				Organization: displayName(org), SignInURL: s.pageURL(org, "/login"), ResetURL: s.pageURL(org, "/reset-password"),
			})
			if err != nil {
				return nil, err
			}
			mails = append(mails, m)
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
		m, err := s.QueueMail(org, p.Language, "signup", p.Email, obmail.SignupData{
			Organization: displayName(org), Link: s.pageLink(org, "/register", token), ExpiresIn: HumanDuration(ttl),
		})
		if err != nil {
			return nil, err
		}
		su := domain.Signup{
			ID: store.NewID(), OrgID: org.ID, Email: p.Email, AccountType: p.AccountType, TokenHash: hash,
			State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(ttl), Language: knownLanguage(p.Language),
			Purpose: p.Purpose,
		}
		addr := address{org.ID, lower}
		if k, ok := newest[addr]; ok {
			signups[k].State = domain.SignupSuperseded
		} else {
			supersede[org.ID] = append(supersede[org.ID], lower)
		}
		newest[addr] = len(signups)
		signups = append(signups, su)
		starts = append(starts, store.FunnelStart{SignupID: su.ID, OrgID: org.ID, AccountType: su.AccountType, At: now})
		mails = append(mails, m)
	}
	for _, o := range orgs {
		if emails := supersede[o.org.ID]; len(emails) > 0 {
			if err := tx.SupersedePendingSignupsOf(ctx, o.org.ID, emails); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.CreateSignups(ctx, signups); err != nil {
		return nil, err
	}
	if err := tx.FunnelSignupsStarted(ctx, starts); err != nil {
		return nil, err
	}
	enqueue := tx.EnqueueMails
	if !until.IsZero() {
		enqueue = func(ctx context.Context, ms []domain.OutboxMail, now time.Time) error {
			return tx.EnqueueLeasedMails(ctx, ms, now, until)
		}
	}
	if err := enqueue(ctx, mails, now); err != nil {
		return nil, err
	}
	return mails, nil
}
