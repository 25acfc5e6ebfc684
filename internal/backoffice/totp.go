package backoffice

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// TOTP parameters: RFC 6238 defaults that every authenticator app knows.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// RecoveryCodes is how many recovery codes an enrolment gives.
	RecoveryCodes = 10
)

// Second factors a session can pass.
const (
	FactorTOTP     = "totp"
	FactorRecovery = "recovery"
)

func wrongCode() error {
	return domain.Invalid(domain.FieldError{Field: "code", Message: "is not correct"})
}

// checkCode accepts a 6-digit code of the step before, at or after now whose
// step is later than lastStep (a code works once), and returns its step.
func checkCode(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, skew := range []int64{-1, 0, 1} {
		t := now.Add(time.Duration(skew*totpPeriod) * time.Second)
		step := t.Unix() / totpPeriod
		if step <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

func hashCode(code string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))))
	return hex.EncodeToString(h[:])
}

// VerifyCode passes the session's second factor with a TOTP code or a
// recovery code (each recovery code works once). Wrong codes count against
// the address's lockout, as wrong passwords do.
func (s *Service) VerifyCode(ctx context.Context, p Principal, code string) (Principal, error) {
	if !p.NeedsSecondFactor {
		return p, nil
	}
	key := failKey(p.User.Email)
	d, err := s.limiter.Peek(ctx, key, s.cfg.FailuresPerEmail)
	if err != nil {
		return p, fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return p, rateLimited(d.RetryAfter)
	}
	now := s.now()
	factor := ""
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.LockBackOfficeUser(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if step, ok := checkCode(u.TOTPSecret, code, now, u.TOTPLastStep); ok {
			factor = FactorTOTP
			if err := tx.SetBackOfficeTOTP(ctx, u.ID, u.TOTPSecret, u.TOTPEnabledAt, step, u.RecoveryCodes, now); err != nil {
				return err
			}
		} else if i := slices.Index(u.RecoveryCodes, hashCode(code)); i >= 0 && strings.TrimSpace(code) != "" {
			factor = FactorRecovery
			rest := slices.Delete(slices.Clone(u.RecoveryCodes), i, i+1)
			if err := tx.SetBackOfficeTOTP(ctx, u.ID, u.TOTPSecret, u.TOTPEnabledAt, u.TOTPLastStep, rest, now); err != nil {
				return err
			}
			p.User.RecoveryCodes = rest
		} else {
			return nil
		}
		if err := tx.SetBackOfficeSessionFactor(ctx, p.Session.ID, factor); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: p.Actor(), Action: "backoffice_session.second_factor",
			SubjectID: u.ID, Data: map[string]any{"session_id": p.Session.ID, "factor": factor}, CreatedAt: now})
	})
	if err != nil {
		return p, fmt.Errorf("second factor: %w", err)
	}
	if factor == "" {
		if _, err := s.limiter.Allow(ctx, key, s.cfg.FailuresPerEmail); err != nil {
			return p, fmt.Errorf("rate limit: %w", err)
		}
		return p, wrongCode()
	}
	p.Session.SecondFactor, p.NeedsSecondFactor = factor, false
	return p, nil
}

// Enrolment is a TOTP secret being enrolled: the otpauth URL for the QR
// code and the secret for typing in.
type Enrolment struct {
	Secret string
	URL    string
}

// BeginEnrolment draws a new TOTP secret for the principal (replacing an
// unconfirmed one) and returns it; it counts only once ConfirmEnrolment
// accepts a code of it. A user with a confirmed factor gets an error.
func (s *Service) BeginEnrolment(ctx context.Context, p Principal) (Enrolment, error) {
	if p.User.TOTPEnabledAt != nil {
		return Enrolment{}, domain.Errorf(domain.EConflict, "totp-enabled", "A second factor is set up already.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.Issuer, AccountName: p.User.Email, Period: totpPeriod, Digits: totpDigits,
		Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: %w", err)
	}
	if err := s.store.SetBackOfficeTOTP(ctx, p.User.ID, key.Secret(), nil, 0, nil, s.now()); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// PendingEnrolment returns the unconfirmed secret of the principal, or
// domain.ENotFound when there is none.
func (s *Service) PendingEnrolment(ctx context.Context, p Principal) (Enrolment, error) {
	u, err := s.store.BackOfficeUserByID(ctx, p.User.ID)
	if err != nil {
		return Enrolment{}, err
	}
	if u.TOTPSecret == "" || u.TOTPEnabledAt != nil {
		return Enrolment{}, domain.Errorf(domain.ENotFound, "no-enrolment", "No second factor is being set up.")
	}
	return Enrolment{Secret: u.TOTPSecret, URL: otpauthURL(s.cfg.Issuer, u.Email, u.TOTPSecret)}, nil
}

// otpauthURL is the key URI of a secret, as totp.Generate writes it.
func otpauthURL(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}

// QRCode is the PNG image of an enrolment's otpauth URL.
func QRCode(e Enrolment, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}

// ConfirmEnrolment checks a code of the pending secret and turns the second
// factor on; it returns the recovery codes, which are shown only now (only
// their hashes are kept). The session counts as having passed the factor.
func (s *Service) ConfirmEnrolment(ctx context.Context, p Principal, code string) (Principal, []string, error) {
	now := s.now()
	codes := make([]string, RecoveryCodes)
	hashes := make([]string, RecoveryCodes)
	for i := range codes {
		var b [10]byte
		rand.Read(b[:]) // never fails (crypto/rand)
		c := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
		codes[i] = c[:8] + "-" + c[8:]
		hashes[i] = hashCode(codes[i])
	}
	ok := false
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.LockBackOfficeUser(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabledAt != nil {
			return domain.Errorf(domain.EConflict, "totp-enabled", "A second factor is set up already.")
		}
		if u.TOTPSecret == "" {
			return domain.Errorf(domain.ENotFound, "no-enrolment", "No second factor is being set up.")
		}
		step, good := checkCode(u.TOTPSecret, code, now, u.TOTPLastStep)
		if !good {
			return nil
		}
		ok = true
		if err := tx.SetBackOfficeTOTP(ctx, u.ID, u.TOTPSecret, &now, step, hashes, now); err != nil {
			return err
		}
		if err := tx.SetBackOfficeSessionFactor(ctx, p.Session.ID, FactorTOTP); err != nil {
			return err
		}
		if err := tx.DeleteBackOfficeSessionsOf(ctx, u.ID, p.Session.ID); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: p.Actor(), Action: "backoffice_user.totp_enabled",
			SubjectID: u.ID, CreatedAt: now})
	})
	if err != nil {
		return p, nil, fmt.Errorf("confirm totp: %w", err)
	}
	if !ok {
		return p, nil, wrongCode()
	}
	p.User.TOTPEnabledAt, p.User.RecoveryCodes = &now, hashes
	p.Session.SecondFactor, p.NeedsSecondFactor, p.MustEnrol = FactorTOTP, false, false
	return p, codes, nil
}
