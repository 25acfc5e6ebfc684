// Package app wires onboard together: the store, the flows, the B2B
// service, the API, the pages, the NATS activity subscriber, the job and
// mail workers and the janitor, all on one clock (WithClock), and runs them
// until asked to stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboard-dev/onboard/internal/activity"
	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/b2b/importrun"
	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/metrics"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/sms"
	"github.com/onboard-dev/onboard/internal/sso"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/things"
	"github.com/onboard-dev/onboard/internal/tracing"
	"github.com/onboard-dev/onboard/internal/web"
	"github.com/onboard-dev/onboard/internal/web/console"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// App is a running onboard.
type App struct {
	cfg    config.Config
	log    *slog.Logger
	store  *store.Store
	flows  *flows.Service
	b2b    *b2b.Service
	things *things.Service
	api    *httpapi.Server
	// imports runs the console's bulk imports of end users in the background.
	imports *importrun.Runner
	// devices is the self-service device setup; sms sends its SMS outbox.
	devices *devices.Service
	sms     *sms.Worker
	worker  *mail.Worker
	// sweepRates deletes old rate-limit windows when they are kept in SQL.
	sweepRates func(ctx context.Context, olderThan time.Duration) (int64, error)
	// handler routes the pages' paths to the pages and the rest to the API.
	handler http.Handler
	// activity takes end users' first measurements from NATS; nil when
	// no NATS URL is configured.
	activity *activity.Subscriber
	// metrics are served on cfg.MetricsAddr; nil when it is empty.
	metrics *metrics.Metrics
	// sender delivers mail; its idle SMTP connections close at shutdown.
	sender mail.Sender
	// tracing sends traces over OTLP; nil unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
	tracing *tracing.Tracing
	// Events: the dispatcher numbers committed events and fans them out to
	// the webhook worker and the NATS publisher (nil without NATS).
	dispatcher *events.Dispatcher
	hooks      *webhooks.Worker
	publisher  *events.Publisher
	// now is the clock (time.Now unless WithClock).
	now func() time.Time
}

// spanFunc adapts the tracer to the hooks of the store and the mail worker.
func spanFunc(tr *tracing.Tracing) func(ctx context.Context, name string) (context.Context, func(error)) {
	return func(ctx context.Context, name string) (context.Context, func(error)) { return tr.Span(ctx, name) }
}

// Option changes how New builds the app.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes every part that keeps time (the flows, B2B, jobs, the mail
// worker, rate limits and the janitor) read it from now instead of
// time.Now, so that tests can move time forward instead of waiting for it.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New opens the database, applies migrations, seeds the default organization
// and builds every part. Close releases what it opened.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*App, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	tr, err := tracing.FromEnv(ctx, os.Getenv, cfg.Version)
	if err != nil {
		return nil, err
	}
	var storeOpts []store.Option
	if tr != nil {
		storeOpts = append(storeOpts, store.WithQueryTracer(tr.QueryTracer()), store.WithSpans(spanFunc(tr)))
	}
	st, err := OpenStore(ctx, cfg, logger, storeOpts...)
	if err != nil {
		if tr != nil {
			_ = tr.Shutdown(ctx)
		}
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
			if tr != nil {
				_ = tr.Shutdown(context.WithoutCancel(ctx))
			}
		}
	}()
	if _, err := flows.EnsureDefaultOrganization(ctx, st, flows.DefaultDisplayName(cfg.OrgName, cfg.MailFrom, cfg.PublicURL)); err != nil {
		return nil, err
	}
	templates, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return nil, err
	}
	sender, err := mail.NewSender(cfg.SMTPURL, logger, mail.WithIdleConnections(cfg.SMTPIdleConns, 0))
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	a := &App{cfg: cfg, log: logger, store: st, tracing: tr, sender: sender, now: o.now}
	if cfg.MetricsAddr != "" {
		a.metrics = metrics.New(prometheus.NewRegistry(), cfg.Version)
		a.metrics.WatchDB("onboard", st.DB())
		a.metrics.WatchOutbox(outboxStats(st), 5*time.Second)
	}
	if cfg.OutboundAllowPrivate {
		logger.Warn("outbound-allow-private is on: configured URLs may reach loopback and private addresses and use plain http; never in production")
	}
	params := auth.DefaultParams()
	params.Memory, params.Time, params.Threads = uint32(cfg.Argon2Memory), uint32(cfg.Argon2Time), uint8(cfg.Argon2Threads)
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("argon2: %w", err)
	}
	var limiter flows.Limiter
	if cfg.RateStore == "db" || (cfg.RateStore == "" && st.Engine() == store.Postgres) {
		// On SQLite the limiter's writes take their turn in the store's
		// writer slot, with the transactions (on PostgreSQL this is a no-op).
		sqlLimiter := ratelimit.NewSQL(st.DB(), o.now, ratelimit.WithWrites(st.InWriterSlot))
		limiter = sqlLimiter
		a.sweepRates = sqlLimiter.Sweep
	} else {
		limiter = ratelimit.NewMemory(o.now)
	}
	hasher := auth.NewHasher(params, cfg.HashConcurrency)
	var mailSpan func(ctx context.Context, name string) (context.Context, func(error))
	if tr != nil {
		mailSpan = spanFunc(tr)
	}
	var observeMail func(mail.Attempt)
	if a.metrics != nil {
		limiter = a.metrics.Limiter(limiter)
		hasher.ObserveWait(a.metrics.ObserveHashWait)
		a.metrics.WatchHashPool(hasher)
		m := a.metrics
		observeMail = func(at mail.Attempt) {
			m.ObserveMail(metrics.MailAttempt{Attempt: at.Number, Duration: at.Duration, Outcome: at.Outcome})
		}
	}
	a.worker = mail.NewWorker(outboxQueue{st}, sender, mail.WorkerConfig{
		From: cfg.MailFrom, BackoffBase: cfg.MailRetryBase, BackoffMax: cfg.MailRetryMax,
		MaxAge: cfg.MailMaxAge, Concurrency: cfg.MailWorkers, Lease: cfg.MailLease, Observe: observeMail, Span: mailSpan, Now: o.now,
	}, logger.With("component", "mail"))
	// One outbound client for every call to a configured URL.
	hc := outbound.New(outbound.Options{AllowPrivate: cfg.OutboundAllowPrivate, MaxIdleConnsPerHost: cfg.WebhookWorkers})
	a.dispatcher = events.NewDispatcher(st, cfg.NATSURL != "", logger.With("component", "events"), events.WithClock(o.now))
	a.dispatcher.Linger = cfg.EventsLinger
	a.hooks = webhooks.NewWorker(st, hc, webhooks.WorkerConfig{
		Concurrency: cfg.WebhookWorkers, RetryBase: cfg.WebhookRetryBase, RetryMax: cfg.WebhookRetryMax,
		MaxAge: cfg.WebhookMaxAge, DisableAfter: cfg.WebhookDisableAfter, Lease: cfg.WebhookLease,
	}, logger.With("component", "webhooks"))
	adminMailer := webhooks.AdminMailer{Templates: templates, From: cfg.MailFrom, Now: o.now}
	a.hooks.OnDisabled = func(ctx context.Context, tx *store.Tx, ep store.WebhookEndpoint, reason string) error {
		// The organization's admins are mailed in the disabling's transaction.
		mailed, err := adminMailer.Disabled(ctx, tx, ep, reason)
		if err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: ep.OrgID, Actor: "system", Action: "webhook.disabled", SubjectID: ep.ID,
			Data: map[string]any{"url": ep.URL, "reason": reason, "admins_mailed": mailed}, CreatedAt: time.Now()})
	}
	if cfg.NATSURL != "" {
		a.publisher = events.NewPublisher(st, events.NATSConfig{URL: cfg.NATSURL, CredsFile: cfg.NATSCredsFile,
			Stream: cfg.NATSEventsStream, Prefix: cfg.NATSEventsPrefix}, logger.With("component", "events-nats"), events.WithClock(o.now))
	}
	// The dispatcher hands the worker the deliveries it can send at once
	// (and wakes it for the others).
	a.dispatcher.Sender = a.hooks
	a.dispatcher.OnDispatched = func() {
		if a.publisher != nil {
			a.publisher.Wake()
		}
	}
	hookService := webhooks.New(st, cfg.OutboundAllowPrivate, logger.With("component", "webhooks"))
	hookService.Wake = a.hooks.Wake
	a.flows = flows.New(flows.Deps{
		Store: st, Hasher: hasher, Policy: auth.DefaultPolicy(),
		Mail: templates, Limiter: limiter, Notify: func() { a.worker.Notify(); a.dispatcher.Wake() }, Logger: logger, Now: o.now,
		HTTP: hc, HandOver: a.worker,
	}, flows.Config{
		AdminKeyHash: adminKeyHash(cfg.AdminKey),
		PublicURL:    cfg.PublicURL, MailFrom: cfg.MailFrom, SignupTTL: cfg.SignupTTL, SessionTTL: cfg.SessionTTL,
		BrowserSessionTTL: cfg.BrowserSessionTTL, BrowserIdleTTL: cfg.BrowserIdleTTL,
		Limits: flows.Limits{
			SignupPerIP: cfg.RateSignupIP.Rule, SignupPerEmail: cfg.RateSignupEmail.Rule,
			LoginPerIP: cfg.RateLoginIP.Rule, LoginFailuresPerEmail: cfg.RateLoginEmail.Rule,
			PartnerCodeFailuresPerIP: cfg.RatePartnerCode.Rule,
			InvitesPerNewAccount:     cfg.RateInviteNewAccount.Rule, InvitesPerAccount: cfg.RateInviteAccount.Rule,
			NewAccountAge: cfg.InviteNewAccountAge,
		},
		Accounts: flows.AccountConfig{
			InvitationTTL: cfg.InvitationTTL, PasswordResetTTL: cfg.PasswordResetTTL, EmailChangeTTL: cfg.EmailChangeTTL,
		},
	})
	a.b2b = b2b.New(a.flows, b2b.Config{RefreshTTL: cfg.B2BRefreshTTL, IntrospectionTimeout: cfg.B2BIntrospectionTimeout})
	a.imports = importrun.New(a.b2b, st, o.now, logger.With("component", "imports"), importrun.Config{})
	ssoSvc := sso.New(a.flows, st, outbound.New(outbound.Options{AllowPrivate: cfg.OutboundAllowPrivate, Timeout: cfg.SSOTimeout}).HTTPClient(),
		logger.With("component", "sso"), sso.Config{PublicURL: cfg.PublicURL, Timeout: cfg.SSOTimeout, Now: o.now})
	a.things = things.New(things.Deps{
		Store: st, Limiter: limiter, Mail: templates, Notify: a.worker.Notify, Logger: logger, Now: o.now,
	}, things.Config{PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom})
	var gateway sms.Gateway = sms.LogGateway{Log: logger.With("component", "sms")}
	if cfg.SMSURL != "" {
		if gateway, err = sms.NewHTTPGateway(sms.HTTPConfig{URL: cfg.SMSURL, User: cfg.SMSUser, Password: cfg.SMSPassword,
			Body: cfg.SMSBody, ContentType: cfg.SMSContentType, SuccessStatus: cfg.SMSSuccessStatus}); err != nil {
			return nil, err
		}
	}
	// SMS retry like mail (the same backoff settings).
	a.sms = sms.NewWorker(smsQueue{st}, gateway, sms.WorkerConfig{BackoffBase: cfg.MailRetryBase, BackoffMax: cfg.MailRetryMax},
		logger.With("component", "sms"))
	a.devices = devices.New(devices.Deps{Store: st, Flows: a.flows, Limiter: limiter, Logger: logger, NotifySMS: a.sms.Notify, Now: o.now}, devices.Config{
		Enabled: cfg.DeviceSetup, DefaultOrganization: cfg.DeviceSetupDefaultOrg, PublicURL: cfg.PublicURL,
	})
	apiCfg := httpapi.Config{
		TrustedProxies: cfg.TrustedProxies, HSTS: strings.HasPrefix(cfg.PublicURL, "https://"), SSO: ssoSvc,
		Webhooks: hookService, Events: httpapi.FeedFromStore(st), Devices: a.devices,
	}
	if a.metrics != nil {
		apiCfg.ObserveImport = a.metrics.ObserveImport
	}
	a.api = httpapi.New(a.flows, a.b2b, st, logger, apiCfg, httpapi.WithThings(a.things))
	var formKey []byte
	if cfg.FormKey != "" {
		formKey = []byte(cfg.FormKey)
	}
	https := strings.HasPrefix(cfg.PublicURL, "https://")
	pages := web.New(a.flows, a.b2b, logger, web.Config{
		TrustedProxies: cfg.TrustedProxies, HSTS: https, SecureCookies: https, FormKey: formKey, SSO: ssoSvc, Devices: a.devices,
	}, web.WithThings(a.things))
	bo := backoffice.New(backoffice.Deps{Store: st, Hasher: hasher, Policy: auth.DefaultPolicy(), Mail: templates, Limiter: limiter,
		Notify: a.worker.Notify, Logger: logger, Now: o.now}, backoffice.Config{
		PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom, SessionTTL: cfg.BrowserSessionTTL, IdleTTL: cfg.BrowserIdleTTL,
		LoginPerIP: cfg.RateLoginIP.Rule, FailuresPerEmail: cfg.RateLoginEmail.Rule,
	})
	cons, err := console.New(bo, a.flows, logger, console.Config{
		TrustedProxies: cfg.TrustedProxies, HSTS: https, SecureCookies: https, FormKey: formKey, Webhooks: hookService,
		DeviceSetup: a.devices,
		B2B:         a.b2b, Imports: a.imports,
	})
	if err != nil {
		return nil, err
	}
	a.handler = route(pages, cons, a.api)
	if a.metrics != nil {
		a.handler = a.metrics.Middleware(a.handler)
	}
	if tr != nil {
		// Outermost: the metrics read the route from the request the
		// tracing passes on.
		a.handler = tr.Middleware(a.handler)
	}
	if cfg.NATSURL != "" {
		record := func(ctx context.Context, subject string, m activity.Message) (string, error) {
			u, err := a.b2b.RecordActivityFromBus(ctx, b2b.BusActivity{Subject: subject, EndUserID: m.EndUserID,
				Labelpartner: m.Labelpartner, Email: m.Email, MeasurementReceivedAt: m.MeasurementReceivedAt})
			return u.State, err
		}
		a.activity, err = activity.New(activity.Config{
			URL: cfg.NATSURL, Subject: cfg.NATSActivitySubject, Queue: cfg.NATSQueue, Stream: cfg.NATSStream,
			CredsFile: cfg.NATSCredsFile, Workers: cfg.NATSWorkers,
		}, record, logger.With("component", "activity"))
		if err != nil {
			return nil, err
		}
	}
	ok = true
	return a, nil
}

// Handler is the HTTP handler of the service.
func (a *App) Handler() http.Handler { return a.handler }

// router sends the paths of the pages (web.Paths()) to the pages and every
// other request to the API, which answers unknown paths itself
// (problem+json 404/405).
type router struct {
	*http.ServeMux
	api *httpapi.Server
}

func route(pages, cons http.Handler, api *httpapi.Server) router {
	mux := http.NewServeMux()
	for _, p := range web.Paths() {
		mux.Handle(p, pages)
	}
	for _, p := range console.Paths() {
		mux.Handle(p, cons)
	}
	// The mailed verification link is a page; apps POST JSON to the same path.
	mux.Handle(web.VerifyPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.ServesVerify(r) {
			pages.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	mux.Handle("/", api)
	return router{ServeMux: mux, api: api}
}

// Routes lists the API's routes as method and pattern.
func (r router) Routes() [][2]string { return r.api.Routes() }

// Store is the app's database.
func (a *App) Store() *store.Store { return a.store }

// Close sends the buffered spans and closes the database.
func (a *App) Close() error {
	var errs []error
	if a.tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), tracing.ShutdownTimeout)
		errs = append(errs, a.tracing.Shutdown(ctx))
		cancel()
	}
	return errors.Join(append(errs, a.store.Close())...)
}

// Run serves HTTP on ln and runs the background workers until ctx is done,
// then shuts down gracefully: the listener closes, in-flight requests finish
// (up to the shutdown timeout) and the workers stop after their current work.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.worker.Run(workCtx); err != nil {
			a.log.Error("mail worker stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.flows.RunJobs(workCtx); err != nil {
			a.log.Error("job worker stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.sms.Run(workCtx); err != nil {
			a.log.Error("sms worker stopped", "err", err)
		}
	})
	wg.Go(func() { a.janitor(workCtx) })
	wg.Go(func() {
		if err := a.dispatcher.Run(workCtx, 250*time.Millisecond); err != nil {
			a.log.Error("event dispatcher stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.hooks.Run(workCtx); err != nil {
			a.log.Error("webhook worker stopped", "err", err)
		}
	})
	if a.publisher != nil {
		wg.Go(func() {
			if err := a.publisher.Run(workCtx, time.Second); err != nil {
				a.log.Error("event publisher stopped", "err", err)
			}
		})
	}
	if a.activity != nil {
		wg.Go(func() {
			if err := a.activity.Run(workCtx); err != nil {
				a.log.Error("activity subscriber stopped", "err", err)
			}
		})
	}

	var metricsSrv *http.Server
	if a.metrics != nil {
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			stopWork()
			wg.Wait()
			return fmt.Errorf("metrics listen: %w", err)
		}
		metricsSrv = &http.Server{Handler: a.metrics.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		wg.Go(func() {
			if err := metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("metrics listener stopped", "err", err)
			}
		})
		a.log.Info("metrics listening", "addr", mln.Addr().String())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.log.Info("onboard listening", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL, "engine", a.store.Engine(),
		"mail", mailMode(a.cfg.SMTPURL))

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	stopWork()
	// Imports still running are stopped and marked failed.
	a.imports.Close()
	wg.Wait()
	if c, ok := a.sender.(io.Closer); ok {
		_ = c.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.log.Info("stopped")
	return err
}

// janitor deletes expired sessions, long-expired signups and links, spent
// B2B tokens, delivered or abandoned mail, old events and finished import
// runs (with their rejected lines) past their retention now and then.
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.store.DeleteExpired(ctx, a.now(), 7*24*time.Hour); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup", "deleted", n)
		}
		if n, err := a.store.DeleteFinishedMail(ctx, a.now(), a.cfg.MailRetention); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of delivered mail failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of delivered mail", "deleted", n)
		}
		if n, err := a.store.DeleteFinishedSMS(ctx, a.now(), a.cfg.MailRetention); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of sent sms failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of sent sms", "deleted", n)
		}
		if n, err := a.store.DeleteExpiredAccountLinks(ctx, a.now(), 7*24*time.Hour); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of account links failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of account links", "deleted", n)
		}
		if _, err := a.store.DeleteExpiredSSOFlows(ctx, a.now(), 24*time.Hour); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of sso flows failed", "err", err)
		}
		if n, err := a.store.DeleteExpiredB2B(ctx, a.now(), 7*24*time.Hour); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of b2b links and tokens failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of b2b links and tokens", "deleted", n)
		}
		if n, err := a.store.DeleteOldEvents(ctx, time.Now().Add(-a.cfg.EventsRetention)); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of old events failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of old events", "deleted", n)
		}
		if n, err := a.imports.Purge(ctx, a.cfg.ImportRetention); err != nil && ctx.Err() == nil {
			a.log.Warn("cleanup of old import runs failed", "err", err)
		} else if n > 0 {
			a.log.Info("cleanup of old import runs", "deleted", n)
		}
		// Imports of nodes that stopped mid-way (their lease ran out) fail.
		if _, err := a.imports.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("sweep of stopped imports failed", "err", err)
		}
		if a.sweepRates != nil {
			// Windows of up to a day stay intact: keep twice that.
			if _, err := a.sweepRates(ctx, 48*time.Hour); err != nil && ctx.Err() == nil {
				a.log.Warn("rate limit cleanup failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func adminKeyHash(key string) []byte {
	if key == "" {
		return nil
	}
	return auth.HashToken(key)
}

func mailMode(smtpURL string) string {
	if smtpURL == "" {
		return "dev (logged, not sent)"
	}
	return "smtp"
}

// outboxStats reads the outbox's figures for the metrics.
func outboxStats(st *store.Store) metrics.OutboxReader {
	return func(ctx context.Context) (metrics.OutboxStats, error) {
		counts, err := st.OutboxCounts(ctx)
		if err != nil {
			return metrics.OutboxStats{}, err
		}
		oldest, _, err := st.OldestUndeliveredMail(ctx)
		if err != nil {
			return metrics.OutboxStats{}, err
		}
		return metrics.OutboxStats{ByState: counts, OldestQueued: oldest}, nil
	}
}

// outboxQueue is the store's outbox as the mail worker sees it.
type outboxQueue struct{ st *store.Store }

func (q outboxQueue) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]mail.Queued, error) {
	rows, err := q.st.ClaimMail(ctx, now, limit, lease)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Queued, len(rows))
	for i, m := range rows {
		out[i] = mail.Queued{ID: m.ID, MessageID: m.MessageID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
			Attempts: m.Attempts, CreatedAt: m.CreatedAt}
	}
	return out, nil
}

// The worker's bookkeeping runs as transactions so that, on SQLite, it
// queues with the other writers instead of contending for the lock.

func (q outboxQueue) MarkSent(ctx context.Context, ids []string, at time.Time) error {
	return q.st.MarkMailsSent(ctx, ids, at)
}

func (q outboxQueue) Release(ctx context.Context, ids []string) error {
	return q.st.InTx(ctx, func(tx *store.Tx) error { return tx.ReleaseMail(ctx, ids) })
}

func (q outboxQueue) MarkFailed(ctx context.Context, id string, _ time.Time, next time.Time, lastErr string, abandon bool) error {
	return q.st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkMailFailed(ctx, id, next, lastErr, abandon) })
}

// smsQueue is the store's SMS outbox as the SMS worker sees it.
type smsQueue struct{ st *store.Store }

func (q smsQueue) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]sms.Queued, error) {
	rows, err := q.st.ClaimSMS(ctx, now, limit, lease)
	if err != nil {
		return nil, err
	}
	out := make([]sms.Queued, len(rows))
	for i, m := range rows {
		out[i] = sms.Queued{Message: sms.Message{ID: m.ID, To: m.To, Body: m.Body}, Attempts: m.Attempts, CreatedAt: m.CreatedAt}
	}
	return out, nil
}

func (q smsQueue) MarkSent(ctx context.Context, id string, at time.Time) error {
	return q.st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSMSSent(ctx, id, at) })
}

func (q smsQueue) MarkFailed(ctx context.Context, id string, next time.Time, lastErr string, abandon bool) error {
	return q.st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSMSFailed(ctx, id, next, lastErr, abandon) })
}

func (q smsQueue) Release(ctx context.Context, ids []string) error {
	return q.st.InTx(ctx, func(tx *store.Tx) error { return tx.ReleaseSMS(ctx, ids) })
}
