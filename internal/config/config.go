// Package config reads onboard's settings from flags and ONBOARD_* environment
// variables: a flag given on the command line wins over the environment, which
// wins over the default. docs/configuration.md lists every setting.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/secretbox"
)

// Config holds every setting of the service.
type Config struct {
	Addr          string
	DB            string
	SMTPURL       string
	PublicURL     string
	MailFrom      string
	MailTemplates string
	// OrgName is the display name of the default organization; empty:
	// derived from MailFrom, else from PublicURL.
	OrgName string

	SignupTTL       time.Duration
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration
	// BrowserSessionTTL and BrowserIdleTTL bound a browser session: at most
	// so long after sign-in, and ended after so long without use.
	BrowserSessionTTL time.Duration
	BrowserIdleTTL    time.Duration

	InvitationTTL    time.Duration // lifetime of an invitation link
	PasswordResetTTL time.Duration // lifetime of a password-reset link
	EmailChangeTTL   time.Duration // lifetime of an email-change confirmation link

	Argon2Memory    uint   // KiB
	Argon2Time      uint   // iterations
	Argon2Threads   uint   // lanes
	HashConcurrency int    // concurrent hashes; 0 = number of CPUs
	RateStore       string // memory | db | "" (db on PostgreSQL, memory on SQLite)
	RateSignupIP    Rate
	RateSignupEmail Rate
	RateLoginIP     Rate
	RateLoginEmail  Rate
	TrustedProxies  Prefixes
	MailRetryBase   time.Duration
	MailRetryMax    time.Duration
	MailMaxAge      time.Duration
	MailWorkers     int
	LogFormat       string // text | json
	LogLevel        string // debug | info | warn | error
	// AdminKey is a full-rights admin API key for automation, read only from
	// ONBOARD_ADMIN_KEY or the file named by ONBOARD_ADMIN_KEY_FILE (never a
	// flag, so it does not show in process lists).
	AdminKey string
	// FormKey keys the anti-forgery tokens of the pages' forms, read only
	// from ONBOARD_FORM_KEY (or the file ONBOARD_FORM_KEY_FILE names). Nodes
	// behind one load balancer must share it; empty: random per process.
	FormKey string
	// RatePartnerCode limits wrong partner codes per client address.
	RatePartnerCode Rate
	// RateInviteNewAccount limits the invitations an account younger than
	// InviteNewAccountAge sends; RateInviteAccount those of older accounts.
	RateInviteNewAccount Rate
	RateInviteAccount    Rate
	InviteNewAccountAge  time.Duration

	// SecretKey is the keyring that seals secrets at rest (mail bodies,
	// the Partner Provider secret, introspection client secrets), written
	// "KEYID:BASE64KEY[,KEYID:BASE64KEY…]", the active key first. Read only
	// from ONBOARD_SECRET_KEY (never a flag, so it does not show in process
	// lists); SecretKeyFile names a file holding the same text instead.
	// Neither set: SQLite keeps a key file beside the database, PostgreSQL
	// refuses to start.
	SecretKey     string
	SecretKeyFile string
	// MailRetention is how long delivered and abandoned mail (bodies
	// already erased) stays in the outbox before the janitor deletes it.
	MailRetention time.Duration
	// ImportRetention is how long a finished B2B import run and its
	// rejected lines are kept before the janitor deletes them.
	ImportRetention time.Duration

	// OutboundAllowPrivate lets onboard call configured URLs (Partner
	// Provider, token introspection) on loopback, private and other
	// internal addresses, and over plain http: for development and tests.
	OutboundAllowPrivate bool

	// DeviceSetup turns the self-service device setup on system-wide, and
	// DeviceSetupDefaultOrg names the organization /setup uses. When either
	// is given, they are in force and the supervisor cannot change them
	// (the console shows them locked); otherwise the supervisor's stored
	// setting applies.
	DeviceSetup           bool
	DeviceSetupDefaultOrg string
	// SMSURL is the HTTP SMS gateway that sends installation SMS; empty
	// logs them instead. SMSUser and SMSPassword are its basic
	// credentials (SMSPassword only from ONBOARD_SMS_PASSWORD), SMSBody its
	// body template (Go text/template with .To, .Body, .ID; JSON when
	// empty), SMSSuccessStatus the status that means accepted (0: any 2xx).
	SMSURL           string
	SMSUser          string
	SMSPassword      string
	SMSBody          string
	SMSContentType   string
	SMSSuccessStatus int

	B2BRefreshTTL           time.Duration // lifetime of end users' refresh tokens
	B2BIntrospectionTimeout time.Duration // bound of one call to a labelpartner's identity provider
	SSOTimeout              time.Duration // bound of one call to an organization's OpenID provider

	// NATSURL names the NATS server (or several, comma-separated) from which
	// end users' first measurements are taken; empty turns this off.
	NATSURL string
	// NATSActivitySubject is the subject the activity messages arrive on.
	NATSActivitySubject string
	// NATSQueue is the queue group of the core-NATS subscription, and the
	// durable consumer's name in JetStream mode: nodes sharing it share
	// the messages.
	NATSQueue string
	// NATSStream, when set, selects JetStream mode: messages are consumed
	// from this stream through a durable consumer (created when missing).
	NATSStream string
	// NATSCredsFile is a NATS credentials (.creds) file; empty: none (a
	// user:password or token in the URL also works).
	NATSCredsFile string
	// NATSWorkers bounds the activity messages processed at once.
	NATSWorkers int

	// MetricsAddr is the listen address of the Prometheus metrics
	// (/metrics); empty turns them off. It must differ from Addr: metrics
	// are never served on the public port.
	MetricsAddr string
	// SMTPIdleConns is how many SMTP connections stay open between mails
	// for reuse; 0 opens one per mail.
	SMTPIdleConns int
	// MailLease is how long a node's claim on a mail lasts: a mail claimed
	// by a node that died is sent by another once it runs out.
	MailLease time.Duration
	// Version names the build in the metrics; set by the program, not a
	// setting.
	Version string
	// Events (see docs/events.md).
	EventsRetention     time.Duration // how long events stay in the feed
	EventsLinger        time.Duration // how long the dispatcher gathers events after a commit before it numbers and hands them over
	WebhookRetryBase    time.Duration // first retry delay of a failed delivery; doubles
	WebhookRetryMax     time.Duration // longest delay between retries
	WebhookMaxAge       time.Duration // a delivery is retried this long
	WebhookDisableAfter time.Duration // an endpoint failing this long is disabled
	WebhookWorkers      int           // webhook requests in flight
	WebhookLease        time.Duration // how long a claimed delivery stays with its process; 0: 2 × timeout + 30 s
	NATSEventsStream    string        // JetStream stream of the events (created when missing)
	NATSEventsPrefix    string        // subject prefix: <prefix>.<organization>.<type>
}

// MaxEventsLinger is the longest EventsLinger accepted: events reach
// webhooks and NATS up to this much later than their commit.
const MaxEventsLinger = 10 * time.Second

// Rate is a rate limit written "60/1m": a count per window. "0" disables it.
type Rate struct{ ratelimit.Rule }

// String implements flag.Value.
func (r *Rate) String() string {
	if r.Limit <= 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", r.Limit, shortDuration(r.Window))
}

// Set implements flag.Value.
func (r *Rate) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" {
		r.Rule = ratelimit.Rule{}
		return nil
	}
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("rate %q: want COUNT/WINDOW such as 60/1m", s)
	}
	limit, err := strconv.Atoi(n)
	if err != nil || limit < 0 {
		return fmt.Errorf("rate %q: count must be a whole number", s)
	}
	win, err := time.ParseDuration(w)
	if err != nil || win <= 0 {
		return fmt.Errorf("rate %q: window must be a duration such as 1m or 1h", s)
	}
	r.Rule = ratelimit.Rule{Limit: limit, Window: win}
	return nil
}

func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// Prefixes is a comma-separated list of addresses or CIDR prefixes.
type Prefixes []netip.Prefix

// String implements flag.Value.
func (p *Prefixes) String() string {
	var out []string
	for _, x := range *p {
		out = append(out, x.String())
	}
	return strings.Join(out, ",")
}

// Set implements flag.Value.
func (p *Prefixes) Set(s string) error {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return fmt.Errorf("trusted proxy %q: %w", part, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("trusted proxy %q: %w", part, err)
		}
		out = append(out, pr.Masked())
	}
	*p = out
	return nil
}

// Default returns the defaults: SQLite file onboard.db, dev mail, 127.0.0.1:8080.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DB:                "onboard.db",
		MailFrom:          "onboard <no-reply@localhost>",
		SignupTTL:         24 * time.Hour,
		SessionTTL:        24 * time.Hour,
		BrowserSessionTTL: 12 * time.Hour,
		BrowserIdleTTL:    30 * time.Minute,
		ShutdownTimeout:   15 * time.Second,
		Argon2Memory:      19 * 1024,
		Argon2Time:        2,
		Argon2Threads:     1,
		RateSignupIP:      Rate{ratelimit.Rule{Limit: 60, Window: time.Minute}},
		RateSignupEmail:   Rate{ratelimit.Rule{Limit: 5, Window: time.Hour}},
		RateLoginIP:       Rate{ratelimit.Rule{Limit: 60, Window: time.Minute}},
		RateLoginEmail:    Rate{ratelimit.Rule{Limit: 5, Window: time.Hour}},
		RatePartnerCode:   Rate{ratelimit.Rule{Limit: 10, Window: time.Hour}},

		RateInviteNewAccount: Rate{ratelimit.Rule{Limit: 20, Window: 24 * time.Hour}},
		RateInviteAccount:    Rate{ratelimit.Rule{Limit: 200, Window: 24 * time.Hour}},
		InviteNewAccountAge:  7 * 24 * time.Hour,
		MailRetryBase:        2 * time.Second,
		MailRetryMax:         5 * time.Minute,
		MailMaxAge:           72 * time.Hour,
		MailWorkers:          2,
		MailRetention:        7 * 24 * time.Hour,
		MailLease:            2 * time.Minute,
		SMTPIdleConns:        4,
		LogFormat:            "text",
		LogLevel:             "info",

		InvitationTTL:    7 * 24 * time.Hour,
		PasswordResetTTL: time.Hour,
		EmailChangeTTL:   24 * time.Hour,

		B2BRefreshTTL:           30 * 24 * time.Hour,
		B2BIntrospectionTimeout: 5 * time.Second,
		SSOTimeout:              10 * time.Second,

		NATSActivitySubject: "onboard.activity",
		NATSQueue:           "onboard",
		NATSWorkers:         4,

		EventsRetention:     30 * 24 * time.Hour,
		EventsLinger:        250 * time.Millisecond, // events.DefaultDispatchLinger
		ImportRetention:     30 * 24 * time.Hour,
		WebhookRetryBase:    5 * time.Second,
		WebhookRetryMax:     time.Hour,
		WebhookMaxAge:       72 * time.Hour,
		WebhookDisableAfter: 5 * 24 * time.Hour,
		WebhookWorkers:      32,
		NATSEventsStream:    "ONBOARD_EVENTS",
		NATSEventsPrefix:    "onboard.events",
	}
}

// FlagSet returns the flags of the serve command bound to c, and a function
// that applies the environment to every flag not given on the command line
// (call it after Parse).
func (c *Config) FlagSet(name string, out io.Writer) (*flag.FlagSet, func(getenv func(string) string) error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	env := map[string]string{}
	str := func(p *string, flagName, envName, usage string) {
		fs.StringVar(p, flagName, *p, usage+" ("+envName+")")
		env[flagName] = envName
	}
	dur := func(p *time.Duration, flagName, envName, usage string) {
		fs.DurationVar(p, flagName, *p, usage+" ("+envName+")")
		env[flagName] = envName
	}
	uintv := func(p *uint, flagName, envName, usage string) {
		fs.UintVar(p, flagName, *p, usage+" ("+envName+")")
		env[flagName] = envName
	}
	intv := func(p *int, flagName, envName, usage string) {
		fs.IntVar(p, flagName, *p, usage+" ("+envName+")")
		env[flagName] = envName
	}
	boolv := func(p *bool, flagName, envName, usage string) {
		fs.BoolVar(p, flagName, *p, usage+" ("+envName+")")
		env[flagName] = envName
	}
	val := func(v flag.Value, flagName, envName, usage string) {
		fs.Var(v, flagName, usage+" ("+envName+")")
		env[flagName] = envName
	}
	str(&c.Addr, "addr", "ONBOARD_ADDR", "listen address")
	str(&c.DB, "db", "ONBOARD_DB", "database: a SQLite file path, or a postgres:// URL")
	str(&c.SMTPURL, "smtp", "ONBOARD_SMTP_URL", "SMTP server URL (smtp://, smtp+starttls://, smtps://); empty logs mail instead")
	str(&c.PublicURL, "public-url", "ONBOARD_PUBLIC_URL", "base URL of links in mail (default http://<addr>)")
	str(&c.MailFrom, "mail-from", "ONBOARD_MAIL_FROM", "From address of mail")
	str(&c.OrgName, "org-name", "ONBOARD_ORG_NAME", "display name of the default organization (default: name of -mail-from, else host of -public-url)")
	str(&c.MailTemplates, "mail-templates", "ONBOARD_MAIL_TEMPLATES", "directory whose files override the embedded mail templates")
	dur(&c.SignupTTL, "signup-ttl", "ONBOARD_SIGNUP_TTL", "lifetime of a registration link")
	dur(&c.SessionTTL, "session-ttl", "ONBOARD_SESSION_TTL", "lifetime of a session")
	dur(&c.BrowserSessionTTL, "browser-session-ttl", "ONBOARD_BROWSER_SESSION_TTL", "longest lifetime of a browser session (the pages' sign-in)")
	dur(&c.BrowserIdleTTL, "browser-idle-ttl", "ONBOARD_BROWSER_IDLE_TTL", "a browser session ends after this long without use")
	dur(&c.ShutdownTimeout, "shutdown-timeout", "ONBOARD_SHUTDOWN_TIMEOUT", "how long in-flight requests may take to finish at shutdown")
	dur(&c.InvitationTTL, "invitation-ttl", "ONBOARD_INVITATION_TTL", "lifetime of an invitation link")
	dur(&c.PasswordResetTTL, "password-reset-ttl", "ONBOARD_PASSWORD_RESET_TTL", "lifetime of a password-reset link")
	dur(&c.EmailChangeTTL, "email-change-ttl", "ONBOARD_EMAIL_CHANGE_TTL", "lifetime of an email-change confirmation link")
	dur(&c.B2BRefreshTTL, "b2b-refresh-ttl", "ONBOARD_B2B_REFRESH_TTL", "lifetime of end users' refresh tokens (/v2/token)")
	dur(&c.SSOTimeout, "sso-timeout", "ONBOARD_SSO_TIMEOUT", "time limit of one call to an organization's OpenID provider (discovery, token, keys)")
	dur(&c.B2BIntrospectionTimeout, "b2b-introspection-timeout", "ONBOARD_B2B_INTROSPECTION_TIMEOUT", "time limit of a token introspection at a labelpartner's identity provider")
	uintv(&c.Argon2Memory, "argon2-memory", "ONBOARD_ARGON2_MEMORY", "argon2id memory in KiB")
	uintv(&c.Argon2Time, "argon2-time", "ONBOARD_ARGON2_TIME", "argon2id iterations")
	uintv(&c.Argon2Threads, "argon2-threads", "ONBOARD_ARGON2_THREADS", "argon2id parallelism")
	intv(&c.HashConcurrency, "hash-concurrency", "ONBOARD_HASH_CONCURRENCY", "password hashes run at once; 0 = number of CPUs")
	str(&c.RateStore, "rate-store", "ONBOARD_RATE_STORE", "where rate limits count: memory or db (default db on PostgreSQL, memory on SQLite)")
	val(&c.RateSignupIP, "rate-signup-ip", "ONBOARD_RATE_SIGNUP_IP", "signup starts per client address, COUNT/WINDOW (default 60/1m)")
	val(&c.RateSignupEmail, "rate-signup-email", "ONBOARD_RATE_SIGNUP_EMAIL", "signup starts per email address (default 5/1h)")
	val(&c.RateLoginIP, "rate-login-ip", "ONBOARD_RATE_LOGIN_IP", "sign-in attempts per client address (default 60/1m)")
	val(&c.RateLoginEmail, "rate-login-email", "ONBOARD_RATE_LOGIN_EMAIL", "failed sign-ins per email address (default 5/1h)")
	val(&c.RatePartnerCode, "rate-partner-code", "ONBOARD_RATE_PARTNER_CODE", "wrong partner codes per client address (default 10/1h)")
	val(&c.RateInviteNewAccount, "rate-invite-new-account", "ONBOARD_RATE_INVITE_NEW_ACCOUNT", "invitations per account younger than -invite-new-account-age (default 20/24h)")
	val(&c.RateInviteAccount, "rate-invite-account", "ONBOARD_RATE_INVITE_ACCOUNT", "invitations per older account (default 200/24h)")
	dur(&c.InviteNewAccountAge, "invite-new-account-age", "ONBOARD_INVITE_NEW_ACCOUNT_AGE", "age until which an account has the lower invitation limit")
	val(&c.TrustedProxies, "trusted-proxies", "ONBOARD_TRUSTED_PROXIES", "comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed")
	dur(&c.MailRetryBase, "mail-retry-base", "ONBOARD_MAIL_RETRY_BASE", "first retry delay of a failed mail; doubles each time")
	dur(&c.MailRetryMax, "mail-retry-max", "ONBOARD_MAIL_RETRY_MAX", "longest delay between mail retries")
	dur(&c.MailMaxAge, "mail-max-age", "ONBOARD_MAIL_MAX_AGE", "give up on a mail still failing after this long")
	intv(&c.MailWorkers, "mail-workers", "ONBOARD_MAIL_WORKERS", "parallel SMTP deliveries")
	dur(&c.MailRetention, "mail-retention", "ONBOARD_MAIL_RETENTION", "how long delivered and abandoned mail (bodies erased) is kept before it is deleted")
	str(&c.SecretKeyFile, "secret-key-file", "ONBOARD_SECRET_KEY_FILE", "file holding the keys that encrypt secrets at rest (KEYID:BASE64KEY,…; the first one encrypts); default: ONBOARD_SECRET_KEY, else on SQLite <db>.key, created on first start")
	boolv(&c.DeviceSetup, "device-setup", "ONBOARD_DEVICE_SETUP", "turn the self-service device setup (/setup) on system-wide; when given, the console and admin API cannot change it")
	str(&c.DeviceSetupDefaultOrg, "device-setup-default-org", "ONBOARD_DEVICE_SETUP_DEFAULT_ORG", "organization /setup uses (empty: /setup asks)")
	str(&c.SMSURL, "sms-url", "ONBOARD_SMS_URL", "HTTP SMS gateway URL for installation SMS; empty logs them instead")
	str(&c.SMSUser, "sms-user", "ONBOARD_SMS_USER", "user name (HTTP basic) of the SMS gateway")
	str(&c.SMSBody, "sms-body", "ONBOARD_SMS_BODY", "body template of an SMS gateway request (Go text/template with .To .Body .ID; empty: a JSON object)")
	str(&c.SMSContentType, "sms-content-type", "ONBOARD_SMS_CONTENT_TYPE", "content type of an SMS gateway request (default application/json)")
	intv(&c.SMSSuccessStatus, "sms-success-status", "ONBOARD_SMS_SUCCESS_STATUS", "HTTP status of an accepted SMS (0: any 2xx)")
	boolv(&c.OutboundAllowPrivate, "outbound-allow-private", "ONBOARD_OUTBOUND_ALLOW_PRIVATE", "let configured URLs (Partner Provider, token introspection) reach loopback and private addresses and use plain http; for development and tests only")
	str(&c.NATSURL, "nats-url", "ONBOARD_NATS_URL", "NATS server URL(s), comma-separated, for end-user activity; empty turns it off")
	str(&c.NATSActivitySubject, "nats-activity-subject", "ONBOARD_NATS_ACTIVITY_SUBJECT", "NATS subject of end-user activity messages")
	str(&c.NATSQueue, "nats-queue", "ONBOARD_NATS_QUEUE", "NATS queue group (JetStream: durable consumer name) shared by the nodes")
	str(&c.NATSStream, "nats-stream", "ONBOARD_NATS_STREAM", "JetStream stream to consume activity from; empty: a core-NATS subscription")
	str(&c.NATSCredsFile, "nats-creds", "ONBOARD_NATS_CREDS_FILE", "NATS credentials (.creds) file")
	intv(&c.NATSWorkers, "nats-workers", "ONBOARD_NATS_WORKERS", "activity messages processed at once")
	str(&c.MetricsAddr, "metrics-addr", "ONBOARD_METRICS_ADDR", "listen address of the Prometheus metrics (/metrics), never the public one; empty: off")
	intv(&c.SMTPIdleConns, "smtp-idle-conns", "ONBOARD_SMTP_IDLE_CONNS", "SMTP connections kept open between mails and reused; 0: a connection per mail")
	dur(&c.MailLease, "mail-lease", "ONBOARD_MAIL_LEASE", "how long a node's claim on a mail lasts; a mail claimed by a node that died is sent by another after it")
	dur(&c.EventsRetention, "events-retention", "ONBOARD_EVENTS_RETENTION", "how long events are kept for the feed and replays")
	dur(&c.EventsLinger, "events-linger", "ONBOARD_EVENTS_LINGER", "how long the event dispatcher gathers the events of the transactions committing after a first one before it numbers and delivers them all at once (a longer wait costs less CPU per event and delays delivery by as much); 0: none")
	dur(&c.ImportRetention, "import-retention", "ONBOARD_IMPORT_RETENTION", "how long a finished B2B import and its rejected lines are kept before they are deleted")
	dur(&c.WebhookRetryBase, "webhook-retry-base", "ONBOARD_WEBHOOK_RETRY_BASE", "first retry delay of a failed webhook delivery; doubles each time, with jitter")
	dur(&c.WebhookRetryMax, "webhook-retry-max", "ONBOARD_WEBHOOK_RETRY_MAX", "longest delay between webhook retries")
	dur(&c.WebhookMaxAge, "webhook-max-age", "ONBOARD_WEBHOOK_MAX_AGE", "give up on a webhook delivery still failing after this long")
	dur(&c.WebhookDisableAfter, "webhook-disable-after", "ONBOARD_WEBHOOK_DISABLE_AFTER", "disable a webhook endpoint that has failed for this long")
	intv(&c.WebhookWorkers, "webhook-workers", "ONBOARD_WEBHOOK_WORKERS", "webhook requests in flight")
	dur(&c.WebhookLease, "webhook-lease", "ONBOARD_WEBHOOK_LEASE", "how long a claimed webhook delivery stays with the node that claimed it (a node that died leaves it to others after it); 0: twice the 10 s timeout plus 30 s")
	str(&c.NATSEventsStream, "nats-events-stream", "ONBOARD_NATS_EVENTS_STREAM", "JetStream stream the events are published to (created when missing) when -nats-url is set")
	str(&c.NATSEventsPrefix, "nats-events-prefix", "ONBOARD_NATS_EVENTS_PREFIX", "subject prefix of published events: <prefix>.<organization>.<type>")
	str(&c.LogFormat, "log-format", "ONBOARD_LOG_FORMAT", "text or json")
	str(&c.LogLevel, "log-level", "ONBOARD_LOG_LEVEL", "debug, info, warn or error")
	applyEnv := func(getenv func(string) string) error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		var errs []error
		fs.VisitAll(func(f *flag.Flag) {
			name, ok := env[f.Name]
			if !ok || set[f.Name] {
				return
			}
			if v := getenv(name); v != "" {
				if err := f.Value.Set(v); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
				}
			}
		})
		c.SMSPassword = getenv("ONBOARD_SMS_PASSWORD")
		c.AdminKey = getenv("ONBOARD_ADMIN_KEY")
		if f := getenv("ONBOARD_ADMIN_KEY_FILE"); f != "" && c.AdminKey == "" {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("ONBOARD_ADMIN_KEY_FILE: %w", err))
			}
			c.AdminKey = strings.TrimSpace(string(b))
		}
		c.SecretKey = getenv("ONBOARD_SECRET_KEY")
		c.FormKey = getenv("ONBOARD_FORM_KEY")
		if f := getenv("ONBOARD_FORM_KEY_FILE"); f != "" && c.FormKey == "" {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("ONBOARD_FORM_KEY_FILE: %w", err))
			}
			c.FormKey = strings.TrimSpace(string(b))
		}
		return errors.Join(errs...)
	}
	return fs, applyEnv
}

// Validate checks the settings and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr: must not be empty"))
	}
	if c.DB == "" {
		errs = append(errs, errors.New("db: must not be empty"))
	}
	if len([]rune(strings.TrimSpace(c.OrgName))) > 200 || strings.ContainsFunc(c.OrgName, unicode.IsControl) {
		errs = append(errs, errors.New("org-name: at most 200 characters, no control characters"))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		errs = append(errs, fmt.Errorf("public-url %q: must start with http:// or https://", c.PublicURL))
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	switch c.RateStore {
	case "", "memory", "db":
	default:
		errs = append(errs, fmt.Errorf("rate-store %q: must be memory or db", c.RateStore))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
		errs = append(errs, fmt.Errorf("mail-from %q: must be an address such as 'Example <no-reply@example.com>'", c.MailFrom))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: must be text or json", c.LogFormat))
	}
	if c.SignupTTL <= 0 || c.SessionTTL <= 0 {
		errs = append(errs, errors.New("signup-ttl and session-ttl must be positive"))
	}
	if c.BrowserSessionTTL <= 0 || c.BrowserIdleTTL <= 0 {
		errs = append(errs, errors.New("browser-session-ttl and browser-idle-ttl must be positive"))
	}
	if c.B2BRefreshTTL <= 0 || c.B2BIntrospectionTimeout <= 0 || c.SSOTimeout <= 0 {
		errs = append(errs, errors.New("b2b-refresh-ttl and b2b-introspection-timeout must be positive"))
	}
	if c.InvitationTTL <= 0 || c.PasswordResetTTL <= 0 || c.EmailChangeTTL <= 0 {
		errs = append(errs, errors.New("invitation-ttl, password-reset-ttl and email-change-ttl must be positive"))
	}
	if c.Argon2Threads == 0 || c.Argon2Threads > 255 || c.Argon2Time == 0 || c.Argon2Memory < 8*c.Argon2Threads {
		errs = append(errs, errors.New("argon2: time and threads (1-255) must be at least 1 and memory at least 8 KiB per thread"))
	}
	if c.FormKey != "" && len(c.FormKey) < 32 {
		errs = append(errs, errors.New("ONBOARD_FORM_KEY: must be at least 32 characters"))
	}
	if c.AdminKey != "" && len(c.AdminKey) < 16 {
		errs = append(errs, errors.New("ONBOARD_ADMIN_KEY: must be at least 16 characters"))
	}
	if c.MetricsAddr != "" && sameListenAddr(c.MetricsAddr, c.Addr) {
		errs = append(errs, fmt.Errorf("metrics-addr %q: must differ from addr: metrics are never served on the public port", c.MetricsAddr))
	}
	if c.SMTPIdleConns < 0 || c.SMTPIdleConns > 64 {
		errs = append(errs, errors.New("smtp-idle-conns: must be between 0 and 64"))
	}
	if c.MailLease < 10*time.Second {
		errs = append(errs, errors.New("mail-lease: must be at least 10s"))
	}
	if c.MailWorkers < 1 {
		errs = append(errs, errors.New("mail-workers: must be at least 1"))
	}
	if c.InviteNewAccountAge < 0 {
		errs = append(errs, errors.New("invite-new-account-age: must not be negative"))
	}
	if c.MailRetention <= 0 {
		errs = append(errs, errors.New("mail-retention: must be positive"))
	}
	if c.ImportRetention <= 0 {
		errs = append(errs, errors.New("import-retention: must be positive"))
	}
	if c.EventsRetention <= 0 || c.WebhookRetryBase <= 0 || c.WebhookRetryMax < c.WebhookRetryBase || c.WebhookMaxAge <= 0 || c.WebhookDisableAfter <= 0 {
		errs = append(errs, errors.New("events-retention, webhook-retry-base, webhook-max-age, webhook-disable-after: must be positive (webhook-retry-max at least webhook-retry-base)"))
	}
	if c.EventsLinger < 0 || c.EventsLinger > MaxEventsLinger {
		errs = append(errs, fmt.Errorf("events-linger: must be between 0 and %v", MaxEventsLinger))
	}
	if c.WebhookWorkers < 1 {
		errs = append(errs, errors.New("webhook-workers: must be at least 1"))
	}
	if c.WebhookLease < 0 {
		errs = append(errs, errors.New("webhook-lease: must not be negative"))
	}
	if c.NATSEventsStream == "" || strings.ContainsAny(c.NATSEventsStream, " .*>") {
		errs = append(errs, errors.New("nats-events-stream: must be a name without spaces, dots or wildcards"))
	}
	if err := checkSubject(c.NATSEventsPrefix); err != nil {
		errs = append(errs, fmt.Errorf("nats-events-prefix %q: %w", c.NATSEventsPrefix, err))
	}
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		errs = append(errs, errors.New("ONBOARD_SECRET_KEY and secret-key-file: set only one"))
	}
	if c.SecretKey != "" {
		if _, err := secretbox.Parse(c.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("ONBOARD_SECRET_KEY: %w", err))
		}
	}
	errs = append(errs, c.validateNATS()...)
	return errors.Join(errs...)
}

// sameListenAddr reports whether two listen addresses would take the same
// port (an empty host or 0.0.0.0/:: binds every address).
func sameListenAddr(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// validateNATS checks the NATS settings; they are checked only when
// nats-url is set, except that a stream or credentials without a URL are
// refused as a likely mistake.
func (c *Config) validateNATS() []error {
	var errs []error
	if c.NATSURL == "" {
		if c.NATSStream != "" || c.NATSCredsFile != "" {
			errs = append(errs, errors.New("nats-stream and nats-creds: need nats-url"))
		}
		return errs
	}
	for _, raw := range strings.Split(c.NATSURL, ",") {
		if err := checkNATSURL(strings.TrimSpace(raw)); err != nil {
			errs = append(errs, fmt.Errorf("nats-url: %w", err))
		}
	}
	if err := checkSubject(c.NATSActivitySubject); err != nil {
		errs = append(errs, fmt.Errorf("nats-activity-subject %q: %w", c.NATSActivitySubject, err))
	}
	switch {
	case c.NATSQueue == "" || strings.ContainsFunc(c.NATSQueue, unicode.IsSpace):
		errs = append(errs, fmt.Errorf("nats-queue %q: must be a name without spaces", c.NATSQueue))
	case c.NATSStream != "" && !isJetStreamName(c.NATSQueue):
		errs = append(errs, fmt.Errorf("nats-queue %q: names the durable consumer with nats-stream, so it must not contain . * > / \\ or spaces", c.NATSQueue))
	}
	if c.NATSStream != "" && !isJetStreamName(c.NATSStream) {
		errs = append(errs, fmt.Errorf("nats-stream %q: must not contain . * > / \\ or spaces", c.NATSStream))
	}
	if c.NATSCredsFile != "" {
		if fi, err := os.Stat(c.NATSCredsFile); err != nil {
			errs = append(errs, fmt.Errorf("nats-creds: %w", err))
		} else if fi.IsDir() {
			errs = append(errs, fmt.Errorf("nats-creds %q: is a directory", c.NATSCredsFile))
		}
	}
	if c.NATSWorkers < 1 || c.NATSWorkers > 256 {
		errs = append(errs, errors.New("nats-workers: must be between 1 and 256"))
	}
	return errs
}

// checkNATSURL accepts what the NATS client dials: nats://, tls://, ws://
// and wss:// URLs with a host, optionally with user:password or a token.
func checkNATSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redactURL(raw))
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: must start with nats://, tls://, ws:// or wss://", u.Redacted())
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q: has no host", u.Redacted())
	}
	return nil
}

// redactURL hides what could be a password in a URL that does not parse.
func redactURL(raw string) string {
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return "…@" + raw[i+1:]
	}
	return raw
}

// checkSubject accepts a NATS subject: dot-separated non-empty tokens
// without spaces, where "*" and ">" stand alone and ">" comes last.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return errors.New("must not contain spaces")
	}
	tokens := strings.Split(s, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return errors.New("must not have empty tokens (leading, trailing or double dots)")
		case tok == ">" && i != len(tokens)-1:
			return errors.New("\">\" must be the last token")
		case tok != "*" && tok != ">" && strings.ContainsAny(tok, "*>"):
			return errors.New("wildcards must be whole tokens")
		}
	}
	return nil
}

// isJetStreamName tells whether s may name a JetStream stream or consumer.
func isJetStreamName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*>/\\") && !strings.ContainsFunc(s, unicode.IsSpace)
}
