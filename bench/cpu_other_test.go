//go:build !linux

package bench

import "time"

// Outside Linux there is no /proc: the CPU figures are not reported.

type cpuSample struct {
	at       time.Time
	self     time.Duration
	postgres time.Duration
	backends map[int]time.Duration
	busy     time.Duration
	ok       bool
}

func sampleCPU() cpuSample { return cpuSample{at: time.Now()} }
