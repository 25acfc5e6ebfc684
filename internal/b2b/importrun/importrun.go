// Package importrun runs bulk imports of end users from an uploaded file in
// the background, apart from the request that uploaded it: the console
// starts a run and shows its progress, which the run records in the
// database (rows done, created, unchanged, rejected, rate, state) so that
// it can be watched again later and from any node. Rejected lines are kept
// for a downloadable report.
//
// The uploaded file is spooled to a temporary file of the node that
// received it, and that node imports it through b2b.Service.ImportEndUsers
// (the same lines, validation and batches as the API's import). While it
// works it renews the run's lease; when a node dies mid-import, the lease
// runs out and the run is marked failed by the next node that lists or
// shows runs (and by every node at start-up). Importing the same file again
// is safe: lines already imported are reported unchanged.
package importrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Config are the settings of a Runner; zero values take the defaults.
type Config struct {
	// Dir holds the spooled uploads; "" is the system's temporary directory.
	Dir string
	// Lease is how long a run stays "running" without news from its node
	// (default 1 minute); the node renews it every Lease/4.
	Lease time.Duration
	// Flush is how often a run records its progress (default 500 ms).
	Flush time.Duration
	// Concurrency is the number of imports a node runs at once (default 2);
	// further runs wait, "queued".
	Concurrency int
}

func (c Config) withDefaults() Config {
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Flush <= 0 {
		c.Flush = 500 * time.Millisecond
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	return c
}

// Texts of failed runs (stored, shown in the console).
const (
	ErrLeaseExpired = "The import stopped: the server running it stopped before it finished. Lines not counted were not imported; import the file again (lines already imported are reported unchanged)."
	ErrStopped      = "The import stopped: the server was shut down before it finished. Lines not counted were not imported; import the file again (lines already imported are reported unchanged)."
	ErrInternal     = "The import stopped: something went wrong on our side. Lines not counted were not imported; import the file again (lines already imported are reported unchanged)."
)

// Runner starts and runs import runs.
type Runner struct {
	b2b    *b2b.Service
	store  *store.Store
	now    func() time.Time
	log    *slog.Logger
	cfg    Config
	sem    chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Runner importing through svc. now is the clock (nil:
// time.Now).
func New(svc *b2b.Service, st *store.Store, now func() time.Time, logger *slog.Logger, cfg Config) *Runner {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{b2b: svc, store: st, now: func() time.Time { return store.Timestamp(now()) }, log: logger, cfg: cfg,
		sem: make(chan struct{}, cfg.Concurrency), ctx: ctx, cancel: cancel}
}

// Close stops the runs of this node, marks them failed, and waits for them.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// Sweep marks failed the runs whose node stopped (their lease ran out). It
// writes only when there are such runs, in a transaction (on SQLite the
// store's one writer at a time, like the imports' batches).
func (r *Runner) Sweep(ctx context.Context) (int64, error) {
	now := r.now()
	if found, err := r.store.HasExpiredImportRuns(ctx, now); err != nil || !found {
		return 0, err
	}
	var n int64
	err := r.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.FailExpiredImportRuns(ctx, now, ErrLeaseExpired)
		return err
	})
	return n, err
}

// Purge deletes the runs that finished more than retention ago, with
// their rejected lines; it returns how many runs it deleted.
func (r *Runner) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	return r.store.DeleteFinishedImportRuns(ctx, r.now().Add(-retention))
}

// sweep is Sweep before a read: its failure is logged, not the reader's.
func (r *Runner) sweep(ctx context.Context) {
	if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "sweep of stopped imports", "err", err)
	}
}

// Upload is a file to import.
type Upload struct {
	// Actor is who imports, as in the audit log.
	Actor    string
	FileName string
	Format   string // b2b.ImportNDJSON or b2b.ImportCSV
	// Labelpartner is for the lines that name none; zero for none.
	Labelpartner domain.Labelpartner
	Body         io.Reader
}

// Start spools the upload to a temporary file, records a queued run and
// imports it in the background; it returns the run. The error is about the
// upload (reading it, e.g. too large) or the database; nothing is recorded
// then.
func (r *Runner) Start(ctx context.Context, org domain.Organization, up Upload) (domain.ImportRun, error) {
	var errs []domain.FieldError
	if up.Format != b2b.ImportNDJSON && up.Format != b2b.ImportCSV {
		errs = append(errs, domain.FieldError{Field: "format", Message: "must be ndjson or csv"})
	}
	if up.Labelpartner.ID != "" && up.Labelpartner.OrgID != org.ID {
		errs = append(errs, domain.FieldError{Field: "labelpartner", Message: "is not a labelpartner of the organization"})
	}
	if len(errs) > 0 {
		return domain.ImportRun{}, domain.Invalid(errs...)
	}
	f, err := os.CreateTemp(r.cfg.Dir, "onboard-import-*")
	if err != nil {
		return domain.ImportRun{}, fmt.Errorf("import upload: %w", err)
	}
	path := f.Name()
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	rows, size, err := spool(f, up.Body)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return domain.ImportRun{}, fmt.Errorf("import upload: %w", err)
	}
	if size == 0 || rows == 0 {
		return domain.ImportRun{}, domain.Invalid(domain.FieldError{Field: "file", Message: "has no lines to import"})
	}
	if up.Format == b2b.ImportCSV {
		rows-- // the header
		if rows == 0 {
			return domain.ImportRun{}, domain.Invalid(domain.FieldError{Field: "file", Message: "has no lines to import"})
		}
	}
	now := r.now()
	run := domain.ImportRun{ID: store.NewID(), OrgID: org.ID, Actor: up.Actor, File: clip(up.FileName, 200), Format: up.Format,
		LabelpartnerID: up.Labelpartner.ID, State: domain.ImportQueued, RowsTotal: rows, CreatedAt: now, UpdatedAt: now,
		LeaseUntil: now.Add(r.cfg.Lease)}
	err = r.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateImportRun(ctx, run); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: up.Actor, Action: "end_users.import_started", SubjectID: run.ID,
			Data: map[string]any{"file": run.File, "format": run.Format, "rows": rows, "labelpartner": up.Labelpartner.Name}, CreatedAt: now})
	})
	if err != nil {
		return domain.ImportRun{}, fmt.Errorf("import upload: %w", err)
	}
	keep = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer os.Remove(path)
		r.run(run, path, up.Labelpartner.Name)
	}()
	return run, nil
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// spool copies body to f and counts its non-blank lines.
func spool(f *os.File, body io.Reader) (rows, size int64, err error) {
	w := bufio.NewWriterSize(f, 64<<10)
	buf := make([]byte, 64<<10)
	blank := true
	for {
		n, rerr := body.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case '\n':
				if !blank {
					rows++
				}
				blank = true
			case ' ', '\t', '\r', '\v', '\f':
			default:
				blank = false
			}
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return 0, 0, err
		}
		size += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	if !blank {
		rows++
	}
	return rows, size, w.Flush()
}

// progress are the figures of a run, shared by the import and the
// recorder.
type progress struct {
	mu                                 sync.Mutex
	state                              string
	started                            *time.Time
	done, created, unchanged, rejected int64
	pending                            []domain.ImportRejection
}

func (p *progress) take(now time.Time, lease time.Duration) store.ImportProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := store.ImportProgress{State: p.state, RowsDone: p.done, Created: p.created, Unchanged: p.unchanged, Rejected: p.rejected,
		StartedAt: p.started, Now: now, LeaseUntil: now.Add(lease), Rejections: p.pending}
	if p.started != nil {
		if secs := now.Sub(*p.started).Seconds(); secs > 0 {
			out.Rate = int64(float64(p.done) / secs)
		}
	}
	p.pending = nil
	return out
}

// run imports the spooled file of a queued run.
func (r *Runner) run(run domain.ImportRun, path, labelpartner string) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	log := r.log.With("import_run", run.ID, "org_id", run.OrgID)
	p := &progress{state: domain.ImportQueued}
	// The recorder writes the progress and renews the lease; a run that is
	// no longer live (marked failed elsewhere) stops.
	var recMu sync.Mutex
	record := func() bool {
		recMu.Lock()
		defer recMu.Unlock()
		wctx := ctx
		var live bool
		pr := p.take(r.now(), r.cfg.Lease)
		err := r.store.InTx(wctx, func(tx *store.Tx) error {
			var err error
			live, err = tx.RecordImportProgress(wctx, run.ID, pr)
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("import progress not recorded", "err", err)
			}
			p.mu.Lock()
			p.pending = append(pr.Rejections, p.pending...)
			p.mu.Unlock()
			return true
		}
		if !live {
			log.Warn("import run is no longer live; stopping it")
			cancel()
		}
		return live
	}
	stopRec := make(chan struct{})
	var recWG sync.WaitGroup
	recWG.Go(func() {
		t := time.NewTicker(r.cfg.Flush)
		defer t.Stop()
		lastLease := time.Time{}
		lastDone, lastState := int64(-1), ""
		for {
			select {
			case <-stopRec:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// Nothing new: only the lease is renewed, now and then (fewer
			// writes competing with the import's own).
			p.mu.Lock()
			idle := p.done == lastDone && len(p.pending) == 0 && p.state == lastState
			lastDone, lastState = p.done, p.state
			p.mu.Unlock()
			if idle && time.Since(lastLease) < r.cfg.Lease/4 {
				continue
			}
			lastLease = time.Now()
			record()
		}
	})
	finish := func(state, errText string) {
		close(stopRec)
		recWG.Wait()
		pr := p.take(r.now(), r.cfg.Lease)
		wctx, c := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer c()
		err := r.store.InTx(wctx, func(tx *store.Tx) error {
			if _, err := tx.RecordImportProgress(wctx, run.ID, pr); err != nil {
				return err
			}
			_, err := tx.FinishImportRun(wctx, run.ID, state, errText, pr)
			return err
		})
		if err != nil {
			log.Error("import run not finished in the database", "err", err)
		}
	}

	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		finish(domain.ImportFailed, ErrStopped)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		log.Error("open spooled import", "err", err)
		finish(domain.ImportFailed, ErrInternal)
		return
	}
	defer f.Close()
	started := r.now()
	p.mu.Lock()
	p.state, p.started = domain.ImportRunning, &started
	p.mu.Unlock()
	if !record() {
		finish(domain.ImportFailed, ErrLeaseExpired)
		return
	}
	scope := b2b.ImportScope{OrgID: run.OrgID, DefaultLabelpartner: labelpartner, Actor: run.Actor, Now: r.now}
	sum, err := r.b2b.ImportEndUsers(ctx, scope, f, run.Format, func(res b2b.ImportResult) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.done++
		switch res.Status {
		case "created":
			p.created++
		case "unchanged":
			p.unchanged++
		default:
			p.rejected++
			p.pending = append(p.pending, domain.ImportRejection{Line: int64(res.Line), Error: clip(res.Error, 1000)})
		}
		return nil
	})
	switch {
	case err == nil:
		p.mu.Lock()
		p.created, p.unchanged, p.rejected = int64(sum.Created), int64(sum.Unchanged), int64(sum.Rejected)
		p.mu.Unlock()
		log.Info("import done", "created", sum.Created, "unchanged", sum.Unchanged, "rejected", sum.Rejected)
		finish(domain.ImportDone, "")
	case r.ctx.Err() != nil:
		finish(domain.ImportFailed, ErrStopped)
	case ctx.Err() != nil:
		finish(domain.ImportFailed, ErrLeaseExpired)
	default:
		text := ErrInternal
		if msg := err.Error(); strings.Contains(msg, "csv header:") {
			// The file's own fault: say what is wrong with it.
			text = "The import stopped: " + msg[strings.Index(msg, "csv header:"):]
		} else {
			log.Error("import failed", "err", err)
		}
		finish(domain.ImportFailed, text)
	}
}

// Run returns an import run of the organization, after marking failed the
// runs whose node stopped.
func (r *Runner) Run(ctx context.Context, org domain.Organization, id string) (domain.ImportRun, error) {
	r.sweep(ctx)
	run, err := r.store.ImportRun(ctx, org.ID, id)
	if store.IsNotFound(err) {
		return run, domain.Errorf(domain.ENotFound, "import-not-found", "There is no such import.")
	}
	return run, err
}

// Runs lists the organization's runs, newest first, before the run id
// before ("" for the newest), at most limit.
func (r *Runner) Runs(ctx context.Context, org domain.Organization, before string, limit int) ([]domain.ImportRun, error) {
	r.sweep(ctx)
	return r.store.ImportRuns(ctx, org.ID, before, limit)
}

// Rejections calls fn with every rejected line of the run, in order.
func (r *Runner) Rejections(ctx context.Context, run domain.ImportRun, fn func(domain.ImportRejection) error) error {
	var after int64
	for {
		page, err := r.store.ImportRejections(ctx, run.ID, after, 1000)
		if err != nil {
			return err
		}
		for _, rj := range page {
			if err := fn(rj); err != nil {
				return err
			}
			after = rj.Line
		}
		if len(page) < 1000 {
			return nil
		}
	}
}
