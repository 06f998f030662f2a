package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Crash kills the cluster the way a machine crash or the kernel's OOM killer does: SIGKILL to the
// postmaster and every one of its processes at once, with no shutdown checkpoint and no
// goodbye to any client. It then starts the cluster again (pg_ctlcluster start), which must
// recover from the write-ahead log ("If the server crashes … the database is restored by
// replaying WAL from the last checkpoint": https://www.postgresql.org/docs/15/wal-intro.html;
// SIGKILL is the signal the docs warn prevents any cleanup:
// https://www.postgresql.org/docs/15/server-shutdown.html), and waits until it accepts
// connections. It returns the number of processes killed. Root (or the postgres user) only.
func (p Postgres) Crash(ctx context.Context) (int, error) {
	dir, err := p.dataDir(ctx)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("the cluster's postmaster.pid (is it running?): %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid in %s: %w", dir, err)
	}
	pids := append([]int{postmaster}, children(postmaster)...)
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return 0, fmt.Errorf("SIGKILL PostgreSQL process %d: %w", pid, err)
		}
	}
	// Wait until every one is gone, zombies included: the new postmaster refuses to start while
	// the process its socket's lock file names still exists ("lock file … already exists"), and
	// a killed postmaster stays a zombie until its parent (init) reaps it.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, pid := range pids {
		for exists(pid) {
			select {
			case <-wctx.Done():
				return len(pids), fmt.Errorf("PostgreSQL process %d still exists (a zombie nobody reaped?) a minute after SIGKILL: %w", pid, wctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return len(pids), p.ctlcluster(ctx, "start")
}

// exists reports whether a process exists, a zombie included (kill(pid, 0) succeeds for both).
func exists(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// children lists the processes whose parent is pid (/proc/*/stat's ppid).
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after its closing paren.
		_, rest, ok := strings.Cut(string(st), ") ")
		if f := strings.Fields(rest); ok && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// dataDir is the data directory of the cluster on p.Port, from pg_lsclusters.
func (p Postgres) dataDir(ctx context.Context) (string, error) {
	p = p.withDefaults()
	if _, err := exec.LookPath("pg_lsclusters"); err != nil {
		return "", ErrNoPostgres
	}
	out, err := exec.CommandContext(ctx, "pg_lsclusters", "--no-header").Output()
	if err != nil {
		return "", fmt.Errorf("pg_lsclusters: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Ver Cluster Port Status Owner Data-directory Log-file
		if f := strings.Fields(sc.Text()); len(f) >= 6 && f[2] == strconv.Itoa(p.Port) {
			return f[5], nil
		}
	}
	return "", fmt.Errorf("%w: pg_lsclusters lists no cluster on port %d", ErrNoPostgres, p.Port)
}
