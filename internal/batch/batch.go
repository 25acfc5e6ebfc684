// Package batch runs concurrent calls together, one batch at a time (group
// commit): a call arriving while nothing is in flight runs at once, alone;
// the calls arriving meanwhile are queued and run together, in arrival
// order and up to a maximum batch size, by one goroutine once the current
// run is done. Each caller waits for its own call or for its context.
//
// Under no concurrency a call costs what it costs on its own; under
// concurrency the work per call (statements, commits, WAL flushes) falls
// with the number of calls sharing a run.
package batch

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultMax is the most calls run together when New is given no maximum.
const DefaultMax = 128

// Run runs calls together, in the order given: it records each call's
// result (and error) in the call itself. ctx is the context of the run: for
// a call run alone at once its caller's context, for a batch one that holds
// the first call's values and is cancelled once every call's context is
// done.
type Run[T any] func(ctx context.Context, calls []T)

// waiter is a queued call and the context of its caller.
type waiter[T any] struct {
	ctx  context.Context
	call T
	err  error         // the caller's context error when dropped before its run
	done chan struct{} // closed once the call has run or was dropped
}

// Batcher runs calls one batch at a time with its Run. Its methods are safe
// for concurrent use.
type Batcher[T any] struct {
	run Run[T]
	max int

	mu    sync.Mutex
	busy  bool // a run is in flight, or the drain goroutine is on
	queue []*waiter[T]
}

// New returns a Batcher that runs calls with run, at most maxSize together
// (DefaultMax when maxSize <= 0).
func New[T any](maxSize int, run Run[T]) *Batcher[T] {
	if maxSize <= 0 {
		maxSize = DefaultMax
	}
	return &Batcher[T]{run: run, max: maxSize}
}

// Do runs call, at once and alone if nothing is in flight, else with the
// calls queued meanwhile, and returns once it has run: then its result is in
// call. It returns ctx's error, without the call's result, when ctx is done
// before the call runs or while it waits; a call whose context ends while
// its batch runs may still have had its effect, as with a statement
// cancelled in flight, and run may still be writing into call.
func (b *Batcher[T]) Do(ctx context.Context, call T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if !b.busy {
		b.busy = true
		b.mu.Unlock()
		b.run(ctx, []T{call})
		b.handOff()
		return nil
	}
	w := &waiter[T]{ctx: ctx, call: call, done: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waiting returns the number of calls queued for the next batch.
func (b *Batcher[T]) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Busy reports whether a call or batch is in flight or queued.
func (b *Batcher[T]) Busy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busy
}

// handOff ends the turn of a caller that ran alone: the calls queued
// meanwhile go to a goroutine that runs them, so that the caller can return.
func (b *Batcher[T]) handOff() {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.busy = false
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	go b.drain()
}

// drain runs the queued calls in batches until the queue is empty; calls
// whose context is done by then are dropped.
func (b *Batcher[T]) drain() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.max)
		if n == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.queue[:n])
		b.queue = slices.Delete(b.queue, 0, n)
		if len(b.queue) == 0 {
			b.queue = nil
		}
		b.mu.Unlock()

		live := batch[:0]
		for _, w := range batch {
			if w.err = w.ctx.Err(); w.err != nil {
				close(w.done)
				continue
			}
			live = append(live, w)
		}
		if len(live) == 0 {
			continue
		}
		calls := make([]T, len(live))
		for i, w := range live {
			calls[i] = w.call
		}
		ctx, stop := batchContext(live)
		b.run(ctx, calls)
		stop()
		for _, w := range live {
			close(w.done)
		}
	}
}

// batchContext is the context of a batch: it holds the first call's values
// and is cancelled once every call's context is done.
func batchContext[T any](ws []*waiter[T]) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ws[0].ctx))
	var left atomic.Int64
	left.Store(int64(len(ws)))
	stops := make([]func() bool, len(ws))
	for i, w := range ws {
		stops[i] = context.AfterFunc(w.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
