package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// ---- authentication ----

// b2bClient requires a B2B client's access token.
func (s *Server) b2bClient(fn func(w http.ResponseWriter, r *http.Request, c b2b.B2BClient) error) http.Handler {
	return withBearer(s, "B2B access token", s.b2b.AuthenticateB2B, fn)
}

// labelpartnerKey requires a labelpartner API key.
func (s *Server) labelpartnerKey(fn func(w http.ResponseWriter, r *http.Request, lp domain.Labelpartner) error) http.Handler {
	return withBearer(s, "labelpartner API key", s.b2b.AuthenticateLabelpartner, fn)
}

// ---- admin: labelpartners and clients ----

// labelpartnerView shows a labelpartner in the admin API.
func labelpartnerView(lp domain.Labelpartner) B2BLabelpartner {
	v := B2BLabelpartner{ID: lp.ID, Name: lp.Name, PasswordPolicy: lp.PasswordPolicy, RequireVoucher: lp.RequireVoucher, CreatedAt: lp.CreatedAt, AppLinks: appLinksView(lp.AppLinks)}
	if lp.IntrospectionURL != "" {
		v.Introspection = &B2BLabelpartnerIntrospection{URL: lp.IntrospectionURL, ClientID: lp.IntrospectionClientID}
	}
	return v
}

func (s *Server) createLabelpartner(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req B2BCreateLabelpartnerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := b2b.LabelpartnerInput{Name: req.Name, PasswordPolicy: req.PasswordPolicy, RequireVoucher: req.RequireVoucher, AppLinks: appLinksDomain(req.AppLinks)}
	if req.Introspection != nil {
		in.IntrospectionURL, in.IntrospectionClientID, in.IntrospectionClientSecret = req.Introspection.URL, req.Introspection.ClientID, req.Introspection.ClientSecret
	}
	lp, key, err := s.b2b.CreateLabelpartner(r.Context(), adm, org, in)
	if err != nil {
		return err
	}
	v := labelpartnerView(lp)
	v.APIKey = key
	encode(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listLabelpartners(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	lps, err := s.b2b.Labelpartners(r.Context(), org)
	if err != nil {
		return err
	}
	out := B2BLabelpartnerList{Labelpartners: make([]B2BLabelpartner, 0, len(lps))}
	for _, lp := range lps {
		out.Labelpartners = append(out.Labelpartners, labelpartnerView(lp))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req B2BCreateClientRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, secret, err := s.b2b.CreateClient(r.Context(), adm, org, b2b.ClientInput{Name: req.Name, Kind: req.Kind, Labelpartners: req.Labelpartners})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, B2BClientCredentials{ClientID: c.ClientID, ClientSecret: secret})
	return nil
}

// ---- OAuth 2.0 token endpoints ----

// writeOAuth answers an OAuth error of the token flows as RFC 6749 section
// 5.2 JSON, with the status of its domain code; other errors (rate limits,
// our faults) stay problem+json.
func (s *Server) writeOAuth(w http.ResponseWriter, r *http.Request, err error) error {
	oe, ok := b2b.AsOAuthError(err)
	if !ok {
		return err
	}
	status := httpx.Status(oe.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="onboard"`)
	}
	w.Header().Set("Pragma", "no-cache")
	encode(w, status, B2BOAuthError{Error: oe.Slug, ErrorDescription: oe.Detail})
	return nil
}

// tokenForm reads a form-encoded token request and the client credentials,
// from HTTP Basic or the form (not both).
func tokenForm(w http.ResponseWriter, r *http.Request) (form url.Values, clientID, secret string, err error) {
	mt, _, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "", "", b2b.OAuthErr(b2b.OAuthInvalidRequest,
			"The request must be form-encoded (Content-Type: application/x-www-form-urlencoded).")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		return nil, "", "", b2b.OAuthErr(b2b.OAuthInvalidRequest, "The form could not be read.")
	}
	form = r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, "", "", b2b.OAuthErr(b2b.OAuthInvalidRequest, "Parameter "+k+" is repeated.")
		}
	}
	clientID, secret = form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if clientID != "" || secret != "" {
			return nil, "", "", b2b.OAuthErr(b2b.OAuthInvalidRequest, "Use one client authentication method.")
		}
		// RFC 6749 2.3.1: both are form-encoded before Basic encoding.
		uu, err1 := url.QueryUnescape(u)
		pp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return nil, "", "", b2b.OAuthErr(b2b.OAuthInvalidClient, "Client authentication failed.")
		}
		clientID, secret = uu, pp
	}
	return form, clientID, secret, nil
}

func tokenAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Pragma", "no-cache")
	encode(w, http.StatusOK, v)
}

func (s *Server) b2bToken(w http.ResponseWriter, r *http.Request) error {
	form, id, secret, err := tokenForm(w, r)
	if err != nil {
		return s.writeOAuth(w, r, err)
	}
	pair, err := s.b2b.ClientToken(r.Context(), b2b.ClientCredentials{GrantType: form.Get("grant_type"), ClientID: id, ClientSecret: secret, ClientIP: s.clientIP(r)})
	if err != nil {
		return s.writeOAuth(w, r, err)
	}
	tokenAnswer(w, B2BAccessToken{AccessToken: pair.AccessToken, ExpiresIn: pair.ExpiresIn, TokenType: pair.TokenType})
	return nil
}

func (s *Server) appToken(w http.ResponseWriter, r *http.Request) error {
	form, id, secret, err := tokenForm(w, r)
	if err != nil {
		return s.writeOAuth(w, r, err)
	}
	pair, err := s.b2b.Token(r.Context(), b2b.TokenRequest{GrantType: form.Get("grant_type"), Username: form.Get("username"),
		Password: form.Get("password"), RefreshToken: form.Get("refresh_token"), ClientID: id, ClientSecret: secret, ClientIP: s.clientIP(r)})
	if err != nil {
		return s.writeOAuth(w, r, err)
	}
	tokenAnswer(w, B2BTokenPair(pair))
	return nil
}

// ---- B2B end users ----

// endUserView shows an end user in the B2B API.
func endUserView(u domain.EndUser) B2BEndUser {
	v := B2BEndUser{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Labelpartner: u.Labelpartner,
		State: u.State, CreateVerifiedUser: u.CreateVerified, EmailVerified: u.Verified(), EmailVerifiedAt: u.EmailVerifiedAt,
		ExternalAuthenticationProviderID: u.ExternalID, FirstMeasurementAt: u.FirstMeasurementAt, CreatedAt: u.CreatedAt,
		History: []B2BEndUserHistoryItem{{domain.EndUserProvisioned, u.CreatedAt}}}
	if u.VoucherCode != "" {
		v.Order = &B2BEndUserOrder{VoucherCode: u.VoucherCode}
	}
	v.Customer, v.Installation = u.Customer, u.Installation
	if u.RegisteredAt != nil {
		v.History = append(v.History, B2BEndUserHistoryItem{domain.EndUserRegistered, *u.RegisteredAt})
	}
	if u.ActivatedAt != nil {
		v.History = append(v.History, B2BEndUserHistoryItem{domain.EndUserActive, *u.ActivatedAt})
	}
	return v
}

func (s *Server) createEndUser(w http.ResponseWriter, r *http.Request, c b2b.B2BClient) error {
	var req B2BCreateEndUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := b2b.EndUserInput{Email: req.Email, FirstName: req.FirstName, LastName: req.LastName, Labelpartner: req.Labelpartner,
		CreateVerifiedUser: req.CreateVerifiedUser, ExternalID: req.ExternalAuthenticationProviderID,
		Customer: req.Customer, Installation: req.Installation}
	if req.Order != nil {
		in.Order = &b2b.EndUserOrder{VoucherCode: req.Order.VoucherCode}
	}
	u, err := s.b2b.CreateEndUser(r.Context(), c, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/b2b/end-users/"+u.ID)
	encode(w, http.StatusCreated, endUserView(u))
	return nil
}

func (s *Server) getEndUser(w http.ResponseWriter, r *http.Request, c b2b.B2BClient) error {
	u, err := s.b2b.EndUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, endUserView(u))
	return nil
}

func (s *Server) endUserActivity(w http.ResponseWriter, r *http.Request, c b2b.B2BClient) error {
	var req B2BActivityRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var at time.Time
	if req.MeasurementReceivedAt != nil {
		at = *req.MeasurementReceivedAt
	}
	u, err := s.b2b.RecordActivity(r.Context(), c, r.PathValue("id"), at)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, endUserView(u))
	return nil
}

// importFormat maps the request's content type to an import format.
func importFormat(r *http.Request) (string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
	case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl":
		return b2b.ImportNDJSON, nil
	case mt == "text/csv":
		return b2b.ImportCSV, nil
	}
	return "", &domain.Error{Code: codeUnsupportedMedia, Slug: "unsupported-media-type",
		Detail: "The import must be NDJSON (Content-Type: application/x-ndjson) or CSV with a header row (text/csv)."}
}

// wantsJSON tells whether the client asked for one JSON answer rather than
// a stream.
func wantsJSON(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	return strings.Contains(acc, "application/json") && !strings.Contains(acc, "ndjson")
}

const maxReportedRejections = 100

func (s *Server) importEndUsers(w http.ResponseWriter, r *http.Request, c b2b.B2BClient) error {
	format, err := importFormat(r)
	if err != nil {
		return err
	}
	scope := b2b.ClientScope(c, r.URL.Query().Get("labelpartner"))
	rc := http.NewResponseController(w)
	extend := func() {
		_ = rc.SetReadDeadline(time.Now().Add(60 * time.Second))
		_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
	}
	extend()
	if wantsJSON(r) {
		rejected := []B2BImportLine{}
		n := 0
		sum, err := s.b2b.ImportEndUsers(r.Context(), scope, r.Body, format, func(res b2b.ImportResult) error {
			if res.Status == "rejected" && len(rejected) < maxReportedRejections {
				rejected = append(rejected, B2BImportLine(res))
			}
			if n++; n%1000 == 0 {
				extend()
			}
			return nil
		})
		s.observeImport(sum)
		if err != nil {
			return s.importFailed(r, err)
		}
		encode(w, http.StatusOK, B2BImportReport{Summary: B2BImportSummary(sum), Rejected: rejected})
		return nil
	}
	_ = rc.EnableFullDuplex() // answer while the body is still being read
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	n := 0
	sum, err := s.b2b.ImportEndUsers(r.Context(), scope, r.Body, format, func(res b2b.ImportResult) error {
		if err := enc.Encode(B2BImportLine(res)); err != nil {
			return fmt.Errorf("write import answer: %w", err)
		}
		if n++; n%1000 == 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write import answer: %w", err)
			}
			_ = rc.Flush()
			extend()
		}
		return nil
	})
	s.observeImport(sum)
	if err != nil {
		s.log.ErrorContext(r.Context(), "import stopped", "route", r.Pattern, "err", err)
		_ = enc.Encode(map[string]string{"error": "The import stopped: something went wrong on our side. Lines not answered were not imported; run the import again."})
	} else {
		_ = enc.Encode(B2BImportSummaryLine{Summary: B2BImportSummary(sum)})
	}
	_ = bw.Flush()
	return nil
}

func (s *Server) importFailed(r *http.Request, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &domain.Error{Code: codeTooLarge, Slug: "body-too-large", Detail: "The request body is too large."}
	}
	return err
}

// ---- app endpoints (/v2) ----

var statusOK = B2BStatusOK{Status: "ok", Message: "ok"}

// flexBool takes true, false, "true" or "false".
type flexBool struct {
	set, value, valid bool
}

func (b *flexBool) UnmarshalJSON(data []byte) error {
	b.set = true
	switch strings.ToLower(string(data)) {
	case "true", `"true"`:
		b.value, b.valid = true, true
	case "false", `"false"`:
		b.valid = true
	}
	return nil
}

func (s *Server) provision(w http.ResponseWriter, r *http.Request) error {
	var req B2BProvisionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Imported.set && !req.Imported.valid {
		return domain.Invalid(domain.FieldError{Field: "imported", Message: `must be true or "true"`})
	}
	err := s.b2b.Provision(r.Context(), b2b.ProvisionInput{FirstName: req.FirstName, LastName: req.LastName, Email: req.EmailAddress,
		Labelpartner: req.Labelpartner, Imported: req.Imported.value, ClientIP: s.clientIP(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, statusOK)
	return nil
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var req B2BVerifyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.b2b.VerifyEmail(r.Context(), req.Token); err != nil {
		return err
	}
	encode(w, http.StatusOK, statusOK)
	return nil
}

func (s *Server) noGateway(w http.ResponseWriter, r *http.Request) error {
	var req B2BNoGatewayRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err := s.b2b.RegisterNoGateway(r.Context(), b2b.NoGatewayInput{Email: req.EmailAddress, Pincode: req.Pincode,
		VoucherCode: req.VoucherCode, ClientIP: s.clientIP(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, statusOK)
	return nil
}

func (s *Server) resetEndUserPassword(w http.ResponseWriter, r *http.Request) error {
	var req B2BResetPasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.b2b.ResetEndUserPassword(r.Context(), req.EmailAddress, s.clientIP(r)); err != nil {
		return err
	}
	encode(w, http.StatusOK, statusOK)
	return nil
}

func (s *Server) confirmEndUserReset(w http.ResponseWriter, r *http.Request) error {
	var req B2BResetConfirmRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.b2b.ConfirmEndUserReset(r.Context(), req.Token, req.Pincode); err != nil {
		return err
	}
	encode(w, http.StatusOK, statusOK)
	return nil
}

func (s *Server) ssoUser(w http.ResponseWriter, r *http.Request) error {
	var req B2BSSOUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	pair, err := s.b2b.RegisterSSO(r.Context(), req.ExternalProviderAccessToken, req.Labelpartner, s.clientIP(r))
	if err != nil {
		return err
	}
	tokenAnswer(w, B2BTokenPair(pair))
	return nil
}

func (s *Server) exchangeToken(w http.ResponseWriter, r *http.Request, lp domain.Labelpartner) error {
	var req B2BExchangeTokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	pair, err := s.b2b.ExchangeToken(r.Context(), lp, req.ExternalProviderAccessToken)
	if err != nil {
		return err
	}
	tokenAnswer(w, B2BTokenPair(pair))
	return nil
}

// JSONSchema describes flexBool in the OpenAPI document.
func (flexBool) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf:       []*jsonschema.Schema{{Type: "boolean"}, {Type: "string", Enum: []any{"true", "false"}}},
		Description: `A boolean, as JSON or as the string "true" or "false".`,
	}
}
