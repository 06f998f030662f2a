package arc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/arc"
	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
)

// The client sorts the Regions, so a permutation indexes this list.
var sorted = []string{"ap-northeast-1", "ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"}

// perm is a Random that always returns the same order, given as Regions.
type perm []string

func (p perm) Perm(n int) []int {
	out := make([]int, 0, n)
	for _, r := range p {
		for i, s := range sorted {
			if s == r {
				out = append(out, i)
			}
		}
	}
	return out
}

type fixture struct {
	twin       *arctwin.Cluster
	east, west string
	atLeastOne string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c, err := arctwin.New(arctwin.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	panel := c.AddControlPanel("switchyard")
	f := &fixture{twin: c}
	f.east, err = c.AddRoutingControl(panel, "cell-us-east-1", true)
	require.NoError(t, err)
	f.west, err = c.AddRoutingControl(panel, "cell-us-west-2", false)
	require.NoError(t, err)
	f.atLeastOne, err = c.AddAssertionRule(arctwin.AssertionRule{Name: "at-least-one-region", ControlPanelARN: panel,
		AssertedControls: []string{f.east, f.west}, RuleConfig: arctwin.RuleConfig{Type: arctwin.AtLeast, Threshold: 1}})
	require.NoError(t, err)
	return f
}

// client is what an activity builds: the project's awsclients factory (the lab's key pair for
// loopback endpoints) and the order given.
func (f *fixture) client(t *testing.T, order perm) *arc.Client {
	t.Helper()
	cl, err := arc.New(arc.Options{Endpoints: f.twin.Endpoints(), Config: arc.FactoryConfig(awsclients.New(awsclients.Options{}), ""), Rand: order})
	require.NoError(t, err)
	return cl
}

func (f *fixture) requests() map[string]int {
	out := map[string]int{}
	for _, r := range sorted {
		if n := f.twin.Requests(r); n > 0 {
			out[r] = n
		}
	}
	return out
}

func TestStatesTriesTheEndpointsInTheRandomOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	got, err := f.client(t, perm{"eu-west-1", "us-east-1", "us-west-2", "ap-northeast-1", "ap-southeast-2"}).States(ctx, []string{f.east, f.west})
	require.NoError(t, err)
	require.Equal(t, map[string]string{f.east: "On", f.west: "Off"}, got)
	require.Equal(t, map[string]int{"eu-west-1": 2}, f.requests(), "the first endpoint of the order answers both reads")

	_, err = f.client(t, perm{"ap-southeast-2", "us-east-1", "us-west-2", "ap-northeast-1", "eu-west-1"}).States(ctx, []string{f.east})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"eu-west-1": 2, "ap-southeast-2": 1}, f.requests())
}

func TestTwoEndpointsImpairedStillSucceeds(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.twin.Impair("us-east-1", true))
	require.NoError(t, f.twin.Impair("eu-west-1", true))
	cl := f.client(t, perm{"us-east-1", "eu-west-1", "us-west-2", "ap-northeast-1", "ap-southeast-2"})
	changed, err := cl.Set(context.Background(), map[string]string{f.east: "Off", f.west: "On"}, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{f.east, f.west}, changed)
	on, _ := f.twin.RoutingControlState(f.west)
	require.True(t, on)
	u := f.twin.Updates()
	require.Len(t, u, 1)
	require.Equal(t, "us-west-2", u[0].Region, "the third endpoint, the first that answers")
	require.Equal(t, map[string]int{"us-west-2": 3}, f.requests(), "two reads and one update, all on us-west-2")
}

func TestABlackholedEndpointIsLeftAfterTheEndpointTimeout(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.twin.SetImpairment("us-east-1", arctwin.Blackhole))
	cl, err := arc.New(arc.Options{Endpoints: f.twin.Endpoints(), Config: arc.FactoryConfig(awsclients.New(awsclients.Options{}), ""),
		Rand: perm{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2"}, EndpointTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	got, err := cl.States(context.Background(), []string{f.east})
	require.NoError(t, err)
	require.Equal(t, "On", got[f.east])
	require.Equal(t, 1, f.twin.Requests("us-east-1"), "the black hole was tried first")
	require.Equal(t, 1, f.twin.Requests("us-west-2"))
}

func TestAllEndpointsImpairedNamesEachFailure(t *testing.T) {
	f := newFixture(t)
	for _, r := range sorted {
		require.NoError(t, f.twin.Impair(r, true))
	}
	_, err := f.client(t, perm(sorted)).Set(context.Background(), map[string]string{f.east: "Off", f.west: "On"}, nil)
	var all *arc.AllEndpointsError
	require.ErrorAs(t, err, &all)
	require.Len(t, all.Failures, 5)
	for _, r := range sorted {
		require.Contains(t, err.Error(), r)
		require.Contains(t, err.Error(), f.twin.Endpoints()[r])
	}
	require.True(t, strings.Contains(err.Error(), "all 5 cluster endpoints failed"), err.Error())
	require.Empty(t, f.twin.Updates())
}

func TestSafetyRuleRefusalIsPermanentAndNotRetried(t *testing.T) {
	f := newFixture(t)
	cl := f.client(t, perm{"ap-northeast-1", "ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"})
	_, err := cl.Set(context.Background(), map[string]string{f.east: "Off", f.west: "Off"}, nil)
	var sr *arc.SafetyRuleError
	require.ErrorAs(t, err, &sr)
	require.Equal(t, []string{f.atLeastOne}, sr.Rules)
	require.Contains(t, err.Error(), "SafetyRulesToOverride")
	require.Contains(t, err.Error(), "ungraceful")
	require.True(t, sr.Permanent())
	var all *arc.AllEndpointsError
	require.False(t, errors.As(err, &all))
	require.Equal(t, map[string]int{"ap-northeast-1": 3}, f.requests(), "two reads and one refused update; no other endpoint is asked")
	require.Empty(t, f.twin.Updates())

	// With the rule overridden (an ungraceful, forced failover) the same request is accepted.
	changed, err := cl.Set(context.Background(), map[string]string{f.east: "Off", f.west: "Off"}, sr.Rules)
	require.NoError(t, err)
	require.Equal(t, []string{f.east}, changed)
	u := f.twin.Updates()
	require.Len(t, u, 1)
	require.Equal(t, []string{f.atLeastOne}, u[0].Overridden)
}

func TestSetReadsFirstAndWritesOnlyWhatDiffers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cl := f.client(t, perm(sorted))
	changed, err := cl.Set(ctx, map[string]string{f.east: "On", f.west: "Off"}, nil)
	require.NoError(t, err)
	require.Empty(t, changed)
	require.Empty(t, f.twin.Updates(), "already as desired: no update call")

	changed, err = cl.Set(ctx, map[string]string{f.east: "On", f.west: "On"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{f.west}, changed)
	u := f.twin.Updates()
	require.Len(t, u, 1)
	require.Equal(t, map[string]string{f.west: "On"}, u[0].Entries, "only the control that differs is sent")

	// Again: nothing to do, still exactly one update.
	_, err = cl.Set(ctx, map[string]string{f.east: "On", f.west: "On"}, nil)
	require.NoError(t, err)
	require.Len(t, f.twin.Updates(), 1)
}

func TestBadInputIsPermanent(t *testing.T) {
	f := newFixture(t)
	cl := f.client(t, perm(sorted))
	_, err := cl.Set(context.Background(), map[string]string{f.east: "ON"}, nil)
	var pe *arc.PermanentError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, err.Error(), `"ON"`)

	_, err = cl.States(context.Background(), []string{f.east + "0"})
	require.ErrorAs(t, err, &pe)
	require.Contains(t, err.Error(), "ResourceNotFoundException")
	require.Equal(t, 1, f.twin.Requests("ap-northeast-1"))
	require.Equal(t, 0, f.twin.Requests("ap-southeast-2"), "an unknown control is unknown everywhere: no other endpoint is asked")

	_, err = arc.New(arc.Options{Config: arc.FactoryConfig(awsclients.New(awsclients.Options{}), "")})
	require.ErrorContains(t, err, "at least one Regional endpoint")
	_, err = arc.New(arc.Options{Endpoints: map[string]string{"us-east-1": "host-without-scheme"}, Config: arc.FactoryConfig(awsclients.New(awsclients.Options{}), "")})
	require.ErrorContains(t, err, "not an http(s) URL")
}

func TestThrottledOrUnavailableEndpointIsLeftForTheNext(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.twin.SetImpairment("us-east-1", arctwin.Throttle))
	require.NoError(t, f.twin.SetImpairment("us-west-2", arctwin.Unavailable))
	cl := f.client(t, perm{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2"})
	got, err := cl.States(context.Background(), []string{f.east})
	require.NoError(t, err)
	require.Equal(t, "On", got[f.east])
	require.Equal(t, map[string]int{"us-east-1": 1, "us-west-2": 1, "eu-west-1": 1}, f.requests(),
		"each troubled endpoint is asked once (no SDK retries on it), then the next one answers")
}

func TestClusterEndpointsFromTheControlPlaneInUSWest2(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	region, url := f.twin.ControlPlaneEndpoint()
	require.Equal(t, arc.ControlPlaneRegion, region)
	cfg, err := awsclients.New(awsclients.Options{}).Config(ctx, awsclients.Region{Name: region, Endpoint: url})
	require.NoError(t, err)
	eps, err := arc.ClusterEndpoints(ctx, cfg, f.twin.ClusterARN())
	require.NoError(t, err)
	require.Equal(t, f.twin.Endpoints(), eps)

	_, err = arc.ClusterEndpoints(ctx, cfg, f.twin.ClusterARN()+"0")
	require.ErrorContains(t, err, "ResourceNotFoundException")

	// us-west-2 impaired: the control plane is gone with it; the cluster's other endpoints still
	// answer with the list already known.
	require.NoError(t, f.twin.Impair("us-west-2", true))
	cfg.RetryMaxAttempts = 1 // refused connections are retried with back-off by default; the outcome is the same
	_, err = arc.ClusterEndpoints(ctx, cfg, f.twin.ClusterARN())
	require.Error(t, err)
	_, err = f.client(t, perm{"us-west-2", "us-east-1", "eu-west-1", "ap-northeast-1", "ap-southeast-2"}).States(ctx, []string{f.east})
	require.NoError(t, err)
}
