package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/arc"
	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// traffic.state and traffic.shift move producers between Regions with the lever the environment
// chooses (traffic.lever), so the shipped runbooks name one step whatever the lever:
//
//   - route53_weights: the weighted records' weights (route53.set_weights). Route 53's control
//     plane is hosted in us-east-1 and AWS advises not to rely on it in a recovery path
//     (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/appendix-b---edge-network-global-service-guidance.html),
//     so both entries first probe it once with a short timeout and fail at once, naming the
//     data-plane levers, when it does not answer.
//   - arc_routing_control: ARC routing controls through the cluster's data-plane endpoints.
//   - health_check_metric: PutMetricData of the metric a CLOUDWATCH_METRIC health check watches
//     through an alarm in the other Region.
//
// The two data-plane levers never call Route 53's control plane.

// Region states traffic.state and traffic.shift report.
const (
	trafficIn      = "in"      // the Region takes traffic
	trafficOut     = "out"     // it does not
	trafficUnknown = "unknown" // not read: it lives in the Region an ungraceful run avoids
)

// ErrControlPlaneUnavailable is the error type of a lever whose control plane does not answer:
// not retried, because a recovery must not wait for it; the message names the data-plane levers.
const ErrControlPlaneUnavailable = wire.ErrControlPlaneUnavailable

// ErrARCUnreachable is the error type when no endpoint of the ARC cluster answered at all: not
// retried (see arcError).
const ErrARCUnreachable = wire.ErrARCUnreachable

// ErrSafetyRule is the error type of an ARC refusal by a safety rule: not retried, every
// endpoint gives the same answer until the controls or the rules change.
const ErrSafetyRule = wire.ErrSafetyRule

// route53ProbeTimeout bounds the one call that tells whether Route 53's control plane answers.
// It answers a ListResourceRecordSets in well under a second; a control plane that has not
// answered in 4 s is treated as unavailable rather than waited for.
const route53ProbeTimeout = 4 * time.Second

// ARCClient is what the traffic entries need of an ARC cluster client (package internal/arc):
// read routing control states (ARN → "On" | "Off") and bring them to desired states, reading
// first and updating only what differs in one UpdateRoutingControlStates call.
type ARCClient interface {
	States(ctx context.Context, arns []string) (map[string]string, error)
	Set(ctx context.Context, desired map[string]string, overrideRules []string) (changed []string, err error)
}

// ARCFactory returns a client of the environment's ARC cluster, signing with the credentials of
// region (its assumed role).
type ARCFactory func(ctx context.Context, lever runbook.ARCLever, region awsclients.Region) (ARCClient, error)

// defaultARC is the ARC cluster client of internal/arc: the environment's endpoints tried in
// random order, each signed for its own Region with the credentials (and role) of region.
func (c *Cloud) defaultARC(_ context.Context, lever runbook.ARCLever, region awsclients.Region) (ARCClient, error) {
	return arc.New(arc.Options{Endpoints: lever.Endpoints, Config: arc.FactoryConfig(c.opts.AWS, region.AssumeRoleARN)})
}

// arcSafetyRules returns the safety rules an ARC refusal names, and whether err is such a
// refusal.
func arcSafetyRules(err error) ([]string, bool) {
	var sr *arc.SafetyRuleError
	if errors.As(err, &sr) {
		return sr.Rules, true
	}
	return nil, false
}

// TrafficStateArgs is the input of traffic.state.
type TrafficStateArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region whose credentials make the calls; pick the healthy one"`
	Ungraceful  bool   `json:"ungraceful,omitempty" doc:"the other Region is down: read nothing there (its states are reported unknown)"`
}

// TrafficStateResult is the output of traffic.state.
type TrafficStateResult struct {
	Lever      string            `json:"lever" doc:"the environment's traffic lever"`
	Active     []string          `json:"active" doc:"the Regions that take traffic, sorted"`
	States     map[string]string `json:"states" doc:"Region to in, out or unknown (not read: in the Region an ungraceful run avoids)"`
	Weights    map[string]int64  `json:"weights,omitempty" doc:"route53_weights: the weights by Region (what a rollback restores)"`
	DNSAnswers []string          `json:"dns_answers,omitempty" doc:"what a client resolving the record gets, through traffic.resolver"`
	DNSNote    string            `json:"dns_note,omitempty" doc:"why no DNS answers were read, when none were"`
	// health_check_metric
	HealthChecks string `json:"health_checks,omitempty" doc:"health_check_metric: whether Route 53 confirmed each record's health check watches its alarm, or why that was not asked"`
	Summary      string `json:"summary"`
}

// TrafficState reads which Regions take traffic, by the environment's lever, and the DNS
// answers a client resolving the record gets (when traffic.resolver is set).
func (c *Cloud) TrafficState(ctx context.Context, in TrafficStateArgs) (TrafficStateResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return TrafficStateResult{}, err
	}
	tr := t.env.Traffic
	if tr == nil {
		return TrafficStateResult{}, badArgs("environment %s has no traffic section: nothing steers producers", t.envName)
	}
	res := TrafficStateResult{Lever: tr.LeverOf()}
	avoid := ""
	if in.Ungraceful {
		avoid = t.env.Peer(t.region)
	}
	switch res.Lever {
	case runbook.LeverRoute53Weights:
		w, err := c.route53WeightsProbed(ctx, t)
		if err != nil {
			return res, err
		}
		res.Weights, res.States = w.Weights, weightStates(t.env, w.Weights)
	case runbook.LeverARCRoutingControl:
		cl, err := c.arcClient(ctx, t, avoid)
		if err != nil {
			return res, err
		}
		res.States, err = arcStates(ctx, cl, t.env)
		if err != nil {
			return res, err
		}
	case runbook.LeverHealthCheckMetric:
		states, _, err := c.metricStates(ctx, t, avoid)
		if err != nil {
			return res, err
		}
		res.States = states
		if res.HealthChecks, err = c.verifyMetricHealthChecks(ctx, t, avoid); err != nil {
			return res, err
		}
	default:
		return res, badArgs("environment %s: unknown traffic.lever %q", t.envName, res.Lever)
	}
	res.Active = activeRegions(res.States)
	res.DNSAnswers, res.DNSNote = dnsAnswers(ctx, tr)
	res.Summary = fmt.Sprintf("%s: traffic goes to %s (%s)", res.Lever, orNone(res.Active), formatStates(res.States))
	if res.Weights != nil {
		res.Summary += ", weights " + formatWeights(res.Weights)
	}
	if len(res.DNSAnswers) > 0 {
		res.Summary += fmt.Sprintf("; %s resolves to %s", tr.RecordName, strings.Join(res.DNSAnswers, ", "))
	}
	if res.HealthChecks != "" {
		res.Summary += "; " + res.HealthChecks
	}
	return res, nil
}

// TrafficShiftArgs is the input of traffic.shift.
type TrafficShiftArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the Region to make active (it takes the traffic; the other is taken out); its credentials make the calls"`
	Weights     map[string]int64 `json:"weights,omitempty" catalog:"weights,not_all_zero" doc:"route53_weights only: the weights to set, for a gradual move or to restore weights read before (default: region 100, the other 0); refused with another lever"`
	Ungraceful  bool             `json:"ungraceful,omitempty" doc:"the other Region is down: call nothing in it"`
	Admit       bool             `json:"admit,omitempty" doc:"let region back in without taking the other out (a failback's first step with a data-plane lever, before the weights move it gradually); with route53_weights there is nothing to admit"`
	Force       bool             `json:"force,omitempty" doc:"with ungraceful, override the ARC safety rules that refuse the update (recorded in the result)"`
	Wait        bool             `json:"wait,omitempty" doc:"route53_weights: wait, heartbeating, until the change is INSYNC"`
	Timeout     runbook.Duration `json:"timeout,omitempty" catalog:"duration,bounds" default:"5m" bounds_if:"wait" doc:"how long to wait for INSYNC (default 5m)"`
	Comment     string           `json:"comment,omitempty" doc:"route53_weights: change batch comment"`
}

// TrafficShiftResult is the output of traffic.shift.
type TrafficShiftResult struct {
	Lever    string            `json:"lever"`
	Changed  bool              `json:"changed" doc:"false when traffic already went where asked"`
	Previous map[string]string `json:"previous" doc:"Region to in, out or unknown before the shift"`
	States   map[string]string `json:"states" doc:"Region to in or out as asked"`
	// route53_weights
	Weights         map[string]int64 `json:"weights,omitempty" doc:"route53_weights: the weights set"`
	PreviousWeights map[string]int64 `json:"previous_weights,omitempty" doc:"route53_weights: the weights before"`
	ChangeID        string           `json:"change_id,omitempty" doc:"route53_weights: the change, empty when nothing changed"`
	Status          string           `json:"status,omitempty" doc:"route53_weights: PENDING or INSYNC"`
	// arc_routing_control
	ChangedControls       []string `json:"changed_controls,omitempty" doc:"arc_routing_control: the routing controls updated"`
	OverriddenSafetyRules []string `json:"overridden_safety_rules,omitempty" doc:"arc_routing_control: safety rules overridden (ungraceful + force only)"`
	// health_check_metric
	Alarms  []string `json:"alarms,omitempty" doc:"health_check_metric: the alarms (region/name) that follow the metrics written"`
	Skipped []string `json:"skipped,omitempty" doc:"writes not made because they are in the Region an ungraceful run avoids"`
	Summary string   `json:"summary"`
}

// TrafficShift makes Region the active one with the environment's lever. It reads first and
// writes only what differs, so a retried or repeated step changes nothing.
func (c *Cloud) TrafficShift(ctx context.Context, in TrafficShiftArgs) (TrafficShiftResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return TrafficShiftResult{}, err
	}
	tr := t.env.Traffic
	if tr == nil {
		return TrafficShiftResult{}, badArgs("environment %s has no traffic section: nothing steers producers", t.envName)
	}
	lever := tr.LeverOf()
	if len(in.Weights) > 0 && lever != runbook.LeverRoute53Weights {
		return TrafficShiftResult{Lever: lever}, badArgs("weights %s are for lever route53_weights; environment %s moves traffic with %s, which takes a Region in or out whole",
			formatWeights(in.Weights), t.envName, lever)
	}
	if in.Force && !in.Ungraceful {
		return TrafficShiftResult{Lever: lever}, badArgs("force is only for an ungraceful shift (the other Region is down)")
	}
	peer := t.env.Peer(t.region)
	desired := map[string]string{t.region: trafficIn, peer: trafficOut}
	if in.Admit {
		if in.Ungraceful || len(in.Weights) > 0 {
			return TrafficShiftResult{Lever: lever}, badArgs("admit lets a recovered Region back in beside the other: it takes neither ungraceful nor weights")
		}
		desired = map[string]string{t.region: trafficIn}
	}
	switch lever {
	case runbook.LeverRoute53Weights:
		if in.Admit {
			// The weights say how much each Region takes; admitting changes none of them. The
			// probe still fails a failback fast whose later weight steps could not run.
			if err := c.probeRoute53(ctx, t); err != nil {
				return TrafficShiftResult{Lever: lever}, err
			}
			return TrafficShiftResult{Lever: lever, Summary: "lever route53_weights: the weights decide, nothing to admit"}, nil
		}
		return c.shiftWeights(ctx, t, in)
	case runbook.LeverARCRoutingControl:
		return c.shiftARC(ctx, t, in, desired)
	case runbook.LeverHealthCheckMetric:
		return c.shiftMetric(ctx, t, in, desired)
	}
	return TrafficShiftResult{Lever: lever}, badArgs("environment %s: unknown traffic.lever %q", t.envName, lever)
}

// ---- route53_weights ----

// route53WeightsProbed reads the weights after probing Route 53's control plane.
func (c *Cloud) route53WeightsProbed(ctx context.Context, t target) (Route53WeightsResult, error) {
	if err := c.probeRoute53(ctx, t); err != nil {
		return Route53WeightsResult{}, err
	}
	return c.Route53Weights(ctx, Route53WeightsArgs{Environment: t.envName, Region: t.region})
}

// probeRoute53 asks Route 53's control plane one question within route53ProbeTimeout. When it
// gets no answer at all — the request held until the timeout, or connections refused or dropped —
// the lever cannot move traffic, and the error says so at once, not retryable, instead of
// leaving the run in a retry loop for as long as us-east-1 is impaired. An answer is the control
// plane working: a refusal (access denied, no such zone) is reported as such, and a throttle or
// 5xx is asked again within the same time, then left to the activity's retries.
func (c *Cloud) probeRoute53(ctx context.Context, t target) error {
	_, ref, err := c.trafficTarget(ctx, t.envName, t.region, "", "", "")
	if err != nil {
		return err
	}
	rc, err := c.opts.AWS.Route53(ctx, t.aws)
	if err != nil {
		return Permanent(err)
	}
	pctx, cancel := context.WithTimeout(ctx, route53ProbeTimeout)
	defer cancel()
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(ref.zone), StartRecordName: aws.String(ref.name),
		StartRecordType: r53types.RRType(ref.typ), MaxItems: aws.Int32(1)}
	var last error
	pause := 100 * time.Millisecond
	for {
		_, err := rc.ListResourceRecordSets(pctx, in, func(o *route53.Options) { o.Retryer = aws.NopRetryer{} })
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = err
		if answered(err) {
			if class, _ := Classify(err); class == ClassPermanent {
				return Wrap(err, "list record sets of", ref.name+" in hosted zone "+ref.zone, t.region)
			}
		}
		timer := time.NewTimer(pause)
		select {
		case <-pctx.Done():
			timer.Stop()
		case <-timer.C:
			pause *= 2
			continue
		}
		break
	}
	if answered(last) {
		return Wrap(last, "list record sets of", ref.name+" in hosted zone "+ref.zone, t.region)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"lever route53_weights cannot move traffic: Route 53's control plane did not answer within %s (%v). "+
			"It is hosted in us-east-1, and AWS advises not to rely on it in a recovery path. "+
			"Move traffic through the data plane instead: set traffic.lever to arc_routing_control or health_check_metric in environment %s "+
			"(docs/configuration.md, Levers)", route53ProbeTimeout, last, t.envName), ErrControlPlaneUnavailable, last)
}

// answered reports whether a failed call got an HTTP answer from the service (any status).
func answered(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() != 0
}

func (c *Cloud) shiftWeights(ctx context.Context, t target, in TrafficShiftArgs) (TrafficShiftResult, error) {
	res := TrafficShiftResult{Lever: runbook.LeverRoute53Weights}
	if err := c.probeRoute53(ctx, t); err != nil {
		return res, err
	}
	// Given weights decide alone (a gradual step, or a rollback restoring the weights read
	// before); route53.set_weights refuses a set that would leave every record at 0.
	weights := in.Weights
	if len(weights) == 0 {
		weights = map[string]int64{t.region: 100, t.env.Peer(t.region): 0}
	}
	out, err := c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: t.envName, Region: t.region, Weights: weights,
		Wait: in.Wait, Timeout: in.Timeout, Comment: in.Comment})
	res.Changed, res.ChangeID, res.Status = out.Changed, out.ChangeID, out.Status
	res.Weights, res.PreviousWeights = out.Weights, out.Previous
	res.Previous, res.States = weightStates(t.env, out.Previous), weightStates(t.env, weightsAfterMap(out.Previous, weights))
	res.Summary = out.Summary
	return res, err
}

func weightsAfterMap(prev, desired map[string]int64) map[string]int64 {
	out := maps.Clone(prev)
	if out == nil {
		out = map[string]int64{}
	}
	maps.Copy(out, desired)
	return out
}

// weightStates: a Region with a weight above 0 takes traffic; when every weight is 0 Route 53
// routes to every record, so every Region does.
func weightStates(env runbook.Environment, w map[string]int64) map[string]string {
	out := map[string]string{}
	allZero := true
	for r := range env.Regions {
		if w[r] > 0 {
			allZero = false
		}
	}
	for r := range env.Regions {
		out[r] = trafficOut
		if w[r] > 0 || allZero {
			out[r] = trafficIn
		}
	}
	return out
}

// ---- arc_routing_control ----

// arcClient returns a client of the environment's cluster. An ungraceful run leaves out the
// cluster's endpoint in the Region it avoids (avoid), unless that is the only one: the cluster
// itself is independent of that Region, but its endpoint there is not.
func (c *Cloud) arcClient(ctx context.Context, t target, avoid string) (ARCClient, error) {
	if t.env.Traffic.ARC == nil {
		return nil, badArgs("environment %s: traffic.lever arc_routing_control needs traffic.arc", t.envName)
	}
	lever := *t.env.Traffic.ARC
	if _, ok := lever.Endpoints[avoid]; ok && len(lever.Endpoints) > 1 {
		lever.Endpoints = maps.Clone(lever.Endpoints)
		delete(lever.Endpoints, avoid)
	}
	f := c.opts.ARC
	if f == nil {
		f = c.defaultARC
	}
	cl, err := f(ctx, lever, t.aws)
	if err != nil {
		return nil, Permanent(fmt.Errorf("ARC cluster %s: %w", lever.ClusterARN, err))
	}
	return cl, nil
}

// arcStates reads every Region's routing control: On takes traffic.
func arcStates(ctx context.Context, cl ARCClient, env runbook.Environment) (map[string]string, error) {
	controls := env.Traffic.ARC.RoutingControls
	arns := make([]string, 0, len(controls))
	for _, r := range regionNames(env) {
		arns = append(arns, controls[r])
	}
	got, err := cl.States(ctx, arns)
	if err != nil {
		return nil, arcError(err, "read routing controls of")
	}
	out := map[string]string{}
	for _, r := range regionNames(env) {
		switch got[controls[r]] {
		case "On":
			out[r] = trafficIn
		case "Off":
			out[r] = trafficOut
		default:
			out[r] = trafficUnknown
		}
	}
	return out, nil
}

// arcError keeps a permanent ARC failure permanent (a refusal every endpoint would repeat). When
// every endpoint was tried and none answered at all (connections refused, dropped or timed out:
// no HTTP status from any), the error is not retried either: the client already went through the
// cluster's endpoints, which are in five Regions so that a Regional outage leaves the others
// answering ("if an endpoint is unavailable, try another cluster endpoint",
// https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html); none
// answering points at the worker's path to them, which a retry loop would only wait on. The
// message names every endpoint tried. Throttling or a 5xx from any endpoint stays retryable.
func arcError(err error, what string) error {
	msg := fmt.Errorf("%s the ARC cluster: %w", what, err)
	var p interface{ Permanent() bool }
	if errors.As(err, &p) && p.Permanent() {
		return Permanent(msg)
	}
	var all *arc.AllEndpointsError
	if errors.As(err, &all) && !slices.ContainsFunc(all.Failures, func(f arc.EndpointFailure) bool { return answered(f.Err) }) {
		tried := make([]string, len(all.Failures))
		for i, f := range all.Failures {
			tried[i] = f.Region + " (" + f.Endpoint + ")"
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s the ARC cluster: no endpoint of the cluster answered; tried %s. "+
			"ARC's data plane runs in five Regions, so check the worker's path to them (network, proxy, traffic.arc.endpoints out of date: "+
			"refresh them with DescribeCluster); not retried, a retry loop would only wait", what, strings.Join(tried, ", ")),
			ErrARCUnreachable, err)
	}
	return msg
}

func (c *Cloud) shiftARC(ctx context.Context, t target, in TrafficShiftArgs, desired map[string]string) (TrafficShiftResult, error) {
	res := TrafficShiftResult{Lever: runbook.LeverARCRoutingControl, States: desired}
	avoid := ""
	if in.Ungraceful {
		avoid = t.env.Peer(t.region)
	}
	cl, err := c.arcClient(ctx, t, avoid)
	if err != nil {
		return res, err
	}
	if res.Previous, err = arcStates(ctx, cl, t.env); err != nil {
		return res, err
	}
	controls := t.env.Traffic.ARC.RoutingControls
	want := map[string]string{}
	for r, s := range desired {
		want[controls[r]] = map[string]string{trafficIn: "On", trafficOut: "Off"}[s]
	}
	changed, err := cl.Set(ctx, want, nil)
	if rules, refused := arcSafetyRules(err); refused {
		if !in.Ungraceful || !in.Force {
			return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("routing controls not updated: %v "+
				"(this run is not ungraceful with force, so the rules stand)", err), ErrSafetyRule, err)
		}
		// Ungraceful + force: the operator asked to move traffic whatever the rules say.
		res.OverriddenSafetyRules = slices.Clone(rules)
		logFor(ctx, c.opts.Logger).Warn("overriding ARC safety rules", "environment", t.envName, "rules", rules)
		changed, err = cl.Set(ctx, want, rules)
	}
	if err != nil {
		return res, arcError(err, "update routing controls of")
	}
	res.ChangedControls, res.Changed = changed, len(changed) > 0
	res.Summary = fmt.Sprintf("routing controls: %s -> %s", formatStates(res.Previous), formatStates(desired))
	if !res.Changed {
		res.Summary = fmt.Sprintf("routing controls already %s", formatStates(desired))
	}
	if len(res.OverriddenSafetyRules) > 0 {
		res.Summary += fmt.Sprintf(" (FORCED past safety rules %s)", strings.Join(res.OverriddenSafetyRules, ", "))
	}
	return res, nil
}

// ---- health_check_metric ----

// metricCheck is Region r's health check and the alarm it watches.
func metricCheck(env runbook.Environment, r string) (runbook.MetricHealthCheck, bool) {
	c, ok := env.Traffic.HealthCheckMetric.Checks[r]
	return c, ok
}

// metricStates reads each Region's alarm in its alarm Region (ALARM: the health check is
// unhealthy, the Region out; OK: in); alarms in avoid are not read. It returns the states and
// the raw alarm states by Region.
func (c *Cloud) metricStates(ctx context.Context, t target, avoid string) (map[string]string, map[string]string, error) {
	h := t.env.Traffic.HealthCheckMetric
	if h == nil {
		return nil, nil, badArgs("environment %s: traffic.lever health_check_metric needs traffic.health_check_metric", t.envName)
	}
	states, raw := map[string]string{}, map[string]string{}
	for _, r := range regionNames(t.env) {
		chk, ok := metricCheck(t.env, r)
		if !ok {
			return nil, nil, badArgs("environment %s: traffic.health_check_metric has no check for %s", t.envName, r)
		}
		if chk.AlarmRegion == avoid {
			states[r] = trafficUnknown
			continue
		}
		at, err := c.target(ctx, t.envName, chk.AlarmRegion)
		if err != nil {
			return nil, nil, err
		}
		cw, err := c.opts.AWS.CloudWatch(ctx, at.aws)
		if err != nil {
			return nil, nil, Permanent(err)
		}
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{chk.AlarmName}})
		if err != nil {
			return nil, nil, Wrap(err, "describe alarm", chk.AlarmName, chk.AlarmRegion)
		}
		if len(out.MetricAlarms) == 0 {
			return nil, nil, Permanent(fmt.Errorf("environment %s: alarm %s (watched by health check %s on %s's record) does not exist in %s; create it on %s/%s or fix traffic.health_check_metric.checks.%s",
				t.envName, chk.AlarmName, chk.HealthCheckID, r, chk.AlarmRegion, h.Namespace, h.MetricName, r))
		}
		raw[r] = string(out.MetricAlarms[0].StateValue)
		switch out.MetricAlarms[0].StateValue {
		case cwtypes.StateValueOk:
			states[r] = trafficIn
		case cwtypes.StateValueAlarm:
			states[r] = trafficOut
		default:
			states[r] = trafficUnknown
		}
	}
	return states, raw, nil
}

// route53ControlPlaneRegion is where Route 53's control plane (health-check reads included) is
// hosted: https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html.
const route53ControlPlaneRegion = "us-east-1"

// verifyMetricHealthChecks asks Route 53 whether each Region's health check exists and watches
// the alarm the environment names: a wrong id or alarm would leave the lever writing metrics
// that move no DNS answer, silently. Those reads are Route 53 control-plane calls, so they are
// only a confirmation: not made by a run that avoids us-east-1, and when the control plane does
// not answer within route53ProbeTimeout the result says so and the lever goes on (the alarms it
// writes do not depend on it). A check that is missing or watches another alarm is a permanent
// error naming the environment field to fix.
func (c *Cloud) verifyMetricHealthChecks(ctx context.Context, t target, avoid string) (string, error) {
	if avoid == route53ControlPlaneRegion {
		return "health checks not verified: Route 53's control plane is in " + route53ControlPlaneRegion + ", which this run avoids", nil
	}
	rc, err := c.opts.AWS.Route53(ctx, t.aws)
	if err != nil {
		return "", Permanent(err)
	}
	for _, r := range regionNames(t.env) {
		chk, ok := metricCheck(t.env, r)
		if !ok {
			continue // metricStates refused it already
		}
		pctx, cancel := context.WithTimeout(ctx, route53ProbeTimeout)
		out, err := rc.GetHealthCheck(pctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(chk.HealthCheckID)},
			func(o *route53.Options) { o.Retryer = aws.NopRetryer{} })
		cancel()
		var missing *r53types.NoSuchHealthCheck
		switch {
		case errors.As(err, &missing):
			return "", Permanent(fmt.Errorf("environment %s: health check %s (traffic.health_check_metric.checks.%s.health_check_id) does not exist in Route 53: no record carries it, so writing %s's metric would move no DNS answer",
				t.envName, chk.HealthCheckID, r, r))
		case err != nil && !answered(err):
			return fmt.Sprintf("health checks not verified: Route 53's control plane did not answer within %s", route53ProbeTimeout), nil
		case err != nil:
			return "", Wrap(err, "get health check", chk.HealthCheckID, t.region)
		}
		cfg := out.HealthCheck.HealthCheckConfig
		var alarm, alarmRegion string
		if cfg.AlarmIdentifier != nil {
			alarm, alarmRegion = aws.ToString(cfg.AlarmIdentifier.Name), string(cfg.AlarmIdentifier.Region)
		}
		if cfg.Type != r53types.HealthCheckTypeCloudwatchMetric || alarm != chk.AlarmName || alarmRegion != chk.AlarmRegion {
			return "", Permanent(fmt.Errorf("environment %s: health check %s (traffic.health_check_metric.checks.%s) is a %s check watching alarm %q in %q, not alarm %q in %q: writing %s's metric would not move its record",
				t.envName, chk.HealthCheckID, r, cfg.Type, alarm, alarmRegion, chk.AlarmName, chk.AlarmRegion, r))
		}
	}
	return "health checks confirmed by Route 53: each watches its alarm", nil
}

func (c *Cloud) shiftMetric(ctx context.Context, t target, in TrafficShiftArgs, desired map[string]string) (TrafficShiftResult, error) {
	res := TrafficShiftResult{Lever: runbook.LeverHealthCheckMetric, States: desired}
	avoid := ""
	if in.Ungraceful {
		avoid = t.env.Peer(t.region)
	}
	prev, _, err := c.metricStates(ctx, t, avoid)
	if err != nil {
		return res, err
	}
	res.Previous = prev
	h := t.env.Traffic.HealthCheckMetric
	var wrote []string
	for _, r := range regionNames(t.env) {
		if _, ok := desired[r]; !ok {
			continue // admit: the other Region is left as it is
		}
		chk, _ := metricCheck(t.env, r)
		alarm := chk.AlarmRegion + "/" + chk.AlarmName
		if chk.AlarmRegion == avoid {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s=%s: alarm %s is in %s, which this ungraceful shift does not call", r, desired[r], alarm, avoid))
			continue
		}
		res.Alarms = append(res.Alarms, alarm)
		if prev[r] == desired[r] {
			continue
		}
		at, err := c.target(ctx, t.envName, chk.AlarmRegion)
		if err != nil {
			return res, err
		}
		cw, err := c.opts.AWS.CloudWatch(ctx, at.aws)
		if err != nil {
			return res, Permanent(err)
		}
		value := 0.0
		if desired[r] == trafficIn {
			value = 1
		}
		var dims []cwtypes.Dimension
		for _, k := range slices.Sorted(maps.Keys(chk.Dimensions)) {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(chk.Dimensions[k])})
		}
		// A datapoint is a sample, not a toggle: writing it again is harmless, so the SDK's own
		// retries may resend it.
		_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(h.Namespace),
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(h.MetricName), Dimensions: dims, Value: aws.Float64(value),
				Timestamp: aws.Time(time.Now()), Unit: cwtypes.StandardUnitCount}}})
		if err != nil {
			return res, Wrap(err, "put metric data "+h.Namespace+"/"+h.MetricName+" for", r, chk.AlarmRegion)
		}
		wrote = append(wrote, fmt.Sprintf("%s=%g in %s", r, value, chk.AlarmRegion))
	}
	res.Changed = len(wrote) > 0
	if res.Changed {
		res.Summary = fmt.Sprintf("%s/%s: wrote %s; alarms %s follow after their evaluation period, then the health checks and DNS (no Route 53 control-plane call)",
			h.Namespace, h.MetricName, strings.Join(wrote, ", "), strings.Join(res.Alarms, ", "))
	} else {
		res.Summary = fmt.Sprintf("alarms %s already say %s", strings.Join(res.Alarms, ", "), formatStates(desired))
	}
	if len(res.Skipped) > 0 {
		res.Summary += "; skipped " + strings.Join(res.Skipped, "; ")
	}
	return res, nil
}

// ---- DNS answers ----

// dnsTimeout bounds one DNS lookup of traffic.state.
const dnsTimeout = 3 * time.Second

// dnsAnswers resolves the environment's record as a client would, through traffic.resolver
// ([resolveRecord]); a failed lookup is a note, not an error: the answers are evidence, and a
// resolver's trouble must not stop a failover.
func dnsAnswers(ctx context.Context, tr *runbook.Traffic) ([]string, string) {
	if tr.Resolver == "" {
		return nil, "DNS answers not read: the environment sets no traffic.resolver"
	}
	l, err := resolveRecord(ctx, tr)
	if err != nil {
		return nil, fmt.Sprintf("DNS answers not read: %v", err)
	}
	return l.values, ""
}

// ---- helpers ----

func activeRegions(states map[string]string) []string {
	out := []string{}
	for _, r := range slices.Sorted(maps.Keys(states)) {
		if states[r] == trafficIn {
			out = append(out, r)
		}
	}
	return out
}

func formatStates(s map[string]string) string {
	keys := slices.Sorted(maps.Keys(s))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no Region"
	}
	return strings.Join(s, ", ")
}
