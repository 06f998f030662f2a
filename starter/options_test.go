package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientOptionsOverrideTheEnvironment: --address and --namespace, declared once for every
// command that talks to Temporal, override TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE; without them
// the environment decides.
func TestClientOptionsOverrideTheEnvironment(t *testing.T) {
	env := map[string]string{"TEMPORAL_ADDRESS": "temporal.example:7233", "TEMPORAL_NAMESPACE": "from-env"}
	cio := cmdIO{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return env[k] }}
	for _, tt := range []struct {
		args            []string
		address, nsWant string
	}{
		{nil, "temporal.example:7233", "from-env"},
		{[]string{"--namespace", "dr", "--address", "127.0.0.1:7233"}, "127.0.0.1:7233", "dr"},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var o connFlags
		o.register(fs)
		require.NoError(t, fs.Parse(tt.args))
		opts, err := o.options(cio, nil)
		require.NoError(t, err)
		require.Equal(t, tt.address, opts.HostPort)
		require.Equal(t, tt.nsWant, opts.Namespace)
	}
}
