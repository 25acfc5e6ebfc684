package flows

import "testing"

// TestInvisibleCharactersRefused checks the validators that addresses and
// names of every kind go through: each refuses format and other invisible
// characters, and still takes ordinary international text.
func TestInvisibleCharactersRefused(t *testing.T) {
	s := &Service{}
	email := func(v string) bool { _, fe := ValidEmail("email", v); return fe == nil }
	formValue := func(v string) bool {
		return s.checkValue(Field{Name: "user.first_name", Type: "string", Required: true, MaxLength: maxFieldLength}, v) == ""
	}
	formEmail := func(v string) bool {
		return s.checkValue(Field{Name: "user.email", Type: "email", Required: true, MaxLength: 254}, v) == ""
	}
	label := func(v string) bool {
		var f fieldErrors
		f.text("label", v, true, maxLabelLength, false)
		return len(f) == 0
	}
	multiline := func(v string) bool {
		var f fieldErrors
		f.text("text", v, true, maxAgreementLen, true)
		return len(f) == 0
	}
	checks := map[string]func(string) bool{"checkValue": formValue, "text": label}
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"Ada", true}, {"Ünal Öztürk", true}, {"José María", true}, {"Ørsted A/S", true}, {"株式会社", true},
		{"Ada\u200b", false}, {"\u202eAda", false}, {"A\ufeffda", false}, {"Ada\u2066", false}, {"Ada\u00ad", false},
		{"Ada\u034f", false}, {"\u3164", false}, {"Ada\ufe0f", false}, {"Ada\ue000", false}, {"Ada\u2028X", false},
		{"Ada\x7f", false}, {"Ada\tX", false}, {"Ada\ufffd", false},
	} {
		for what, check := range checks {
			if got := check(tc.value); got != tc.ok {
				t.Errorf("%s(%q) = %v, want %v", what, tc.value, got, tc.ok)
			}
		}
	}
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"ada@example.com", true}, {"ünal.test@example.com", true}, {"a.b+c@sub.example.org", true},
		{"ada\u200b@example.com", false}, {"\u202eada@example.com", false}, {"ada@exa\u200dmple.com", false},
		{"\ufeffada@example.com", false}, {"ada@example.com\u2060", false}, {"ad\u00a0a@example.com", false},
		{"\ufffd\ufffd@b.co", false}, {"ada\u3164@example.com", false}, {"ada\ue000@example.com", false},
	} {
		for what, check := range map[string]func(string) bool{"validEmail": email, "checkValue(email)": formEmail} {
			if got := check(tc.value); got != tc.ok {
				t.Errorf("%s(%q) = %v, want %v", what, tc.value, got, tc.ok)
			}
		}
	}
	// Multi-line text (agreement bodies, reasons) keeps its line breaks.
	if !multiline("Terms\n\n1. Be nice.\tThanks") || multiline("Terms\x00") {
		t.Error("multi-line text: line breaks must pass, NUL must not")
	}
}
