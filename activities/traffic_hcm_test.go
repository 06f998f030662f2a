package activities

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// traffic.state with the lever health_check_metric asks Route 53 whether each record's health
// check exists and watches the alarm the environment names: a wrong id or a check on another
// alarm is a permanent error naming the field to fix (the lever would write metrics that move
// no DNS answer); a run that avoids us-east-1, or a control plane that does not answer, leaves it
// unverified and says so, without failing.
func TestTrafficStateVerifiesTheMetricHealthChecks(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := lab.Start(startCtx, lab.Options{RandomPorts: true, ReplicatorCreateDelay: -1, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	const east, west = "us-east-1", "us-west-2"

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	write := func(name string, edit func(*runbook.HealthCheckMetricLever)) {
		t.Helper()
		env := l.HealthCheckMetricEnvironment(name)
		if edit != nil {
			edit(env.Traffic.HealthCheckMetric)
		}
		b, err := yaml.Marshal(env)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", name+".yaml"), b, 0o644))
	}
	write("hcm", nil)
	write("hcm-bad-id", func(h *runbook.HealthCheckMetricLever) {
		c := h.Checks[west]
		c.HealthCheckID = "00000000-0000-0000-0000-000000000000"
		h.Checks[west] = c
	})
	write("hcm-swapped", func(h *runbook.HealthCheckMetricLever) {
		e, w := h.Checks[east], h.Checks[west]
		e.HealthCheckID, w.HealthCheckID = w.HealthCheckID, e.HealthCheckID
		h.Checks[east], h.Checks[west] = e, w
	})
	c := NewCloud(CloudOptions{RunbookDir: dir, Logger: quiet, AWS: awsclients.New(awsclients.Options{Logger: quiet,
		LoadOptions: []func(*config.LoadOptions) error{config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(lab.AccessKeyID, lab.SecretAccessKey, ""))}})})

	st, err := c.TrafficState(ctx, TrafficStateArgs{Environment: "hcm", Region: west})
	require.NoError(t, err)
	require.Equal(t, runbook.LeverHealthCheckMetric, st.Lever)
	require.Contains(t, st.HealthChecks, "confirmed by Route 53")

	permanent := func(env, want string) {
		t.Helper()
		_, err := c.TrafficState(ctx, TrafficStateArgs{Environment: env, Region: west})
		require.Error(t, err)
		var ae *temporal.ApplicationError
		require.True(t, errors.As(err, &ae), "%v", err)
		require.True(t, ae.NonRetryable(), "a wrong health check is not retried: %v", err)
		require.Contains(t, err.Error(), want)
	}
	permanent("hcm-bad-id", "health check 00000000-0000-0000-0000-000000000000 (traffic.health_check_metric.checks.us-west-2.health_check_id) does not exist")
	permanent("hcm-swapped", "traffic.health_check_metric.checks.us-east-1) is a CLOUDWATCH_METRIC check watching alarm")

	// us-east-1 impaired, and with it Route 53's control plane: an ungraceful read avoids it and
	// says so, without failing.
	_, err = l.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
	st, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "hcm-bad-id", Region: west, Ungraceful: true})
	require.NoError(t, err)
	require.Contains(t, st.HealthChecks, "not verified: Route 53's control plane is in us-east-1, which this run avoids")
	_, err = l.HealAll(ctx)
	require.NoError(t, err)

	// Route 53's control plane holding every call: a graceful read asks, gets no answer within
	// the probe's time, says so, and goes on.
	_, err = l.Inject(ctx, lab.Fault{Kind: lab.FaultTimeout, Service: "route53", Delay: lab.Duration(10 * time.Minute)})
	require.NoError(t, err)
	st, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "hcm-bad-id", Region: west})
	require.NoError(t, err)
	require.Contains(t, st.HealthChecks, "not verified: Route 53's control plane did not answer")
}
