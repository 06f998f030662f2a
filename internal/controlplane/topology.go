// Package controlplane runs Switchyard's production topology natively on one machine, without a
// container engine: PostgreSQL from Debian's packages, the real Temporal server (built from
// go.temporal.io/server at the version go.mod pins) with its schema applied by the server's own
// SQL schema tool, its four services as separate processes (history, matching, frontend and the
// internal worker), the Temporal Web UI, two Switchyard worker processes and the intake
// (`starter serve`). docker-compose.yml is the container form of the same topology; the values
// they share live in config.go and a test keeps them in step.
//
// It exists so that the engine users run in production, not only `starter dev`'s embedded SQLite
// server, is what Switchyard's reliability tests break: they kill a history process with SIGKILL
// and restart PostgreSQL under a running drill (see docs/reliability.md).
package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Options configures Start.
type Options struct {
	// Dir holds the rendered configuration, the process logs and state.json. Required.
	Dir string
	// Binaries are the programs to run (see Build). Required.
	Binaries Binaries
	// Postgres is the cluster to use; its zero value is Debian's default cluster on
	// 127.0.0.1:5432 with compose's temporal/temporal role.
	Postgres Postgres
	// Database and VisibilityDatabase default to compose's temporal and temporal_visibility.
	Database, VisibilityDatabase string
	// Namespace defaults to "default"; Retention to 720h.
	Namespace string
	Retention time.Duration
	// IP every listener binds to; default 127.0.0.1.
	IP string
	// FreePorts picks free ports for everything (tests); otherwise the compose file's published
	// ports are used (frontend 7233, UI 8080, intake 8081, metrics 9090 and 9091) and the
	// internal services take the ports of the server's development config (7234, 7235, 7239,
	// membership 6933-6939, frontend HTTP 7243).
	FreePorts bool
	// FrontendPort overrides the frontend's gRPC port (0: 7233, or a free one with FreePorts).
	FrontendPort int
	// PortOffset is added to every fixed port (not with FreePorts), so a second Region's
	// cluster runs next to the first on one machine: 1000 puts its frontend on 8233.
	PortOffset int
	// UI serves the Temporal Web UI in this process.
	UI bool
	// Workers is how many Switchyard worker processes to run (0: 2; negative: none).
	Workers int
	// Intake runs `starter serve`; it needs Runbooks to have trigger rules or Slack settings.
	Intake bool
	// Runbooks is the runbook folder of the workers and the intake (SWITCHYARD_RUNBOOKS).
	Runbooks string
	// Env adds to the Switchyard processes' environment (after this process's environment).
	Env map[string]string
	// ServerLogLevel is the Temporal server's log level; default "warn".
	ServerLogLevel string
	// NumHistoryShards defaults to 4, as the server's development config.
	NumHistoryShards int
	// Cluster names this Temporal cluster and its multi-cluster settings; the zero value is a
	// single cluster named "active", as compose's server.
	Cluster ClusterOptions
	// Logger receives progress messages; default discards them.
	Logger *slog.Logger

	// skipNamespace and deferSwitchyard are StartRegions' stages: the namespace of connected
	// clusters is registered once, as a global namespace, after the clusters are connected,
	// and the Switchyard processes start after it reached every cluster.
	skipNamespace, deferSwitchyard bool
}

// ClusterOptions are the server's clusterMetadata for one cluster of a multi-cluster setup.
type ClusterOptions struct {
	// Name is this cluster's name (currentClusterName); default "active".
	Name string
	// InitialFailoverVersion must differ between connected clusters; default 1.
	InitialFailoverVersion int
	// Global enables global namespaces (enableGlobalNamespace) and registers Namespace as a
	// global namespace replicated to every cluster of Peers, active in Name.
	Global bool
	// FailoverVersionIncrement must be the same in every connected cluster; default 10.
	FailoverVersionIncrement int
	// Master is the master cluster (namespace registration happens there); default Name.
	Master string
	// Peers are the other clusters, listed in this cluster's configuration.
	Peers []ClusterInfo
}

// Timings are what Start measured, for docs/reliability.md.
type Timings struct {
	Postgres, Schema, Services, Namespace, Switchyard, Total time.Duration
}

// Topology is a running topology.
type Topology struct {
	opts     Options
	ports    map[string]servicePorts
	frontend string
	procs    []*Process
	ui       *uiServer
	client   client.Client
	// Timings are the start-up phases' durations.
	Timings Timings
	mu      sync.Mutex
}

func (o Options) withDefaults() Options {
	o.Postgres = o.Postgres.withDefaults()
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if o.VisibilityDatabase == "" {
		o.VisibilityDatabase = DefaultVisibilityDatabase
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention, _ = time.ParseDuration(DefaultRetention)
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.ServerLogLevel == "" {
		o.ServerLogLevel = "warn"
	}
	if o.NumHistoryShards == 0 {
		o.NumHistoryShards = 4
	}
	if o.Cluster.Name == "" {
		o.Cluster.Name = "active"
	}
	if o.Cluster.InitialFailoverVersion == 0 {
		o.Cluster.InitialFailoverVersion = 1
	}
	if o.Cluster.FailoverVersionIncrement == 0 {
		o.Cluster.FailoverVersionIncrement = 10
	}
	if o.Cluster.Master == "" {
		o.Cluster.Master = o.Cluster.Name
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("controlplane: Dir is required"))
	}
	if o.Binaries.TemporalServer == "" || o.Binaries.SQLTool == "" || o.Binaries.SchemaDir == "" {
		errs = append(errs, errors.New("controlplane: Binaries (temporal-server, temporal-sql-tool, schema dir) are required; see Build"))
	}
	if (o.Workers > 0 || o.Intake) && o.Runbooks == "" {
		errs = append(errs, errors.New("controlplane: Runbooks is required to run workers or the intake"))
	}
	if o.Workers > 0 && o.Binaries.Worker == "" {
		errs = append(errs, errors.New("controlplane: Binaries.Worker is required to run workers"))
	}
	if o.Intake && o.Binaries.Starter == "" {
		errs = append(errs, errors.New("controlplane: Binaries.Starter is required to run the intake"))
	}
	if net.ParseIP(o.IP) == nil {
		errs = append(errs, fmt.Errorf("controlplane: IP %q is not an IP address", o.IP))
	}
	return errors.Join(errs...)
}

// fixedPorts are the server development config's ports (config/development-postgres12.yaml).
var fixedPorts = map[string]servicePorts{
	"frontend": {GRPC: 7233, Membership: 6933, HTTP: 7243},
	"history":  {GRPC: 7234, Membership: 6934},
	"matching": {GRPC: 7235, Membership: 6935},
	"worker":   {GRPC: 7239, Membership: 6939},
}

func (o Options) servicePorts() (map[string]servicePorts, error) {
	ports := map[string]servicePorts{}
	for _, name := range serviceNames {
		p := fixedPorts[name]
		p.GRPC += o.PortOffset
		p.Membership += o.PortOffset
		if p.HTTP != 0 {
			p.HTTP += o.PortOffset
		}
		if o.FreePorts {
			var err error
			if p.GRPC, err = freePort(); err != nil {
				return nil, err
			}
			if p.Membership, err = freeMembershipPort(); err != nil {
				return nil, err
			}
			if name == "frontend" {
				if p.HTTP, err = freePort(); err != nil {
					return nil, err
				}
			}
		}
		ports[name] = p
	}
	if o.FrontendPort != 0 {
		p := ports["frontend"]
		p.GRPC = o.FrontendPort
		ports["frontend"] = p
	}
	return ports, nil
}

// FrontendAddress is the frontend host:port of a cluster started with opts (known before
// Start only for fixed ports or an explicit FrontendPort).
func (t *Topology) FrontendAddress() string { return t.frontend }

// Client is an SDK client of the topology's namespace, owned by the topology.
func (t *Topology) Client() client.Client { return t.client }

// Namespace is the namespace the Switchyard processes use.
func (t *Topology) Namespace() string { return t.opts.Namespace }

// Cluster is the Temporal cluster's name (the Region's, for Regions).
func (t *Topology) Cluster() string { return t.opts.Cluster.Name }

// Postgres is the PostgreSQL cluster the topology stores its state in.
func (t *Topology) Postgres() Postgres { return t.opts.Postgres }

// UIURL is the Web UI's address ("" without UI).
func (t *Topology) UIURL() string {
	if t.ui == nil {
		return ""
	}
	return t.ui.url
}

// Process returns the named process, or nil.
func (t *Topology) Process(name string) *Process {
	for _, p := range t.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Processes lists the processes in start order.
func (t *Topology) Processes() []*Process { return slices.Clone(t.procs) }

// Start brings the topology up: PostgreSQL (started if it is down), Temporal's role, databases
// and schemas, the four server services, the namespace and Switchyard's search attributes, the
// UI, the workers and the intake. It returns once each answers; on error it stops what it started.
func Start(ctx context.Context, opts Options) (_ *Topology, err error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	t := &Topology{opts: opts}
	defer func() {
		if err != nil {
			_ = t.Stop()
		}
	}()
	begin := time.Now()
	log := opts.Logger
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}

	phase := time.Now()
	log.Info("starting PostgreSQL", "address", opts.Postgres.Address())
	if err := opts.Postgres.Start(ctx); err != nil {
		return nil, err
	}
	if err := opts.Postgres.EnsureRole(ctx); err != nil {
		return nil, err
	}
	t.Timings.Postgres = time.Since(phase)

	phase = time.Now()
	log.Info("applying Temporal's schema", "database", opts.Database, "visibility", opts.VisibilityDatabase)
	tool := SchemaTool{Path: opts.Binaries.SQLTool, SchemaDir: opts.Binaries.SchemaDir}
	if err := tool.Apply(ctx, opts.Postgres, opts.Database, opts.VisibilityDatabase); err != nil {
		return nil, err
	}
	t.Timings.Schema = time.Since(phase)

	phase = time.Now()
	if t.ports, err = opts.servicePorts(); err != nil {
		return nil, err
	}
	t.frontend = net.JoinHostPort(opts.IP, strconv.Itoa(t.ports["frontend"].GRPC))
	configFile, err := t.writeConfig()
	if err != nil {
		return nil, err
	}
	for i, name := range serviceNames {
		p := t.addProcess(name, opts.Binaries.TemporalServer, []string{"--config-file", configFile, "--allow-no-auth", "start", "--service", name}, os.Environ())
		if err := p.Start(); err != nil {
			return nil, err
		}
		if i == 0 {
			// Every service writes the cluster's metadata into a fresh database at start-up;
			// started together, all but one fail on its primary key and exit. The others
			// start once the first has written it.
			if err := t.waitClusterMetadata(ctx); err != nil {
				return nil, err
			}
		}
	}
	log.Info("Temporal services started", "frontend", t.frontend)
	if err := t.dial(ctx); err != nil {
		return nil, err
	}
	t.Timings.Services = time.Since(phase)

	phase = time.Now()
	if !opts.skipNamespace {
		if err := t.setupNamespace(ctx); err != nil {
			return nil, err
		}
	}
	t.Timings.Namespace = time.Since(phase)

	if opts.UI {
		if t.ui, err = startUI(ctx, opts.IP, DefaultUIPort+opts.PortOffset, t.frontend, opts.Namespace, opts.FreePorts); err != nil {
			return nil, err
		}
	}

	phase = time.Now()
	if !opts.deferSwitchyard {
		if err := t.startSwitchyard(ctx); err != nil {
			return nil, err
		}
	}
	t.Timings.Switchyard = time.Since(phase)
	t.Timings.Total = time.Since(begin)
	if err := t.writeState(); err != nil {
		return nil, err
	}
	log.Info("topology is up", "frontend", t.frontend, "ui", t.UIURL(), "took", t.Timings.Total.Round(time.Millisecond))
	return t, nil
}

func (t *Topology) addProcess(name, path string, args, env []string) *Process {
	p := &Process{Name: name, path: path, args: args, env: env, log: filepath.Join(t.opts.Dir, "logs", name+".log")}
	t.procs = append(t.procs, p)
	return p
}

// writeConfig renders the server's configuration and dynamic configuration into Dir.
func (t *Topology) writeConfig() (string, error) {
	o := t.opts
	dyn := filepath.Join(o.Dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, renderDynamicConfig(DynamicConfig), 0o644); err != nil {
		return "", err
	}
	clusters := append([]ClusterInfo{{Name: o.Cluster.Name, InitialFailoverVersion: o.Cluster.InitialFailoverVersion, RPCAddress: t.frontend}}, o.Cluster.Peers...)
	cfg, err := renderServerConfig(serverConfig{
		IP: o.IP, NumHistoryShards: o.NumHistoryShards,
		Database: o.Database, VisibilityDB: o.VisibilityDatabase,
		PGAddress: o.Postgres.Address(), PGUser: o.Postgres.User, PGPassword: o.Postgres.Password,
		Services: t.ports, DynamicConfigFile: dyn, LogLevel: o.ServerLogLevel,
		Global: o.Cluster.Global, FailoverVersionIncrement: o.Cluster.FailoverVersionIncrement,
		MasterCluster: o.Cluster.Master, CurrentCluster: o.Cluster.Name, Clusters: clusters,
	})
	if err != nil {
		return "", err
	}
	path := filepath.Join(o.Dir, "temporal-server.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// dial connects the topology's client once the frontend answers, failing early when a server
// process exits during start-up (its log says why).
func (t *Topology) dial(ctx context.Context) error {
	return retry(ctx, "wait for the Temporal frontend at "+t.frontend, func(ctx context.Context) error {
		if err := t.serverExited(); err != nil {
			return permanent{err}
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: t.frontend, Namespace: t.opts.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err != nil {
			return err
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			c.Close()
			return err
		}
		t.client = c
		return nil
	})
}

// waitClusterMetadata waits until the cluster's metadata row is in the database.
func (t *Topology) waitClusterMetadata(ctx context.Context) error {
	q := "SELECT count(*) FROM cluster_metadata_info WHERE cluster_name = " + quoteLiteral(t.opts.Cluster.Name)
	return retry(ctx, "wait for cluster "+t.opts.Cluster.Name+"'s metadata in database "+t.opts.Database, func(ctx context.Context) error {
		if err := t.serverExited(); err != nil {
			return permanent{err}
		}
		out, err := t.opts.Postgres.Query(ctx, t.opts.Database, q)
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) == "0" {
			return errors.New("not written yet")
		}
		return nil
	})
}

// serverExited names a Temporal service process that ended, with the end of its log.
func (t *Topology) serverExited() error {
	for _, p := range t.procs {
		if slices.Contains(serviceNames, p.Name) && !p.Running() {
			return fmt.Errorf("temporal %s service exited; the end of %s:\n%s", p.Name, p.LogFile(), tailFile(p.LogFile(), 15))
		}
	}
	return nil
}

// setupNamespace registers the namespace unless it exists and adds Switchyard's search
// attributes, what compose's temporal-setup service does with the temporal CLI.
func (t *Topology) setupNamespace(ctx context.Context) error {
	o := t.opts
	ns := o.Namespace
	req := &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(o.Retention),
		Description:                      "Switchyard's runbook runs",
	}
	if o.Cluster.Global {
		req.IsGlobalNamespace = true
		req.ActiveClusterName = o.Cluster.Name
		req.Clusters = []*replicationpb.ClusterReplicationConfig{{ClusterName: o.Cluster.Name}}
		for _, p := range o.Cluster.Peers {
			req.Clusters = append(req.Clusters, &replicationpb.ClusterReplicationConfig{ClusterName: p.Name})
		}
	}
	ws := t.client.WorkflowService()
	err := retry(ctx, "register namespace "+ns, func(ctx context.Context) error {
		_, err := ws.RegisterNamespace(ctx, req)
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	want := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		want[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	// The frontend learns of a new namespace at its namespace cache's next refresh (10s by
	// default); until then it answers NamespaceNotFound, so the attributes are retried.
	return retry(ctx, "add Switchyard's search attributes to namespace "+ns, func(ctx context.Context) error {
		return ensureSearchAttributes(ctx, t.client.OperatorService(), ns, want)
	})
}

// ensureSearchAttributes adds the attributes the namespace lacks.
func ensureSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, ns string, want map[string]enumspb.IndexedValueType) error {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %q: %w", ns, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return permanent{fmt.Errorf("search attribute %q exists in namespace %q as %v, not %v", name, ns, got, typ)}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("add search attributes to namespace %q: %w", ns, err)
	}
	return nil
}

// SwitchyardEnv is the environment of the Switchyard processes: compose's
// x-switchyard-environment defaults, pointed at this topology.
func (t *Topology) SwitchyardEnv() map[string]string {
	env := map[string]string{
		"TEMPORAL_ADDRESS":      t.frontend,
		"TEMPORAL_NAMESPACE":    t.opts.Namespace,
		"SWITCHYARD_LOG_FORMAT": DefaultSwitchyardLogFmt,
		"SWITCHYARD_LOG_LEVEL":  DefaultSwitchyardLogLevel,
		"SWITCHYARD_RUNBOOKS":   t.opts.Runbooks,
	}
	if t.ui != nil {
		env["SWITCHYARD_UI_URL"] = t.ui.url
	}
	for k, v := range t.opts.Env {
		env[k] = v
	}
	return env
}

func environ(m map[string]string) []string {
	env := os.Environ()
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	return env
}

// startSwitchyard starts the workers and the intake and waits until the workers poll the task
// queue and the intake answers /healthz.
func (t *Topology) startSwitchyard(ctx context.Context) error {
	o := t.opts
	env := environ(t.SwitchyardEnv())
	for i := 1; i <= o.Workers; i++ {
		var args []string
		if !o.FreePorts {
			args = []string{"--metrics-addr", net.JoinHostPort(o.IP, strconv.Itoa(DefaultWorkerMetricsPort+o.PortOffset+2*(i-1)))}
		}
		p := t.addProcess(fmt.Sprintf("switchyard-worker-%d", i), o.Binaries.Worker, args, env)
		if err := p.Start(); err != nil {
			return err
		}
	}
	if o.Intake {
		port := DefaultIntakePort + o.PortOffset
		if o.FreePorts {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
		addr := net.JoinHostPort(o.IP, strconv.Itoa(port))
		statusPort := DefaultStatusPagePort + o.PortOffset
		if o.FreePorts {
			var err error
			if statusPort, err = freePort(); err != nil {
				return err
			}
		}
		// The status page is internal: on loopback, whatever o.IP the intake listens on.
		args := []string{"serve", "--addr", addr, "--status-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(statusPort))}
		if !o.FreePorts {
			args = append(args, "--metrics-addr", net.JoinHostPort(o.IP, strconv.Itoa(DefaultIntakeMetricsPort+o.PortOffset)))
		}
		p := t.addProcess("intake", o.Binaries.Starter, args, env)
		if err := p.Start(); err != nil {
			return err
		}
		url := "http://" + addr + "/healthz"
		if err := retry(ctx, "wait for the intake at "+url, func(ctx context.Context) error {
			if !p.Running() {
				return permanent{fmt.Errorf("the intake exited; the end of %s:\n%s", p.LogFile(), tailFile(p.LogFile(), 15))}
			}
			return httpOK(ctx, url)
		}); err != nil {
			return err
		}
	}
	if o.Workers > 0 {
		return t.WaitPollers(ctx, o.Workers)
	}
	return nil
}

// WaitPollers waits until at least n worker processes poll Switchyard's workflow task queue.
func (t *Topology) WaitPollers(ctx context.Context, n int) error {
	return retry(ctx, fmt.Sprintf("wait for %d workers polling task queue %s", n, workflows.TaskQueue), func(ctx context.Context) error {
		for _, p := range t.procs {
			if strings.HasPrefix(p.Name, "switchyard-worker-") && !p.Running() {
				return permanent{fmt.Errorf("%s exited; the end of %s:\n%s", p.Name, p.LogFile(), tailFile(p.LogFile(), 15))}
			}
		}
		resp, err := t.client.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, p := range resp.GetPollers() {
			ids[p.GetIdentity()] = true
		}
		if len(ids) < n {
			return fmt.Errorf("%d of %d workers poll", len(ids), n)
		}
		return nil
	})
}

// RestartService starts a stopped or killed process again with its command line and records
// its new pid in state.json.
func (t *Topology) RestartService(ctx context.Context, name string) error {
	p := t.Process(name)
	if p == nil {
		return fmt.Errorf("no process %q", name)
	}
	if err := p.Start(); err != nil {
		return err
	}
	return t.writeState()
}

// Stop stops the Switchyard processes, the UI and the Temporal services, in reverse start order.
func (t *Topology) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	if t.client != nil {
		t.client.Close()
		t.client = nil
	}
	if t.ui != nil {
		errs = append(errs, t.ui.stop())
		t.ui = nil
	}
	for i := len(t.procs) - 1; i >= 0; i-- {
		errs = append(errs, t.procs[i].Stop(15*time.Second))
	}
	_ = os.Remove(filepath.Join(t.opts.Dir, stateFile))
	return errors.Join(errs...)
}

// stateFile records the processes for `starter prod status|down` in another terminal.
const stateFile = "state.json"

// State is state.json.
type State struct {
	Supervisor int            `json:"supervisor"`
	Cluster    string         `json:"cluster"`
	Frontend   string         `json:"frontend"`
	Namespace  string         `json:"namespace"`
	UI         string         `json:"ui,omitempty"`
	Processes  []ProcessState `json:"processes"`
}

// ProcessState is one process in state.json.
type ProcessState struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	Log  string `json:"log"`
}

func (t *Topology) writeState() error {
	s := State{Supervisor: os.Getpid(), Cluster: t.opts.Cluster.Name, Frontend: t.frontend, Namespace: t.opts.Namespace, UI: t.UIURL()}
	for _, p := range t.procs {
		s.Processes = append(s.Processes, ProcessState{Name: p.Name, Pid: p.Pid(), Log: p.LogFile()})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(t.opts.Dir, stateFile), append(b, '\n'), 0o644)
}

// ReadStates reads the state.json of a topology started with Dir dir or, for Regions, those of
// its subfolders (one per Region).
func ReadStates(dir string) ([]State, error) {
	if st, err := ReadState(dir); err == nil {
		return []State{st}, nil
	}
	subs, _ := filepath.Glob(filepath.Join(dir, "*", stateFile))
	var out []State
	for _, f := range subs {
		st, err := ReadState(filepath.Dir(f))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no topology is running from %s (no %s)", dir, stateFile)
	}
	return out, nil
}

// ReadState reads the state.json of a topology started with Dir dir.
func ReadState(dir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, fmt.Errorf("no topology is running from %s (no %s)", dir, stateFile)
		}
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return s, nil
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// freeMembershipPort finds a free port below 32768: the server stores a host's membership port
// in cluster_membership.rpc_port, a PostgreSQL smallint, and a port of the kernel's ephemeral
// range (32768 and up) fails every heartbeat with "value ... is out of range for type smallint"
// and ends the service.
func freeMembershipPort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		return port, l.Close()
	}
	return 0, errors.New("find a free membership port below 32768: 100 tries failed")
}

// permanent marks an error retry must not wait out.
type permanent struct{ err error }

func (e permanent) Error() string { return e.err.Error() }
func (e permanent) Unwrap() error { return e.err }

// retry calls fn until it succeeds, fails permanently or ctx ends.
func retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return fmt.Errorf("%s: %w", what, perm.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tailFile returns the last n lines of a log file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(b, n)
}
