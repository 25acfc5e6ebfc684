package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "onboard-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// buildBinary compiles onboard once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir := binDir
	bin := filepath.Join(dir, "onboard")
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the binary: %w", err)
	}
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// proc is an onboard process.
type proc struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// spawn starts the binary with env and waits until /healthz answers.
func spawn(t *testing.T, addr string, env ...string) *proc {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{base: "http://" + addr, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "ONBOARD_ADDR=" + addr, "ONBOARD_PUBLIC_URL=" + p.base,
		"ONBOARD_ARGON2_MEMORY=64", "ONBOARD_ARGON2_TIME=1"}, env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("onboard stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(p.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("onboard exited early: %v\n%s", p.err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("onboard did not become healthy:\n%s", p.stderr.String())
	return nil
}

func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return res.StatusCode, m
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// register runs signup → mail → completion against a running process.
func register(t *testing.T, p *proc, link func() string, email string) {
	t.Helper()
	if st, _ := post(t, p.base+"/api/v1/signups", map[string]any{"email": email, "account_type": "customer_personal"}); st != 202 {
		t.Fatalf("start signup: %d", st)
	}
	u, err := url.Parse(link())
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	st, form := get(t, p.base+"/api/v1/signups/"+token, "")
	if st != 200 {
		t.Fatalf("form: %d", st)
	}
	var ids []string
	for _, a := range form["agreements"].([]any) {
		ids = append(ids, a.(map[string]any)["id"].(string))
	}
	st, reg := post(t, p.base+"/api/v1/signups/"+token, map[string]any{
		"user": map[string]any{"first_name": "Kim", "last_name": "Kill"}, "password": "a sturdy passphrase 9", "accepted_agreements": ids,
	})
	if st != 201 {
		t.Fatalf("complete: %d %v", st, reg)
	}
}

func login(t *testing.T, p *proc, email, password string) (int, string) {
	t.Helper()
	st, m := post(t, p.base+"/api/v1/sessions", map[string]any{"email": email, "password": password})
	tok, _ := m["token"].(string)
	return st, tok
}

// TestKillAndRestart registers a customer, kills the process without warning,
// starts it again on the same database and signs in.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		mailer := smtptest.Start(t)
		addr := freeAddr(t)
		env := []string{"ONBOARD_DB=" + dsn, "ONBOARD_SMTP_URL=" + mailer.URL(), "ONBOARD_SECRET_KEY=" + testSecretKey}
		p := spawn(t, addr, env...)
		register(t, p, func() string {
			m := mailer.WaitFor(t, 10*time.Second, smtptest.SentTo("kill@example.com"))
			return m.Link(p.base + "/register?token=")
		}, "kill@example.com")

		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		p2 := spawn(t, addr, env...)
		st, tok := login(t, p2, "kill@example.com", "a sturdy passphrase 9")
		if st != 201 {
			t.Fatalf("login after restart: %d", st)
		}
		st, me := get(t, p2.base+"/api/v1/me", tok)
		if st != 200 || me["user"].(map[string]any)["first_name"] != "Kim" || len(me["locations"].([]any)) != 1 {
			t.Fatalf("/me after restart: %d %v", st, me)
		}
	})
}

// TestGracefulShutdown sends SIGTERM while a slow sign-in (expensive hashing)
// is in flight: the request completes, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	p := spawn(t, addr, "ONBOARD_DB="+dbtest.SQLite(t), "ONBOARD_ARGON2_MEMORY=65536", "ONBOARD_ARGON2_TIME=12")
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		st, _ := post(t, p.base+"/api/v1/sessions", map[string]any{"email": "nobody@example.com", "password": "whatever it is"})
		done <- st
	}()
	time.Sleep(150 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-done:
		if st != http.StatusUnauthorized {
			t.Fatalf("in-flight request answered %d, want 401", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("in-flight request did not finish")
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("request finished before the signal; the test proves nothing")
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("process did not exit after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.stderr.String())
	}
}

// TestDevMail: with no SMTP server configured, the mail, link included, is logged.
func TestDevMail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	p := spawn(t, addr, "ONBOARD_DB="+dbtest.SQLite(t))
	if st, _ := post(t, p.base+"/api/v1/signups", map[string]any{"email": "dev@example.com", "account_type": "customer_business"}); st != 202 {
		t.Fatalf("start: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), p.base+"/register?token=") {
		if time.Now().After(deadline) {
			t.Fatalf("the registration link was not logged:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunCommands(t *testing.T) {
	db := dbtest.SQLite(t)
	getenv := func(k string) string {
		if k == "ONBOARD_DB" {
			return db
		}
		return ""
	}
	cases := []struct {
		args    []string
		wantErr bool
		out     string
	}{
		{[]string{"migrate"}, false, "applied 0001_init.sql"},
		{[]string{"migrate"}, false, "database is up to date"},
		{[]string{"version"}, false, "onboard "},
		{[]string{"help"}, false, "Usage:"},
		{[]string{"openapi"}, false, `"openapi": "3.1`},
		{[]string{"openapi", "extra"}, true, ""},
		{[]string{"frobnicate"}, true, ""},
		{[]string{"serve", "--rate-signup-ip", "lots"}, true, ""},
		{[]string{"serve", "--log-format", "xml"}, true, ""},
		{[]string{"migrate", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}, true, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, c.args, getenv, &out, &errOut)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if !strings.Contains(out.String(), c.out) {
				t.Fatalf("output %q lacks %q", out.String(), c.out)
			}
		})
	}
}
