package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// putLogo stores the organization's logo: the body is the image itself,
// image/png or image/jpeg (SVG is refused), at most flows.MaxLogoSize bytes.
func (s *Server) putLogo(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !slices.Contains(flows.LogoTypes, ctype) {
		return &domain.Error{Code: codeUnsupportedMedia, Slug: "unsupported-media-type",
			Detail: "Send the logo as image/png or image/jpeg."}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, flows.MaxLogoSize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &domain.Error{Code: codeTooLarge, Slug: "body-too-large", Detail: "The logo must be at most 256 KiB."}
		}
		return domain.Errorf(domain.EBadRequest, "bad-body", "The request body could not be read.")
	}
	if err := s.flows.PutLogo(r.Context(), adm, org, data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteLogo removes the organization's uploaded logo.
func (s *Server) deleteLogo(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	if err := s.flows.DeleteLogo(r.Context(), adm, org); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
