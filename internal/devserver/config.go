package devserver

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// clusterName is the single cluster's name; the CLI uses the same, and persisted cluster
// metadata in a reused database file must keep matching it.
const clusterName = "active"

// DefaultDynamicConfig returns the dynamic config values Start applies before Options.DynamicConfig.
// They are the Temporal CLI dev server's defaults plus one of ours:
//   - system.forceSearchAttributesCacheRefreshOnRead / forceNexusEndpointRefreshOnRead: a new
//     search attribute or Nexus endpoint is usable at once instead of after a cache refresh,
//     which is what a developer (and a test) expects right after creating one.
//   - frontend/history.persistenceMaxQPS and frontend.namespaceRPS.visibility: the production
//     limits are sized for shared databases and throttle a busy laptop or the UI's list page.
//   - history.hostLevelCacheMaxSize: a small history cache keeps the process's memory modest.
//   - frontend.enableServerVersionCheck=false: the frontend would otherwise call Temporal's
//     version service periodically; a dev server makes no outside requests.
//   - system.enableActivityEagerExecution: activities a workflow task schedules go straight back
//     to the worker that completed the task, skipping a poll round trip each (the production
//     Temporal Cloud default); a failover's sequential steps are where that latency adds up.
//   - system.enableEagerWorkflowStart: a run started by a process that also runs a worker (starter
//     dev, demo, benchmarks) gets its first workflow task with the start response.
func DefaultDynamicConfig() map[string]any {
	return map[string]any{
		"system.forceSearchAttributesCacheRefreshOnRead": true,
		"system.forceNexusEndpointRefreshOnRead":         true,
		"frontend.persistenceMaxQPS":                     10000,
		"history.persistenceMaxQPS":                      45000,
		"history.hostLevelCacheMaxSize":                  8096,
		"frontend.namespaceRPS.visibility":               100,
		"frontend.enableServerVersionCheck":              false,
		"system.enableActivityEagerExecution":            true,
		"system.enableEagerWorkflowStart":                true,
	}
}

// dynamicConfigClient merges the defaults with the caller's values into the immutable static
// client the server reads; keys are case-insensitive, as in the server's YAML files.
func dynamicConfigClient(extra map[string]any) dynamicconfig.StaticClient {
	merged := DefaultDynamicConfig()
	maps.Copy(merged, extra)
	dc := make(dynamicconfig.StaticClient, len(merged))
	for k, v := range merged {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// sqlConfig describes the SQLite store. An in-memory database gets a random name: SQLite's
// shared cache is per process, and two servers in one test binary must not share state. Call it
// once per Start, since the namespaces must be registered in the very database the server opens.
func sqlConfig(o Options) *config.SQL {
	c := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
	}
	if o.DatabaseFile == "" {
		c.ConnectAttributes["mode"] = "memory"
		c.ConnectAttributes["cache"] = "shared"
		c.DatabaseName = "devserver-" + strconv.FormatUint(rand.Uint64(), 36)
	} else {
		c.ConnectAttributes["mode"] = "rwc"
		c.DatabaseName = o.DatabaseFile
	}
	return c
}

// prepareDatabase creates the schema in a new database file and registers the namespaces with
// their search attributes. Both must happen before the server starts: the server expects the
// schema to exist, and search attributes registered this way need no running server or
// cache refresh. It reports whether the file already existed.
func prepareDatabase(o Options, cfg *config.SQL) (existed bool, err error) {
	if o.DatabaseFile != "" {
		_, statErr := os.Stat(o.DatabaseFile)
		switch {
		case statErr == nil:
			existed = true
		case os.IsNotExist(statErr):
			dir := filepath.Dir(o.DatabaseFile)
			if _, err := os.Stat(dir); err != nil {
				return false, fmt.Errorf("database directory for %s: %w", o.DatabaseFile, err)
			}
			if err := sqliteschema.SetupSchema(cfg); err != nil {
				// Leave no half-initialised file behind: the next run would reuse it as is.
				_ = os.Remove(o.DatabaseFile)
				return false, fmt.Errorf("create schema in %s: %w", o.DatabaseFile, err)
			}
		default:
			return false, fmt.Errorf("database file %s: %w", o.DatabaseFile, statErr)
		}
	}
	nsConfigs := make([]*sqliteschema.NamespaceConfig, 0, len(o.Namespaces))
	for _, ns := range o.Namespaces {
		nc, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, o.SearchAttributes)
		if err != nil {
			return existed, fmt.Errorf("namespace %q: %w", ns, err)
		}
		nsConfigs = append(nsConfigs, nc)
	}
	// Existing namespaces are left untouched; Start adds missing search attributes later.
	if err := sqliteschema.CreateNamespaces(cfg, nsConfigs...); err != nil {
		return existed, fmt.Errorf("register namespaces: %w", err)
	}
	return existed, nil
}

// serverOptions builds the temporal.NewServer options for a single-process, single-cluster
// server: all four services in this process, found through static hosts instead of ringpop
// membership (no gossip ports, no join delay).
func serverOptions(o Options, p internalPorts, db *config.SQL, level slog.Leveler) ([]temporal.ServerOption, error) {
	internalIP := dialIP(o.IP)
	frontend := net.JoinHostPort(internalIP, strconv.Itoa(o.Port))
	httpAddr := net.JoinHostPort(internalIP, strconv.Itoa(p.http))
	hostPort := func(port int) string { return net.JoinHostPort(internalIP, strconv.Itoa(port)) }

	service := func(bindIP string, grpcPort, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, HTTPPort: httpPort, BindOnIP: bindIP}}
	}
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: internalIP},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{
				sqliteplugin.PluginName: {SQL: db},
			},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, HTTPAddress: httpAddr},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		// Only the frontend binds to the caller's IP; the other services are reached through
		// static hosts and stay on loopback (or the given IP) even when the frontend listens
		// on all interfaces.
		Services: map[string]config.Service{
			string(primitives.FrontendService): service(o.IP, o.Port, p.http),
			string(primitives.HistoryService):  service(internalIP, p.history, 0),
			string(primitives.MatchingService): service(internalIP, p.matching, 0),
			string(primitives.WorkerService):   service(internalIP, p.worker, 0),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{
			Archival: config.ArchivalNamespaceDefaults{
				History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
				Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
			},
		},
		// The worker service runs system workflows through an SDK client dialled here.
		PublicClient: config.PublicClient{HostPort: frontend},
	}

	logger := newServerLogger(o.Logger, level)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}
	return []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontend),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(p.history)),
			primitives.MatchingService: static.SingleLocalHost(hostPort(p.matching)),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(p.worker)),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfigClient(o.DynamicConfig)),
	}, nil
}
