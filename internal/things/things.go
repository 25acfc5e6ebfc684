// Package things holds the rules of products and things: the products an
// organization registers by serial number (one by one or by bulk import),
// their activation by a customer's user into one of the customer's
// locations, the customer's things (list, rename, move, release) and the
// back office's factory reset. It knows nothing of HTTP; it takes typed
// input, checks the rules and calls the store inside one transaction per
// change, with side effects (mail) in the outbox of the same transaction.
package things

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// Limits are the rate limits of activation. Both count wrong tries only
// (an unknown serial number, another customer's product, a wrong
// connection token); while either is spent, activation is refused.
type Limits struct {
	FailuresPerUser   ratelimit.Rule
	FailuresPerSerial ratelimit.Rule
}

// DefaultLimits are 20 wrong tries an hour per user and 10 per serial number.
func DefaultLimits() Limits {
	return Limits{
		FailuresPerUser:   ratelimit.Rule{Limit: 20, Window: time.Hour},
		FailuresPerSerial: ratelimit.Rule{Limit: 10, Window: time.Hour},
	}
}

// Config are the settings of the service.
type Config struct {
	PublicURL string // base of links in mail
	MailFrom  string // From address; its domain names Message-IDs
	Limits    Limits
}

// Deps are what the service needs.
type Deps struct {
	Store   *store.Store
	Limiter flows.Limiter
	Mail    flows.Renderer
	Notify  func()           // wakes the mail worker after a commit; may be nil
	Now     func() time.Time // nil → time.Now
	Logger  *slog.Logger
}

// Service runs the rules of products and things.
type Service struct {
	store   *store.Store
	limiter flows.Limiter
	mail    flows.Renderer
	notify  func()
	now     func() time.Time
	log     *slog.Logger
	cfg     Config
	msgHost string
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	clock := d.Now
	return &Service{store: d.Store, limiter: d.Limiter, mail: d.Mail, notify: d.Notify,
		now: func() time.Time { return store.Timestamp(clock()) }, log: d.Logger, cfg: cfg, msgHost: messageHost(cfg)}
}

func messageHost(cfg Config) string {
	if a, err := mail.ParseAddress(cfg.MailFrom); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "onboard.invalid"
}

// queueMail renders a template for one recipient and returns its outbox row.
func (s *Service) queueMail(org domain.Organization, lang, template, to string, data any) (domain.OutboxMail, error) {
	r, err := s.mail.RenderIn(lang, brand.Of(org.Onboarding.Branding.AccentColor), template, data)
	if err != nil {
		return domain.OutboxMail{}, fmt.Errorf("render %s mail: %w", template, err)
	}
	id := store.NewID()
	return domain.OutboxMail{ID: id, OrgID: org.ID, MessageID: "<" + id + "@" + s.msgHost + ">", Template: template,
		To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML}, nil
}

func displayName(org domain.Organization) string {
	return cmp.Or(org.Onboarding.Branding.DisplayName, org.DisplayName)
}

// ---- errors ----

// NotActivatable is the one answer to an activation that names an unknown
// serial number, another customer's product or a wrong (or missing)
// connection token: the three cannot be told apart.
func NotActivatable() error {
	return domain.Errorf(domain.ENotFound, "thing-not-activatable",
		"No product with this serial number can be activated with these details. Check the serial number and the connection token.")
}

func productNotFound() error {
	return domain.Errorf(domain.ENotFound, "product-not-found", "The organization has no product with this serial number.")
}

func thingNotFound() error {
	return domain.Errorf(domain.ENotFound, "thing-not-found", "The customer has no such thing.")
}

func accountNotFound() error {
	return domain.Errorf(domain.ENotFound, "account-not-found", "There is no such account.")
}

func locationNotFound() error {
	return domain.Errorf(domain.ENotFound, "location-not-found", "The customer has no such location.")
}

// ---- validation ----

const (
	maxSerial        = 64
	maxModel         = 100
	maxToken         = 256
	maxName          = 100
	maxMetadataKeys  = 50
	maxMetadataKey   = 64
	maxMetadataValue = 1000
)

var serialPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)

// checkSerial checks a serial number: 1 to 64 characters of letters,
// digits and . _ : / - (starting with a letter or digit).
func checkSerial(field, raw string) (string, *domain.FieldError) {
	sn := strings.TrimSpace(raw)
	switch {
	case sn == "":
		return "", &domain.FieldError{Field: field, Message: "is required"}
	case len(sn) > maxSerial:
		return "", &domain.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", maxSerial)}
	case !serialPattern.MatchString(sn):
		return "", &domain.FieldError{Field: field, Message: "may hold only letters, digits and . _ : / - (starting with a letter or digit)"}
	}
	return sn, nil
}

// checkText checks a one-line text of at most max characters.
func checkText(field, raw string, required bool, max int) (string, *domain.FieldError) {
	v := strings.TrimSpace(raw)
	switch {
	case v == "" && required:
		return "", &domain.FieldError{Field: field, Message: "is required"}
	case !utf8.ValidString(v):
		return "", &domain.FieldError{Field: field, Message: "is not valid UTF-8"}
	case utf8.RuneCountInString(v) > max:
		return "", &domain.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", max)}
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
		return "", &domain.FieldError{Field: field, Message: "must not hold control or invisible characters"}
	}
	return v, nil
}

// checkToken checks a connection token as given: 1 to 256 bytes, no
// control characters; it is not trimmed.
func checkToken(field, tok string) *domain.FieldError {
	switch {
	case len(tok) > maxToken:
		return &domain.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d bytes", maxToken)}
	case !utf8.ValidString(tok) || strings.ContainsFunc(tok, unicode.IsControl):
		return &domain.FieldError{Field: field, Message: "must not hold control characters"}
	}
	return nil
}

func checkMetadata(field string, m map[string]string) *domain.FieldError {
	if len(m) > maxMetadataKeys {
		return &domain.FieldError{Field: field, Message: fmt.Sprintf("may hold at most %d keys", maxMetadataKeys)}
	}
	for k, v := range m {
		if k == "" || len(k) > maxMetadataKey || !serialPattern.MatchString(k) {
			return &domain.FieldError{Field: field, Message: fmt.Sprintf("keys must be 1 to %d letters, digits and . _ : / -", maxMetadataKey)}
		}
		if _, fe := checkText(field+"."+k, v, false, maxMetadataValue); fe != nil {
			return fe
		}
	}
	return nil
}

// ---- connection tokens ----

// tokenHash is the salted SHA-256 of a product's connection token: the
// organization and serial number salt it, so that equal tokens of two
// products do not hash alike.
func tokenHash(orgID, serial, token string) []byte {
	h := sha256.New()
	h.Write([]byte("onboard/things/connection-token\x00"))
	h.Write([]byte(orgID))
	h.Write([]byte{0})
	h.Write([]byte(serial))
	h.Write([]byte{0})
	h.Write([]byte(token))
	return h.Sum(nil)
}

// dummyHash stands for the hash of a product that has none, so that every
// activation compares one hash.
var dummyHash = sha256.Sum256([]byte("onboard/things/no-token"))

// tokenMatches hashes the given token and compares it, in constant time,
// with the product's hash (the dummy one when there is no product or the
// product has no token). It always does the same work.
func tokenMatches(orgID, serial, given string, p *domain.Product) bool {
	want := dummyHash[:]
	if p != nil && p.TokenHash != nil {
		want = p.TokenHash
	}
	ok := subtle.ConstantTimeCompare(tokenHash(orgID, serial, given), want) == 1
	if p == nil {
		return false
	}
	if p.TokenHash == nil {
		return true // no token to prove: any (or none) is fine
	}
	return ok && given != ""
}
