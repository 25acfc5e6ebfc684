package b2b

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
)

// Config are the settings of B2B provisioning and the end-user app API.
type Config struct {
	// AccessTTL is the lifetime of access tokens (default 1 hour).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of end users' refresh tokens (default 30 days).
	RefreshTTL time.Duration
	// ResetTTL is the lifetime of a password-reset link (default 1 hour).
	ResetTTL time.Duration
	// IntrospectionTimeout bounds a call to a labelpartner's identity
	// provider (default 5 seconds).
	IntrospectionTimeout time.Duration
}

// withDefaults fills in the settings left zero.
func (c Config) withDefaults() Config {
	if c.AccessTTL <= 0 {
		c.AccessTTL = time.Hour
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.ResetTTL <= 0 {
		c.ResetTTL = time.Hour
	}
	if c.IntrospectionTimeout <= 0 {
		c.IntrospectionTimeout = 5 * time.Second
	}
	return c
}

// EndUserPasswordSpecials are the special characters the "password" policy
// allows besides a-z, A-Z and digits.
const EndUserPasswordSpecials = `_!"()=[]{}?+*~#,;.-`

// CheckEndUserPassword checks a pincode or password against a labelpartner
// policy and returns the rules it breaks (nil when it is acceptable).
func CheckEndUserPassword(policy string, core auth.Policy, password, email string) []domain.FieldError {
	var errs []domain.FieldError
	add := func(msg string) { errs = append(errs, domain.FieldError{Field: "pincode", Message: msg}) }
	switch policy {
	case domain.PolicyPincode:
		ok := len(password) == 6
		for i := 0; i < len(password); i++ {
			if password[i] < '0' || password[i] > '9' {
				ok = false
			}
		}
		if !ok {
			add("must be exactly 6 digits (pincode policy)")
		} else if CommonPincode(password) {
			add("is too common or too easy to guess; avoid repeated digits, runs like 123456 and patterns like 121212 (pincode policy)")
		}
	case domain.PolicyPassword:
		if !utf8.ValidString(password) {
			add("must be valid UTF-8 text (password policy)")
			return errs
		}
		if n := utf8.RuneCountInString(password); n < 6 || n > 16 {
			add("must be 6 to 16 characters (password policy)")
		}
		var bad []string
		for _, r := range password {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r < utf8.RuneSelf && strings.ContainsRune(EndUserPasswordSpecials, r):
			default:
				if !containsString(bad, string(r)) {
					bad = append(bad, string(r))
				}
			}
		}
		if auth.IsCommon(password) {
			add("is too common; choose one that is harder to guess (password policy)")
		}
		if len(bad) > 0 {
			add(fmt.Sprintf("may contain only Latin letters a-z and A-Z, digits and the characters %s; German and other letters, spaces and other characters are not allowed (found %q) (password policy)",
				strings.Join(strings.Split(EndUserPasswordSpecials, ""), " "), strings.Join(bad, "")))
		}
	default:
		for _, v := range core.Check(password, email) {
			add(v.Message + " (default policy)")
		}
	}
	return errs
}

// commonPincodes are six-digit PINs among the most used that the rules of
// CommonPincode do not cover already.
var commonPincodes = map[string]bool{
	"112233": true, "123321": true, "159753": true, "147258": true, "147852": true, "159357": true,
	"102030": true, "753951": true, "258456": true, "789456": true, "123654": true, "520131": true,
	"100200": true, "123789": true,
}

// CommonPincode reports whether a six-digit pincode is one of the most
// common ones: one digit repeated (000000), a run up or down (123456,
// 654321, 890123), a repeated pair or triple (121212, 123123), or one of a
// short list of others (112233, 123321, 159753, …).
func CommonPincode(pin string) bool {
	if len(pin) != 6 {
		return false
	}
	if commonPincodes[pin] {
		return true
	}
	up, down, period2, period3 := true, true, true, true
	for i := 1; i < len(pin); i++ {
		d := (int(pin[i]) - int(pin[i-1]) + 10) % 10
		up = up && d == 1
		down = down && d == 9
		period2 = period2 && (i < 2 || pin[i] == pin[i-2])
		period3 = period3 && (i < 3 || pin[i] == pin[i-3])
	}
	return up || down || period2 || period3
}

// checkAnyEndUserPassword checks a pincode or password against every
// labelpartner policy: nil when one of them accepts it, else the rules it
// breaks in each. It needs no labelpartner, so it can run before the end
// user is known.
func checkAnyEndUserPassword(core auth.Policy, password, email string) []domain.FieldError {
	var all []domain.FieldError
	for _, p := range []string{domain.PolicyPincode, domain.PolicyPassword, domain.PolicyDefault} {
		v := CheckEndUserPassword(p, core, password, email)
		if len(v) == 0 {
			return nil
		}
		all = append(all, v...)
	}
	return all
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// policyError is the 422 naming the rules a pincode breaks.
func policyError(fields []domain.FieldError) error {
	return &domain.Error{Code: domain.EInvalid, Slug: "password-policy",
		Detail: "The pincode does not meet the password policy.", Fields: fields}
}

func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
