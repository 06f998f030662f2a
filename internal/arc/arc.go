// Package arc reads and sets Amazon Application Recovery Controller (ARC) routing controls
// through a cluster's data plane.
//
// Why a package of its own: ARC routing controls are the traffic lever that keeps working while
// the Region being left is impaired, but only if the client uses them the way AWS documents.
// A cluster has five Regional endpoints and any of them can read or change a state; the client
// must "try the endpoints in random order until one succeeds", each endpoint signed for its own
// Region, and must not depend on any single one
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html;
// https://docs.aws.amazon.com/r53recovery/latest/dg/route53-arc-best-practices.html). A safety
// rule that refuses an update is not a fault to retry on the next endpoint: every endpoint gives
// the same answer, so it is a permanent error that names the rules and how to override them.
// One client, used by every caller, keeps those decisions in one place.
package arc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycluster"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycluster/types"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycontrolconfig"
	cctypes "github.com/aws/aws-sdk-go-v2/service/route53recoverycontrolconfig/types"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
)

// Routing control states as ARC spells them (route53recoverycluster types: "On" / "Off").
const (
	On  = string(types.RoutingControlStateOn)
	Off = string(types.RoutingControlStateOff)
)

// DefaultEndpointTimeout bounds one call to one endpoint when Options.EndpointTimeout is zero. An
// unreachable Region often does not refuse connections, it just never answers; without a bound
// per endpoint the first such endpoint would use up the caller's whole deadline and the four
// healthy ones would never be tried. The cluster API answers in well under a second.
const DefaultEndpointTimeout = 5 * time.Second

// ConfigFunc returns the AWS configuration to call one Regional endpoint with: credentials for
// the cluster's account, Region set to region. The client sets the endpoint itself.
type ConfigFunc func(ctx context.Context, region, endpoint string) (aws.Config, error)

// Random is the source of the order endpoints are tried in; *math/rand/v2.Rand satisfies it.
type Random interface {
	Perm(n int) []int
}

// Options configure a Client.
type Options struct {
	// Endpoints are the cluster's Regional endpoints, Region → endpoint URL (DescribeCluster's
	// ClusterEndpoints; five on AWS).
	Endpoints map[string]string
	// Config builds each Region's configuration. FactoryConfig adapts the project's
	// awsclients.Factory, which also signs loopback (lab) endpoints with the lab's key pair.
	Config ConfigFunc
	// Rand orders the endpoints; nil uses math/rand/v2's global source. Tests inject one.
	Rand Random
	// EndpointTimeout bounds each call to one endpoint; zero means DefaultEndpointTimeout.
	EndpointTimeout time.Duration
}

// Client calls one ARC cluster. It is safe for concurrent use.
type Client struct {
	regions []string // sorted, so an injected Random gives a reproducible order
	opts    Options

	randMu sync.Mutex
	mu     sync.Mutex
	cache  map[string]*route53recoverycluster.Client
}

// FactoryConfig returns a ConfigFunc that takes each Region's configuration from f, with the
// role assumeRoleARN (empty: none), the endpoint as the Region's endpoint override.
func FactoryConfig(f *awsclients.Factory, assumeRoleARN string) ConfigFunc {
	return func(ctx context.Context, region, endpoint string) (aws.Config, error) {
		return f.Config(ctx, awsclients.Region{Name: region, Endpoint: endpoint, AssumeRoleARN: assumeRoleARN})
	}
}

// New returns a client of the cluster with opts.Endpoints.
func New(opts Options) (*Client, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("arc: the cluster needs at least one Regional endpoint")
	}
	if opts.Config == nil {
		return nil, errors.New("arc: Options.Config is required")
	}
	regions := make([]string, 0, len(opts.Endpoints))
	for r, ep := range opts.Endpoints {
		if r == "" || ep == "" {
			return nil, fmt.Errorf("arc: endpoint %q for Region %q: both are required", ep, r)
		}
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("arc: endpoint %q for Region %s is not an http(s) URL", ep, r)
		}
		regions = append(regions, r)
	}
	slices.Sort(regions)
	if opts.EndpointTimeout <= 0 {
		opts.EndpointTimeout = DefaultEndpointTimeout
	}
	return &Client{regions: regions, opts: opts, cache: map[string]*route53recoverycluster.Client{}}, nil
}

// order is the sequence of Regions one operation tries.
func (c *Client) order() []string {
	var perm []int
	if c.opts.Rand == nil {
		perm = rand.Perm(len(c.regions))
	} else {
		c.randMu.Lock()
		perm = c.opts.Rand.Perm(len(c.regions))
		c.randMu.Unlock()
	}
	out := make([]string, len(perm))
	for i, p := range perm {
		out[i] = c.regions[p]
	}
	return out
}

func (c *Client) client(ctx context.Context, region string) (*route53recoverycluster.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.cache[region]; ok {
		return cl, nil
	}
	endpoint := c.opts.Endpoints[region]
	cfg, err := c.opts.Config(ctx, region, endpoint)
	if err != nil {
		return nil, fmt.Errorf("configuration for %s: %w", region, err)
	}
	cl := route53recoverycluster.NewFromConfig(cfg, func(o *route53recoverycluster.Options) {
		// Each endpoint is signed for its own Region ("you must specify Regional endpoints").
		o.Region = region
		o.BaseEndpoint = aws.String(endpoint)
		// A throttled or failing endpoint is left for the next one rather than retried: the
		// other four are independent, and retrying here spends the deadline on the one that is
		// known to be in trouble.
		o.RetryMaxAttempts = 1
	})
	c.cache[region] = cl
	return cl, nil
}

// EndpointFailure is one endpoint's failure in an operation that tried them all.
type EndpointFailure struct {
	Region, Endpoint string
	Err              error
}

// AllEndpointsError is returned when no endpoint of the cluster answered.
type AllEndpointsError struct {
	Op       string
	Failures []EndpointFailure
}

func (e *AllEndpointsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arc: %s: all %d cluster endpoints failed:", e.Op, len(e.Failures))
	for _, f := range e.Failures {
		fmt.Fprintf(&b, " %s (%s): %v;", f.Region, f.Endpoint, f.Err)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns each endpoint's error.
func (e *AllEndpointsError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// SafetyRuleError is ARC refusing an update because it would violate safety rules. It is
// permanent: every endpoint shares the cluster's state and gives the same answer, and retrying
// later changes nothing until someone changes the controls or the rules.
type SafetyRuleError struct {
	// Rules are the ARNs of the safety rules ARC names.
	Rules []string
	// Message is ARC's message.
	Message string
}

func (e *SafetyRuleError) Error() string {
	rules := "(ARC did not name them)"
	if len(e.Rules) > 0 {
		rules = strings.Join(e.Rules, ", ")
	}
	return fmt.Sprintf("arc: the routing control update would violate safety rules %s: %s. "+
		"To override them, run an ungraceful failover with force: it passes these rules as SafetyRulesToOverride "+
		"(ARC may name one blocking rule at a time: an override can meet the next rule; "+
		"https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.override-safety-rule.html)", rules, e.Message)
}

// Permanent reports that the error is not worth retrying.
func (e *SafetyRuleError) Permanent() bool { return true }

// PermanentError is an answer every endpoint would give (an unknown routing control, a request
// ARC does not accept, access denied), or bad input: trying the next endpoint or retrying does
// not help. Region is the endpoint's Region that answered, empty for bad input.
type PermanentError struct {
	Region string
	Err    error
}

func (e *PermanentError) Error() string {
	if e.Region == "" {
		return "arc: " + e.Err.Error()
	}
	return fmt.Sprintf("arc: endpoint in %s: %v", e.Region, e.Err)
}
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports that the error is not worth retrying.
func (e *PermanentError) Permanent() bool { return true }

// safetyRuleARN matches an ARC safety rule ARN.
var safetyRuleARN = regexp.MustCompile(`arn:aws[a-z-]*:route53-recovery-control::[0-9]{12}:controlpanel/[0-9A-Za-z]+/safetyrule/[0-9A-Za-z]+`)

// classify turns one endpoint's error into the error to return at once (a refusal every
// endpoint would repeat), or nil when the next endpoint should be tried.
func classify(region string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var conflict *types.ConflictException
	var validation *types.ValidationException
	var msg, resource string
	switch {
	case errors.As(err, &conflict):
		msg, resource = conflict.ErrorMessage(), aws.ToString(conflict.ResourceId)
	case errors.As(err, &validation):
		msg = validation.ErrorMessage()
	}
	if msg != "" || resource != "" {
		rules := safetyRuleARN.FindAllString(msg, -1)
		if resource != "" && safetyRuleARN.MatchString(resource) && !slices.Contains(rules, resource) {
			rules = append(rules, resource)
		}
		if len(rules) > 0 || strings.Contains(strings.ToLower(msg), "safety rule") {
			return &SafetyRuleError{Rules: rules, Message: msg}
		}
	}
	var notFound *types.ResourceNotFoundException
	var denied *types.AccessDeniedException
	var limit *types.ServiceLimitExceededException
	if errors.As(err, &notFound) || errors.As(err, &validation) || errors.As(err, &denied) || errors.As(err, &limit) {
		return &PermanentError{Region: region, Err: err}
	}
	// A ConflictException that names no rule ("There was a conflict with this request. Try
	// again."), throttling, 5xx, EndpointTemporarilyUnavailable, connection errors and
	// timeouts: another endpoint may answer.
	return nil
}

// do runs call against the endpoints in random order until one succeeds or returns a
// permanent error.
func (c *Client) do(ctx context.Context, op string, call func(ctx context.Context, cl *route53recoverycluster.Client) error) error {
	var failures []EndpointFailure
	for _, region := range c.order() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("arc: %s: %w", op, err)
		}
		endpoint := c.opts.Endpoints[region]
		cl, err := c.client(ctx, region)
		if err == nil {
			callCtx, cancel := context.WithTimeout(ctx, c.opts.EndpointTimeout)
			err = call(callCtx, cl)
			cancel()
			if err == nil {
				return nil
			}
			if stop := classify(region, err); stop != nil {
				if errors.Is(stop, context.Canceled) {
					return fmt.Errorf("arc: %s: %w", op, stop)
				}
				return stop
			}
		}
		failures = append(failures, EndpointFailure{Region: region, Endpoint: endpoint, Err: err})
	}
	return &AllEndpointsError{Op: op, Failures: failures}
}

// States reads the state of each routing control, ARN → "On" | "Off" (GetRoutingControlState).
func (c *Client) States(ctx context.Context, arns []string) (map[string]string, error) {
	out := make(map[string]string, len(arns))
	err := c.do(ctx, "GetRoutingControlState", func(ctx context.Context, cl *route53recoverycluster.Client) error {
		for _, arn := range arns {
			if _, done := out[arn]; done {
				continue // read through an endpoint that failed later
			}
			res, err := cl.GetRoutingControlState(ctx, &route53recoverycluster.GetRoutingControlStateInput{RoutingControlArn: aws.String(arn)})
			if err != nil {
				return fmt.Errorf("%s: %w", arn, err)
			}
			out[arn] = string(res.RoutingControlState)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Set brings the routing controls to the desired states, ARN → "On" | "Off". It reads first and
// sends one UpdateRoutingControlStates with only the controls that differ, so the cluster sees
// one transaction (both Regions' controls at once, evaluated together by the safety rules) and
// nothing at all when the controls are already as desired. changed lists the ARNs it updated,
// sorted. overrideRules are passed as SafetyRulesToOverride: only for an ungraceful failover
// the operator forced.
func (c *Client) Set(ctx context.Context, desired map[string]string, overrideRules []string) (changed []string, err error) {
	arns := make([]string, 0, len(desired))
	for arn, state := range desired {
		if state != On && state != Off {
			return nil, &PermanentError{Err: fmt.Errorf("routing control %s: state %q is not %q or %q", arn, state, On, Off)}
		}
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	current, err := c.States(ctx, arns)
	if err != nil {
		return nil, err
	}
	var entries []types.UpdateRoutingControlStateEntry
	for _, arn := range arns {
		if current[arn] != desired[arn] {
			changed = append(changed, arn)
			entries = append(entries, types.UpdateRoutingControlStateEntry{
				RoutingControlArn: aws.String(arn), RoutingControlState: types.RoutingControlState(desired[arn])})
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	in := &route53recoverycluster.UpdateRoutingControlStatesInput{UpdateRoutingControlStateEntries: entries}
	if len(overrideRules) > 0 {
		in.SafetyRulesToOverride = slices.Clone(overrideRules)
	}
	err = c.do(ctx, "UpdateRoutingControlStates", func(ctx context.Context, cl *route53recoverycluster.Client) error {
		_, err := cl.UpdateRoutingControlStates(ctx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// ControlPlaneRegion is where ARC's recovery-control-config API answers (the SDK's default
// endpoint is route53-recovery-control-config.us-west-2.amazonaws.com).
const ControlPlaneRegion = "us-west-2"

// ClusterEndpoints asks the recovery-control-config API (DescribeCluster) for the cluster's
// Regional endpoints, Region → URL, to refresh the list an environment file holds. cfg is the
// configuration for ControlPlaneRegion (its BaseEndpoint, if set, is the API's endpoint). The
// control plane lives in one Region, so a failover must not depend on this call: use it while it
// answers, and keep the last list otherwise.
func ClusterEndpoints(ctx context.Context, cfg aws.Config, clusterARN string) (map[string]string, error) {
	cl := route53recoverycontrolconfig.NewFromConfig(cfg, func(o *route53recoverycontrolconfig.Options) {
		o.Region = ControlPlaneRegion
	})
	out, err := cl.DescribeCluster(ctx, &route53recoverycontrolconfig.DescribeClusterInput{ClusterArn: aws.String(clusterARN)})
	if err != nil {
		return nil, fmt.Errorf("arc: describe cluster %s in %s: %w", clusterARN, ControlPlaneRegion, err)
	}
	if out.Cluster == nil || len(out.Cluster.ClusterEndpoints) == 0 {
		return nil, fmt.Errorf("arc: cluster %s has no endpoints (status %s)", clusterARN, statusOf(out.Cluster))
	}
	eps := make(map[string]string, len(out.Cluster.ClusterEndpoints))
	for _, e := range out.Cluster.ClusterEndpoints {
		eps[aws.ToString(e.Region)] = aws.ToString(e.Endpoint)
	}
	return eps, nil
}

func statusOf(c *cctypes.Cluster) string {
	if c == nil {
		return "unknown"
	}
	return string(c.Status)
}
