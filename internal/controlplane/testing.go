package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// RequirePostgres skips t when this machine cannot run the PostgreSQL topology (no Debian
// PostgreSQL cluster, or not root to start it), and fails it instead when
// SWITCHYARD_POSTGRES_TEST=require, as CI sets it: CI installs Debian's postgresql package, so a
// skip there would hide a broken proof.
func RequirePostgres(t testing.TB, pg Postgres) {
	t.Helper()
	err := Available(context.Background(), pg)
	if err == nil {
		return
	}
	if os.Getenv("SWITCHYARD_POSTGRES_TEST") == "require" {
		t.Fatalf("SWITCHYARD_POSTGRES_TEST=require but PostgreSQL cannot be used: %v", err)
	}
	t.Skipf("PostgreSQL topology not available (set SWITCHYARD_POSTGRES_TEST=require to fail instead): %v", err)
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
