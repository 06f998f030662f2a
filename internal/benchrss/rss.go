// Package benchrss reads a process's resident memory from /proc, for the benchmarks that report
// it: the starter's and the processes it runs (the backfill engine, the worker).
package benchrss

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Current is this process's resident set now, or 0 where /proc is not available.
func Current() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// Peak is this process's peak resident set (VmHWM), or 0 where /proc is not available.
func Peak() int64 { return PeakOf("self") }

// PeakOf is the peak resident set (VmHWM) of process pid ("self" or a number), or 0 where it
// cannot be read (no /proc, or the process is gone).
func PeakOf(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	return ParseVmHWM(string(b))
}

// ParseVmHWM reads the VmHWM line of a /proc/PID/status text, in bytes; 0 without one.
func ParseVmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// Sample records the largest resident set of this process until the returned function is
// called, which returns it.
func Sample() func() int64 {
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		peak := Current()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- max(peak, Current())
				return
			case <-t.C:
				peak = max(peak, Current())
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}
