package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab"
)

// The rule that judges sampled DNS answers against the weights of a step.
func TestDNSVerdict(t *testing.T) {
	const e, w = "us-east-1", "us-west-2"
	regions := []string{e, w}
	for _, tc := range []struct {
		name    string
		weights map[string]int64
		counts  map[string]int
		samples int
		fresh   bool
		ok      bool
		says    string
	}{
		{"10 %: target seen", map[string]int64{e: 10, w: 90}, map[string]int{e: 21, w: 179}, 200, true, true, "200 answers"},
		{"10 %: target never in 200 fresh answers", map[string]int64{e: 10, w: 90}, map[string]int{w: 200}, 200, true, false, "us-east-1 has weight 10 (10 %) but answered none of 200"},
		{"10 %: too few fresh answers to require it", map[string]int64{e: 10, w: 90}, map[string]int{w: 20}, 20, true, true, "too few"},
		{"10 %: cached answers cannot show it", map[string]int64{e: 10, w: 90}, map[string]int{w: 200}, 200, false, true, "cached"},
		{"50 %: both seen", map[string]int64{e: 50, w: 50}, map[string]int{e: 96, w: 104}, 200, true, true, ""},
		{"100 %: only the target", map[string]int64{e: 100, w: 0}, map[string]int{e: 200}, 200, true, true, ""},
		{"100 %: the other still answers", map[string]int64{e: 100, w: 0}, map[string]int{e: 199, w: 1}, 200, true, false, "us-west-2 has weight 0 but answered 1 of 200"},
		{"100 %: a cached old answer fails too (wait_until retries)", map[string]int64{e: 100}, map[string]int{w: 200}, 200, false, false, "us-west-2 has weight 0"},
		{"all 0: equal probability", map[string]int64{e: 0, w: 0}, map[string]int{e: 100, w: 100}, 200, true, true, ""},
		{"all 0: one missing", map[string]int64{e: 0, w: 0}, map[string]int{e: 200}, 200, true, false, "us-west-2 has weight 0 (50 %)"},
		{"an answer of no Region", map[string]int64{e: 100}, map[string]int{e: 199, "elsewhere.example.com": 1}, 200, true, false, "elsewhere.example.com are the value of no Region"},
		{"no answers", map[string]int64{e: 100}, map[string]int{}, 0, true, false, "no answers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := dnsVerdict(tc.weights, regions, tc.counts, tc.samples, tc.fresh)
			require.Equal(t, tc.ok, ok, reason)
			require.Contains(t, reason, tc.says)
		})
	}
}

// traffic.state and traffic.dns read the lab's DNS server (traffic.resolver of the lab's
// environment): its answers follow the weights and the records' health checks, as Route 53's do.
func TestTrafficDNSAgainstTheLab(t *testing.T) {
	ctx := context.Background()
	l, c, _ := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1, Route53ChangeDelay: 50 * time.Millisecond})
	require.Equal(t, l.DNSAddr(), l.Environment().Traffic.Resolver, "the lab's environment reads DNS from the lab")
	const west, east = "us-west-2", "us-east-1"

	st, err := c.TrafficState(ctx, TrafficStateArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.Empty(t, st.DNSNote)
	require.Equal(t, []string{"ingest.us-east-1.lab.switchyard.internal"}, st.DNSAnswers)

	dns := func(weights map[string]int64) TrafficDNSResult {
		t.Helper()
		res, err := c.TrafficDNS(ctx, TrafficDNSArgs{Environment: "lab", Region: west, Weights: weights})
		require.NoError(t, err)
		require.True(t, res.Authoritative, "the lab's server answers as the zone's name server")
		require.Equal(t, 200, res.Samples)
		return res
	}
	res := dns(map[string]int64{east: 100, west: 0})
	require.True(t, res.OK, res.Reason)
	require.Equal(t, map[string]int{east: 200}, res.Answers)

	// A step that says 10 % while the records still say 0: the answers show it.
	res = dns(map[string]int64{east: 90, west: 10})
	require.False(t, res.OK, res.Reason)
	require.Contains(t, res.Reason, "us-west-2 has weight 10")

	_, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: "lab", Region: west, Weights: map[string]int64{east: 90, west: 10}, Wait: true})
	require.NoError(t, err)
	res = dns(map[string]int64{east: 90, west: 10})
	require.True(t, res.OK, res.Reason)
	require.Positive(t, res.Answers[west])

	// us-west-2's routing control Off: its record's RECOVERY_CONTROL health check is unhealthy
	// and DNS leaves it out, whatever its weight.
	require.NoError(t, l.ARC().SetRoutingControlState(l.RoutingControls()[west], false))
	res = dns(map[string]int64{east: 90, west: 10})
	require.False(t, res.OK, res.Reason)
	require.Contains(t, res.Reason, "routing control Off")
	require.Equal(t, map[string]int{east: 200}, res.Answers)

	// Both Off: Route 53 fails open and answers by weight again.
	require.NoError(t, l.ARC().SetRoutingControlState(l.RoutingControls()[east], false))
	res = dns(map[string]int64{east: 90, west: 10})
	require.True(t, res.OK, res.Reason)

	_, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: "lab", Region: west, Weights: map[string]int64{east: 0, west: 100}, Wait: true})
	require.NoError(t, err)
	st, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.Equal(t, []string{"ingest.us-west-2.lab.switchyard.internal"}, st.DNSAnswers)
	require.Contains(t, st.Summary, "resolves to ingest.us-west-2")
}
