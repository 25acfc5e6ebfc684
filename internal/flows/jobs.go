package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Jobs: every anonymous request that names an email address (signup start,
// password reset, B2B provision and B2B reset) writes one job row holding the
// request, the same for a known and an unknown address, and answers. The job
// worker then looks the address up and, in one transaction with the job's
// deletion, creates the link (its token is drawn there; only its hash is
// stored) and queues the mail, or does nothing. So the request does the same
// work whatever the address, and its duration tells nothing about it.

// Job kinds.
const (
	jobSignup        = "signup"
	jobPasswordReset = "password_reset"
)

// JobFunc runs a job of a kind another package handles (HandleJob), inside
// tx; payload is what EnqueueJob was given, as JSON. It reports whether it
// queued mail.
type JobFunc func(ctx context.Context, tx *store.Tx, orgID string, payload []byte, now time.Time) (mailed bool, err error)

// HandleJob makes the job worker run jobs of kind with run. Call it before
// RunJobs starts.
func (s *Service) HandleJob(kind string, run JobFunc) {
	s.jobMu.Lock()
	defer s.jobMu.Unlock()
	s.jobRuns[kind] = run
}

// Job retries: after failed attempt n the job is due again after
// jobRetryBase × 2^(n−1) (at most jobRetryMax, ±20 %); after jobMaxAttempts
// it is kept as failed.
const (
	jobRetryBase   = time.Second
	jobRetryMax    = 5 * time.Minute
	jobMaxAttempts = 10
	jobPoll        = time.Second
	// jobSettle is how long the worker waits after a request wrote a job:
	// the job's work (more for a known address) then does not compete for
	// the processor with the end of that request's answer.
	jobSettle = 25 * time.Millisecond
)

// EnqueueJob writes one job for a request naming email, and wakes the worker.
// It returns once the job is committed; the jobs of concurrent requests
// share one statement and one commit (see jobQueue).
func (s *Service) EnqueueJob(ctx context.Context, orgID, kind, email string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("%s job: %w", kind, err)
	}
	j := store.Job{ID: store.NewID(), OrgID: orgID, Kind: kind, EmailLower: domain.NormalizeEmail(email), Payload: string(raw)}
	if err := s.jobQueue.enqueue(ctx, s.store, j, s.now()); err != nil {
		return fmt.Errorf("%s job: %w", kind, err)
	}
	s.wakeJobs()
	return nil
}

// wakeJobs tells RunJobs that a job is waiting.
func (s *Service) wakeJobs() {
	select {
	case s.jobWake <- struct{}{}:
	default:
	}
}

// RunJobs runs due jobs until ctx is done: shortly (jobSettle) after a
// request of this process wrote one, and every second otherwise (jobs of
// other processes, retries).
func (s *Service) RunJobs(ctx context.Context) error {
	t := time.NewTicker(jobPoll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := s.RunDueJobs(ctx, 100)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "jobs", "err", err)
			}
			if err != nil || n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.jobWake:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(jobSettle):
			}
		case <-t.C:
		}
	}
}

// jobBatch is how many due jobs RunDueJobs runs in one transaction: one
// claim, one commit and one deletion for all of them instead of one each,
// which is what lets the worker keep up with thousands of starts a second
// on PostgreSQL (each commit there waits for a WAL flush). On SQLite the
// batch holds the writer slot for its duration, so it stays small.
const (
	jobBatchPostgres = 64
	jobBatchSQLite   = 16
)

// errJobRun marks the failure of a job's own work in a batch (not of the
// claim or the commit).
type errJobRun struct{ err error }

func (e errJobRun) Error() string { return e.err.Error() }
func (e errJobRun) Unwrap() error { return e.err }

// RunDueJobs runs up to limit due jobs and returns how many it took (done
// or failed). Jobs run in batches, a batch in one transaction; when a job of
// a batch fails, the batch is rolled back and its jobs run again one per
// transaction, so that only the failing one is retried later with backoff.
func (s *Service) RunDueJobs(ctx context.Context, limit int) (int, error) {
	size := jobBatchSQLite
	if s.store.Engine() == store.Postgres {
		size = jobBatchPostgres
	}
	n := 0
	for n < limit {
		want := min(size, limit-n)
		got, mailed, err := s.runJobBatch(ctx, want)
		var runErr errJobRun
		switch {
		case err == nil:
			n += got
			if mailed {
				s.notify()
			}
			if got < want {
				return n, nil
			}
			continue
		case errors.As(err, &runErr) && ctx.Err() == nil:
			k, err := s.runJobsOneByOne(ctx, want)
			n += k
			if err != nil || k < want {
				return n, err
			}
		default:
			return n, err
		}
	}
	return n, nil
}

// runJobBatch runs up to limit due jobs in one transaction, which claims
// them by deleting them (ClaimJobs). It returns how many it ran and whether
// they queued mail; when a job's work fails (errJobRun), nothing of the
// batch is kept. On SQLite a batch of signup jobs is worked out before the
// transaction (runSignupBatchPlanned). The mails of
// the signup jobs are handed to this node's mail worker once the
// transaction commits, when it takes them (see handOverMails).
func (s *Service) runJobBatch(ctx context.Context, limit int) (int, bool, error) {
	now := s.now()
	var until time.Time
	if s.handOver != nil {
		if lease, ok := s.handOver.HandOverLease(); ok {
			until = now.Add(lease)
		}
	}
	if s.store.Engine() == store.SQLite {
		got, mailed, ok, err := s.runSignupBatchPlanned(ctx, limit, now, until)
		if ok || err != nil {
			return got, mailed, err
		}
	}
	got, mailed := 0, false
	var handed []domain.OutboxMail
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		got, mailed, handed = 0, false, handed[:0]
		// The jobs are claimed by deleting them: the deletion is rolled back
		// with the batch if it fails.
		jobs, err := tx.ClaimJobs(ctx, now, limit)
		if err != nil {
			return err
		}
		if s.testAfterJobsRead != nil && s.store.Engine() == store.Postgres {
			s.testAfterJobsRead()
		}
		// Signup jobs, most of a batch, run together (runSignupJobs); a
		// job of another kind runs after the signup jobs before it.
		var signups []queuedSignup
		flush := func() error {
			if len(signups) == 0 {
				return nil
			}
			ms, err := s.runSignupJobs(ctx, tx, signups, now, until)
			if err != nil {
				return errJobRun{fmt.Errorf("%d signup jobs: %w", len(signups), err)}
			}
			if until.IsZero() {
				mailed = mailed || len(ms) > 0
			} else {
				handed = append(handed, ms...)
			}
			signups = signups[:0]
			return nil
		}
		for _, j := range jobs {
			if j.Kind == jobSignup {
				var p signupJob
				if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
					return errJobRun{fmt.Errorf("job %s: signup job: %w", j.ID, err)}
				}
				signups = append(signups, queuedSignup{orgID: j.OrgID, job: p})
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			m, err := s.runJob(ctx, tx, j, now)
			if err != nil {
				return errJobRun{fmt.Errorf("job %s: %w", j.ID, err)}
			}
			mailed = mailed || m
		}
		if err := flush(); err != nil {
			return err
		}
		got = len(jobs)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	s.handOverMails(handed, now, until)
	return got, mailed, nil
}

// errJobsTaken tells that jobs read for a planned batch were no longer
// queued when it was to be written.
var errJobsTaken = errors.New("jobs taken meanwhile")

// runSignupBatchPlanned is runJobBatch for SQLite, whose transactions hold
// the only writer slot: it reads up to limit due jobs and, when they are
// all signup jobs, works out what they write (registered addresses, tokens,
// mails rendered and sealed) before taking the slot, which it then holds
// only to write. In the transaction it deletes the jobs it read and checks
// that the registered addresses are those it planned with; when a job was
// taken meanwhile it writes nothing and returns ok false (the caller runs
// the batch the usual way), and when an address was registered or removed
// meanwhile it runs the jobs again in the transaction (runSignupJobs). It
// returns ok false too when a job is of another kind.
func (s *Service) runSignupBatchPlanned(ctx context.Context, limit int, now, until time.Time) (got int, mailed, ok bool, err error) {
	jobs, err := s.store.NextJobs(ctx, now, limit)
	if err != nil {
		return 0, false, false, err
	}
	if len(jobs) == 0 {
		return 0, false, true, nil
	}
	ids := make([]string, len(jobs))
	signups := make([]queuedSignup, len(jobs))
	for i, j := range jobs {
		if j.Kind != jobSignup {
			return 0, false, false, nil
		}
		var p signupJob
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return 0, false, false, errJobRun{fmt.Errorf("job %s: signup job: %w", j.ID, err)}
		}
		ids[i], signups[i] = j.ID, queuedSignup{orgID: j.OrgID, job: p}
	}
	plan, err := s.planSignupJobs(ctx, s.store, signups, now)
	if err == nil {
		err = plan.seal(s.store)
	}
	if err != nil {
		return 0, false, false, errJobRun{fmt.Errorf("%d signup jobs: %w", len(signups), err)}
	}
	if s.testAfterJobsRead != nil {
		s.testAfterJobsRead()
	}
	var ms []domain.OutboxMail
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.DeleteQueuedJobs(ctx, ids)
		if err != nil {
			return err
		}
		if n != len(ids) {
			return errJobsTaken
		}
		same, err := plan.stillRegistered(ctx, tx)
		if err != nil {
			return err
		}
		if !same {
			ms, err = s.runSignupJobs(ctx, tx, signups, now, until)
		} else {
			ms, err = plan.mails, plan.write(ctx, tx, now, until)
		}
		if err != nil {
			return errJobRun{fmt.Errorf("%d signup jobs: %w", len(signups), err)}
		}
		return nil
	})
	switch {
	case errors.Is(err, errJobsTaken):
		return 0, false, false, nil
	case err != nil:
		return 0, false, false, err
	}
	if until.IsZero() {
		mailed = len(ms) > 0
	} else {
		s.handOverMails(ms, now, until)
	}
	return len(jobs), mailed, true, nil
}

// MailHandOver is this node's mail worker (mail.Worker) as the job worker
// sees it: the mails of signup jobs are written to the outbox already
// leased to it and handed to it in memory once committed, so that it sends
// them without claiming them (one statement less, and each mail row written
// twice instead of three times). A 202 still means the mail is sent: should
// the node die before sending, the lease runs out and any node's worker
// claims the mail.
type MailHandOver interface {
	// HandOverLease tells how long to lease mails to be handed over, and
	// false when they should be queued instead.
	HandOverLease() (time.Duration, bool)
	// HandOver gives the worker mails written leased until until, once
	// committed; it does not block.
	HandOver(items []obmail.Queued, until time.Time)
}

// handOverMails hands ms, committed leased until until, to the mail worker.
func (s *Service) handOverMails(ms []domain.OutboxMail, now, until time.Time) {
	if len(ms) == 0 {
		return
	}
	items := make([]obmail.Queued, len(ms))
	for i, m := range ms {
		items[i] = obmail.Queued{ID: m.ID, MessageID: m.MessageID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, CreatedAt: now}
	}
	s.handOver.HandOver(items, until)
}

// runJobsOneByOne runs up to limit due jobs, each in its own transaction,
// and returns how many it took (done or failed). A job that fails is
// retried later with backoff.
func (s *Service) runJobsOneByOne(ctx context.Context, limit int) (int, error) {
	n := 0
	for n < limit {
		now := s.now()
		var job store.Job
		mailed := false
		err := s.store.InTx(ctx, func(tx *store.Tx) error {
			j, err := tx.NextJob(ctx, now)
			if err != nil {
				return err
			}
			job = j
			if mailed, err = s.runJob(ctx, tx, j, now); err != nil {
				return err
			}
			return tx.DeleteJob(ctx, j.ID)
		})
		switch {
		case err == nil:
			n++
			if mailed {
				s.notify()
			}
			continue
		case store.IsNotFound(err) && job.ID == "":
			return n, nil
		case job.ID == "" || ctx.Err() != nil:
			return n, err
		}
		n++
		giveUp := job.Attempts+1 >= jobMaxAttempts
		s.log.WarnContext(ctx, "job failed", "job", job.ID, "kind", job.Kind, "attempt", job.Attempts+1, "give_up", giveUp, "err", err)
		next := now.Add(jobBackoff(job.Attempts + 1))
		if ferr := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.FailJob(ctx, job.ID, next, err.Error(), giveUp) }); ferr != nil {
			return n, ferr
		}
	}
	return n, nil
}

func jobBackoff(attempt int) time.Duration {
	d := jobRetryBase
	for i := 1; i < attempt && d < jobRetryMax; i++ {
		d *= 2
	}
	d = min(d, jobRetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// runJob does what a job asks, inside tx; it reports whether it queued mail.
// A job about something that no longer exists (an organization, a
// labelpartner) is done without effect.
func (s *Service) runJob(ctx context.Context, tx *store.Tx, j store.Job, now time.Time) (bool, error) {
	switch j.Kind {
	case jobSignup:
		var p signupJob
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return false, fmt.Errorf("signup job: %w", err)
		}
		return s.runSignupJob(ctx, tx, j.OrgID, p, now)
	case jobPasswordReset:
		var p passwordResetJob
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return false, fmt.Errorf("password reset job: %w", err)
		}
		return s.runPasswordResetJob(ctx, tx, j.OrgID, p, now)
	}
	s.jobMu.RLock()
	run, ok := s.jobRuns[j.Kind]
	s.jobMu.RUnlock()
	if ok {
		return run(ctx, tx, j.OrgID, []byte(j.Payload), now)
	}
	return false, fmt.Errorf("job %s: unknown kind %q", j.ID, j.Kind)
}
