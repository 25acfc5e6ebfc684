package flows

import (
	"context"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/batch"
	"github.com/onboard-dev/onboard/internal/store"
)

// Group commit of jobs: each job written by a request is a commit, and each
// commit waits for a WAL flush (on SQLite, for the writer slot too). The
// jobs of the requests that arrive while one is being written wait for it
// and are then written together, one commit (store.EnqueueJobs). A request
// alone goes at once; each request still answers only once its own job is
// committed, and gets its own error: when the shared write fails, each job
// is written again on its own.

// maxJobBatch is the most jobs written by one statement.
const maxJobBatch = 128

// jobCall is one job to be written, by the request of ctx to st; err is
// its own answer.
type jobCall struct {
	ctx context.Context
	st  *store.Store
	job store.Job
	at  time.Time
	err error
}

// jobQueue writes jobs one batch at a time (package batch): a job arriving
// while none is being written is written at once; the jobs arriving
// meanwhile are queued and written together, by one goroutine, when it is
// done. The zero value is ready for use.
type jobQueue struct {
	once    sync.Once
	batcher *batch.Batcher[*jobCall]
}

// enqueue writes j, due at, to st, alone or with the jobs concurrent with it.
func (q *jobQueue) enqueue(ctx context.Context, st *store.Store, j store.Job, at time.Time) error {
	q.once.Do(func() { q.batcher = batch.New(maxJobBatch, writeJobs) })
	call := &jobCall{ctx: ctx, st: st, job: j, at: at}
	if err := q.batcher.Do(ctx, call); err != nil {
		// As with a statement cancelled in flight, the job may still be
		// written.
		return err
	}
	return call.err
}

// writeJobs writes the jobs of calls in one statement, in the context of
// the batch; if it fails, each on its own in its call's context, so that
// each call gets its own error.
func writeJobs(ctx context.Context, calls []*jobCall) {
	st := calls[0].st
	if len(calls) == 1 {
		calls[0].err = st.EnqueueJob(ctx, calls[0].job, calls[0].at)
		return
	}
	jobs, at := make([]store.Job, len(calls)), make([]time.Time, len(calls))
	for i, c := range calls {
		jobs[i], at[i] = c.job, c.at
	}
	if st.EnqueueJobs(ctx, jobs, at) == nil {
		return
	}
	for _, c := range calls {
		c.err = c.st.EnqueueJob(c.ctx, c.job, c.at)
	}
}
