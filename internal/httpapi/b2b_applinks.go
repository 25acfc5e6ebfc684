package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// ---- labelpartners' app links and the well-known documents ----

// appLinksDomain returns the app links of a request as the flows take
// them; nil for nil.
func appLinksDomain(a *B2BAppLinksRequest) *domain.AppLinks {
	if a == nil {
		return nil
	}
	l := &domain.AppLinks{VerifyURL: a.VerifyURL, ResetURL: a.ResetURL}
	if a.IOS != nil {
		l.IOS = &domain.IOSApps{AppIDs: a.IOS.AppIds}
	}
	if a.Android != nil {
		l.Android = &domain.AndroidApp{PackageName: a.Android.PackageName, SHA256CertFingerprints: a.Android.Sha256CertFingerprints}
	}
	return l
}

// appLinksView shows app links; nil for none.
func appLinksView(l *domain.AppLinks) *B2BAppLinks {
	if l == nil {
		return nil
	}
	v := &B2BAppLinks{VerifyURL: l.VerifyURL, ResetURL: l.ResetURL}
	if l.IOS != nil {
		v.IOS = &B2BAppLinksIOS{AppIds: nonNil(l.IOS.AppIDs)}
	}
	if l.Android != nil {
		v.Android = &B2BAppLinksAndroid{PackageName: l.Android.PackageName, Sha256CertFingerprints: nonNil(l.Android.SHA256CertFingerprints)}
	}
	return v
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func (s *Server) patchLabelpartner(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req B2BPatchLabelpartnerRequest
	// The body is kept to tell an absent app_links from a null one.
	var raw bytes.Buffer
	r.Body = io.NopCloser(io.TeeReader(r.Body, &raw))
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var members map[string]jsontext.Value
	if err := jsonv2.Unmarshal(raw.Bytes(), &members); err != nil {
		return fmt.Errorf("patch labelpartner: %w", err) // decode accepted it: cannot happen
	}
	_, setAppLinks := members["app_links"]
	lp, err := s.b2b.UpdateLabelpartner(r.Context(), adm, org, r.PathValue("id"),
		b2b.LabelpartnerPatch{SetAppLinks: setAppLinks, AppLinks: appLinksDomain(req.AppLinks)})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, labelpartnerView(lp))
	return nil
}

// The paths of onboard's own pages that the labelpartners' apps may open:
// the links of the verification and the password-reset mails.
const (
	verifyLinkPath = "/v2/registration/verify"
	resetLinkPath  = "/v2/registration/resetpassword"
)

// wellKnownCache is how long clients and CDNs may keep the well-known
// documents: a removed app stops being listed within this time.
const wellKnownCache = "public, max-age=300"

// appleAppSiteAssociation is Apple's apple-app-site-association document
// (universal links, the `components` form of iOS 13 and later).
type appleAppSiteAssociation struct {
	AppLinks aasaAppLinks `json:"applinks"`
}

type aasaAppLinks struct {
	Details []aasaDetail `json:"details"`
}

type aasaDetail struct {
	AppIDs     []string        `json:"appIDs" jsonschema:"minItems=1,pattern=^[A-Z0-9]{10}\\.[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$"`
	Components []aasaComponent `json:"components"`
}

type aasaComponent struct {
	// A path of this host.
	Path string `json:"/"`
}

// assetLink is one statement of Google's Digital Asset Links document.
type assetLink struct {
	Relation []string        `json:"relation" jsonschema:"enum=delegate_permission/common.handle_all_urls"`
	Target   assetLinkTarget `json:"target"`
}

type assetLinkTarget struct {
	Namespace              string   `json:"namespace" jsonschema:"enum=android_app"`
	PackageName            string   `json:"package_name" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$"`
	SHA256CertFingerprints []string `json:"sha256_cert_fingerprints" jsonschema:"minItems=1,pattern=^[0-9A-F]{2}(:[0-9A-F]{2}){31}$"`
}

// writeWellKnown answers a well-known document: JSON, cacheable, never a
// redirect.
func writeWellKnown(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", wellKnownCache)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// appleAppSiteAssociationDoc lists every labelpartner's iOS apps for the
// paths of the mailed links.
func (s *Server) appleAppSiteAssociationDoc(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.b2b.LinkedApps(r.Context())
	if err != nil {
		return err
	}
	doc := appleAppSiteAssociation{AppLinks: aasaAppLinks{Details: []aasaDetail{}}}
	if len(apps.IOSAppIDs) > 0 {
		doc.AppLinks.Details = append(doc.AppLinks.Details, aasaDetail{AppIDs: apps.IOSAppIDs,
			Components: []aasaComponent{{Path: verifyLinkPath}, {Path: resetLinkPath}}})
	}
	writeWellKnown(w, doc)
	return nil
}

// assetLinksDoc lists every labelpartner's Android app as allowed to handle
// all URLs of this host.
func (s *Server) assetLinksDoc(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.b2b.LinkedApps(r.Context())
	if err != nil {
		return err
	}
	doc := make([]assetLink, 0, len(apps.Android))
	for _, a := range apps.Android {
		doc = append(doc, assetLink{Relation: []string{"delegate_permission/common.handle_all_urls"},
			Target: assetLinkTarget{Namespace: "android_app", PackageName: a.PackageName, SHA256CertFingerprints: a.SHA256CertFingerprints}})
	}
	writeWellKnown(w, doc)
	return nil
}
