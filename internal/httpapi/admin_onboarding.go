package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

func (s *Server) getOnboarding(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	encode(w, http.StatusOK, onboardingView(org.Onboarding))
	return nil
}

func (s *Server) putOnboarding(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	// decode checks the content type, the size and the JSON syntax; the
	// document itself is decoded by decodeOnboarding.
	var raw json.RawMessage
	if err := decode(w, r, &raw); err != nil {
		return err
	}
	cfg, err := decodeOnboarding(raw)
	if err != nil {
		return err
	}
	saved, err := s.flows.PutOnboarding(r.Context(), adm, org, cfg)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, onboardingView(saved))
	return nil
}

// decodeOnboarding decodes an onboarding configuration document (valid JSON)
// like decode does, except that a duration that is not a string Go can parse
// ("24h", "30m") is a field error naming its path (422), like the other
// validation failures, and not malformed JSON (400). Every bad duration is
// reported; an unknown field stays a 400.
func decodeOnboarding(raw []byte) (domain.Onboarding, error) {
	var req Onboarding
	err := decodeStrict(raw, &req)
	cfg := req.domain()
	if err == nil {
		return cfg, nil
	}
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return cfg, decodeError(err)
	}
	var bad []domain.FieldError
	for _, path := range onboardingDurations {
		if replaceBadDurations(doc, path) {
			bad = append(bad, domain.FieldError{Field: strings.Join(path, "."), Message: "must be a duration like 24h"})
		}
	}
	if len(bad) == 0 {
		return cfg, decodeError(err)
	}
	// Decode again without the bad durations, so that other problems of the
	// document are not hidden behind them.
	patched, merr := json.Marshal(doc)
	if merr != nil {
		return cfg, decodeError(err)
	}
	if err := decodeStrict(patched, &Onboarding{}); err != nil {
		derr := decodeError(err)
		de := domain.AsError(derr)
		if de == nil || de.Code != domain.EInvalid {
			return cfg, derr
		}
		bad = append(bad, de.Fields...)
	}
	return cfg, domain.Invalid(bad...)
}

// validDuration reports whether a decoded JSON value is a duration the
// configuration accepts: a Go duration string, or null (left unset).
func validDuration(v any) bool {
	switch d := v.(type) {
	case nil:
		return true
	case string:
		_, err := time.ParseDuration(d)
		return err == nil
	default:
		return false
	}
}

// onboardingDurations are the JSON paths of the duration members of the
// onboarding configuration (e.g. signup_link_ttl, partner_provider.timeout).
var onboardingDurations = durationPaths(reflect.TypeFor[Onboarding](), nil)

// durationPaths returns the JSON paths of the domain.Duration fields of a
// struct type, through nested structs and pointers to structs.
func durationPaths(t reflect.Type, prefix []string) [][]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out [][]string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := append(slices.Clone(prefix), name)
		if f.Type == reflect.TypeFor[domain.Duration]() {
			out = append(out, path)
			continue
		}
		out = append(out, durationPaths(f.Type, path)...)
	}
	return out
}

// replaceBadDurations replaces, in a decoded JSON object, each member at
// path that is not a valid duration with "0s", and reports whether it found
// one. Member names match exactly, as in decode.
func replaceBadDurations(doc any, path []string) bool {
	m, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	found := false
	for k, v := range m {
		if k != path[0] {
			continue
		}
		if len(path) > 1 {
			found = replaceBadDurations(v, path[1:]) || found
		} else if !validDuration(v) {
			m[k] = "0s"
			found = true
		}
	}
	return found
}

// onboardingView shows an onboarding configuration, its secrets redacted.
func onboardingView(o domain.Onboarding) Onboarding {
	o = flows.Redacted(o)
	v := Onboarding{
		SelfRegistration:                   SelfRegistration(o.SelfRegistration),
		PartnerSelfRegistrationWithoutCode: o.PartnerSelfRegistrationWithoutCode,
		DefaultLocation:                    o.DefaultLocation,
		CustomerVerification:               o.CustomerVerification,
		EmailRequirement:                   o.EmailRequirement,
		SignupLinkTtl:                      o.SignupLinkTTL,
		DefaultUserTypes:                   o.DefaultUserTypes,
		Branding:                           Branding(o.Branding),
		SSO:                                o.SSO,
		DeviceSetup:                        o.DeviceSetup,
	}
	if pp := o.PartnerProvider; pp != nil {
		v.PartnerProvider = &PartnerProvider{URL: pp.URL, Secret: pp.Secret, NameField: pp.NameField,
			PropertyMapping: pp.PropertyMapping, Timeout: pp.Timeout}
	}
	return v
}

// domain returns the configuration as the flows take it.
func (o Onboarding) domain() domain.Onboarding {
	d := domain.Onboarding{
		SelfRegistration:                   domain.SelfRegistration(o.SelfRegistration),
		PartnerSelfRegistrationWithoutCode: o.PartnerSelfRegistrationWithoutCode,
		DefaultLocation:                    o.DefaultLocation,
		CustomerVerification:               o.CustomerVerification,
		EmailRequirement:                   o.EmailRequirement,
		SignupLinkTTL:                      o.SignupLinkTtl,
		DefaultUserTypes:                   o.DefaultUserTypes,
		Branding:                           domain.Branding(o.Branding),
		SSO:                                o.SSO,
		DeviceSetup:                        o.DeviceSetup,
	}
	if pp := o.PartnerProvider; pp != nil {
		d.PartnerProvider = &domain.PartnerProvider{URL: pp.URL, Secret: pp.Secret, NameField: pp.NameField,
			PropertyMapping: pp.PropertyMapping, Timeout: pp.Timeout}
	}
	return d
}
