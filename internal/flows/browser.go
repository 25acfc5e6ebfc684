package flows

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Languages are the languages of pages and mail, the first the default.
var Languages = []string{"en", "it"}

// openSession creates a session of kind for user and records it in the
// audit log. Browser sessions last at most BrowserSessionTTL and end after
// BrowserIdleTTL without use; API sessions last SessionTTL.
func (s *Service) openSession(ctx context.Context, user domain.User, kind, clientIP, userAgent string) (string, domain.Session, error) {
	token, hash, err := auth.NewToken()
	if err != nil {
		return "", domain.Session{}, err
	}
	now := s.now()
	sess := domain.Session{
		ID: store.NewID(), OrgID: user.OrgID, UserID: user.ID, TokenHash: hash, CreatedAt: store.Timestamp(now),
		ExpiresAt: store.Timestamp(now.Add(s.cfg.SessionTTL)), ClientIP: clientIP, UserAgent: truncate(userAgent, 256), Kind: kind,
	}
	if kind == domain.SessionBrowser {
		sess.ExpiresAt = store.Timestamp(now.Add(s.cfg.BrowserSessionTTL))
		idle := store.Timestamp(now.Add(s.cfg.BrowserIdleTTL))
		sess.IdleExpiresAt = &idle
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if err := tx.FunnelSignedIn(ctx, user.ID, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: user.OrgID, Actor: "user:" + user.ID, Action: "session.created",
			SubjectID: user.ID, Data: map[string]any{"session_id": sess.ID, "client_ip": clientIP, "kind": kind}, CreatedAt: now})
	})
	if err != nil {
		return "", domain.Session{}, err
	}
	return token, sess, nil
}

// AuthenticateBrowser returns the principal of a browser session token (the
// value of the session cookie). API tokens are refused here, as browser
// tokens are refused by Authenticate. Each use pushes the idle expiry
// forward (at most once a minute, to spare the database).
func (s *Service) AuthenticateBrowser(ctx context.Context, token string) (Principal, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "Sign in to continue.")
	if !auth.WellFormedToken(token) {
		return Principal{}, unauth
	}
	now := s.now()
	sess, err := s.store.SessionByTokenHash(ctx, auth.HashToken(token), now)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if sess.Kind != domain.SessionBrowser || sess.IdleExpiresAt == nil {
		return Principal{}, unauth
	}
	p, err := s.principal(ctx, sess)
	if err != nil {
		return p, err
	}
	next := store.Timestamp(now.Add(s.cfg.BrowserIdleTTL))
	if next.Sub(*sess.IdleExpiresAt) >= time.Minute {
		if err := s.store.TouchSession(ctx, sess.OrgID, sess.ID, next); err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
		p.Session.IdleExpiresAt = &next
	}
	return p, nil
}

// SignInAfterLink opens a browser session for a user who has just proved
// who they are another way: by completing the registration or accepting the
// invitation of a mailed link, with the password they chose there. The
// caller passes the user those flows returned; users who may not sign in
// (waiting for approval, rejected) get an error and no session.
func (s *Service) SignInAfterLink(ctx context.Context, user domain.User, clientIP, userAgent string) (string, Principal, error) {
	user, err := s.store.UserByID(ctx, user.OrgID, user.ID)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	acct, err := s.store.AccountByID(ctx, user.OrgID, user.AccountID)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	if err := canSignIn(acct, user); err != nil {
		return "", Principal{}, err
	}
	token, sess, err := s.openSession(ctx, user, domain.SessionBrowser, clientIP, userAgent)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	p, err := s.principal(ctx, sess)
	return token, p, err
}

// SetLanguage stores the language the principal chose for pages and mail.
func (s *Service) SetLanguage(ctx context.Context, p Principal, lang string) error {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if !slices.Contains(Languages, lang) {
		return domain.Invalid(domain.FieldError{Field: "language", Message: "must be one of " + strings.Join(Languages, ", ")})
	}
	if err := s.store.SetUserLanguage(ctx, p.User.OrgID, p.User.ID, lang, s.now()); err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// Organization returns the organization with that name ("" is the default
// one), for pages that show its name and branding. An unknown name is
// domain.ENotFound.
func (s *Service) Organization(ctx context.Context, name string) (domain.Organization, error) {
	if name == "" {
		name = DefaultOrganization
	}
	org, err := s.orgByName(ctx, name)
	if store.IsNotFound(err) {
		return org, domain.Errorf(domain.ENotFound, "organization-not-found", "There is no such organization.")
	}
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	return org, nil
}

// PagePath is the path of a page of the organization named orgName: the
// plain path for the default organization, "/o/{name}" before it for the
// others. Pages and the links in mail both use it.
func PagePath(orgName, path string) string {
	if orgName == "" || orgName == DefaultOrganization {
		return path
	}
	return "/o/" + orgName + path
}

// pageURL is the absolute address of a page of org, for links in mail.
func (s *Service) pageURL(org domain.Organization, path string) string {
	return s.cfg.PublicURL + PagePath(org.Name, path)
}

// pageLink is the absolute address of a page of org that takes a link
// token.
func (s *Service) pageLink(org domain.Organization, path, token string) string {
	return s.pageURL(org, path) + "?token=" + url.QueryEscape(token)
}

// Logo returns the organization's uploaded logo; domain.ENotFound when it
// has none.
func (s *Service) Logo(ctx context.Context, org domain.Organization) (domain.Logo, error) {
	l, err := s.store.OrganizationLogo(ctx, org.ID)
	if store.IsNotFound(err) {
		return l, domain.Errorf(domain.ENotFound, "logo-not-found", "The organization has no uploaded logo.")
	}
	return l, err
}

// displayName is the name of an organization people see in mail: its
// branding's display name, else its display name.
func displayName(org domain.Organization) string {
	return cmp.Or(org.Onboarding.Branding.DisplayName, org.DisplayName)
}

// knownLanguage is lang when it is one of Languages, else "" (the default).
func knownLanguage(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if slices.Contains(Languages, lang) {
		return lang
	}
	return ""
}

// MaxLogoSize is the largest logo image PutLogo accepts.
const MaxLogoSize = 256 << 10

// LogoTypes are the image types a logo may have. SVG is refused: it can
// carry script, and a logo needs none of what it offers.
var LogoTypes = []string{"image/png", "image/jpeg"}

// PutLogo stores an uploaded logo for the organization's pages and marks it
// in the branding (replacing the logo URL on the pages). The image type is
// read from the data itself, not taken from the caller: only PNG and JPEG
// are accepted, at most MaxLogoSize bytes.
func (s *Service) PutLogo(ctx context.Context, adm Admin, org domain.Organization, data []byte) error {
	if len(data) > MaxLogoSize {
		return domain.Invalid(domain.FieldError{Field: "logo", Message: fmt.Sprintf("must be at most %d KiB", MaxLogoSize>>10)})
	}
	ctype := http.DetectContentType(data)
	if len(data) == 0 || !slices.Contains(LogoTypes, ctype) {
		return domain.Invalid(domain.FieldError{Field: "logo", Message: "must be a PNG or JPEG image"})
	}
	return s.setLogo(ctx, adm, org, &domain.Logo{ContentType: ctype, Data: data, UpdatedAt: s.now()})
}

// DeleteLogo removes the organization's uploaded logo; domain.ENotFound when
// it has none.
func (s *Service) DeleteLogo(ctx context.Context, adm Admin, org domain.Organization) error {
	return s.setLogo(ctx, adm, org, nil)
}

func (s *Service) setLogo(ctx context.Context, adm Admin, org domain.Organization, logo *domain.Logo) error {
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockOrganization(ctx, org.ID)
		if err != nil {
			return err
		}
		next := cur.Onboarding.WithDefaults()
		action := "logo.uploaded"
		data := map[string]any{}
		if logo != nil {
			if err := tx.PutOrganizationLogo(ctx, org.ID, *logo); err != nil {
				return err
			}
			data["content_type"], data["size"] = logo.ContentType, len(logo.Data)
		} else {
			found, err := tx.DeleteOrganizationLogo(ctx, org.ID)
			if err != nil {
				return err
			}
			if !found {
				return domain.Errorf(domain.ENotFound, "logo-not-found", "The organization has no uploaded logo.")
			}
			action = "logo.deleted"
		}
		next.Branding.LogoUploaded = logo != nil
		if err := tx.UpdateOnboarding(ctx, org.ID, next); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: action, SubjectID: org.ID, Data: data, CreatedAt: now})
	})
	s.orgs.forget()
	if err != nil {
		return fmt.Errorf("logo: %w", err)
	}
	return nil
}
