package bench

import (
	"context"
	"database/sql"
	"net/url"
	"runtime"
	"sync"
	"time"
)

// ownBackends finds the PostgreSQL backends serving a postgres
// sub-benchmark: its connections carry an application_name of their own
// (see forEachEngine), and a connection of another name lists them in
// pg_stat_activity. The machine's PostgreSQL server is shared (other tests,
// other benchmarks): counting every "postgres" process would count theirs.
// The server's background processes (WAL writer, checkpointer) are then
// left out.
var ownBackends backendWatch

type backendWatch struct {
	mu  sync.Mutex
	db  *sql.DB
	app string
}

// watch names the benchmark's backends by app, listing them through a
// connection to dsn; it returns the DSN the benchmark connects with.
func (w *backendWatch) watch(dsn, app string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("application_name", app+"-watch")
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return "", err
	}
	db.SetMaxOpenConns(1)
	w.mu.Lock()
	w.db, w.app = db, app
	w.mu.Unlock()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (w *backendWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db != nil {
		w.db.Close()
	}
	w.db, w.app = nil, ""
}

// pids lists the benchmark's backends; ok is false when none is watched.
func (w *backendWatch) pids() ([]int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := w.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, w.app)
	if err != nil {
		return nil, false
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out = append(out, pid)
		}
	}
	return out, rows.Err() == nil
}

// cpuUse is the CPU spent between two samples.
type cpuUse struct {
	wall    time.Duration
	service time.Duration // this process, plus the PostgreSQL server when it serves the benchmark
	pg      time.Duration // the PostgreSQL server's part of service
	others  time.Duration // every other process on the machine, and steal
	ok      bool
}

// cpuBetween returns the CPU spent from a to b. withPostgres counts the
// PostgreSQL server as part of the service (the postgres sub-benchmarks);
// otherwise its CPU is someone else's.
func cpuBetween(a, b cpuSample, withPostgres bool) cpuUse {
	u := cpuUse{wall: b.at.Sub(a.at), ok: a.ok && b.ok}
	if !u.ok {
		return u
	}
	u.service = b.self - a.self
	if withPostgres {
		u.pg = b.postgres - a.postgres
		// A backend that appeared in between counts from zero; one that
		// ended in between is lost (the pools keep theirs open).
		for pid, d := range b.backends {
			u.pg += d - a.backends[pid]
		}
		u.service += u.pg
	}
	u.others = max(0, b.busy-a.busy-u.service)
	return u
}

// add returns the CPU spent in u and v, two disjoint intervals.
func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{wall: u.wall + v.wall, service: u.service + v.service, pg: u.pg + v.pg, others: u.others + v.others, ok: u.ok && v.ok}
}

// capacity is the CPU time the machine had in the interval.
func (u cpuUse) capacity() time.Duration { return u.wall * time.Duration(runtime.NumCPU()) }

// noisePct is the share of the machine's CPU others used: above a few per
// cent, the wall-clock figures of the interval understate the service.
func (u cpuUse) noisePct() float64 {
	return 100 * float64(u.others) / float64(u.capacity())
}

// utilPct is the share of the machine's CPU the service used.
func (u cpuUse) utilPct() float64 {
	return 100 * float64(u.service) / float64(u.capacity())
}

// msPer is the service's CPU time per operation, in milliseconds.
func (u cpuUse) msPer(n int) float64 {
	return float64(u.service) / float64(time.Millisecond) / float64(n)
}

// pgMsPer is the PostgreSQL server's part of msPer.
func (u cpuUse) pgMsPer(n int) float64 {
	return float64(u.pg) / float64(time.Millisecond) / float64(n)
}
