package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/controlplane"
	"github.com/switchyard-dr/switchyard/internal/logging"
	"github.com/switchyard-dr/switchyard/internal/temporalconn"
)

const prodUsage = `Usage:
  starter prod up [--dir DIR] [--runbooks DIR] [--workers N] [--no-ui] [--no-intake] [--free-ports]
                  [--regions us-east-1,us-west-2]
        build and run the production topology on this machine until Ctrl-C: PostgreSQL
        (Debian's cluster, started as root), Temporal's four services as processes, the UI,
        workers and the intake, on docker-compose.yml's ports; with --regions, one such
        control plane per Region, connected by Temporal's multi-cluster replication
  starter prod status [--dir DIR] [--json]    the processes of a running topology
  starter prod down [--dir DIR]               stop a topology started in another terminal
  starter prod failover --to REGION [--address HOST:PORT]
        make REGION's Temporal cluster the active cluster of the namespace (TEMPORAL_NAMESPACE),
        through the frontend at --address: during an outage, the surviving Region's own
`

// defaultProdDir holds the topology's configuration, logs, binaries and state.json.
func defaultProdDir() string { return filepath.Join(os.TempDir(), "switchyard-prod") }

// runProd implements `starter prod`: Switchyard's production topology (docker-compose.yml's
// services) run natively, for operators without a container engine and for the reliability
// tests (internal/controlplane).
func runProd(ctx context.Context, args []string, cio cmdIO) error {
	if len(args) == 0 {
		fmt.Fprint(cio.stderr, prodUsage)
		return errors.New("prod: missing subcommand (up, status or down)")
	}
	switch args[0] {
	case "up":
		return runProdUp(ctx, args[1:], cio)
	case "status":
		return runProdStatus(ctx, args[1:], cio)
	case "down":
		return runProdDown(ctx, args[1:], cio)
	case "failover":
		return runProdFailover(ctx, args[1:], cio)
	case "help", "-h", "--help":
		fmt.Fprint(cio.stdout, prodUsage)
		return nil
	}
	fmt.Fprint(cio.stderr, prodUsage)
	return fmt.Errorf("prod: unknown subcommand %q", args[0])
}

func runProdUp(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("prod up", cio)
	dir := fs.String("dir", defaultProdDir(), "folder of the topology's configuration, logs, binaries and state")
	runbooks := fs.String("runbooks", envOr(cio.getenv, "SWITCHYARD_RUNBOOKS", "runbooks"), "runbook folder of the workers and the intake")
	workers := fs.Int("workers", 2, "Switchyard worker processes")
	noUI := fs.Bool("no-ui", false, "run without the Temporal UI")
	noIntake := fs.Bool("no-intake", false, "run without the intake (starter serve)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	freePorts := fs.Bool("free-ports", false, "pick free ports instead of docker-compose.yml's (next to a `starter dev` on 7233)")
	regions := fs.String("regions", "", "comma-separated Regions, e.g. us-east-1,us-west-2: one Temporal cluster per Region, connected, with a global namespace active in the first (default: one cluster)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *workers < 0 {
		return fmt.Errorf("prod up: --workers %d: want 0 or more", *workers)
	}
	logger, err := logging.New(cio.stderr, "text", *logLevel)
	if err != nil {
		return err
	}
	if sts, err := controlplane.ReadStates(*dir); err == nil && alive(sts[0].Supervisor) {
		return fmt.Errorf("prod up: a topology is already running from %s (pid %d); `starter prod down --dir %s` stops it", *dir, sts[0].Supervisor, *dir)
	}
	root, err := controlplane.ModuleRoot(".")
	if err != nil {
		return fmt.Errorf("prod up builds the Temporal server and Switchyard from the checkout: %w", err)
	}
	rb, err := filepath.Abs(*runbooks)
	if err != nil {
		return err
	}
	began := time.Now()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(cio.stdout, "building the Temporal server, its SQL tool and the worker into %s\n", filepath.Join(*dir, "bin"))
	bins, err := controlplane.Build(ctx, root, filepath.Join(*dir, "bin"), self)
	if err != nil {
		return err
	}
	built := time.Since(began)
	n := *workers
	if n == 0 {
		n = -1
	}
	base := controlplane.Options{Binaries: bins, UI: !*noUI, Workers: n, Intake: !*noIntake, Runbooks: rb, FreePorts: *freePorts, Logger: logger}
	var topos []*controlplane.Topology
	if *regions == "" {
		base.Dir = *dir
		topo, err := controlplane.Start(ctx, base)
		if err != nil {
			return err
		}
		topos = append(topos, topo)
	} else {
		// One cluster per Region, each with its own database and ports (the first on
		// docker-compose.yml's, the next 1000 higher), connected, the namespace global.
		var opts []controlplane.Options
		for i, region := range strings.Split(*regions, ",") {
			o := base
			o.Dir = filepath.Join(*dir, region)
			o.Database = controlplane.DefaultDatabase + "_" + strings.ReplaceAll(region, "-", "_")
			o.VisibilityDatabase = o.Database + "_visibility"
			o.PortOffset = 1000 * i
			o.Cluster = controlplane.ClusterOptions{Name: region, InitialFailoverVersion: i + 1}
			opts = append(opts, o)
		}
		r, err := controlplane.StartRegions(ctx, opts)
		if err != nil {
			return err
		}
		topos = r.Clusters
	}
	defer func() {
		for _, t := range topos {
			_ = t.Stop()
		}
	}()
	fmt.Fprintf(cio.stdout, "built in %s\n", built.Round(time.Second))
	for _, topo := range topos {
		tm := topo.Timings
		fmt.Fprintf(cio.stdout, "\nstarted in %s (PostgreSQL %s, schema %s, services %s, namespace %s, Switchyard %s)\n",
			tm.Total.Round(time.Millisecond), tm.Postgres.Round(time.Millisecond), tm.Schema.Round(time.Millisecond),
			tm.Services.Round(time.Millisecond), tm.Namespace.Round(time.Millisecond), tm.Switchyard.Round(time.Millisecond))
		fmt.Fprintf(cio.stdout, "Temporal cluster %s: frontend %s, namespace %s; UI %s; PostgreSQL %s\n", topo.Cluster(), topo.FrontendAddress(), topo.Namespace(), orNone(topo.UIURL()), topo.Postgres().Address())
		printProcesses(cio, topo.Processes())
	}
	fmt.Fprintln(cio.stdout, "\nCtrl-C (or `starter prod down`) stops it.")
	<-ctx.Done()
	fmt.Fprintln(cio.stdout, "stopping")
	var errs []error
	for _, t := range topos {
		errs = append(errs, t.Stop())
	}
	return errors.Join(errs...)
}

func printProcesses(cio cmdIO, procs []*controlplane.Process) {
	tw := tabwriter.NewWriter(cio.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tPID\tLOG")
	for _, p := range procs {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", p.Name, p.Pid(), p.LogFile())
	}
	_ = tw.Flush()
}

// alive reports whether a process exists (signal 0 checks without sending anything).
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func runProdStatus(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("prod status", cio)
	dir := fs.String("dir", defaultProdDir(), "folder the topology was started with")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	sts, err := controlplane.ReadStates(*dir)
	if err != nil {
		return err
	}
	type procStatus struct {
		controlplane.ProcessState
		Running bool `json:"running"`
	}
	type clusterStatus struct {
		Supervisor int          `json:"supervisor"`
		Running    bool         `json:"supervisor_running"`
		Cluster    string       `json:"cluster"`
		Frontend   string       `json:"frontend"`
		Serving    bool         `json:"frontend_serving"`
		Namespace  string       `json:"namespace"`
		Active     string       `json:"active_cluster,omitempty"`
		UI         string       `json:"ui,omitempty"`
		Processes  []procStatus `json:"processes"`
	}
	var all []clusterStatus
	for _, st := range sts {
		out := clusterStatus{Supervisor: st.Supervisor, Running: alive(st.Supervisor), Cluster: st.Cluster, Frontend: st.Frontend, Namespace: st.Namespace, UI: st.UI}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if c, err := client.DialContext(hctx, client.Options{HostPort: st.Frontend, Namespace: st.Namespace, Logger: nopSDKLogger{}}); err == nil {
			_, herr := c.CheckHealth(hctx, &client.CheckHealthRequest{})
			out.Serving = herr == nil
			if d, err := c.WorkflowService().DescribeNamespace(hctx, &workflowservice.DescribeNamespaceRequest{Namespace: st.Namespace}); err == nil {
				out.Active = d.GetReplicationConfig().GetActiveClusterName()
			}
			c.Close()
		}
		cancel()
		for _, p := range st.Processes {
			out.Processes = append(out.Processes, procStatus{ProcessState: p, Running: alive(p.Pid)})
		}
		all = append(all, out)
	}
	if *asJSON {
		return writeJSON(cio.stdout, all)
	}
	for _, out := range all {
		fmt.Fprintf(cio.stdout, "cluster %s: supervisor pid %d running=%v; frontend %s serving=%v; namespace %s active in %s; UI %s\n",
			out.Cluster, out.Supervisor, out.Running, out.Frontend, out.Serving, out.Namespace, orNone(out.Active), orNone(out.UI))
		tw := tabwriter.NewWriter(cio.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROCESS\tPID\tRUNNING\tLOG")
		for _, p := range out.Processes {
			fmt.Fprintf(tw, "%s\t%d\t%v\t%s\n", p.Name, p.Pid, p.Running, p.Log)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func runProdDown(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("prod down", cio)
	dir := fs.String("dir", defaultProdDir(), "folder the topology was started with")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	sts, err := controlplane.ReadStates(*dir)
	if err != nil {
		return err
	}
	// The supervisor stops its processes in order and removes state.json; without it, each
	// process listed is asked to stop.
	var pids []int
	for _, st := range sts {
		if alive(st.Supervisor) {
			pids = append(pids, st.Supervisor)
			continue
		}
		for _, p := range st.Processes {
			pids = append(pids, p.Pid)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := 0
		for _, pid := range pids {
			if alive(pid) {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prod down: %d processes still running after 60s", left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	_ = os.Remove(filepath.Join(*dir, "state.json"))
	if subs, _ := filepath.Glob(filepath.Join(*dir, "*", "state.json")); len(subs) > 0 {
		for _, f := range subs {
			_ = os.Remove(f)
		}
	}
	fmt.Fprintln(cio.stdout, "stopped")
	return nil
}

// runProdFailover is what an operator types when a Region's control plane is gone: the global
// namespace's active cluster becomes the surviving Region's, whose workers then run the
// replicated runs on. It refuses, changing nothing, a namespace that is not global and a cluster
// that is not one of the namespace's or not connected.
func runProdFailover(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("prod failover", cio)
	var conn connFlags
	conn.register(fs)
	to := fs.String("to", "", "the Region (Temporal cluster name) to make active, e.g. us-west-2")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("prod failover: --to REGION is required")
	}
	copts, err := conn.options(cio, nil)
	if err != nil {
		return err
	}
	copts.Logger = nopSDKLogger{}
	c, err := temporalconn.Dial(ctx, copts)
	if err != nil {
		return err
	}
	defer c.Close()
	from, err := controlplane.Failover(ctx, c.WorkflowService(), c.OperatorService(), copts.Namespace, *to)
	if err != nil {
		return err
	}
	out := struct {
		Namespace string `json:"namespace"`
		From      string `json:"from"`
		To        string `json:"to"`
		Changed   bool   `json:"changed"`
	}{copts.Namespace, from, *to, from != *to}
	if conn.json {
		return writeJSON(cio.stdout, out)
	}
	if !out.Changed {
		fmt.Fprintf(cio.stdout, "namespace %s is already active in %s\n", out.Namespace, out.To)
		return nil
	}
	fmt.Fprintf(cio.stdout, "namespace %s: active cluster %s -> %s\n", out.Namespace, out.From, out.To)
	return nil
}

// nopSDKLogger keeps the SDK's connection warnings out of `prod status`.
type nopSDKLogger struct{}

func (nopSDKLogger) Debug(string, ...any) {}
func (nopSDKLogger) Info(string, ...any)  {}
func (nopSDKLogger) Warn(string, ...any)  {}
func (nopSDKLogger) Error(string, ...any) {}
