package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProfileByName(t *testing.T) {
	for _, name := range ProfileNames {
		p, err := ProfileByName(name)
		require.NoError(t, err)
		require.Equal(t, name, p.Name)
		require.Positive(t, p.DNSTTL)
	}
	_, err := ProfileByName("slow")
	require.ErrorContains(t, err, `unknown latency profile "slow" (profiles: fast, realistic)`)
	// The realistic profile is the one issue 14's goal is stated for: a 60 s TTL.
	require.Equal(t, 60*time.Second, RealisticProfile().DNSTTL)
}

// Profile.Options sets the start-time delays; ApplyProfile the TTL the producers' answers carry
// and the ARC cluster's update latency, keeping the records' weights and health checks.
func TestApplyProfileSetsTTLAndARCLatency(t *testing.T) {
	p := RealisticProfile()
	o := p.Options(Options{TestID: "x"})
	require.Equal(t, "x", o.TestID)
	require.Equal(t, p.Route53ChangeDelay, o.Route53ChangeDelay)
	require.Equal(t, p.AlarmWindow, o.AlarmWindow)
	require.Equal(t, p.MetricsInterval, o.MetricsInterval)
	require.Equal(t, p.PipelineStartDelay, o.PipelineStartDelay)

	l := startTestLab(t, nil)
	before, err := l.ingestRecords()
	require.NoError(t, err)
	require.NoError(t, l.ApplyProfile(p))
	ttl, err := l.DNSTTL()
	require.NoError(t, err)
	require.Equal(t, 60*time.Second, ttl)
	a, err := l.Router().Resolve(context.Background())
	require.NoError(t, err)
	require.Equal(t, 60*time.Second, a.TTL)
	require.Equal(t, time.Second, l.ARC().UpdateLatency())
	periods := 0
	for _, r := range []string{l.opts.Primary, l.opts.Secondary} {
		for _, a := range l.Twin().Alarms(l.peer(r)) {
			if a.Name == takesTrafficAlarm(r) {
				require.Equal(t, 10, a.Period)
				periods++
			}
		}
	}
	require.Equal(t, 2, periods, "both takes-traffic alarms")
	after, err := l.ingestRecords()
	require.NoError(t, err)
	require.Len(t, after, len(before))
	for i := range before {
		require.Equal(t, *before[i].Weight, *after[i].Weight)
		require.Equal(t, before[i].HealthCheckID, after[i].HealthCheckID)
	}

	require.NoError(t, l.ApplyProfile(FastProfile()))
	ttl, err = l.DNSTTL()
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, ttl)
	require.Zero(t, l.ARC().UpdateLatency())
	require.Error(t, l.SetDNSTTL(0))
}
