package auth

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Violation codes returned by [Policy.Check]. They are stable and meant for
// clients to key on; the messages are not.
const (
	CodeTooShort          = "too_short"
	CodeTooLong           = "too_long"
	CodeIsEmail           = "is_email"
	CodeCommon            = "common"
	CodeInvalidUTF8       = "invalid_utf8"
	CodeControlCharacters = "control_characters"
)

// Policy is the default password policy. Lengths are counted in runes
// (Unicode code points), not bytes.
//
// Use [DefaultPolicy] or set both fields: the zero value has MaxLength 0 and
// so rejects every non-empty password.
type Policy struct {
	// MinLength is the least number of runes a password may have.
	MinLength int
	// MaxLength is the greatest number of runes a password may have.
	MaxLength int
}

// DefaultPolicy returns the default policy: 8 to 64 characters.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, MaxLength: 64}
}

// Violation is one broken rule, with a stable code and a human message.
type Violation struct {
	// Code is one of the Code* constants.
	Code string `json:"code"`
	// Message explains the rule in English, e.g. "must be at least 8
	// characters".
	Message string `json:"message"`
}

// Check returns the rules the password breaks (nil when it is acceptable),
// in a stable order: length, control characters, e-mail, common passwords.
// email is the account's address; the password may not equal it, or its
// local part, ignoring case and surrounding spaces. An empty email skips
// that rule.
//
// A password that is not valid UTF-8 breaks only [CodeInvalidUTF8]: its
// length cannot be counted in characters, so no other rule is checked.
func (p Policy) Check(password, email string) []Violation {
	if !utf8.ValidString(password) {
		return []Violation{{Code: CodeInvalidUTF8, Message: "must be valid UTF-8 text"}}
	}
	var vs []Violation
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		vs = append(vs, Violation{Code: CodeTooShort, Message: fmt.Sprintf("must be at least %d characters", p.MinLength)})
	}
	if n > p.MaxLength {
		vs = append(vs, Violation{Code: CodeTooLong, Message: fmt.Sprintf("must be at most %d characters", p.MaxLength)})
	}
	if strings.ContainsFunc(password, unicode.IsControl) {
		vs = append(vs, Violation{Code: CodeControlCharacters, Message: "must not contain control characters such as tabs or line breaks"})
	}
	if isEmail(password, email) {
		vs = append(vs, Violation{Code: CodeIsEmail, Message: "must not be your email address or its part before the @"})
	}
	if IsCommon(password) {
		vs = append(vs, Violation{Code: CodeCommon, Message: "is too common; choose a password that is harder to guess"})
	}
	return vs
}

// isEmail reports whether password equals email or its local part (before
// the last '@'), ignoring case and surrounding spaces.
func isEmail(password, email string) bool {
	password = strings.TrimSpace(password)
	email = strings.TrimSpace(email)
	if password == "" || email == "" {
		return false
	}
	if strings.EqualFold(password, email) {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	local := strings.TrimSpace(email[:at])
	return local != "" && strings.EqualFold(password, local)
}

// PolicyDescription describes a [Policy] for clients, e.g. to show the rules
// next to a password field before anything is submitted.
type PolicyDescription struct {
	// MinLength is the least number of characters.
	MinLength int `json:"min_length"`
	// MaxLength is the greatest number of characters.
	MaxLength int `json:"max_length"`
	// Rules names the other rules: "not_email" and "not_common".
	Rules []string `json:"rules"`
}

// Describe returns a JSON-friendly description of p:
//
//	{"min_length":8,"max_length":64,"rules":["not_email","not_common"]}
func (p Policy) Describe() PolicyDescription {
	return PolicyDescription{
		MinLength: p.MinLength,
		MaxLength: p.MaxLength,
		Rules:     []string{"not_email", "not_common"},
	}
}

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords returns the set of embedded common passwords. It is built
// once, on first use, and never modified afterwards.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	return parseCommonPasswords(commonPasswordsText)
})

// parseCommonPasswords returns the set of lowercased, trimmed, non-empty
// lines of text.
func parseCommonPasswords(text string) map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		if pw := strings.TrimSpace(line); pw != "" {
			set[strings.ToLower(pw)] = struct{}{}
		}
	}
	return set
}

// IsCommon reports whether password is, ignoring case, in the embedded list
// of about 49,000 common passwords.
func IsCommon(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}
