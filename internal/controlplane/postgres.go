package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Postgres is a PostgreSQL cluster of Debian's packages (postgresql-common's pg_ctlcluster and
// pg_lsclusters), the same PostgreSQL the compose file's postgres image runs, managed as the
// machine's administrator manages it. It needs root (or the postgres user) for Start, Restart
// and EnsureRole; Temporal itself connects over TCP with a password, as in compose.
type Postgres struct {
	// Host and Port are where the cluster listens; default 127.0.0.1:5432.
	Host string
	Port int
	// User and Password are the role Temporal connects as; EnsureRole creates it with CREATEDB,
	// because the schema tool creates Temporal's databases itself (compose: POSTGRES_USER).
	User, Password string
}

func (p Postgres) withDefaults() Postgres {
	if p.Host == "" {
		p.Host = "127.0.0.1"
	}
	if p.Port == 0 {
		p.Port = 5432
	}
	if p.User == "" {
		p.User = DefaultPostgresUser
	}
	if p.Password == "" {
		p.Password = DefaultPostgresPassword
	}
	return p
}

// Address is host:port for Temporal's connectAddr.
func (p Postgres) Address() string {
	p = p.withDefaults()
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

// ErrNoPostgres means this machine has no PostgreSQL cluster of Debian's packages; tests skip on
// it unless SWITCHYARD_POSTGRES_TEST=require.
var ErrNoPostgres = errors.New("no PostgreSQL cluster (install Debian's postgresql package: apt-get install postgresql)")

// cluster finds the Debian cluster (version and name) that listens on p.Port, from pg_lsclusters.
func (p Postgres) cluster(ctx context.Context) (version, name string, err error) {
	p = p.withDefaults()
	if _, err := exec.LookPath("pg_lsclusters"); err != nil {
		return "", "", ErrNoPostgres
	}
	out, err := exec.CommandContext(ctx, "pg_lsclusters", "--no-header").Output()
	if err != nil {
		return "", "", fmt.Errorf("pg_lsclusters: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// Ver Cluster Port Status Owner Data-directory Log-file
		if len(f) >= 3 && f[2] == strconv.Itoa(p.Port) {
			return f[0], f[1], nil
		}
	}
	return "", "", fmt.Errorf("%w: pg_lsclusters lists no cluster on port %d", ErrNoPostgres, p.Port)
}

// Ready reports whether the cluster accepts connections (pg_isready).
func (p Postgres) Ready(ctx context.Context) bool {
	p = p.withDefaults()
	return exec.CommandContext(ctx, "pg_isready", "-q", "-h", p.Host, "-p", strconv.Itoa(p.Port)).Run() == nil
}

// Start starts the cluster unless it is running, and waits until it accepts connections.
func (p Postgres) Start(ctx context.Context) error {
	if p.Ready(ctx) {
		return nil
	}
	return p.ctlcluster(ctx, "start")
}

// Restart restarts the cluster (pg_ctlcluster restart: a fast shutdown that ends every
// connection, then a start) and waits until it accepts connections again.
func (p Postgres) Restart(ctx context.Context) error { return p.ctlcluster(ctx, "restart") }

// Stop stops the cluster (fast shutdown).
func (p Postgres) Stop(ctx context.Context) error {
	ver, name, err := p.cluster(ctx)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "pg_ctlcluster", ver, name, "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctlcluster %s %s stop: %w: %s", ver, name, err, bytes.TrimSpace(out))
	}
	return nil
}

func (p Postgres) ctlcluster(ctx context.Context, action string) error {
	ver, name, err := p.cluster(ctx)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "pg_ctlcluster", ver, name, action).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctlcluster %s %s %s (as root, or as the postgres user): %w: %s", ver, name, action, err, bytes.TrimSpace(out))
	}
	for !p.Ready(ctx) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL %s/%s on port %d is not accepting connections after %s: %w", ver, name, p.withDefaults().Port, action, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// EnsureRole creates Temporal's login role with CREATEDB unless it exists, through psql as the
// postgres superuser (runuser when this process is root).
func (p Postgres) EnsureRole(ctx context.Context) error {
	p = p.withDefaults()
	exists, err := p.superuserSQL(ctx, fmt.Sprintf("SELECT 1 FROM pg_roles WHERE rolname = %s", quoteLiteral(p.User)))
	if err != nil {
		return err
	}
	if strings.TrimSpace(exists) == "1" {
		return nil
	}
	_, err = p.superuserSQL(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD %s", quoteIdent(p.User), quoteLiteral(p.Password)))
	return err
}

// DropDatabase drops a database if it exists (tests clean up after themselves).
func (p Postgres) DropDatabase(ctx context.Context, db string) error {
	_, err := p.superuserSQL(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)+" WITH (FORCE)")
	return err
}

func (p Postgres) superuserSQL(ctx context.Context, sql string) (string, error) {
	return p.superuserSQLIn(ctx, "postgres", sql)
}

// Query runs a query in database db as the postgres superuser and returns psql's unaligned
// output (one row a line, columns separated by |).
func (p Postgres) Query(ctx context.Context, db, sql string) (string, error) {
	return p.superuserSQLIn(ctx, db, sql)
}

func (p Postgres) superuserSQLIn(ctx context.Context, db, sql string) (string, error) {
	p = p.withDefaults()
	args := []string{"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-p", strconv.Itoa(p.Port), "-d", db, "-c", sql}
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, args[0], args[1:]...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("psql as the postgres superuser (%s): %w: %s", sql, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// SchemaTool applies Temporal's SQL schema with the server's own tool (temporal-sql-tool, built
// from go.temporal.io/server/cmd/tools/sql) and the schema files the server module ships, the
// steps the compose file's temporal-schema service runs. Every step is idempotent.
type SchemaTool struct {
	// Path is the temporal-sql-tool binary; SchemaDir the module's schema/postgresql/v12.
	Path, SchemaDir string
}

// Apply creates db and visibilityDB if missing and brings both schemas up to date.
func (s SchemaTool) Apply(ctx context.Context, pg Postgres, db, visibilityDB string) error {
	pg = pg.withDefaults()
	for _, d := range []struct{ db, dir string }{{db, "temporal"}, {visibilityDB, "visibility"}} {
		base := []string{"--plugin", SQLPlugin, "--ep", pg.Host, "-p", strconv.Itoa(pg.Port), "-u", pg.User, "--pw", pg.Password, "--db", d.db}
		for _, step := range SchemaSteps(s.SchemaDir, d.dir) {
			cmd := exec.CommandContext(ctx, s.Path, append(base, step...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal-sql-tool --db %s %s: %w: %s", d.db, strings.Join(step, " "), err, lastLines(out, 5))
			}
		}
	}
	return nil
}

// SchemaSteps are temporal-sql-tool's commands for one database: create it, set up the schema's
// version table, and apply every versioned schema file. schema is "temporal" or "visibility".
// Compose's temporal-schema service runs the same commands (TestComposeInStep).
func SchemaSteps(schemaDir, schema string) [][]string {
	return [][]string{
		{"create"},
		{"setup-schema", "-v", "0.0"},
		{"update-schema", "-d", schemaDir + "/" + schema + "/versioned"},
	}
}

// lastLines keeps the end of a tool's output for an error message.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	// Server logs carry stack traces in each JSON line; the message and error come first.
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}
