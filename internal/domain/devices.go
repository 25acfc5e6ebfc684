package domain

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// Built-in device platforms; device templates may also name custom ones.
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
	PlatformWindows = "windows"
	PlatformMacOS   = "macos"
	PlatformLinux   = "linux"
)

// Platforms are the built-in device platforms.
var Platforms = []string{PlatformAndroid, PlatformIOS, PlatformWindows, PlatformMacOS, PlatformLinux}

// Device states.
const (
	DevicePending = "pending" // created by its owner, waiting for its installation code
	DeviceActive  = "active"  // provisioned: it holds its credentials
)

// SignupDeviceSetup marks a sign-up started from the self-service device
// setup: its account is made from the device setup's account template.
const SignupDeviceSetup = "device_setup"

// DeviceSetup is an organization's self-service device setup, the member
// "device_setup" of its onboarding configuration.
type DeviceSetup struct {
	Enabled bool `json:"enabled"`
	// EmailRequirement is an RE2 pattern the whole email address of a
	// device owner registering through the setup must match; empty: any.
	EmailRequirement string `json:"email_requirement"`
	// AccountTemplate is what self-registered device owners get.
	AccountTemplate AccountTemplate `json:"account_template"`
	// DeviceTemplates are keyed by platform (android, ios, windows, macos,
	// linux, or a custom name); only platforms with a template are offered.
	DeviceTemplates map[string]DeviceTemplate `json:"device_templates"`
}

// AccountTemplate is the account type, user type and settings given to
// device owners who register themselves.
type AccountTemplate struct {
	AccountType string            `json:"account_type"` // customer_personal (default) or customer_business
	UserType    string            `json:"user_type"`    // "": the onboarding configuration's default for the account type
	Settings    map[string]string `json:"settings,omitempty"`
}

// DeviceTemplate is what the setup offers for one platform.
type DeviceTemplate struct {
	// Instructions per language ("en", "it", …): Go text/templates that
	// may use {{.ProvisioningURL}}, {{.InstallationCode}} and {{.DeviceName}}.
	Instructions map[string]string `json:"instructions"`
	// Settings are given to every device of the platform.
	Settings map[string]string `json:"settings,omitempty"`
	// SMSInstallationCode sends the provisioning address by SMS to a phone
	// number the owner gives (required for android).
	SMSInstallationCode bool `json:"sms_installation_code,omitempty"`
}

// InstructionData is what device instructions may use.
type InstructionData struct {
	ProvisioningURL  string
	InstallationCode string
	DeviceName       string
}

// AccountTypeOrDefault is the account type of the template, customer_personal when unset.
func (t AccountTemplate) AccountTypeOrDefault() string {
	if t.AccountType == "" {
		return AccountCustomerPersonal
	}
	return t.AccountType
}

// Platforms returns the platforms that have a template, sorted.
func (d DeviceSetup) Platforms() []string {
	out := make([]string, 0, len(d.DeviceTemplates))
	for p := range d.DeviceTemplates {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// InstructionsIn picks the instructions of lang, else English, else any.
func (t DeviceTemplate) InstructionsIn(lang string) string {
	if s, ok := t.Instructions[lang]; ok {
		return s
	}
	if s, ok := t.Instructions["en"]; ok {
		return s
	}
	keys := make([]string, 0, len(t.Instructions))
	for k := range t.Instructions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return t.Instructions[keys[0]]
	}
	return ""
}

var (
	platformName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	languageTag  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
)

// ValidPlatform reports whether p is a well-formed platform name.
func ValidPlatform(p string) bool { return platformName.MatchString(p) }

// ValidateDeviceSetup checks a device setup configuration against the user
// types of the organization; field names start with "device_setup.".
func ValidateDeviceSetup(d DeviceSetup, userTypes []UserType) []FieldError {
	var errs []FieldError
	add := func(field, msg string) {
		errs = append(errs, FieldError{Field: "device_setup." + field, Message: msg})
	}
	if d.EmailRequirement != "" {
		if len(d.EmailRequirement) > 1000 {
			add("email_requirement", "must be at most 1000 characters")
		} else if _, err := regexp.Compile(`^(?:` + d.EmailRequirement + `)$`); err != nil {
			add("email_requirement", "is not a valid RE2 regular expression: "+err.Error())
		}
	}
	at := d.AccountTemplate
	if at.AccountType != "" && at.AccountType != AccountCustomerPersonal && at.AccountType != AccountCustomerBusiness {
		add("account_template.account_type", "must be customer_personal or customer_business")
	}
	if at.UserType != "" {
		i := slices.IndexFunc(userTypes, func(u UserType) bool { return u.Name == at.UserType })
		switch {
		case i < 0:
			add("account_template.user_type", fmt.Sprintf("user type %q does not exist", at.UserType))
		case !userTypes[i].Has(PermAccountAdmin):
			add("account_template.user_type", fmt.Sprintf("user type %q must have the %s permission: a device owner administers the account", at.UserType, PermAccountAdmin))
		}
	}
	checkSettings := func(field string, m map[string]string) {
		if len(m) > 50 {
			add(field, "must have at most 50 settings")
		}
		for k, v := range m {
			if k == "" || len(k) > 64 || utf8.RuneCountInString(v) > 1000 {
				add(field, "names must be 1 to 64 characters and values at most 1000")
				return
			}
		}
	}
	checkSettings("account_template.settings", at.Settings)
	if len(d.DeviceTemplates) > 50 {
		add("device_templates", "must have at most 50 platforms")
	}
	for _, p := range d.Platforms() {
		t := d.DeviceTemplates[p]
		f := "device_templates." + p
		if !ValidPlatform(p) {
			add(f, "platform names are 1 to 32 lowercase letters, digits, - or _, starting with a letter")
			continue
		}
		if len(t.Instructions) == 0 {
			add(f+".instructions", "are required: give at least the English instructions")
		}
		langs := make([]string, 0, len(t.Instructions))
		for l := range t.Instructions {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		for _, l := range langs {
			text := t.Instructions[l]
			lf := f + ".instructions." + l
			if !languageTag.MatchString(l) {
				add(lf, "must be keyed by a language such as en or it")
				continue
			}
			if len(text) > 20000 {
				add(lf, "must be at most 20000 characters")
				continue
			}
			if err := CheckInstructions(text); err != nil {
				add(lf, err.Error())
			}
		}
		checkSettings(f+".settings", t.Settings)
		if p == PlatformAndroid && !t.SMSInstallationCode {
			add(f+".sms_installation_code", "must be true: Android devices receive their registration address by SMS")
		}
	}
	return errs
}

// CheckInstructions parses an instruction template and runs it on sample
// data, so that a template naming an unknown field is refused when saved.
func CheckInstructions(text string) error {
	t, err := template.New("instructions").Option("missingkey=error").Parse(text)
	if err != nil {
		return fmt.Errorf("is not a valid template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	var b strings.Builder
	if err := t.Execute(&b, InstructionData{ProvisioningURL: "https://example.com/provision/x", InstallationCode: "x", DeviceName: "x"}); err != nil {
		return fmt.Errorf("is not a valid template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	return nil
}

// RenderInstructions runs an instruction template.
func RenderInstructions(text string, data InstructionData) (string, error) {
	t, err := template.New("instructions").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("instructions: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("instructions: %w", err)
	}
	return b.String(), nil
}

// Device is a device of a customer.
type Device struct {
	ID         string
	OrgID      string
	AccountID  string
	Platform   string
	Name       string
	Serial     string
	Model      string
	OS         string
	State      string
	Settings   map[string]string
	SecretHash []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// ProvisionedAt is set once the device is active.
	ProvisionedAt *time.Time
}

// InstallationCode provisions devices. Only its SHA-256 is stored.
type InstallationCode struct {
	ID        string
	OrgID     string
	Platform  string
	CodeHash  []byte
	AccountID string // "": each use creates an account from the template
	DeviceID  string // set for the single-use code of an owner's pending device
	CreatedBy string
	ExpiresAt time.Time
	// UsageLimit is how many devices the code may provision.
	UsageLimit int
	// UsageDelay is the least time between two uses.
	UsageDelay time.Duration
	TimesUsed  int
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// SystemDeviceSetup is the supervisor's system-wide device setup setting.
type SystemDeviceSetup struct {
	Enabled bool `json:"enabled"`
	// DefaultOrganization is used by /setup; "" asks which organization.
	DefaultOrganization string `json:"default_organization"`
}
