package devices

import "testing"

func TestPhoneNumbers(t *testing.T) {
	for _, tc := range []struct {
		in    string
		norm  string
		valid bool
	}{
		{"+39 347 123 4567", "+393471234567", true},
		{"+1 (555) 010-9999", "+15550109999", true},
		{"0039 347 1234567", "00393471234567", false},
		{"+0 123 4567", "+01234567", false},
		{"12345", "12345", false},
		{"+1234567890123456", "+1234567890123456", false},
	} {
		n := NormalizePhone(tc.in)
		if n != tc.norm || e164.MatchString(n) != tc.valid {
			t.Errorf("%q → %q (valid %v), want %q (valid %v)", tc.in, n, e164.MatchString(n), tc.norm, tc.valid)
		}
	}
}

func FuzzProvisioningText(f *testing.F) {
	f.Add("Serial 123")
	f.Add("a\tb")
	f.Fuzz(func(t *testing.T, s string) {
		fe := checkText("device.serial", s, false, 100)
		if fe != nil && fe.Field != "device.serial" {
			t.Fatalf("field %q", fe.Field)
		}
	})
}
