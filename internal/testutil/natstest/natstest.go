// Package natstest starts a real NATS server with JetStream inside the test
// process, on a random loopback port with its storage in the test's temporary
// directory, so that NATS tests need no system service. The server stops when
// the test ends.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a NATS server with JetStream running inside the test process.
type Server struct {
	srv *server.Server
}

// Start starts a NATS server with JetStream on 127.0.0.1 and a random port,
// keeping its JetStream files under t.TempDir(); it shuts down when the test
// (and its subtests) end.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		ServerName: "onboard-test",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		// Small limits: tests keep a few messages at most.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  256 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server: not ready for connections after 10s")
	}
	return &Server{srv: srv}
}

// URL returns the client URL of the server (nats://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.ClientURL() }

// Connect connects to the server; the connection closes when the test ends.
func (s *Server) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.Name("onboard-test"))
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Name returns prefix with a random suffix, for subjects, streams and queue
// groups that tests sharing one server do not share. It contains no dots.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
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
		t.Fatalf("JetStream is not available on the test server: %v", err)
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
