package arctwin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rc "github.com/aws/aws-sdk-go-v2/service/route53recoverycluster"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycluster/types"
	rccc "github.com/aws/aws-sdk-go-v2/service/route53recoverycontrolconfig"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
)

// fixture is a cluster with one control panel, a routing control per Region (us-east-1 On,
// us-west-2 Off) and an assertion rule "at least one Region On".
type fixture struct {
	c          *arctwin.Cluster
	panel      string
	east, west string
	atLeastOne string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c, err := arctwin.New(arctwin.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	f := &fixture{c: c, panel: c.AddControlPanel("switchyard")}
	f.east, err = c.AddRoutingControl(f.panel, "cell-us-east-1", true)
	require.NoError(t, err)
	f.west, err = c.AddRoutingControl(f.panel, "cell-us-west-2", false)
	require.NoError(t, err)
	f.atLeastOne, err = c.AddAssertionRule(arctwin.AssertionRule{Name: "at-least-one-region", ControlPanelARN: f.panel,
		AssertedControls: []string{f.east, f.west}, RuleConfig: arctwin.RuleConfig{Type: arctwin.AtLeast, Threshold: 1}})
	require.NoError(t, err)
	return f
}

// client is the SDK's own client for region's endpoint, signed for region with secret.
func (f *fixture) client(region, signRegion, secret string) *rc.Client {
	return rc.New(rc.Options{Region: signRegion, BaseEndpoint: aws.String(f.c.Endpoints()[region]),
		Credentials: credentials.NewStaticCredentialsProvider("SWITCHYARDLAB", secret, ""), RetryMaxAttempts: 1})
}

func (f *fixture) good(region string) *rc.Client { return f.client(region, region, "switchyard-lab") }

func TestARNsHaveARCsShape(t *testing.T) {
	f := newFixture(t)
	require.Regexp(t, `^arn:aws:route53-recovery-control::000000000000:controlpanel/[0-9a-f]{32}/routingcontrol/[0-9a-f]{16}$`, f.east)
	require.Regexp(t, `^arn:aws:route53-recovery-control::000000000000:controlpanel/[0-9a-f]{32}/safetyrule/[0-9a-f]{16}$`, f.atLeastOne)
	require.Len(t, f.c.Endpoints(), 5)
}

func TestSDKReadsAndListsStates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cl := f.good("eu-west-1")
	got, err := cl.GetRoutingControlState(ctx, &rc.GetRoutingControlStateInput{RoutingControlArn: aws.String(f.east)})
	require.NoError(t, err)
	require.Equal(t, types.RoutingControlStateOn, got.RoutingControlState)
	require.Equal(t, "cell-us-east-1", aws.ToString(got.RoutingControlName))
	require.Equal(t, f.east, aws.ToString(got.RoutingControlArn))

	page1, err := cl.ListRoutingControls(ctx, &rc.ListRoutingControlsInput{ControlPanelArn: aws.String(f.panel), MaxResults: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, page1.RoutingControls, 1)
	require.NotNil(t, page1.NextToken)
	page2, err := cl.ListRoutingControls(ctx, &rc.ListRoutingControlsInput{NextToken: page1.NextToken})
	require.NoError(t, err)
	require.Len(t, page2.RoutingControls, 1)
	require.Nil(t, page2.NextToken)
	w := page2.RoutingControls[0]
	require.Equal(t, f.west, aws.ToString(w.RoutingControlArn))
	require.Equal(t, types.RoutingControlStateOff, w.RoutingControlState)
	require.Equal(t, "switchyard", aws.ToString(w.ControlPanelName))
	require.Equal(t, "000000000000", aws.ToString(w.Owner))

	_, err = cl.GetRoutingControlState(ctx, &rc.GetRoutingControlStateInput{RoutingControlArn: aws.String(f.panel + "/routingcontrol/0000000000000000")})
	var nf *types.ResourceNotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestSDKUpdatesBothRegionsInOneCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.good("ap-southeast-2").UpdateRoutingControlStates(ctx, &rc.UpdateRoutingControlStatesInput{
		UpdateRoutingControlStateEntries: []types.UpdateRoutingControlStateEntry{
			{RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOff},
			{RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOn},
		}})
	require.NoError(t, err)
	on, known := f.c.RoutingControlState(f.east)
	require.True(t, known)
	require.False(t, on)
	on, _ = f.c.RoutingControlState(f.west)
	require.True(t, on)
	_, known = f.c.RoutingControlState("arn:aws:route53-recovery-control::000000000000:controlpanel/x/routingcontrol/y")
	require.False(t, known)

	u := f.c.Updates()
	require.Len(t, u, 1)
	require.Equal(t, "UpdateRoutingControlStates", u[0].Op)
	require.Equal(t, "ap-southeast-2", u[0].Region)
	require.Equal(t, map[string]string{f.east: "Off", f.west: "On"}, u[0].Entries)

	// The single-control operation too.
	_, err = f.good("us-west-2").UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{
		RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOn})
	require.NoError(t, err)
	on, _ = f.c.RoutingControlState(f.east)
	require.True(t, on)
	require.Len(t, f.c.Updates(), 2)
}

func TestSDKAssertionRuleRefusesAndOverrideIsAccepted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cl := f.good("us-west-2")
	// Turning the only On Region Off would leave no Region On: the rule refuses.
	_, err := cl.UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{
		RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOff})
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict)
	require.Contains(t, conflict.ErrorMessage(), "would violate safety rules")
	require.Contains(t, conflict.ErrorMessage(), f.atLeastOne)
	require.Equal(t, f.atLeastOne, aws.ToString(conflict.ResourceId))
	var re *awshttp.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusConflict, re.HTTPStatusCode())
	on, _ := f.c.RoutingControlState(f.east)
	require.True(t, on, "a refused update changes nothing")
	require.Empty(t, f.c.Updates())

	// Moving traffic in one transaction keeps one Region On: accepted.
	_, err = cl.UpdateRoutingControlStates(ctx, &rc.UpdateRoutingControlStatesInput{
		UpdateRoutingControlStateEntries: []types.UpdateRoutingControlStateEntry{
			{RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOff},
			{RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOn},
		}})
	require.NoError(t, err)

	// Both Off only with the rule overridden.
	_, err = cl.UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{
		RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOff, SafetyRulesToOverride: []string{f.atLeastOne}})
	require.NoError(t, err)
	on, _ = f.c.RoutingControlState(f.west)
	require.False(t, on)
	u := f.c.Updates()
	require.Len(t, u, 2)
	require.Equal(t, []string{f.atLeastOne}, u[1].Overridden)
}

func TestSDKGatingRule(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gate, err := f.c.AddRoutingControl(f.panel, "failover-switch", false)
	require.NoError(t, err)
	rule, err := f.c.AddGatingRule(arctwin.GatingRule{Name: "switch", ControlPanelARN: f.panel, GatingControls: []string{gate},
		TargetControls: []string{f.east, f.west}, RuleConfig: arctwin.RuleConfig{Type: arctwin.Or}})
	require.NoError(t, err)
	cl := f.good("ap-northeast-1")
	move := &rc.UpdateRoutingControlStatesInput{UpdateRoutingControlStateEntries: []types.UpdateRoutingControlStateEntry{
		{RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOff},
		{RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOn},
	}}
	_, err = cl.UpdateRoutingControlStates(ctx, move)
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict)
	require.Contains(t, conflict.ErrorMessage(), rule)
	require.NotContains(t, conflict.ErrorMessage(), f.atLeastOne, "the assertion rule holds; only the gate refuses")

	_, err = cl.UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{RoutingControlArn: aws.String(gate), RoutingControlState: types.RoutingControlStateOn})
	require.NoError(t, err)
	_, err = cl.UpdateRoutingControlStates(ctx, move)
	require.NoError(t, err)
	on, _ := f.c.RoutingControlState(f.west)
	require.True(t, on)
}

func TestSDKAssertionRuleInvertedAndAnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// NOT AND over both: never both On.
	notBoth, err := f.c.AddAssertionRule(arctwin.AssertionRule{Name: "never-both", ControlPanelARN: f.panel,
		AssertedControls: []string{f.east, f.west}, RuleConfig: arctwin.RuleConfig{Type: arctwin.And, Inverted: true}})
	require.NoError(t, err)
	_, err = f.good("us-east-1").UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{
		RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOn})
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict)
	require.Contains(t, conflict.ErrorMessage(), notBoth)
}

func TestSDKWrongSignatureIs403(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := &rc.GetRoutingControlStateInput{RoutingControlArn: aws.String(f.east)}
	for name, cl := range map[string]*rc.Client{
		"wrong secret":              f.client("us-east-1", "us-east-1", "not-the-secret"),
		"signed for another Region": f.client("us-east-1", "us-west-2", "switchyard-lab"),
	} {
		_, err := cl.GetRoutingControlState(ctx, in)
		var re *awshttp.ResponseError
		require.ErrorAs(t, err, &re, name)
		require.Equal(t, http.StatusForbidden, re.HTTPStatusCode(), name)
		var ae smithy.APIError
		require.ErrorAs(t, err, &ae, name)
		require.Equal(t, "InvalidSignatureException", ae.ErrorCode(), name)
	}
	_, err := rc.New(rc.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.c.Endpoints()["us-east-1"]), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("SOMEONEELSE", "x", "")}).GetRoutingControlState(ctx, in)
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "UnrecognizedClientException", ae.ErrorCode())
}

func TestImpairedEndpointFailsAloneAndRecovers(t *testing.T) {
	for _, mode := range []arctwin.Impairment{arctwin.Refuse, arctwin.Blackhole} {
		f := newFixture(t)
		in := &rc.GetRoutingControlStateInput{RoutingControlArn: aws.String(f.east)}
		require.NoError(t, f.c.SetImpairment("us-east-1", mode))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := f.good("us-east-1").GetRoutingControlState(ctx, in)
			done <- err
		}()
		// The other Regions answer while us-east-1 does not.
		_, err := f.good("us-west-2").GetRoutingControlState(context.Background(), in)
		require.NoError(t, err)
		if mode == arctwin.Blackhole {
			cancel() // a black hole answers nothing until the client gives up
		}
		err = <-done
		cancel()
		require.Error(t, err, "mode %d", mode)
		var ae smithy.APIError
		require.False(t, errors.As(err, &ae), "an impaired endpoint answers nothing, got %v", err)

		require.NoError(t, f.c.Impair("us-east-1", false))
		_, err = f.good("us-east-1").GetRoutingControlState(context.Background(), in)
		require.NoError(t, err)
	}
	c, err := arctwin.New(arctwin.Options{Regions: []string{"eu-west-1"}})
	require.NoError(t, err)
	defer c.Close()
	require.ErrorIs(t, c.Impair("us-east-1", true), arctwin.ErrNoEndpoint)
}

func TestBadUpdatesAreValidationErrors(t *testing.T) {
	f := newFixture(t)
	_, err := f.good("us-east-1").UpdateRoutingControlStates(context.Background(), &rc.UpdateRoutingControlStatesInput{
		UpdateRoutingControlStateEntries: []types.UpdateRoutingControlStateEntry{
			{RoutingControlArn: aws.String(f.east), RoutingControlState: "ON"}}})
	var ve *types.ValidationException
	require.ErrorAs(t, err, &ve)
	require.True(t, strings.Contains(ve.ErrorMessage(), "[On, Off]"), ve.ErrorMessage())
}

func TestSDKDescribeClusterAnswersOnlyInTheControlPlaneRegion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	region, url := f.c.ControlPlaneEndpoint()
	require.Equal(t, "us-west-2", region)
	require.Regexp(t, `^arn:aws:route53-recovery-control::000000000000:cluster/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, f.c.ClusterARN())
	cc := rccc.New(rccc.Options{Region: "us-west-2", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("SWITCHYARDLAB", "switchyard-lab", "")})
	out, err := cc.DescribeCluster(ctx, &rccc.DescribeClusterInput{ClusterArn: aws.String(f.c.ClusterARN())})
	require.NoError(t, err)
	require.Equal(t, f.c.ClusterARN(), aws.ToString(out.Cluster.ClusterArn))
	require.Equal(t, "DEPLOYED", string(out.Cluster.Status))
	require.Len(t, out.Cluster.ClusterEndpoints, 5)
	for _, e := range out.Cluster.ClusterEndpoints {
		require.Equal(t, f.c.Endpoints()[aws.ToString(e.Region)], aws.ToString(e.Endpoint))
	}
	// Signed for another Region: refused, as every AWS endpoint refuses a foreign scope.
	wrong := rccc.New(rccc.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("SWITCHYARDLAB", "switchyard-lab", "")})
	_, err = wrong.DescribeCluster(ctx, &rccc.DescribeClusterInput{ClusterArn: aws.String(f.c.ClusterARN())})
	var re *awshttp.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusForbidden, re.HTTPStatusCode())
	// The control plane goes down with us-west-2.
	require.NoError(t, f.c.Impair("us-west-2", true))
	_, err = cc.DescribeCluster(ctx, &rccc.DescribeClusterInput{ClusterArn: aws.String(f.c.ClusterARN())})
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "no answer at all, got %v", err)
}

func TestSDKWaitPeriodRefusesAFlapUntilItEnds(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, err := arctwin.New(arctwin.Options{Now: clock})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	panel := c.AddControlPanel("switchyard")
	east, _ := c.AddRoutingControl(panel, "east", true)
	west, _ := c.AddRoutingControl(panel, "west", false)
	rule, err := c.AddAssertionRule(arctwin.AssertionRule{Name: "one-on", ControlPanelARN: panel, AssertedControls: []string{east, west},
		WaitPeriodMs: 5000, RuleConfig: arctwin.RuleConfig{Type: arctwin.AtLeast, Threshold: 1}})
	require.NoError(t, err)
	cl := rc.New(rc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(c.Endpoints()["eu-west-1"]), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("SWITCHYARDLAB", "switchyard-lab", "")})
	flip := func(eastOn bool) error {
		e, w := types.RoutingControlStateOn, types.RoutingControlStateOff
		if !eastOn {
			e, w = w, e
		}
		_, err := cl.UpdateRoutingControlStates(context.Background(), &rc.UpdateRoutingControlStatesInput{
			UpdateRoutingControlStateEntries: []types.UpdateRoutingControlStateEntry{
				{RoutingControlArn: aws.String(east), RoutingControlState: e}, {RoutingControlArn: aws.String(west), RoutingControlState: w}}})
		return err
	}
	require.NoError(t, flip(false))
	err = flip(true)
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict, "within the wait period")
	require.Contains(t, conflict.ErrorMessage(), rule)
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	require.NoError(t, flip(true))
	require.Len(t, c.Updates(), 2)
}

func TestAddCellControls(t *testing.T) {
	c, err := arctwin.New(arctwin.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	controls, rule, err := c.AddCellControls("orders", []string{"us-east-1", "us-west-2"}, []string{"us-east-1"})
	require.NoError(t, err)
	require.Len(t, controls, 2)
	on, known := c.RoutingControlState(controls["us-east-1"])
	require.True(t, on && known)
	on, known = c.RoutingControlState(controls["us-west-2"])
	require.True(t, !on && known)
	_, err = rc.New(rc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(c.Endpoints()["eu-west-1"]), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("SWITCHYARDLAB", "switchyard-lab", "")}).UpdateRoutingControlState(context.Background(),
		&rc.UpdateRoutingControlStateInput{RoutingControlArn: aws.String(controls["us-east-1"]), RoutingControlState: types.RoutingControlStateOff})
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict)
	require.Contains(t, conflict.ErrorMessage(), rule)
}
