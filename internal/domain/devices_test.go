package domain

import (
	"strings"
	"testing"
)

func TestValidateDeviceSetup(t *testing.T) {
	uts := []UserType{{Name: "owner", Permissions: []string{PermAccountAdmin}}, {Name: "viewer"}}
	tmpl := func(text string) map[string]DeviceTemplate {
		return map[string]DeviceTemplate{"linux": {Instructions: map[string]string{"en": text}}}
	}
	for _, tc := range []struct {
		name  string
		ds    DeviceSetup
		field string // "" = valid
	}{
		{"empty", DeviceSetup{}, ""},
		{"full", DeviceSetup{Enabled: true, EmailRequirement: `.*@example\.com`, AccountTemplate: AccountTemplate{AccountType: AccountCustomerBusiness, UserType: "owner"},
			DeviceTemplates: map[string]DeviceTemplate{"android": {Instructions: map[string]string{"en": "{{.ProvisioningURL}}", "it": "{{.DeviceName}}"}, SMSInstallationCode: true},
				"thermo-2": {Instructions: map[string]string{"en": "{{.InstallationCode}}"}}}}, ""},
		{"bad pattern", DeviceSetup{EmailRequirement: "a("}, "device_setup.email_requirement"},
		{"viewer as owner", DeviceSetup{AccountTemplate: AccountTemplate{UserType: "viewer"}}, "device_setup.account_template.user_type"},
		{"partner account", DeviceSetup{AccountTemplate: AccountTemplate{AccountType: AccountChannelPartner}}, "device_setup.account_template.account_type"},
		{"unparsable", DeviceSetup{DeviceTemplates: tmpl("{{if}}")}, "device_setup.device_templates.linux.instructions.en"},
		{"unknown field", DeviceSetup{DeviceTemplates: tmpl("{{.Secret}}")}, "device_setup.device_templates.linux.instructions.en"},
		{"no instructions", DeviceSetup{DeviceTemplates: map[string]DeviceTemplate{"linux": {}}}, "device_setup.device_templates.linux.instructions"},
		{"bad language", DeviceSetup{DeviceTemplates: map[string]DeviceTemplate{"linux": {Instructions: map[string]string{"English!": "x"}}}}, "device_setup.device_templates.linux.instructions.English!"},
		{"android without sms", DeviceSetup{DeviceTemplates: map[string]DeviceTemplate{"android": {Instructions: map[string]string{"en": "x"}}}}, "device_setup.device_templates.android.sms_installation_code"},
		{"bad platform", DeviceSetup{DeviceTemplates: map[string]DeviceTemplate{"Win 11": {Instructions: map[string]string{"en": "x"}}}}, "device_setup.device_templates.Win 11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateDeviceSetup(tc.ds, uts)
			switch {
			case tc.field == "" && len(errs) > 0:
				t.Fatalf("errors %v, want none", errs)
			case tc.field != "" && (len(errs) != 1 || errs[0].Field != tc.field):
				t.Fatalf("errors %v, want one on %s", errs, tc.field)
			}
		})
	}
}

func TestRenderInstructions(t *testing.T) {
	got, err := RenderInstructions("Open {{.ProvisioningURL}} on {{.DeviceName}} ({{.InstallationCode}})",
		InstructionData{ProvisioningURL: "https://id.example.com/provision/c", InstallationCode: "c", DeviceName: "Box <1>"})
	if err != nil || got != "Open https://id.example.com/provision/c on Box <1> (c)" {
		t.Fatalf("got %q, %v", got, err)
	}
	if s := (DeviceTemplate{Instructions: map[string]string{"en": "E", "it": "I"}}).InstructionsIn("de"); s != "E" {
		t.Fatalf("fallback = %q, want English", s)
	}
}

// FuzzCheckInstructions: any text either is refused or renders.
func FuzzCheckInstructions(f *testing.F) {
	for _, s := range []string{"{{.ProvisioningURL}}", "{{if .DeviceName}}x{{end}}", "{{", "{{.X}}", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if err := CheckInstructions(text); err != nil {
			if !strings.HasPrefix(err.Error(), "is not a valid template") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if _, err := RenderInstructions(text, InstructionData{ProvisioningURL: "u", InstallationCode: "c", DeviceName: "d"}); err != nil {
			t.Fatalf("checked template fails to render: %v", err)
		}
	})
}
