package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/workflows"
)

type composeService struct {
	Command     any      `yaml:"command"`
	Environment []string `yaml:"environment"`
	Ports       []string `yaml:"ports"`
}

func readCompose(t *testing.T) (map[string]composeService, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	require.NoError(t, err)
	var f struct {
		Env      []string                  `yaml:"x-switchyard-environment"`
		Services map[string]composeService `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &f))
	return f.Services, f.Env
}

func commandLines(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, p := range v {
			s, _ := p.(string)
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// composeDefault returns the default of KEY=${VAR:-default} (or KEY=value) in an environment list.
func composeDefault(env []string, key string) (string, bool) {
	re := regexp.MustCompile(`^\$\{[A-Z_]+:-([^}]*)\}$`)
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k != key {
			continue
		}
		if m := re.FindStringSubmatch(v); m != nil {
			return m[1], true
		}
		return v, true
	}
	return "", false
}

// publishedPort returns the container port and default host port of "${VAR:-host}:container".
func publishedPorts(t *testing.T, svc composeService) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`^\$\{[A-Z_]+:-(\d+)\}:(\d+)$`)
	out := map[string]string{}
	for _, p := range svc.Ports {
		m := re.FindStringSubmatch(p)
		require.NotNil(t, m, "port %q", p)
		out[m[2]] = m[1]
	}
	return out
}

// TestComposeInStep keeps the native topology and docker-compose.yml, its container form, on
// the same configuration: namespace and retention, PostgreSQL role and databases, the schema
// tool's commands and plugin, the dynamic config, the published ports, the search attributes
// and the Switchyard processes' environment. A change to one side fails here until the other
// follows.
func TestComposeInStep(t *testing.T) {
	svcs, swEnv := readCompose(t)
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: docker-compose.yml has %q, internal/controlplane %q", what, got, want)
		}
	}
	def := func(env []string, key string) string {
		t.Helper()
		v, ok := composeDefault(env, key)
		require.True(t, ok, "docker-compose.yml sets no %s", key)
		return v
	}

	// Namespace, retention, Switchyard's environment.
	check("TEMPORAL_NAMESPACE", def(swEnv, "TEMPORAL_NAMESPACE"), DefaultNamespace)
	check("temporal-setup NAMESPACE", def(svcs["temporal-setup"].Environment, "NAMESPACE"), DefaultNamespace)
	check("temporal-setup RETENTION", def(svcs["temporal-setup"].Environment, "RETENTION"), DefaultRetention)
	check("temporal-ui TEMPORAL_DEFAULT_NAMESPACE", def(svcs["temporal-ui"].Environment, "TEMPORAL_DEFAULT_NAMESPACE"), DefaultNamespace)
	topo := &Topology{opts: Options{Runbooks: "runbooks"}.withDefaults(), frontend: "127.0.0.1:7233"}
	for key, val := range topo.SwitchyardEnv() {
		switch key {
		case "SWITCHYARD_RUNBOOKS":
			// The image sets it (Dockerfile ENV) to the runbooks it copies.
			continue
		case "TEMPORAL_ADDRESS":
			_, port, _ := strings.Cut(def(swEnv, key), ":")
			check("TEMPORAL_ADDRESS port", port, fmt.Sprint(DefaultFrontendPort))
		default:
			check(key, def(swEnv, key), val)
		}
	}

	// PostgreSQL.
	pgEnv := svcs["postgresql"].Environment
	check("POSTGRES_USER", def(pgEnv, "POSTGRES_USER"), DefaultPostgresUser)
	check("POSTGRES_PASSWORD", def(pgEnv, "POSTGRES_PASSWORD"), DefaultPostgresPassword)
	tmpEnv := svcs["temporal"].Environment
	check("temporal DB", def(tmpEnv, "DB"), SQLPlugin)
	check("temporal DB_PORT", def(tmpEnv, "DB_PORT"), "5432")

	// The schema tool: the same plugin, databases, schema folder and steps.
	script := commandLines(svcs["temporal-schema"].Command)
	require.Contains(t, script, "--plugin "+SQLPlugin)
	require.Contains(t, script, "schema="+"/etc/temporal/"+SchemaSubdir)
	for _, d := range []struct{ db, schema string }{{DefaultDatabase, "temporal"}, {DefaultVisibilityDatabase, "visibility"}} {
		for _, step := range SchemaSteps("$$schema", d.schema) {
			line := "$$sqltool --db " + d.db + " " + strings.Join(step, " ")
			if !strings.Contains(script, line+"\n") {
				t.Errorf("temporal-schema does not run %q:\n%s", line, script)
			}
		}
	}

	// Dynamic config: the heredoc the temporal service writes.
	heredoc := commandLines(svcs["temporal"].Command)
	re := regexp.MustCompile(`(?m)^([a-zA-Z.]+):\n\s+- value: (\S+)$`)
	got := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(heredoc, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for k, v := range DynamicConfig {
		want[k] = fmt.Sprint(v)
	}
	require.Equal(t, want, got, "dynamic config of the temporal service")

	// Published ports.
	check("temporal port", publishedPorts(t, svcs["temporal"])["7233"], fmt.Sprint(DefaultFrontendPort))
	check("temporal-ui port", publishedPorts(t, svcs["temporal-ui"])["8080"], fmt.Sprint(DefaultUIPort))
	check("worker metrics port", publishedPorts(t, svcs["worker"])["9090"], fmt.Sprint(DefaultWorkerMetricsPort))
	check("intake port", publishedPorts(t, svcs["starter"])["8081"], fmt.Sprint(DefaultIntakePort))
	check("intake metrics port", publishedPorts(t, svcs["starter"])["9091"], fmt.Sprint(DefaultIntakeMetricsPort))
	require.Contains(t, commandLines(svcs["starter"].Command), "starter serve --addr")

	// Search attributes: compose's temporal-setup loop and what setupNamespace adds.
	m := regexp.MustCompile(`for sa in ([A-Za-z ]+); do`).FindStringSubmatch(commandLines(svcs["temporal-setup"].Command))
	require.NotNil(t, m)
	sas := strings.Fields(m[1])
	slices.Sort(sas)
	wantSA := workflows.SearchAttributeNames()
	slices.Sort(wantSA)
	require.Equal(t, wantSA, sas)
}

// TestServerConfigRenders: the rendered file names the databases, every service's ports and the
// cluster metadata, and a multi-cluster config lists its peers.
func TestServerConfigRenders(t *testing.T) {
	cfg, err := renderServerConfig(serverConfig{IP: "127.0.0.1", NumHistoryShards: 4, Database: "d", VisibilityDB: "v",
		PGAddress: "127.0.0.1:5432", PGUser: "u", PGPassword: "p", LogLevel: "warn", DynamicConfigFile: "/x/dc.yaml",
		Services: fixedPorts, Global: true, FailoverVersionIncrement: 10, MasterCluster: "us-east-1", CurrentCluster: "us-west-2",
		Clusters: []ClusterInfo{{Name: "us-west-2", InitialFailoverVersion: 2, RPCAddress: "127.0.0.1:8233"}, {Name: "us-east-1", InitialFailoverVersion: 1, RPCAddress: "127.0.0.1:7233"}}})
	require.NoError(t, err)
	var parsed struct {
		Persistence struct {
			NumHistoryShards int `yaml:"numHistoryShards"`
			Datastores       map[string]struct {
				SQL struct {
					PluginName   string `yaml:"pluginName"`
					DatabaseName string `yaml:"databaseName"`
				} `yaml:"sql"`
			} `yaml:"datastores"`
		} `yaml:"persistence"`
		Services map[string]struct {
			RPC struct {
				GRPCPort       int `yaml:"grpcPort"`
				MembershipPort int `yaml:"membershipPort"`
				HTTPPort       int `yaml:"httpPort"`
			} `yaml:"rpc"`
		} `yaml:"services"`
		ClusterMetadata struct {
			EnableGlobalNamespace bool   `yaml:"enableGlobalNamespace"`
			CurrentClusterName    string `yaml:"currentClusterName"`
			ClusterInformation    map[string]struct {
				InitialFailoverVersion int    `yaml:"initialFailoverVersion"`
				RPCAddress             string `yaml:"rpcAddress"`
			} `yaml:"clusterInformation"`
		} `yaml:"clusterMetadata"`
	}
	require.NoError(t, yaml.Unmarshal(cfg, &parsed), "%s", cfg)
	require.Equal(t, "d", parsed.Persistence.Datastores["postgres-default"].SQL.DatabaseName)
	require.Equal(t, "v", parsed.Persistence.Datastores["postgres-visibility"].SQL.DatabaseName)
	require.Equal(t, SQLPlugin, parsed.Persistence.Datastores["postgres-default"].SQL.PluginName)
	require.Len(t, parsed.Services, 4)
	require.Equal(t, 7243, parsed.Services["frontend"].RPC.HTTPPort)
	require.Equal(t, 6934, parsed.Services["history"].RPC.MembershipPort)
	require.True(t, parsed.ClusterMetadata.EnableGlobalNamespace)
	require.Equal(t, "us-west-2", parsed.ClusterMetadata.CurrentClusterName)
	require.Equal(t, 1, parsed.ClusterMetadata.ClusterInformation["us-east-1"].InitialFailoverVersion)
	require.Equal(t, "127.0.0.1:8233", parsed.ClusterMetadata.ClusterInformation["us-west-2"].RPCAddress)
}
