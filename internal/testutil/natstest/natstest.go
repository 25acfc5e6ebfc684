// Package natstest connects tests to a real NATS server with JetStream: the
// one ONBOARD_TEST_NATS_URL names, nats://127.0.0.1:4222 by default. When it
// cannot be reached the test is skipped, saying so, or fails when
// ONBOARD_REQUIRE_NATS is set (as CI does).
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Environment variables.
const (
	// EnvURL names the variable holding the NATS URL for tests.
	EnvURL = "ONBOARD_TEST_NATS_URL"
	// EnvRequire, when set, turns an unreachable server into a failure.
	EnvRequire = "ONBOARD_REQUIRE_NATS"
	// DefaultURL is used when EnvURL is unset.
	DefaultURL = "nats://127.0.0.1:4222"
)

// URL returns the URL of the test server after checking that it accepts TCP
// connections; otherwise it skips the test (or fails it, see EnvRequire).
func URL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(EnvURL)
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("%s=%q is not a NATS URL", EnvURL, raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "4222")
	}
	conn, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("NATS at %s is not reachable, and %s is set: %v", u.Redacted(), EnvRequire, err)
		}
		t.Skipf("NATS tests skipped: no server at %s (start nats-server -js, or set %s; set %s=1 to fail instead): %v",
			u.Redacted(), EnvURL, EnvRequire, err)
	}
	conn.Close()
	return raw
}

// Name returns prefix with a random suffix, for subjects, streams and queue
// groups that parallel test runs do not share. It contains no dots.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// Connect connects to the test server; the connection closes when the test ends.
func Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(URL(t), nats.Name("onboard-test"))
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns a JetStream context on nc, failing the test when the
// server has JetStream disabled.
func JetStream(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("JetStream is not available on the test server (start nats-server with -js): %v", err)
	}
	return js
}

// DeleteStreamAtEnd deletes the stream when the test ends (whoever created it).
func DeleteStreamAtEnd(t testing.TB, js jetstream.JetStream, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Logf("delete stream %s: %v", name, err)
		}
	})
}

// Subject returns a subject unique to the test, under prefix (dots allowed).
func Subject(t testing.TB, prefix string) string {
	t.Helper()
	return strings.TrimSuffix(prefix, ".") + "." + Name(t, "t")
}
