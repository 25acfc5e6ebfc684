package bench

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The benchmarks share the machine with whatever else runs on it, and on a
// small shared VM that can be a lot: a wall-clock rate measured while a
// neighbour burns a core is worth little. So each timed part also samples CPU
// time: this process's (getrusage), the PostgreSQL server's (every process
// named "postgres" in /proc), and the whole machine's (/proc/stat). The
// difference is the CPU used by others during the measurement: noise_pct.

// clockTick is USER_HZ, the unit of /proc/stat and /proc/<pid>/stat; it is
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

type cpuSample struct {
	at       time.Time
	self     time.Duration // this process, user + system
	postgres time.Duration // processes named "postgres", user + system
	// backends is the CPU of each backend serving this benchmark, by pid,
	// when they are known (see ownBackends); then postgres is unused.
	backends map[int]time.Duration
	busy     time.Duration // machine, every CPU: time not idle (steal included)
	ok       bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	busy, ok := machineBusy()
	if !ok {
		return s
	}
	s.busy = busy
	s.postgres, s.backends = postgresCPU()
	s.ok = true
	return s
}

// machineBusy reads the first line of /proc/stat:
// cpu user nice system idle iowait irq softirq steal guest guest_nice.
func machineBusy() (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, true
}

// postgresCPU sums the CPU time of the PostgreSQL server processes visible
// here (backends and background workers of a local server). When the
// benchmark's own backends are known (ownBackends), it returns theirs by
// pid instead, so that other work on the same server is not counted.
func postgresCPU() (time.Duration, map[int]time.Duration) {
	if pids, ok := ownBackends.pids(); ok {
		out := make(map[int]time.Duration, len(pids))
		for _, pid := range pids {
			if raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
				if d, ok := procCPU(raw); ok {
					out[pid] = d
				}
			}
		}
		return 0, out
	}
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil
	}
	var total time.Duration
	for _, e := range dir {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || close < open || string(raw[open+1:close]) != "postgres" {
			continue
		}
		if d, ok := procCPU(raw); ok {
			total += d
		}
	}
	return total, nil
}

// procCPU is the user + system time of a /proc/<pid>/stat line: fields 14
// and 15, i.e. the 12th and 13th after the closing parenthesis of comm.
func procCPU(raw []byte) (time.Duration, bool) {
	close := bytes.LastIndexByte(raw, ')')
	if close < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[close+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}
