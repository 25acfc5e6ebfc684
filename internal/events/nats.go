package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onboard-dev/onboard/internal/store"
)

// NATSConfig are the settings of the NATS publisher.
type NATSConfig struct {
	URL       string // server URL(s), comma-separated
	CredsFile string // credentials file; empty: none
	// Stream is the JetStream stream holding the events; it is created
	// (subjects Prefix.>) when missing. Empty: "ONBOARD_EVENTS".
	Stream string
	// Prefix of the subjects; empty: "onboard.events". An event is published
	// to Prefix.<organization>.<type>.
	Prefix string
	// DuplicateWindow is the stream's deduplication window when onboard
	// creates it; 0: one hour.
	DuplicateWindow time.Duration
}

// Publisher publishes dispatched events to NATS JetStream, each with
// Nats-Msg-Id set to the event id, so that the server drops a message
// published twice (after a crash between the publish and its record).
// While NATS is unreachable events wait in the database.
type Publisher struct {
	cfg  NATSConfig
	st   *store.Store
	log  *slog.Logger
	wake chan struct{}
	now  func() time.Time
}

// NewPublisher returns a publisher; it connects in Run.
func NewPublisher(st *store.Store, cfg NATSConfig, logger *slog.Logger, opts ...Option) *Publisher {
	if cfg.Stream == "" {
		cfg.Stream = "ONBOARD_EVENTS"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "onboard.events"
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = time.Hour
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg, st: st, log: logger, wake: make(chan struct{}, 1), now: newOptions(opts).now}
}

// Subject returns the subject an event of org and type is published to.
func (p *Publisher) Subject(org, typ string) string { return p.cfg.Prefix + "." + org + "." + typ }

// Wake asks the publisher to look for events now.
func (p *Publisher) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

const natsLease = 30 * time.Second

// Run connects (retrying for ever) and publishes until ctx is done.
func (p *Publisher) Run(ctx context.Context, poll time.Duration) error {
	opts := []nats.Option{nats.Name("onboard-events"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true), nats.ReconnectWait(time.Second)}
	if p.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(p.cfg.CredsFile))
	}
	nc, err := nats.Connect(p.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("events nats connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("events jetstream: %w", err)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	ready := false
	for {
		if !ready {
			if err := p.ensureStream(ctx, js); err != nil {
				if ctx.Err() == nil {
					p.log.WarnContext(ctx, "events stream not ready; retrying", "err", err)
				}
			} else {
				ready = true
			}
		}
		for ready && ctx.Err() == nil {
			n, err := p.PublishOnce(ctx, js)
			if err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "events publish", "err", err)
			}
			if err != nil || n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

func (p *Publisher) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := js.Stream(ctx, p.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: p.cfg.Stream, Subjects: []string{p.cfg.Prefix + ".>"}, Description: "onboard: events",
			Storage: jetstream.FileStorage, Duplicates: p.cfg.DuplicateWindow,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", p.cfg.Stream, err)
	}
	return nil
}

// PublishOnce publishes up to 100 waiting events and records them; it
// returns how many it published.
func (p *Publisher) PublishOnce(ctx context.Context, js jetstream.JetStream) (int, error) {
	evs, err := p.st.ClaimNATSEvents(ctx, p.now(), 100, natsLease)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	orgNames := map[string]string{}
	var done []string
	var perr error
	for _, e := range evs {
		name, ok := orgNames[e.OrgID]
		if !ok {
			ev, err := Parse([]byte(e.Body))
			if err != nil {
				perr = err
				break
			}
			name = ev.Organization
			orgNames[e.OrgID] = name
		}
		msg := nats.NewMsg(p.Subject(name, e.Type))
		msg.Data = []byte(e.Body)
		msg.Header.Set("Content-Type", "application/json")
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.PublishMsg(pctx, msg, jetstream.WithMsgID(e.ID))
		cancel()
		if err != nil {
			perr = fmt.Errorf("publish %s: %w", e.ID, err)
			break
		}
		done = append(done, e.ID)
	}
	if len(done) > 0 {
		if err := p.st.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.MarkNATSPublished(ctx, done) }); err != nil {
			return len(done), err
		}
	}
	return len(done), perr
}
