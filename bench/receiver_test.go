package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// receiverEnv, set in the environment of this test binary, makes it run a
// webhook receiver instead of the benchmarks (see TestMain).
const receiverEnv = "ONBOARD_BENCH_WEBHOOK_RECEIVER"

// TestMain runs the benchmarks, or, started by startReceiver, a webhook
// receiver in a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv(receiverEnv) == "1" {
		if err := serveReceiver(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// serveReceiver listens on a loopback port, writes its address as one line
// to out, and serves until stdin closes: POST answers 204 to a signed
// delivery (400 to an unsigned one) and counts it; GET /count answers the
// count, GET /count?atleast=N once it has reached N (or after a minute).
func serveReceiver(out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	var received atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/count" {
			// ?atleast=N waits (up to a minute) until N have come, so
			// that the benchmark asks once instead of polling: its CPU
			// is counted, this process's is not.
			want, _ := strconv.ParseInt(r.URL.Query().Get("atleast"), 10, 64)
			for deadline := time.Now().Add(time.Minute); received.Load() < want && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			fmt.Fprint(rw, received.Load())
			return
		}
		if r.Header.Get("webhook-signature") == "" {
			http.Error(rw, "unsigned", http.StatusBadRequest)
			return
		}
		received.Add(1)
		rw.WriteHeader(http.StatusNoContent)
	})}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent is gone or done
		_ = srv.Close()
	}()
	if _, err := fmt.Fprintln(out, "http://"+ln.Addr().String()); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return fmt.Errorf("receiver: %w", err)
	}
	return nil
}

// receiver is a webhook receiver running in a child process, so that the
// CPU it spends answering deliveries is not counted as this process's (the
// service's) CPU.
type receiver struct {
	url string
	hc  *http.Client
}

// startReceiver starts this test binary as a receiver and returns its
// base URL; the child ends with the benchmark.
func startReceiver(b *testing.B) *receiver {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), receiverEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start receiver: %v", err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("receiver address: %v", err)
	}
	return &receiver{url: strings.TrimSpace(line), hc: &http.Client{}}
}

// received is the number of signed deliveries the receiver got, once it
// has got atLeast (or after a minute: the caller compares).
func (r *receiver) received(b *testing.B, atLeast int64) int64 {
	b.Helper()
	resp, err := r.hc.Get(r.url + "/count?atleast=" + strconv.FormatInt(atLeast, 10))
	if err != nil {
		b.Fatalf("receiver count: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("receiver count: %v", err)
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		b.Fatalf("receiver count %q: %v", raw, err)
	}
	return n
}
