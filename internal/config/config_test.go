package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	c := Default()
	fs, applyEnv := c.FlagSet("test", io.Discard)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := applyEnv(func(k string) string { return env[k] }); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestPrecedence(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c Config) bool
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.DB == "onboard.db" && c.SMTPURL == "" && c.PublicURL == "http://127.0.0.1:8080" &&
				c.SignupTTL == 24*time.Hour && c.RateSignupIP.Limit == 60 && c.RateSignupIP.Window == time.Minute &&
				c.RateSignupEmail.Limit == 5 && c.RateSignupEmail.Window == time.Hour && c.Argon2Memory == 19*1024
		}},
		{"environment", nil, map[string]string{"ONBOARD_ADDR": "0.0.0.0:9000", "ONBOARD_DB": "postgres://x/y", "ONBOARD_RATE_SIGNUP_IP": "10/30s"},
			func(c Config) bool {
				return c.Addr == "0.0.0.0:9000" && c.DB == "postgres://x/y" && c.PublicURL == "http://0.0.0.0:9000" &&
					c.RateSignupIP.Limit == 10 && c.RateSignupIP.Window == 30*time.Second
			}},
		{"flag wins over environment", []string{"--addr", "127.0.0.1:7000", "--rate-signup-ip", "0"},
			map[string]string{"ONBOARD_ADDR": "0.0.0.0:9000", "ONBOARD_RATE_SIGNUP_IP": "10/30s"},
			func(c Config) bool { return c.Addr == "127.0.0.1:7000" && c.RateSignupIP.Limit == 0 }},
		{"public url trimmed", []string{"--public-url", "https://id.example.com/"}, nil,
			func(c Config) bool { return c.PublicURL == "https://id.example.com" }},
		{"admin key from environment", nil, map[string]string{"ONBOARD_ADMIN_KEY": "0123456789abcdef"},
			func(c Config) bool { return c.AdminKey == "0123456789abcdef" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad rate flag", []string{"--rate-login-ip", "lots"}, nil, "rate"},
		{"bad rate env", nil, map[string]string{"ONBOARD_RATE_LOGIN_EMAIL": "5/forever"}, "ONBOARD_RATE_LOGIN_EMAIL"},
		{"bad duration env", nil, map[string]string{"ONBOARD_SIGNUP_TTL": "soon"}, "ONBOARD_SIGNUP_TTL"},
		{"bad public url", []string{"--public-url", "ftp://x"}, nil, "public-url"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "log-format"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"bad mail from", []string{"--mail-from", "nobody"}, nil, "mail-from"},
		{"org name too long", nil, map[string]string{"ONBOARD_ORG_NAME": strings.Repeat("x", 201)}, "org-name"},
		{"org name control", []string{"--org-name", "Acme\nBcc: x"}, nil, "org-name"},
		{"short admin key", nil, map[string]string{"ONBOARD_ADMIN_KEY": "short"}, "ONBOARD_ADMIN_KEY"},
		{"short form key", nil, map[string]string{"ONBOARD_FORM_KEY": "short"}, "ONBOARD_FORM_KEY"},
		{"bad rate store", []string{"--rate-store", "redis"}, nil, "rate-store"},
		{"bad proxy", []string{"--trusted-proxies", "10.0.0.0/99"}, nil, "trusted proxy"},
		{"argon2 threads", []string{"--argon2-threads", "0"}, nil, "argon2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestAdminKeyFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(f, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, nil, map[string]string{"ONBOARD_ADMIN_KEY_FILE": f})
	if err != nil || c.AdminKey != "from-a-file-0123456789" {
		t.Fatalf("AdminKey = %q, %v", c.AdminKey, err)
	}
	if _, err := load(t, nil, map[string]string{"ONBOARD_ADMIN_KEY_FILE": f + ".missing"}); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}
