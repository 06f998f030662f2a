package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

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
	l, c, writeEnv := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1})
	const east, west = "us-east-1", "us-west-2"
	write := func(name string, edit func(*runbook.HealthCheckMetricLever)) {
		t.Helper()
		env := l.HealthCheckMetricEnvironment(name)
		if edit != nil {
			edit(env.Traffic.HealthCheckMetric)
		}
		writeEnv(env)
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
