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
				c.RateSignupEmail.Limit == 5 && c.RateSignupEmail.Window == time.Hour && c.Argon2Memory == 19*1024 &&
				!c.OutboundAllowPrivate
		}},
		{"outbound allow-private from environment", nil, map[string]string{"ONBOARD_OUTBOUND_ALLOW_PRIVATE": "true"},
			func(c Config) bool { return c.OutboundAllowPrivate }},
		{"outbound allow-private flag", []string{"-outbound-allow-private"}, nil,
			func(c Config) bool { return c.OutboundAllowPrivate }},
		{"outbound allow-private flag wins over environment", []string{"-outbound-allow-private=false"}, map[string]string{"ONBOARD_OUTBOUND_ALLOW_PRIVATE": "true"},
			func(c Config) bool { return !c.OutboundAllowPrivate }},
		{"environment", nil, map[string]string{"ONBOARD_ADDR": "0.0.0.0:9000", "ONBOARD_DB": "postgres://x/y", "ONBOARD_RATE_SIGNUP_IP": "10/30s"},
			func(c Config) bool {
				return c.Addr == "0.0.0.0:9000" && c.DB == "postgres://x/y" && c.PublicURL == "http://0.0.0.0:9000" &&
					c.RateSignupIP.Limit == 10 && c.RateSignupIP.Window == 30*time.Second
			}},
		{"flag wins over environment", []string{"--addr", "127.0.0.1:7000", "--rate-signup-ip", "0"},
			map[string]string{"ONBOARD_ADDR": "0.0.0.0:9000", "ONBOARD_RATE_SIGNUP_IP": "10/30s"},
			func(c Config) bool { return c.Addr == "127.0.0.1:7000" && c.RateSignupIP.Limit == 0 }},
		{"events linger", []string{"--events-linger", "1s"}, nil,
			func(c Config) bool { return c.EventsLinger == time.Second }},
		{"events linger off from environment", nil, map[string]string{"ONBOARD_EVENTS_LINGER": "0s"},
			func(c Config) bool { return c.EventsLinger == 0 }},
		{"public url trimmed", []string{"--public-url", "https://id.example.com/"}, nil,
			func(c Config) bool { return c.PublicURL == "https://id.example.com" }},
		{"admin key from environment", nil, map[string]string{"ONBOARD_ADMIN_KEY": "0123456789abcdef"},
			func(c Config) bool { return c.AdminKey == "0123456789abcdef" }},
		{"hardening defaults", nil, nil, func(c Config) bool {
			return c.SecretKey == "" && c.SecretKeyFile == "" && c.MailRetention == 7*24*time.Hour &&
				c.RateInviteNewAccount.Limit == 20 && c.RateInviteNewAccount.Window == 24*time.Hour &&
				c.RateInviteAccount.Limit == 200 && c.InviteNewAccountAge == 7*24*time.Hour
		}},
		{"secret key and hardening from environment", nil, map[string]string{
			"ONBOARD_SECRET_KEY": "k2:" + strings.Repeat("A", 43) + ",k1:" + strings.Repeat("B", 43), "ONBOARD_MAIL_RETENTION": "48h",
			"ONBOARD_RATE_INVITE_NEW_ACCOUNT": "5/1h", "ONBOARD_RATE_INVITE_ACCOUNT": "50/24h", "ONBOARD_INVITE_NEW_ACCOUNT_AGE": "72h"},
			func(c Config) bool {
				return strings.HasPrefix(c.SecretKey, "k2:") && c.MailRetention == 48*time.Hour && c.RateInviteNewAccount.Limit == 5 &&
					c.RateInviteAccount.Limit == 50 && c.InviteNewAccountAge == 72*time.Hour
			}},
		{"import retention: 30 days, or as set", nil, nil, func(c Config) bool { return c.ImportRetention == 30*24*time.Hour }},
		{"import retention from environment", nil, map[string]string{"ONBOARD_IMPORT_RETENTION": "240h"},
			func(c Config) bool { return c.ImportRetention == 240*time.Hour }},
		{"secret key file flag", []string{"--secret-key-file", "/etc/onboard/key"}, nil,
			func(c Config) bool { return c.SecretKeyFile == "/etc/onboard/key" }},
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
		{"bad outbound allow-private env", nil, map[string]string{"ONBOARD_OUTBOUND_ALLOW_PRIVATE": "yes please"}, "ONBOARD_OUTBOUND_ALLOW_PRIVATE"},
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
		{"bad secret key", nil, map[string]string{"ONBOARD_SECRET_KEY": "k1:tooshort"}, "ONBOARD_SECRET_KEY"},
		{"secret key twice", []string{"--secret-key-file", "/k"}, map[string]string{"ONBOARD_SECRET_KEY": "k1:" + strings.Repeat("A", 43)}, "set only one"},
		{"mail retention", nil, map[string]string{"ONBOARD_MAIL_RETENTION": "0s"}, "mail-retention"},
		{"bad invite rate", []string{"--rate-invite-account", "many"}, nil, "rate"},
		{"negative events linger", []string{"--events-linger", "-1s"}, nil, "events-linger"},
		{"events linger too long", nil, map[string]string{"ONBOARD_EVENTS_LINGER": "11s"}, "events-linger"},
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

func TestNATSConfig(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "onboard.creds")
	if err := os.WriteFile(creds, []byte("-----BEGIN NATS USER JWT-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c Config) bool
	}{
		{"off by default", nil, nil, func(c Config) bool {
			return c.NATSURL == "" && c.NATSActivitySubject == "onboard.activity" && c.NATSQueue == "onboard" &&
				c.NATSStream == "" && c.NATSWorkers == 4
		}},
		{"environment", nil, map[string]string{"ONBOARD_NATS_URL": "nats://u:p@nats-1:4222,tls://nats-2:4222",
			"ONBOARD_NATS_ACTIVITY_SUBJECT": "meters.*.first", "ONBOARD_NATS_QUEUE": "onboard-eu", "ONBOARD_NATS_STREAM": "METERS",
			"ONBOARD_NATS_CREDS_FILE": creds, "ONBOARD_NATS_WORKERS": "8"}, func(c Config) bool {
			return c.NATSURL == "nats://u:p@nats-1:4222,tls://nats-2:4222" && c.NATSActivitySubject == "meters.*.first" &&
				c.NATSQueue == "onboard-eu" && c.NATSStream == "METERS" && c.NATSCredsFile == creds && c.NATSWorkers == 8
		}},
		{"flags win", []string{"-nats-url", "nats://127.0.0.1:4222", "-nats-activity-subject", "a.>", "-nats-queue", "q.with.dots"},
			map[string]string{"ONBOARD_NATS_URL": "nats://elsewhere:4222"}, func(c Config) bool {
				return c.NATSURL == "nats://127.0.0.1:4222" && c.NATSActivitySubject == "a.>" && c.NATSQueue == "q.with.dots"
			}},
		{"settings unchecked while off", []string{"-nats-activity-subject", "bad subject"}, nil, func(c Config) bool { return c.NATSURL == "" }},
	}
	for _, tc := range valid {
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
	on := []string{"-nats-url", "nats://127.0.0.1:4222"}
	invalid := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"scheme", []string{"-nats-url", "http://127.0.0.1:4222"}, nil, "nats-url"},
		{"no host", []string{"-nats-url", "nats://:4222"}, nil, "nats-url"},
		{"second url", []string{"-nats-url", "nats://a:4222,smtp://b"}, nil, "nats-url"},
		{"empty subject", append(on, "-nats-activity-subject", ""), nil, "nats-activity-subject"},
		{"subject with space", append(on, "-nats-activity-subject", "a b"), nil, "nats-activity-subject"},
		{"subject empty token", append(on, "-nats-activity-subject", "a..b"), nil, "nats-activity-subject"},
		{"subject > not last", append(on, "-nats-activity-subject", "a.>.b"), nil, "nats-activity-subject"},
		{"subject partial wildcard", append(on, "-nats-activity-subject", "a.b*"), nil, "nats-activity-subject"},
		{"empty queue", append(on, "-nats-queue", ""), nil, "nats-queue"},
		{"durable with dot", append(on, "-nats-queue", "a.b", "-nats-stream", "S"), nil, "nats-queue"},
		{"stream with dot", append(on, "-nats-stream", "S.1"), nil, "nats-stream"},
		{"stream without url", []string{"-nats-stream", "S"}, nil, "need nats-url"},
		{"missing creds", append(on, "-nats-creds", creds+".missing"), nil, "nats-creds"},
		{"workers", append(on, "-nats-workers", "0"), nil, "nats-workers"},
		{"bad workers env", on, map[string]string{"ONBOARD_NATS_WORKERS": "many"}, "ONBOARD_NATS_WORKERS"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	// A password in a refused URL is not repeated in the error.
	_, err := load(t, []string{"-nats-url", "http://user:s3cret@nats:4222"}, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v", err)
	}
}
