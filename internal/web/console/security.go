package console

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// securityData is what the security page shows: whether TOTP is on, the
// enrolment in progress, or the recovery codes just made (shown once).
type securityData struct {
	Enabled   bool
	Required  bool
	Enrolment *backoffice.Enrolment
	Confirm   form
	Begin     form
	Recovery  []string
	Remaining int
}

func (c *Console) securityView(r *http.Request, rq *req) (securityData, error) {
	d := securityData{Enabled: rq.P.User.TOTPEnabledAt != nil, Required: rq.P.MustEnrol, Remaining: len(rq.P.User.RecoveryCodes)}
	d.Begin = form{Action: "/admin/security/totp", Submit: rq.T("console.security.begin")}
	d.Confirm = form{Action: "/admin/security/totp/confirm", Submit: rq.T("console.security.confirm"),
		Fields: []*field{{Name: "code", ID: "f-code", Label: rq.T("console.code.label"), Kind: "text", Required: true,
			Autocomplete: "one-time-code", Hint: rq.T("console.security.code_hint")}}}
	if !d.Enabled {
		e, err := c.bo.PendingEnrolment(r.Context(), *rq.P)
		switch de := domain.AsError(err); {
		case err == nil:
			d.Enrolment = &e
		case de != nil && de.Code == domain.ENotFound:
		default:
			return d, err
		}
	}
	return d, nil
}

func (c *Console) getSecurity(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	d, err := c.securityView(r, rq)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Title: rq.T("console.security.title"), Data: d}
	if d.Required {
		v.Lead = rq.T("console.security.required")
	}
	c.render(w, r, http.StatusOK, "security", v)
}

func (c *Console) postBeginTOTP(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	if _, err := c.bo.BeginEnrolment(r.Context(), *rq.P); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
}

// getQR serves the QR code of the enrolment in progress as a PNG.
func (c *Console) getQR(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	e, err := c.bo.PendingEnrolment(r.Context(), *rq.P)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	png, err := backoffice.QRCode(e, 240)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png) //nolint:errcheck // the client went away
}

func (c *Console) postConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	p, codes, err := c.bo.ConfirmEnrolment(r.Context(), *rq.P, r.PostForm.Get("code"))
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code != domain.EInvalid {
			c.fail(w, r, err)
			return
		}
		d, verr := c.securityView(r, rq)
		if verr != nil {
			c.fail(w, r, verr)
			return
		}
		errs := c.applyErrors(rq, d.Confirm.Fields, de)
		c.render(w, r, httpx.Status(de.Code), "security", view{Title: rq.T("console.security.title"), Errors: errs, Data: d})
		return
	}
	rq.P = &p
	// The recovery codes are shown in this answer only; they are not kept.
	c.render(w, r, http.StatusOK, "security", view{Title: rq.T("console.security.title"), Lead: rq.T("console.security.enabled_now"),
		Success: true, Data: securityData{Enabled: true, Recovery: codes, Remaining: len(codes)}})
}
