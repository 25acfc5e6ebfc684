package b2b

import "testing"

// TestInvisibleCharactersRefused: the names of labelpartners and clients
// refuse format and other invisible characters, and take ordinary
// international text.
func TestInvisibleCharactersRefused(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"Ada", true}, {"Ünal Öztürk", true}, {"José María", true}, {"Ørsted A/S", true}, {"株式会社", true},
		{"Ada\u200b", false}, {"\u202eAda", false}, {"A\ufeffda", false}, {"Ada\u2066", false}, {"Ada\u00ad", false},
		{"Ada\u034f", false}, {"\u3164", false}, {"Ada\ufe0f", false}, {"Ada\ue000", false}, {"Ada\u2028X", false},
		{"Ada\x7f", false}, {"Ada\tX", false}, {"Ada\ufffd", false},
	} {
		if _, fe := validName("name", tc.value); (fe == nil) != tc.ok {
			t.Errorf("validName(%q) refused = %v, want ok = %v", tc.value, fe != nil, tc.ok)
		}
	}
}
