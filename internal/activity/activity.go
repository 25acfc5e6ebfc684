// Package activity takes end users' first measurements from a NATS subject
// and hands them to a recorder (onboard's flows), which makes registered end
// users active.
//
// Two modes:
//
//   - Core NATS (no stream configured): a queue subscription, so that nodes
//     sharing the queue group share the messages. Delivery is at most once:
//     a message published while no node listens, or one that fails for a
//     transient reason, is lost. A message sent as a request gets a Reply.
//   - JetStream (a stream configured): a durable pull consumer named after
//     the queue group, shared by the nodes. The stream is created when it
//     does not exist. A message is acknowledged after the recorder's
//     database commit, negatively acknowledged with a growing delay on
//     transient errors (the database is down), and terminated when it is
//     malformed or cannot be applied. Nothing is lost while onboard is down.
//
// The connection is retried for ever, from the start: an unreachable server
// does not stop the service. Connection state changes are logged. Messages
// are processed by at most Config.Workers goroutines. On cancellation the
// subscriber stops taking messages, finishes the ones in hand (their replies
// and acknowledgements included) and closes the connection.
package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Config are the subscriber's settings.
type Config struct {
	URL       string // server URL(s), comma-separated
	Subject   string // subject of the activity messages
	Queue     string // queue group; in JetStream mode the durable consumer's name
	Stream    string // JetStream stream; empty: core NATS
	CredsFile string // credentials (.creds) file; empty: none
	Workers   int    // messages processed at once; < 1 means 1
	Name      string // connection name shown by the server; empty: "onboard"
	// MaxRetryDelay caps the delay of a redelivery after a transient error
	// (JetStream mode); 0 means one minute. The delay starts at one second
	// and doubles with each delivery.
	MaxRetryDelay time.Duration
}

// RecordFunc applies one message that arrived on subject and returns the end
// user's state (also on errors, when the end user was found). Errors are
// classified by their domain code: not found, invalid input and a conflict
// with slug "end-user-not-registered" are final; other errors are transient.
type RecordFunc func(ctx context.Context, subject string, m Message) (state string, err error)

// Subscriber feeds activity messages from NATS to a RecordFunc.
type Subscriber struct {
	cfg    Config
	record RecordFunc
	log    *slog.Logger

	sem     chan struct{}  // one slot per worker
	mu      sync.Mutex     // guards stopped and additions to wg
	stopped bool           // no more messages are taken
	wg      sync.WaitGroup // messages in hand

	lastRetryLog atomic.Int64 // unix nanoseconds of the last reconnect-failure log
}

// Time limits.
const (
	processTimeout = 15 * time.Second // one message, database included
	ackWait        = 30 * time.Second // JetStream redelivers an unacknowledged message after this
	stopTimeout    = 10 * time.Second // each step of the shutdown
	setupTimeout   = 10 * time.Second // one attempt to set up the stream and consumer
	streamMaxAge   = 7 * 24 * time.Hour
)

// New returns a subscriber; it does not connect yet (see Run).
func New(cfg Config, record RecordFunc, logger *slog.Logger) (*Subscriber, error) {
	if cfg.URL == "" || cfg.Subject == "" || cfg.Queue == "" {
		return nil, errors.New("activity: URL, subject and queue are required")
	}
	if record == nil {
		return nil, errors.New("activity: no recorder")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Name == "" {
		cfg.Name = "onboard"
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = time.Minute
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Subscriber{cfg: cfg, record: record, log: logger, sem: make(chan struct{}, cfg.Workers)}, nil
}

// Run connects and processes messages until ctx is done, then stops taking
// messages, finishes those in hand and closes the connection. It returns an
// error only when the client cannot be set up at all (bad options); an
// unreachable server is retried for ever. Run is called once.
func (s *Subscriber) Run(ctx context.Context) error {
	s.log.Info("activity subscriber starting", "subject", s.cfg.Subject, "mode", s.mode(), "queue", s.cfg.Queue, "stream", s.cfg.Stream)
	closed := make(chan struct{})
	nc, err := nats.Connect(s.cfg.URL, s.options(closed)...)
	if err != nil {
		return fmt.Errorf("nats connect: %w", err)
	}
	if !nc.IsConnected() {
		s.log.Warn("nats server not reachable; retrying in the background")
	}
	// Messages in hand finish even after ctx is done.
	work := context.WithoutCancel(ctx)
	if s.cfg.Stream != "" {
		err = s.runJetStream(ctx, work, nc)
	} else {
		err = s.runCore(ctx, work, nc)
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
	s.close(nc, closed)
	return err
}

func (s *Subscriber) mode() string {
	if s.cfg.Stream != "" {
		return "jetstream"
	}
	return "core"
}

func (s *Subscriber) options(closed chan struct{}) []nats.Option {
	log := s.log
	opts := []nats.Option{
		nats.Name(s.cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second),
		nats.DrainTimeout(stopTimeout),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("nats connected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			// Once a minute at most: attempts are made every second.
			now := time.Now().UnixNano()
			if last := s.lastRetryLog.Load(); now-last >= int64(time.Minute) && s.lastRetryLog.CompareAndSwap(last, now) {
				log.Warn("nats connection attempt failed; retrying", "err", err)
			}
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Info("nats server entering lame duck mode", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			args := []any{"err", err}
			if sub != nil {
				args = append(args, "subject", sub.Subject)
			}
			log.Warn("nats error", args...)
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			log.Info("nats connection closed")
			close(closed)
		}),
	}
	if s.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(s.cfg.CredsFile))
	}
	return opts
}

// close flushes and closes the connection, waiting for it to be closed.
func (s *Subscriber) close(nc *nats.Conn, closed <-chan struct{}) {
	if nc.IsConnected() {
		if err := nc.FlushTimeout(stopTimeout); err != nil {
			s.log.Warn("nats flush at shutdown", "err", err)
		}
	}
	nc.Close()
	select {
	case <-closed:
	case <-time.After(stopTimeout):
		s.log.Warn("nats connection did not report closing")
	}
}

// ---- core NATS ----

func (s *Subscriber) runCore(ctx, work context.Context, nc *nats.Conn) error {
	sub, err := nc.QueueSubscribe(s.cfg.Subject, s.cfg.Queue, func(m *nats.Msg) {
		_ = s.dispatch(func() {
			res := s.handle(work, m.Subject, m.Data)
			if m.Reply == "" {
				return
			}
			if err := m.Respond(res.replyJSON()); err != nil {
				s.log.Warn("activity reply failed", "subject", m.Subject, "err", err)
			}
		})
	})
	if err != nil {
		return fmt.Errorf("nats subscribe %q: %w", s.cfg.Subject, err)
	}
	<-ctx.Done()
	// Stop taking messages; those already received still run.
	if nc.IsConnected() {
		done := sub.StatusChanged(nats.SubscriptionClosed)
		if err := sub.Drain(); err != nil {
			s.log.Warn("nats drain", "err", err)
		} else {
			select {
			case <-done:
			case <-time.After(stopTimeout):
				s.log.Warn("nats subscription did not drain in time")
			}
		}
	}
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrBadSubscription) && !errors.Is(err, nats.ErrConnectionClosed) {
		s.log.Warn("nats unsubscribe", "err", err)
	}
	return nil
}

// dispatch runs fn on a worker, waiting for a free one: while all are busy
// the client buffers further messages. It returns false, without running
// fn, once the subscriber has stopped (a message that arrives after the
// drain timed out).
func (s *Subscriber) dispatch(fn func()) bool {
	s.sem <- struct{}{}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		<-s.sem
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() { <-s.sem }()
		fn()
	}()
	return true
}

// ---- JetStream ----

func (s *Subscriber) runJetStream(ctx, work context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	handler := func(m jetstream.Msg) {
		if !s.dispatch(func() { s.settle(m, s.handle(work, m.Subject(), m.Data())) }) {
			_ = m.Nak() // stopping: let another node have it
		}
	}
	errHandler := jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrNoHeartbeat) {
			s.log.Debug("jetstream consumer missed a heartbeat", "err", err)
			return
		}
		s.log.Warn("jetstream consumer", "err", err)
	})
	for attempt := 0; ; attempt++ {
		cons, err := s.setupConsumer(ctx, js)
		if err != nil {
			return nil // ctx is done
		}
		cc, err := cons.Consume(handler, jetstream.PullMaxMessages(s.cfg.Workers), errHandler)
		if err != nil {
			s.log.Warn("jetstream consume failed; retrying", "err", err)
			if !sleep(ctx, backoff(attempt, 30*time.Second)) {
				return nil
			}
			continue
		}
		attempt = 0
		s.log.Info("jetstream consumer ready", "stream", s.cfg.Stream, "consumer", s.cfg.Queue, "subject", s.cfg.Subject)
		select {
		case <-ctx.Done():
			cc.Drain()
			select {
			case <-cc.Closed():
			case <-time.After(stopTimeout):
				s.log.Warn("jetstream consumer did not drain in time")
				cc.Stop()
			}
			return nil
		case <-cc.Closed():
			// The consumer was deleted, for example: set it up again.
			s.log.Warn("jetstream consumer stopped; setting it up again", "stream", s.cfg.Stream, "consumer", s.cfg.Queue)
			if !sleep(ctx, time.Second) {
				return nil
			}
		}
	}
}

// setupConsumer creates the stream when it is missing and creates or
// updates the durable consumer, retrying until it works or ctx is done
// (then it returns ctx's error).
func (s *Subscriber) setupConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, setupTimeout)
		cons, err := s.trySetup(actx, js)
		cancel()
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Warn("jetstream setup failed; retrying", "stream", s.cfg.Stream, "consumer", s.cfg.Queue, "err", err)
		if !sleep(ctx, backoff(attempt, 30*time.Second)) {
			return nil, ctx.Err()
		}
	}
}

func (s *Subscriber) trySetup(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	_, err := js.Stream(ctx, s.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: s.cfg.Stream, Subjects: []string{s.cfg.Subject}, Description: "onboard: end-user activity",
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxAge: streamMaxAge,
		})
		switch {
		case err == nil:
			s.log.Info("jetstream stream created", "stream", s.cfg.Stream, "subject", s.cfg.Subject)
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse): // another node was quicker
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", s.cfg.Stream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, jetstream.ConsumerConfig{
		Durable: s.cfg.Queue, Description: "onboard: end-user activity", FilterSubject: s.cfg.Subject,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait,
		MaxDeliver: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", s.cfg.Queue, err)
	}
	return cons, nil
}

// settle acknowledges a JetStream message according to its result.
func (s *Subscriber) settle(m jetstream.Msg, res result) {
	var err error
	switch res.outcome {
	case done:
		err = m.Ack()
	case drop:
		err = m.Term()
	case retry:
		delivered := uint64(1)
		if md, merr := m.Metadata(); merr == nil {
			delivered = md.NumDelivered
		}
		err = m.NakWithDelay(backoff(int(min(delivered, 32))-1, s.cfg.MaxRetryDelay))
	}
	if err != nil {
		s.log.Warn("jetstream acknowledgement failed; the message will be redelivered", "subject", m.Subject(), "err", err)
	}
}

// ---- processing ----

type outcome int

const (
	done  outcome = iota // applied (or nothing to do): acknowledge
	drop                 // cannot ever be applied: terminate
	retry                // failed for now: redeliver later
)

type result struct {
	outcome outcome
	reply   Reply
}

func (r result) replyJSON() []byte {
	b, err := json.Marshal(r.reply)
	if err != nil { // a struct of strings always encodes
		return []byte(`{"status":"error","error":"internal"}`)
	}
	return b
}

// handle parses and records one message and logs what became of it.
func (s *Subscriber) handle(work context.Context, subject string, data []byte) result {
	m, err := Parse(data)
	if err != nil {
		s.log.Warn("malformed activity message dropped", "subject", subject, "err", err)
		return result{drop, Reply{Status: "error", Error: "malformed", Detail: strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": ")}}
	}
	ctx, cancel := context.WithTimeout(work, processTimeout)
	defer cancel()
	state, err := s.record(ctx, subject, m)
	who := []any{"subject", subject}
	if m.EndUserID != "" {
		who = append(who, "end_user_id", m.EndUserID)
	} else {
		who = append(who, "labelpartner", m.Labelpartner)
	}
	if err == nil {
		s.log.Debug("activity applied", append(who, "state", state)...)
		return result{done, Reply{Status: "ok", State: state}}
	}
	reply := Reply{Status: "error", State: state, Error: "unavailable", Detail: "The activity could not be recorded now; try again later."}
	e := domain.AsError(err)
	if e != nil {
		reply.Error, reply.Detail = e.Slug, e.Detail
		for _, f := range e.Fields {
			reply.Detail += " " + f.Field + " " + f.Message + "."
		}
	}
	switch {
	case e == nil || e.Code == domain.EUnavailable || e.Code == domain.ERateLimited || e.Code == domain.EInternal ||
		(e.Code == domain.EConflict && e.Slug != "end-user-not-registered"):
		s.log.Error("activity message failed", append(who, "err", err)...)
		if e == nil {
			reply.Error, reply.Detail = "unavailable", "The activity could not be recorded now; try again later."
		}
		return result{retry, reply}
	case e.Code == domain.EConflict:
		s.log.Info("activity for an end user who has not registered dropped", append(who, "state", state)...)
	case e.Code == domain.ENotFound:
		s.log.Warn("activity for an unknown end user dropped", who...)
	default:
		s.log.Warn("activity message refused", append(who, "err", err)...)
	}
	return result{drop, reply}
}

// backoff is one second doubled attempt times, at most ceiling.
func backoff(attempt int, ceiling time.Duration) time.Duration {
	d := time.Second
	for range attempt {
		if d >= ceiling {
			break
		}
		d *= 2
	}
	return min(d, ceiling)
}

// sleep waits d or until ctx is done; false when ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
