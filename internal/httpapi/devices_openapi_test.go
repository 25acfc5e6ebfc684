package httpapi

import (
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// TestDeviceViewsMatchSchemas checks the device setup's views against the
// schemas of paths-setup.json, with their null cases.
func TestDeviceViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	pending := domain.Device{ID: "d1", Platform: "linux", Name: "Box", State: domain.DevicePending, CreatedAt: now}
	active := pending
	active.State, active.Serial, active.ProvisionedAt, active.Settings = domain.DeviceActive, "SN", &now, map[string]string{"a": "b"}
	code := domain.InstallationCode{ID: "c1", Platform: "linux", ExpiresAt: now, UsageLimit: 3, UsageDelay: time.Minute, CreatedBy: "admin:environment", CreatedAt: now}
	used := code
	used.AccountID, used.TimesUsed, used.LastUsedAt, used.RevokedAt = "a1", 2, &now, &now
	created := codeView(code)
	created.Code, created.ProvisioningURL, created.QRURL = "abc", "https://id.example.com/provision/abc", "https://id.example.com/provision/abc/qr.svg"
	ds := domain.DefaultOnboarding()
	ds.DeviceSetup = domain.DeviceSetup{Enabled: true, AccountTemplate: domain.AccountTemplate{AccountType: domain.AccountCustomerPersonal},
		DeviceTemplates: map[string]domain.DeviceTemplate{"android": {Instructions: map[string]string{"en": "x"}, SMSInstallationCode: true}}}
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"pending device", "Device", deviceView(pending)},
		{"active device", "Device", deviceView(active)},
		{"no devices", "Devices", Devices{Devices: []DeviceView{}}},
		{"code", "InstallationCode", codeView(code)},
		{"used code", "InstallationCode", codeView(used)},
		{"created code", "InstallationCode", created},
		{"setup device", "SetupDevice", SetupDevice{Device: deviceView(pending), InstallationCode: "abc",
			ProvisioningURL: "https://id.example.com/provision/abc", QRURL: "https://id.example.com/provision/abc/qr.svg", Instructions: "x"}},
		{"provisioned", "ProvisionedDevice", ProvisionedDevice{Device: deviceView(active), DeviceSecret: "s"}},
		{"device types", "DeviceTypes", DeviceTypes{DeviceTypes: []DeviceType{{"android", true}}}},
		{"system", "SystemDeviceSetup", domain.SystemDeviceSetup{}},
		{"onboarding with device setup", "Onboarding", ds},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
}
