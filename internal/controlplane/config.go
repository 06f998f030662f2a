package controlplane

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"text/template"
)

// The configuration values the native topology shares with docker-compose.yml. They are the
// compose file's defaults; TestComposeInStep (compose_test.go) reads the compose file and fails
// when the two drift apart, so an operator moving from one form to the other keeps the same
// namespace, databases, ports and search attributes.
const (
	// DefaultNamespace is TEMPORAL_NAMESPACE's default in docker-compose.yml.
	DefaultNamespace = "default"
	// DefaultRetention is temporal-setup's RETENTION default: 30 days of closed runs to report on.
	DefaultRetention = "720h"
	// DefaultDatabase and DefaultVisibilityDatabase are the databases temporal-schema creates.
	DefaultDatabase           = "temporal"
	DefaultVisibilityDatabase = "temporal_visibility"
	// DefaultPostgresUser and DefaultPostgresPassword are POSTGRES_USER and POSTGRES_PASSWORD.
	DefaultPostgresUser     = "temporal"
	DefaultPostgresPassword = "temporal"
	// SQLPlugin is the server's persistence plugin for PostgreSQL 12 and later (compose: DB).
	SQLPlugin = "postgres12"
	// SchemaSubdir is where the server module ships the plugin's schema (compose: the
	// admin-tools image's /etc/temporal/schema/postgresql/v12).
	SchemaSubdir = "schema/postgresql/v12"
	// Ports published by docker-compose.yml: TEMPORAL_PORT, TEMPORAL_UI_PORT,
	// SWITCHYARD_INTAKE_PORT, SWITCHYARD_WORKER_METRICS_PORT and SWITCHYARD_INTAKE_METRICS_PORT.
	DefaultFrontendPort = 7233
	DefaultUIPort       = 8080
	DefaultIntakePort   = 8081
	// DefaultStatusPagePort is the intake's status page (starter serve --status-addr), moved by
	// PortOffset like the others so two Regions' intakes on one machine do not collide.
	DefaultStatusPagePort     = 8082
	DefaultWorkerMetricsPort  = 9090
	DefaultIntakeMetricsPort  = 9091
	DefaultSwitchyardLogLevel = "info"
	DefaultSwitchyardLogFmt   = "json"
)

// DynamicConfig is the server's dynamic configuration, the same keys and values as the file the
// compose file's temporal service writes before it starts the server:
//   - search attributes are usable as soon as they are created;
//   - activities a workflow task schedules go straight back to the worker that completed it
//     (eager execution), as on Temporal Cloud and `starter dev`;
//   - no periodic call to Temporal's version service.
var DynamicConfig = map[string]any{
	"system.forceSearchAttributesCacheRefreshOnRead": true,
	"system.enableActivityEagerExecution":            true,
	"frontend.enableServerVersionCheck":              false,
}

// serviceNames are the Temporal server's services, one process each, in start order: history
// owns the shards the others route to, matching the task queues, the frontend the API, and the
// internal worker runs the server's system workflows through the frontend.
var serviceNames = []string{"history", "matching", "frontend", "worker"}

// servicePorts are one service's gRPC and membership (ringpop) ports.
type servicePorts struct {
	GRPC, Membership, HTTP int
}

// ClusterInfo names one Temporal cluster of a multi-cluster setup as the server's
// clusterMetadata.clusterInformation lists it.
type ClusterInfo struct {
	Name                   string
	InitialFailoverVersion int
	// RPCAddress is the cluster's frontend host:port.
	RPCAddress string
}

// serverConfig is what the server's configuration template needs.
type serverConfig struct {
	IP                string
	NumHistoryShards  int
	Database          string
	VisibilityDB      string
	PGAddress         string
	PGUser            string
	PGPassword        string
	Services          map[string]servicePorts
	DynamicConfigFile string
	LogLevel          string
	// Cluster metadata: single cluster unless Global is set.
	Global                   bool
	FailoverVersionIncrement int
	MasterCluster            string
	CurrentCluster           string
	Clusters                 []ClusterInfo
}

// serverConfigTemplate follows the server module's own config/development-postgres12.yaml, with
// every port chosen by the caller (several clusters and tests share one machine), no metrics or
// pprof listeners, and archival off.
var serverConfigTemplate = template.Must(template.New("server").Parse(`# Rendered by Switchyard's internal/controlplane; see docs/reliability.md.
log:
  stdout: true
  level: {{.LogLevel}}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: {{.NumHistoryShards}}
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: "{{.Database}}"
        connectAddr: "{{.PGAddress}}"
        connectProtocol: "tcp"
        user: "{{.PGUser}}"
        password: "{{.PGPassword}}"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: "{{.VisibilityDB}}"
        connectAddr: "{{.PGAddress}}"
        connectProtocol: "tcp"
        user: "{{.PGUser}}"
        password: "{{.PGPassword}}"
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: "1h"

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "{{.IP}}"

services:
{{- range $name, $p := .Services}}
  {{$name}}:
    rpc:
      grpcPort: {{$p.GRPC}}
      membershipPort: {{$p.Membership}}
      bindOnIP: "{{$.IP}}"
{{- if $p.HTTP}}
      httpPort: {{$p.HTTP}}
{{- end}}
{{- end}}

clusterMetadata:
  enableGlobalNamespace: {{.Global}}
  failoverVersionIncrement: {{.FailoverVersionIncrement}}
  masterClusterName: "{{.MasterCluster}}"
  currentClusterName: "{{.CurrentCluster}}"
  clusterInformation:
{{- range .Clusters}}
    {{.Name}}:
      enabled: true
      initialFailoverVersion: {{.InitialFailoverVersion}}
      rpcName: "frontend"
      rpcAddress: "{{.RPCAddress}}"
{{- end}}

dcRedirectionPolicy:
  policy: "{{if .Global}}all-apis-forwarding{{else}}noop{{end}}"

archival:
  history:
    state: "disabled"
  visibility:
    state: "disabled"

namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"

dynamicConfigClient:
  filepath: "{{.DynamicConfigFile}}"
  pollInterval: "10s"
`))

// renderServerConfig renders the server's configuration file.
func renderServerConfig(c serverConfig) ([]byte, error) {
	var b bytes.Buffer
	if err := serverConfigTemplate.Execute(&b, c); err != nil {
		return nil, fmt.Errorf("render Temporal server config: %w", err)
	}
	return b.Bytes(), nil
}

// renderDynamicConfig renders DynamicConfig in the server's file format (a list of constrained
// values per key), keys sorted so the file is stable.
func renderDynamicConfig(values map[string]any) []byte {
	var b bytes.Buffer
	b.WriteString("# Rendered by Switchyard's internal/controlplane (the same values as docker-compose.yml).\n")
	for _, k := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintf(&b, "%s:\n  - value: %v\n", k, values[k])
	}
	return b.Bytes()
}
