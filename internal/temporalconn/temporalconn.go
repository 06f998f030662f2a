// Package temporalconn connects Switchyard's mains to Temporal with Temporal's standard
// environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings,
// TEMPORAL_PROFILE and the temporal.toml file), so a worker moves from the dev server to a
// self-hosted cluster or Temporal Cloud by changing the environment only.
package temporalconn

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"
)

// Env is a process environment given as a lookup function, so mains stay testable.
type Env func(key string) string

// MapEnv returns an Env over a fixed map, for tests.
func MapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

type lookup struct {
	env  Env
	keys []string
}

func (l lookup) Environ() []string {
	var out []string
	for _, k := range l.keys {
		if v := l.env(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

func (l lookup) LookupEnv(key string) (string, bool) {
	v := l.env(key)
	return v, v != ""
}

// The variables envconfig reads; Environ must list them because an Env cannot enumerate itself.
var temporalVars = []string{
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE",
	"TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_PATH",
	"TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
	"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_AUTH",
	"TEMPORAL_GRPC_META_", "HOME", "XDG_CONFIG_HOME",
}

// Options loads client options from the environment; address overrides TEMPORAL_ADDRESS when set.
func Options(env Env, address string, logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: lookup{env: env, keys: temporalVars}})
	if err != nil {
		return client.Options{}, fmt.Errorf("load Temporal client configuration: %w", err)
	}
	if address != "" {
		opts.HostPort = address
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	return opts, nil
}

// Dial connects to Temporal and names the address in the error, the first thing an operator
// needs when the server is unreachable.
func Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		hint := ""
		if strings.HasPrefix(opts.HostPort, "localhost:") || strings.HasPrefix(opts.HostPort, "127.0.0.1:") {
			hint = " (is `go run ./starter dev` running?)"
		}
		return nil, fmt.Errorf("connect to Temporal at %s namespace %s%s: %w", opts.HostPort, opts.Namespace, hint, err)
	}
	return c, nil
}

// RequireGlobalNamespaceEnv set to "true" makes a worker refuse a namespace that is not global:
// a worker of one Region of a multi-Region control plane (docs/reliability.md) on a local
// namespace would run DR runs that no other Region can take over.
const RequireGlobalNamespaceEnv = "SWITCHYARD_REQUIRE_GLOBAL_NAMESPACE"

// RequireGlobalNamespace fails, naming the namespace and the cluster, unless the client's
// namespace is a global namespace replicated to another cluster.
func RequireGlobalNamespace(ctx context.Context, c client.Client, opts client.Options) error {
	d, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: opts.Namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s at %s: %w", opts.Namespace, opts.HostPort, err)
	}
	active := d.GetReplicationConfig().GetActiveClusterName()
	if !d.GetIsGlobalNamespace() || len(d.GetReplicationConfig().GetClusters()) < 2 {
		return fmt.Errorf("namespace %s (cluster %s at %s) is not a global namespace replicated to another cluster, and %s=true asks for one: "+
			"no other Region could take its runs over (register it as a global namespace on connected clusters, or unset %s)",
			opts.Namespace, active, opts.HostPort, RequireGlobalNamespaceEnv, RequireGlobalNamespaceEnv)
	}
	return nil
}
