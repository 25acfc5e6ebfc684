package b2b

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// Deep links: a labelpartner may name the apps that open its mailed links
// (iOS and Android) and URL templates that replace onboard's own pages in
// its verification and password-reset mails.

// TokenPlaceholder is what a labelpartner's link template holds, exactly
// once, where the mailed token goes (query-escaped).
const TokenPlaceholder = "{token}"

// Limits of app links.
const (
	maxLinkTemplate   = 2000
	maxIOSAppIDs      = 20
	maxFingerprints   = 20
	maxAppIdentifier  = 255
	tokenProbe        = "onboardtokenprobe"
	appLinksFieldRoot = "app_links"
)

var (
	// iosAppID is TEAMID.bundle.id: a 10-character team id (upper-case
	// letters and digits), then a bundle id of letters, digits, hyphens and
	// dots.
	iosAppID = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
	// androidPackage is a Java package name of at least two segments.
	androidPackage = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	// certFingerprint is a SHA-256 fingerprint: 32 upper-case hex bytes
	// separated by colons.
	certFingerprint = regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
)

// validLinkTemplate checks a link template: an absolute https URL of at
// most 2000 characters, holding {token} exactly once after the host, no
// other braces, no spaces, control characters or user information.
func validLinkTemplate(field, tpl string) *domain.FieldError {
	bad := func(msg string) *domain.FieldError { return &domain.FieldError{Field: field, Message: msg} }
	switch {
	case len(tpl) > maxLinkTemplate:
		return bad(fmt.Sprintf("must be at most %d characters", maxLinkTemplate))
	case strings.Count(tpl, TokenPlaceholder) != 1:
		return bad("must hold " + TokenPlaceholder + " exactly once")
	case strings.ContainsAny(strings.Replace(tpl, TokenPlaceholder, "", 1), "{}"):
		return bad("may hold no placeholder other than " + TokenPlaceholder)
	case strings.ContainsFunc(tpl, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return bad("must not contain spaces or control characters")
	}
	u, err := url.Parse(strings.Replace(tpl, TokenPlaceholder, tokenProbe, 1))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute https URL")
	}
	if u.User != nil {
		return bad("must not hold user information")
	}
	if strings.Contains(strings.ToLower(u.Host), tokenProbe) {
		return bad("must hold " + TokenPlaceholder + " in the path, query or fragment, not in the host")
	}
	return nil
}

// validAppLinks checks app links and returns them normalised: repeated app
// ids and fingerprints dropped, and nil when nothing is set.
func validAppLinks(in *domain.AppLinks) (*domain.AppLinks, []domain.FieldError) {
	if in == nil {
		return nil, nil
	}
	var errs []domain.FieldError
	f := func(name string) string { return appLinksFieldRoot + "." + name }
	out := &domain.AppLinks{VerifyURL: in.VerifyURL, ResetURL: in.ResetURL}
	for _, t := range []struct{ field, tpl string }{{"verify_url", in.VerifyURL}, {"reset_url", in.ResetURL}} {
		if t.tpl == "" {
			continue
		}
		if fe := validLinkTemplate(f(t.field), t.tpl); fe != nil {
			errs = append(errs, *fe)
		}
	}
	if in.IOS != nil {
		ids := uniqueStrings(in.IOS.AppIDs)
		switch {
		case len(ids) == 0:
			errs = append(errs, domain.FieldError{Field: f("ios.app_ids"), Message: "must name at least one app"})
		case len(ids) > maxIOSAppIDs:
			errs = append(errs, domain.FieldError{Field: f("ios.app_ids"), Message: fmt.Sprintf("must name at most %d apps", maxIOSAppIDs)})
		}
		for i, id := range in.IOS.AppIDs {
			if len(id) > maxAppIdentifier || !iosAppID.MatchString(id) {
				errs = append(errs, domain.FieldError{Field: fmt.Sprintf("%s[%d]", f("ios.app_ids"), i),
					Message: "must be TEAMID.bundle.id: a 10-character team id of A-Z and 0-9, a dot, then the bundle id"})
			}
		}
		out.IOS = &domain.IOSApps{AppIDs: ids}
	}
	if in.Android != nil {
		pkg := in.Android.PackageName
		switch {
		case pkg == "":
			errs = append(errs, domain.FieldError{Field: f("android.package_name"), Message: "is required"})
		case len(pkg) > maxAppIdentifier || !androidPackage.MatchString(pkg):
			errs = append(errs, domain.FieldError{Field: f("android.package_name"),
				Message: "must be a package name such as com.example.app: dot-separated segments of letters, digits and _, each starting with a letter"})
		}
		fps := uniqueStrings(in.Android.SHA256CertFingerprints)
		switch {
		case len(fps) == 0:
			errs = append(errs, domain.FieldError{Field: f("android.sha256_cert_fingerprints"), Message: "must hold at least one fingerprint"})
		case len(fps) > maxFingerprints:
			errs = append(errs, domain.FieldError{Field: f("android.sha256_cert_fingerprints"), Message: fmt.Sprintf("must hold at most %d fingerprints", maxFingerprints)})
		}
		for i, fp := range in.Android.SHA256CertFingerprints {
			if !certFingerprint.MatchString(fp) {
				errs = append(errs, domain.FieldError{Field: fmt.Sprintf("%s[%d]", f("android.sha256_cert_fingerprints"), i),
					Message: "must be a SHA-256 fingerprint: 32 upper-case hex bytes separated by colons"})
			}
		}
		out.Android = &domain.AndroidApp{PackageName: pkg, SHA256CertFingerprints: fps}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if out.VerifyURL == "" && out.ResetURL == "" && out.IOS == nil && out.Android == nil {
		return nil, nil
	}
	return out, nil
}

// uniqueStrings returns ss without repeats, in order, never nil.
func uniqueStrings(ss []string) []string {
	out := []string{}
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// endUserLink is the link of a mail to an end user: the labelpartner's
// template with the token query-escaped in place of {token}, or onboard's
// own page at path when the template is empty.
func (s *Service) endUserLink(tpl, path, token string) string {
	if tpl == "" {
		return s.link(path, token)
	}
	return strings.Replace(tpl, TokenPlaceholder, url.QueryEscape(token), 1)
}

// verifyTemplate and resetTemplate are a labelpartner's link templates, ""
// when it has none.
func verifyTemplate(lp domain.Labelpartner) string {
	if lp.AppLinks == nil {
		return ""
	}
	return lp.AppLinks.VerifyURL
}

func resetTemplate(lp domain.Labelpartner) string {
	if lp.AppLinks == nil {
		return ""
	}
	return lp.AppLinks.ResetURL
}

// LabelpartnerPatch changes a labelpartner.
type LabelpartnerPatch struct {
	// SetAppLinks tells that AppLinks is given: it replaces the app links,
	// and nil removes them.
	SetAppLinks bool
	AppLinks    *domain.AppLinks
}

func labelpartnerNotFound() error {
	return domain.Errorf(domain.ENotFound, "labelpartner-not-found", "There is no such labelpartner.")
}

// UpdateLabelpartner changes a labelpartner of the organization; a
// labelpartner of another organization is not found. Recorded as
// labelpartner.updated with the app links before and after.
func (s *Service) UpdateLabelpartner(ctx context.Context, adm flows.Admin, org domain.Organization, id string, in LabelpartnerPatch) (domain.Labelpartner, error) {
	if !flows.ValidID(id) {
		return domain.Labelpartner{}, labelpartnerNotFound()
	}
	if !in.SetAppLinks {
		return domain.Labelpartner{}, domain.Invalid(domain.FieldError{Field: appLinksFieldRoot, Message: "is required"})
	}
	links, errs := validAppLinks(in.AppLinks)
	if len(errs) > 0 {
		return domain.Labelpartner{}, domain.Invalid(errs...)
	}
	now := s.stamp()
	var lp domain.Labelpartner
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := tx.LockLabelpartner(ctx, org.ID, id)
		if store.IsNotFound(err) {
			return labelpartnerNotFound()
		}
		if err != nil {
			return err
		}
		if err := tx.SetLabelpartnerAppLinks(ctx, org.ID, id, links); err != nil {
			return err
		}
		lp = prev
		lp.AppLinks = links
		return flows.Audit(ctx, tx, org.ID, adm, "labelpartner.updated", id,
			map[string]any{"before": map[string]any{"app_links": appLinksAudit(prev.AppLinks)},
				"after": map[string]any{"app_links": appLinksAudit(links)}}, now)
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return domain.Labelpartner{}, err
		}
		return domain.Labelpartner{}, fmt.Errorf("update labelpartner: %w", err)
	}
	return lp, nil
}

// appLinksAudit is how the audit log shows app links (none are secret).
func appLinksAudit(l *domain.AppLinks) any {
	if l == nil {
		return nil
	}
	m := map[string]any{}
	if l.VerifyURL != "" {
		m["verify_url"] = l.VerifyURL
	}
	if l.ResetURL != "" {
		m["reset_url"] = l.ResetURL
	}
	if l.IOS != nil {
		m["ios"] = map[string]any{"app_ids": l.IOS.AppIDs}
	}
	if l.Android != nil {
		m["android"] = map[string]any{"package_name": l.Android.PackageName, "sha256_cert_fingerprints": l.Android.SHA256CertFingerprints}
	}
	return m
}

// LinkedApps are the apps of every labelpartner of every organization, for
// the documents that let them open links on onboard's host.
type LinkedApps struct {
	// IOSAppIDs are the iOS application identifiers, sorted, without repeats.
	IOSAppIDs []string
	// Android are the Android apps by package name, each with the union of
	// its fingerprints (sorted).
	Android []domain.AndroidApp
}

// LinkedApps collects the apps of the labelpartners that name some.
func (s *Service) LinkedApps(ctx context.Context) (LinkedApps, error) {
	all, err := s.store.AllAppLinks(ctx)
	if err != nil {
		return LinkedApps{}, err
	}
	out := LinkedApps{IOSAppIDs: []string{}, Android: []domain.AndroidApp{}}
	fps := map[string][]string{}
	for _, l := range all {
		if l.IOS != nil {
			out.IOSAppIDs = append(out.IOSAppIDs, l.IOS.AppIDs...)
		}
		if l.Android != nil {
			fps[l.Android.PackageName] = append(fps[l.Android.PackageName], l.Android.SHA256CertFingerprints...)
		}
	}
	slices.Sort(out.IOSAppIDs)
	out.IOSAppIDs = slices.Compact(out.IOSAppIDs)
	for pkg, list := range fps {
		slices.Sort(list)
		out.Android = append(out.Android, domain.AndroidApp{PackageName: pkg, SHA256CertFingerprints: slices.Compact(list)})
	}
	slices.SortFunc(out.Android, func(a, b domain.AndroidApp) int { return strings.Compare(a.PackageName, b.PackageName) })
	return out, nil
}
