package bench

import (
	"runtime"
	"time"
)

// cpuUse is the CPU spent between two samples.
type cpuUse struct {
	wall    time.Duration
	service time.Duration // this process, plus the PostgreSQL server when it serves the benchmark
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
		u.service += b.postgres - a.postgres
	}
	u.others = max(0, b.busy-a.busy-u.service)
	return u
}

// add returns the CPU spent in u and v, two disjoint intervals.
func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{wall: u.wall + v.wall, service: u.service + v.service, others: u.others + v.others, ok: u.ok && v.ok}
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
