package auth

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestDefaultPolicy(t *testing.T) {
	if got, want := DefaultPolicy(), (Policy{MinLength: 8, MaxLength: 64}); got != want {
		t.Fatalf("DefaultPolicy() = %+v, want %+v", got, want)
	}
}

func codes(vs []Violation) []string {
	var cs []string
	for _, v := range vs {
		cs = append(cs, v.Code)
	}
	return cs
}

func TestPolicyCheck(t *testing.T) {
	const email = "Alice.Smith@example.com"
	tests := []struct {
		name     string
		password string
		email    string
		want     []string // codes, in order
	}{
		{"strong", "kV9#qLm2!xPz", email, nil},
		{"empty email skips the email rule", "kV9#qLm2!xPz", "", nil},

		// Length, in runes.
		{"empty", "", email, []string{CodeTooShort}},
		{"one below minimum", "kV9#qLm", email, []string{CodeTooShort}},
		{"exactly minimum", "kV9#qLm2", email, nil},
		{"exactly maximum", strings.Repeat("kV9#qLm2", 8), email, nil},
		{"one above maximum", strings.Repeat("kV9#qLm2", 8) + "x", email, []string{CodeTooLong}},
		{"7 four-byte runes are too short", strings.Repeat("🔑", 7), email, []string{CodeTooShort}},
		{"8 four-byte runes are enough", strings.Repeat("🔑", 8), email, nil},
		{"64 multi-byte runes fit", strings.Repeat("日本語パスワード", 8), email, nil},
		{"65 multi-byte runes do not", strings.Repeat("日本語パスワード", 8) + "語", email, []string{CodeTooLong}},
		{"combining marks count as runes", "ne\u0301e\u0301e\u0301e", email, nil},

		// Control characters: C0, DEL and C1.
		{"tab", "kV9#q\tLm2!xPz", email, []string{CodeControlCharacters}},
		{"newline", "kV9#qLm2!xPz\n", email, []string{CodeControlCharacters}},
		{"NUL", "kV9#q\x00Lm2!xPz", email, []string{CodeControlCharacters}},
		{"escape", "kV9#q\x1bLm2!xPz", email, []string{CodeControlCharacters}},
		{"DEL", "kV9#q\x7fLm2!xPz", email, []string{CodeControlCharacters}},
		{"C1 NEL", "kV9#q\u0085Lm2!xPz", email, []string{CodeControlCharacters}},
		{"C1 last", "kV9#q\u009fLm2!xPz", email, []string{CodeControlCharacters}},
		{"no-break space is not a control", "kV9#q\u00a0Lm2!xPz", email, nil},
		{"space is not a control", "kV9# qLm2!xPz", email, nil},

		// E-mail.
		{"equal to email", "Alice.Smith@example.com", email, []string{CodeIsEmail}},
		{"email other case", "alice.smith@EXAMPLE.COM", email, []string{CodeIsEmail}},
		{"email with spaces", "  alice.smith@example.com  ", email, []string{CodeIsEmail}},
		{"email itself padded", "alice.smith@example.com", "  Alice.Smith@example.com ", []string{CodeIsEmail}},
		{"local part", "alice.smith", email, []string{CodeIsEmail}},
		{"local part other case with spaces", " ALICE.SMITH ", email, []string{CodeIsEmail}},
		{"part of a quoted local part", "first@last", `"first@last"@example.com`, nil},
		{"quoted local part", `"first@last"`, `"first@last"@example.com`, []string{CodeIsEmail}},
		{"email without @", "alicesmith", "alicesmith", []string{CodeIsEmail}},
		{"other domain", "alice.smith@example.org", email, nil},
		{"contains local part", "alice.smith2024", email, nil},
		{"empty local part", "@example.com", "@example.com", []string{CodeIsEmail}},
		{"empty local part does not match empty password", "", "@example.com", []string{CodeTooShort}},

		// Common passwords.
		{"common", "password", email, []string{CodeCommon}},
		{"common other case", "PassWord", email, []string{CodeCommon}},
		{"common and short", "123456", email, []string{CodeTooShort, CodeCommon}},
		{"common with a space is not in the list", "password ", email, nil},

		// Invalid UTF-8 stops the other checks.
		{"invalid byte", "kV9#qLm2\xff", email, []string{CodeInvalidUTF8}},
		{"truncated rune", "kV9#qLm2\xe6\x97", email, []string{CodeInvalidUTF8}},
		{"invalid and short", "\xff", email, []string{CodeInvalidUTF8}},
		{"surrogate half", "kV9#qLm2\xed\xa0\x80", email, []string{CodeInvalidUTF8}},

		// Several at once, in the documented order.
		{"short control email", "q\tq", "q\tq@example.com", []string{CodeTooShort, CodeControlCharacters, CodeIsEmail}},
		{"all but invalid", strings.Repeat("a", 65) + "\x01", strings.Repeat("a", 65) + "\x01", []string{CodeTooLong, CodeControlCharacters, CodeIsEmail}},
	}
	p := DefaultPolicy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := p.Check(tt.password, tt.email)
			if got := codes(vs); !slices.Equal(got, tt.want) {
				t.Fatalf("Check(%q, %q) codes = %q, want %q", tt.password, tt.email, got, tt.want)
			}
			if tt.want == nil && vs != nil {
				t.Fatalf("Check(%q, %q) = %#v, want nil", tt.password, tt.email, vs)
			}
			for _, v := range vs {
				if !strings.HasPrefix(v.Message, "must ") && !strings.HasPrefix(v.Message, "is ") {
					t.Errorf("message %q for %s does not read as a rule", v.Message, v.Code)
				}
			}
		})
	}
}

func TestPolicyCheckMessages(t *testing.T) {
	tests := []struct {
		policy   Policy
		password string
		want     Violation
	}{
		{DefaultPolicy(), "short", Violation{CodeTooShort, "must be at least 8 characters"}},
		{DefaultPolicy(), strings.Repeat("x", 65), Violation{CodeTooLong, "must be at most 64 characters"}},
		{Policy{MinLength: 12, MaxLength: 20}, "elevenchars", Violation{CodeTooShort, "must be at least 12 characters"}},
		{Policy{MinLength: 12, MaxLength: 20}, strings.Repeat("x", 21), Violation{CodeTooLong, "must be at most 20 characters"}},
	}
	for _, tt := range tests {
		vs := tt.policy.Check(tt.password, "")
		if !slices.Contains(vs, tt.want) {
			t.Errorf("%+v.Check(%q) = %+v, want it to contain %+v", tt.policy, tt.password, vs, tt.want)
		}
	}
}

func TestZeroPolicyRejectsEverything(t *testing.T) {
	if got := codes(Policy{}.Check("kV9#qLm2!xPz", "")); !slices.Equal(got, []string{CodeTooLong}) {
		t.Fatalf("Policy{}.Check = %q, want [too_long]", got)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		policy Policy
		want   string
	}{
		{DefaultPolicy(), `{"min_length":8,"max_length":64,"rules":["not_email","not_common"]}`},
		{Policy{MinLength: 12, MaxLength: 128}, `{"min_length":12,"max_length":128,"rules":["not_email","not_common"]}`},
	}
	for _, tt := range tests {
		d := tt.policy.Describe()
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("json(%+v.Describe()) = %s, want %s", tt.policy, got, tt.want)
		}
		d.Rules[0] = "changed" // must not leak into later descriptions
	}
	if r := DefaultPolicy().Describe().Rules; r[0] != "not_email" {
		t.Fatalf("Describe shares its Rules slice between calls: %q", r)
	}
}

func TestViolationJSON(t *testing.T) {
	got, err := json.Marshal(Violation{Code: CodeTooShort, Message: "must be at least 8 characters"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"code":"too_short","message":"must be at least 8 characters"}`; string(got) != want {
		t.Fatalf("json = %s, want %s", got, want)
	}
}

func TestCommonPasswordList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 10000 {
		t.Fatalf("common password list has %d entries, want at least 10,000", len(set))
	}
	for pw := range set {
		if pw == "" || pw != strings.ToLower(pw) || pw != strings.TrimSpace(pw) {
			t.Fatalf("list entry %q is empty, not lowercased or not trimmed", pw)
		}
	}
	// Every line of the embedded file is in the set.
	n := 0
	for line := range strings.Lines(commonPasswordsText) {
		n++
		if !IsCommon(strings.TrimSpace(line)) {
			t.Fatalf("line %d %q of the list is not common", n, line)
		}
	}
	if n < len(set) {
		t.Fatalf("set has %d entries but the file only %d lines", len(set), n)
	}
}

func TestParseCommonPasswords(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"lines", "one\ntwo\nthree\n", []string{"one", "three", "two"}},
		{"no final newline", "one\ntwo", []string{"one", "two"}},
		{"CRLF", "one\r\ntwo\r\n", []string{"one", "two"}},
		{"blank lines and spaces", "\n  one  \n\n\t\ntwo\n", []string{"one", "two"}},
		{"lowercased and deduplicated", "Password\nPASSWORD\npassword\n", []string{"password"}},
		{"inner spaces kept", "pass word\n", []string{"pass word"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(parseCommonPasswords(tt.text)))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("parseCommonPasswords(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestIsCommon(t *testing.T) {
	token, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"123456", true},
		{"qwerty", true},
		{"PASSWORD", true},
		{"QwErTy", true},
		{"iloveyou", true},
		{"", false},
		{"password\n", false},
		{"kV9#qLm2!xPz7@wR", false},
		{"correct horse battery staple, but longer", false},
		{token, false},
	}
	for _, tt := range tests {
		if got := IsCommon(tt.password); got != tt.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

// FuzzPolicyCheck checks that Check never panics, returns only known codes
// with messages, and that any password it accepts keeps every rule.
func FuzzPolicyCheck(f *testing.F) {
	f.Add("kV9#qLm2!xPz", "alice@example.com")
	f.Add("password", "")
	f.Add("alice", "alice@example.com")
	f.Add("\xff\xfe", "@")
	f.Add("🔑🔑🔑🔑🔑🔑🔑🔑", " @ ")
	f.Add("abc\u0085defghij", "x@y")
	known := []string{CodeTooShort, CodeTooLong, CodeIsEmail, CodeCommon, CodeInvalidUTF8, CodeControlCharacters}
	p := DefaultPolicy()
	f.Fuzz(func(t *testing.T, password, email string) {
		vs := p.Check(password, email)
		for _, v := range vs {
			if !slices.Contains(known, v.Code) || v.Message == "" {
				t.Fatalf("unexpected violation %+v", v)
			}
		}
		if len(vs) > 0 {
			return
		}
		if !utf8.ValidString(password) {
			t.Fatalf("accepted invalid UTF-8 %q", password)
		}
		if n := utf8.RuneCountInString(password); n < p.MinLength || n > p.MaxLength {
			t.Fatalf("accepted %q of %d runes, outside [%d, %d]", password, n, p.MinLength, p.MaxLength)
		}
		if strings.ContainsFunc(password, unicode.IsControl) {
			t.Fatalf("accepted %q with control characters", password)
		}
		if IsCommon(password) {
			t.Fatalf("accepted common password %q", password)
		}
		if e := strings.TrimSpace(email); e != "" && strings.EqualFold(strings.TrimSpace(password), e) {
			t.Fatalf("accepted password %q equal to email %q", password, email)
		}
	})
}
