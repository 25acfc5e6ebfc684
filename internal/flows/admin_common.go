package flows

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Helpers shared by the admin API's configuration flows (admin_*.go).

// Patterns of the names the admin API accepts.
var (
	// orgNamePattern is an organization's name: the slug in admin URLs.
	orgNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	// slugPattern names user types and agreements ("customer_admin",
	// "terms-of-service").
	slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// idPattern is what a stored id can look like; anything else in a path
	// is "not found" without asking the database.
	idPattern = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)
)

// Lengths the admin API allows.
const (
	maxLabelLength  = 200
	maxReasonLength = 1000
	maxAgreementLen = 60000
)

// fieldErrors collects the field errors of one request.
type fieldErrors []domain.FieldError

func (f *fieldErrors) add(field, msg string) {
	*f = append(*f, domain.FieldError{Field: field, Message: msg})
}

// err returns the collected errors as a validation error, or nil.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return domain.Invalid(f...)
}

// text trims v and checks it: present when required, at most max
// characters, no control characters, and when not multiline no invisible
// characters either (see domain.Invisible); multiline text may hold line
// breaks and tabs.
func (f *fieldErrors) text(field, v string, required bool, max int, multiline bool) string {
	v = strings.TrimSpace(v)
	bad := domain.Invisible
	if multiline {
		bad = func(r rune) bool { return r != '\n' && r != '\t' && r != '\r' && unicode.IsControl(r) }
	}
	switch {
	case v == "":
		if required {
			f.add(field, "is required")
		}
	case !utf8.ValidString(v) || strings.ContainsFunc(v, bad):
		f.add(field, "contains characters that are not allowed (control or invisible characters)")
	case utf8.RuneCountInString(v) > max:
		f.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
	return v
}

// pattern checks that v matches re, with a message naming the form.
func (f *fieldErrors) pattern(field, v string, re *regexp.Regexp, form string) {
	switch {
	case v == "":
		f.add(field, "is required")
	case !re.MatchString(v):
		f.add(field, "must be "+form)
	}
}

// accountTypes checks a non-empty list of distinct account types.
func (f *fieldErrors) accountTypes(field string, types []string) {
	if len(types) == 0 {
		f.add(field, "must name at least one of "+strings.Join(domain.AccountTypes, ", "))
		return
	}
	seen := map[string]bool{}
	for i, t := range types {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !slices.Contains(domain.AccountTypes, t):
			f.add(at, "must be one of "+strings.Join(domain.AccountTypes, ", "))
		case seen[t]:
			f.add(at, "is listed twice")
		}
		seen[t] = true
	}
}

// validID reports whether id can be a stored id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// stamp returns the current time as stored (UTC, microseconds), so that what a
// flow returns equals what a later read gives.
func (s *Service) stamp() time.Time { return store.Timestamp(s.now()) }

// audit appends an admin's change to the organization's audit log.
func Audit(ctx context.Context, tx *store.Tx, orgID string, adm Admin, action, subjectID string, data map[string]any, at time.Time) error {
	if data == nil {
		data = map[string]any{}
	}
	return tx.AddAudit(ctx, domain.AuditEntry{OrgID: orgID, Actor: adm.Actor(), Action: action, SubjectID: subjectID, Data: data, CreatedAt: at})
}

// accountFields are the form fields of the customer-scope properties an
// organization defines for an account type, as the back office fills them:
// nothing is required (customer verification asks the customer later).
func accountFields(props []domain.PropertyDefinition, accountType string) map[string]Field {
	out := map[string]Field{}
	for _, p := range props {
		if p.Scope != PropertyScopeCustomer || !slices.Contains(p.AccountTypes, accountType) {
			continue
		}
		ml := p.MaxLength
		if ml <= 0 {
			ml = maxFieldLength
		}
		out[p.Name] = Field{Name: "properties." + p.Name, Label: p.Label, Type: p.Type, MaxLength: ml, Options: p.Options, pattern: p.Pattern}
	}
	return out
}

// accountProperties checks the properties the back office gives an account
// against the organization's definitions for its account type and returns
// them as stored (strings; booleans as "true" or "false"). Blank values are
// dropped.
func (s *Service) accountProperties(ctx context.Context, org domain.Organization, accountType string, in map[string]any, f *fieldErrors) (map[string]string, error) {
	out := map[string]string{}
	if len(in) == 0 {
		return out, nil
	}
	defs, err := s.store.PropertyDefinitions(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	fields := accountFields(defs, accountType)
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fd, ok := fields[k]
		name := "properties." + k
		if !ok {
			f.add(truncate(name, 100), "is not a property of "+accountType+" accounts")
			continue
		}
		var v string
		switch x := in[k].(type) {
		case string:
			v = strings.TrimSpace(x)
		case bool:
			if fd.Type != PropertyBoolean {
				f.add(name, "must be a string")
				continue
			}
			v = fmt.Sprint(x)
		case nil:
			continue
		default:
			f.add(name, "must be a string")
			continue
		}
		if msg := s.checkValue(fd, v); msg != "" {
			f.add(name, msg)
			continue
		}
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}
