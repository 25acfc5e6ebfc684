package flows

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/store"
)

// Group commit of jobs on PostgreSQL: each job written by a request is a
// commit, and each commit waits for a WAL flush. The jobs of the requests
// that arrive while one is being written wait for it and are then written
// together by one statement, one commit. A request alone goes at once; each
// request still answers only once its own job is committed, and gets its own
// error: when the shared statement fails, each job is written again on its
// own. On SQLite (one writer at a time anyway) every job is written on its
// own.

// maxJobBatch is the most jobs written by one statement.
const maxJobBatch = 128

// jobCall is one job waiting to be written.
type jobCall struct {
	ctx  context.Context
	job  store.Job
	at   time.Time
	done chan struct{} // closed once err is set
	err  error
}

// jobQueue writes jobs one batch at a time: a job arriving while none is
// being written is written at once; the jobs arriving meanwhile are queued
// and written together, by one goroutine, when it is done. The zero value is
// ready for use.
type jobQueue struct {
	mu    sync.Mutex
	busy  bool
	queue []*jobCall
}

// enqueue writes j, due at, to st, alone or with the jobs concurrent with it.
func (q *jobQueue) enqueue(ctx context.Context, st *store.Store, j store.Job, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		err := st.EnqueueJob(ctx, j, at)
		q.handOff(st)
		return err
	}
	call := &jobCall{ctx: ctx, job: j, at: at, done: make(chan struct{})}
	q.queue = append(q.queue, call)
	q.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		// As with a statement cancelled in flight, the job may still be
		// written.
		return ctx.Err()
	}
}

// handOff ends the caller's turn: the jobs queued meanwhile go to a
// goroutine that writes them, so that the caller can answer.
func (q *jobQueue) handOff(st *store.Store) {
	q.mu.Lock()
	if len(q.queue) == 0 {
		q.busy = false
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	go q.drain(st)
}

// drain writes the queued jobs in batches until the queue is empty.
func (q *jobQueue) drain(st *store.Store) {
	for {
		q.mu.Lock()
		n := min(len(q.queue), maxJobBatch)
		if n == 0 {
			q.busy = false
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.queue[:n])
		q.queue = slices.Delete(q.queue, 0, n)
		if len(q.queue) == 0 {
			q.queue = nil
		}
		q.mu.Unlock()
		writeJobs(st, batch)
		for _, c := range batch {
			close(c.done)
		}
	}
}

// writeJobs writes the jobs of the calls still waiting in one statement; if
// it fails, each on its own, so that each call gets its own error.
func writeJobs(st *store.Store, batch []*jobCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if c.err = c.ctx.Err(); c.err == nil {
			live = append(live, c)
		}
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].err = st.EnqueueJob(live[0].ctx, live[0].job, live[0].at)
		return
	}
	ctx, stop := jobBatchContext(live)
	defer stop()
	jobs, at := make([]store.Job, len(live)), make([]time.Time, len(live))
	for i, c := range live {
		jobs[i], at[i] = c.job, c.at
	}
	if st.EnqueueJobs(ctx, jobs, at) == nil {
		return
	}
	for _, c := range live {
		c.err = st.EnqueueJob(c.ctx, c.job, c.at)
	}
}

// jobBatchContext is the context of a batch's statement: it holds the first
// call's values and is cancelled once every call's context is done.
func jobBatchContext(calls []*jobCall) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(calls[0].ctx))
	left := len(calls)
	var mu sync.Mutex
	stops := make([]func() bool, len(calls))
	for i, c := range calls {
		stops[i] = context.AfterFunc(c.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
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
