package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// RequirePostgres skips t when this machine cannot run the PostgreSQL topology (no Debian
// PostgreSQL cluster, or not root to start it), and fails it instead when required is true, as
// CI makes it (its test environment variable is named in the callers' tests): CI installs Debian's
// postgresql package, so a skip there would hide a broken proof.
func RequirePostgres(t testing.TB, pg Postgres, required bool) {
	t.Helper()
	err := Available(context.Background(), pg)
	if err == nil {
		return
	}
	if required {
		t.Fatalf("the PostgreSQL topology is required but cannot run: %v", err)
	}
	t.Skipf("PostgreSQL topology not available (CI requires it): %v", err)
}

// LockPostgres holds an exclusive lock until t ends: the tests of several packages share the
// machine's cluster, and one of them restarts it, which must not happen under another's
// topology. Tests take it after building their binaries, so a build does not hold up the others.
func LockPostgres(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "switchyard-postgres-tests.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("lock the PostgreSQL tests: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock the PostgreSQL tests: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
}

// Available says why the PostgreSQL topology cannot run here, or nil.
func Available(ctx context.Context, pg Postgres) error {
	if _, _, err := pg.cluster(ctx); err != nil {
		return err
	}
	if !pg.Ready(ctx) && os.Geteuid() != 0 {
		return fmt.Errorf("PostgreSQL on port %d is down and only root can start it with pg_ctlcluster", pg.withDefaults().Port)
	}
	return nil
}
