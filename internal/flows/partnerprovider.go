package flows

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
)

// SignatureHeader carries the HMAC-SHA256 of a plugin request body, keyed
// with the plugin's secret: "sha256=<hex>".
const SignatureHeader = "X-Onboard-Signature"

// errUnknownPartner: the Partner Provider does not know the code.
var errUnknownPartner = errors.New("partner provider: unknown code")

// providedPartner is a partner as the Partner Provider describes it.
type providedPartner struct {
	Name       string
	Properties map[string]string
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// fetchPartner asks the organization's Partner Provider about a code: a
// signed POST of {"code","organization","timestamp"}; 200 with a JSON object
// describes the partner, 404 means the code is unknown, anything else
// (including a timeout) is a failure of the provider.
func (s *Service) fetchPartner(ctx context.Context, org domain.Organization, code string) (providedPartner, error) {
	pp := org.Onboarding.PartnerProvider
	timeout := time.Duration(pp.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(map[string]string{"code": code, "organization": org.Name, "timestamp": s.now().UTC().Format(time.RFC3339)})
	if err != nil {
		return providedPartner{}, fmt.Errorf("partner provider: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pp.URL, bytes.NewReader(body))
	if err != nil {
		return providedPartner{}, fmt.Errorf("partner provider: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(SignatureHeader, Sign(pp.Secret, body))
	res, err := s.http.Do(req)
	if err != nil {
		return providedPartner{}, fmt.Errorf("partner provider: %w", err)
	}
	raw := res.Body
	switch {
	case res.StatusCode == http.StatusNotFound:
		return providedPartner{}, errUnknownPartner
	case res.StatusCode != http.StatusOK:
		return providedPartner{}, fmt.Errorf("partner provider: status %d", res.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return providedPartner{}, fmt.Errorf("partner provider: answer is not a JSON object: %w", err)
	}
	name := strings.TrimSpace(lookupPath(doc, pp.NameField))
	if name == "" {
		return providedPartner{}, fmt.Errorf("partner provider: answer has no %q", pp.NameField)
	}
	// The answer is checked like what a person types into the form: a
	// name or value that a person could not register is refused, not
	// shortened or cleaned.
	if msg := checkProvided(name, maxFieldLength); msg != "" {
		return providedPartner{}, fmt.Errorf("partner provider: the name in %q %s", pp.NameField, msg)
	}
	out := providedPartner{Name: name, Properties: map[string]string{}}
	for prop, path := range pp.PropertyMapping {
		v := strings.TrimSpace(lookupPath(doc, path))
		if v == "" {
			continue
		}
		if msg := checkProvided(v, maxProvidedProperty); msg != "" {
			return providedPartner{}, fmt.Errorf("partner provider: property %q (from %q) %s", prop, path, msg)
		}
		out.Properties[prop] = v
	}
	return out, nil
}

// maxProvidedProperty is the longest property value taken from a Partner
// Provider's answer.
const maxProvidedProperty = 1000

// checkProvided checks a value taken from a plugin's answer: at most max
// characters, valid UTF-8, no control or invisible characters. It returns
// what is wrong, or "".
func checkProvided(v string, max int) string {
	switch {
	case !domain.PlainText(v):
		return "holds control or invisible characters"
	case utf8.RuneCountInString(v) > max:
		return fmt.Sprintf("is longer than %d characters", max)
	}
	return ""
}

// lookupPath reads a dot-separated path ("company.name") of a JSON object as
// a string; numbers and booleans are written as JSON writes them.
func lookupPath(doc map[string]any, path string) string {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case string:
		return v
	case float64, bool:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}
