package runbook

import (
	"cmp"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// Traffic levers: how traffic.shift moves producers between Regions. The environment chooses
// one; the shipped runbooks name only traffic.shift and traffic.state, so they do not fork per
// lever.
const (
	// LeverRoute53Weights changes the weights of the weighted records with
	// ChangeResourceRecordSets: Route 53's control plane, hosted in us-east-1. AWS: "you should
	// not rely on the Route 53 control plane in your recovery path"
	// (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/appendix-b---edge-network-global-service-guidance.html).
	// Kept for planned, gradual moves (failback) while that control plane answers; the
	// default, so environments written before levers existed keep meaning what they meant.
	LeverRoute53Weights = "route53_weights"
	// LeverARCRoutingControl sets Application Recovery Controller routing controls through the
	// cluster's data-plane endpoints (five Regions); the records carry RECOVERY_CONTROL health
	// checks tied to them. The recommended lever.
	LeverARCRoutingControl = "arc_routing_control"
	// LeverHealthCheckMetric flips a CloudWatch metric with PutMetricData; each Region's record
	// carries a CLOUDWATCH_METRIC health check watching an alarm on that metric, kept in the
	// other Region. For teams without an ARC cluster.
	LeverHealthCheckMetric = "health_check_metric"
)

// Levers lists the traffic levers, in the order messages name them.
var Levers = []string{LeverRoute53Weights, LeverARCRoutingControl, LeverHealthCheckMetric}

// ResolverSystem, as traffic.resolver, reads DNS answers through the worker's system resolver.
const ResolverSystem = "system"

// LeverOf is the environment's traffic lever: traffic.lever, or route53_weights when it is left
// out. Everything that dispatches on the lever asks here.
func (t *Traffic) LeverOf() string {
	if t == nil {
		return LeverRoute53Weights
	}
	return cmp.Or(t.Lever, LeverRoute53Weights)
}

// ARCLever is an ARC cluster and the routing control of each Region: On means the Region's
// record is healthy and takes traffic. The endpoints are the cluster's Regional data-plane
// endpoints (DescribeCluster's ClusterEndpoints); calls try them in random order until one
// answers, as AWS documents
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html).
type ARCLever struct {
	// ClusterARN is arn:aws:route53-recovery-control::<account>:cluster/<id>.
	ClusterARN string `yaml:"cluster_arn" json:"cluster_arn"`
	// Endpoints maps a Region to the cluster's endpoint there (1 to 5 of them).
	Endpoints map[string]string `yaml:"endpoints" json:"endpoints"`
	// RoutingControls maps each Region of the environment to its routing control's ARN.
	RoutingControls map[string]string `yaml:"routing_controls" json:"routing_controls"`
}

// HealthCheckMetricLever is a CloudWatch metric per Region (1: the Region takes traffic, 0: it
// is out) that a CLOUDWATCH_METRIC Route 53 health check watches through an alarm. The alarm of
// a Region lives in the other Region — the healthy one when this Region is down — so the write
// that takes a down Region out never needs the down Region.
type HealthCheckMetricLever struct {
	Namespace  string `yaml:"namespace" json:"namespace"`
	MetricName string `yaml:"metric_name" json:"metric_name"`
	// Checks maps each Region of the environment to the health check on its record.
	Checks map[string]MetricHealthCheck `yaml:"checks" json:"checks"`
}

// MetricHealthCheck is one Region's health check and the alarm it watches.
type MetricHealthCheck struct {
	// HealthCheckID is the Route 53 health check (type CLOUDWATCH_METRIC) on the Region's record.
	HealthCheckID string `yaml:"health_check_id" json:"health_check_id"`
	// AlarmRegion is where the alarm and its metric live: the environment's other Region.
	AlarmRegion string `yaml:"alarm_region" json:"alarm_region"`
	AlarmName   string `yaml:"alarm_name" json:"alarm_name"`
	// Dimensions of the metric datum written for this Region (e.g. {Region: us-east-1}).
	Dimensions map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
}

var (
	routingControlARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:route53-recovery-control::[0-9]{12}:controlpanel/[A-Za-z0-9]+/routingcontrol/[A-Za-z0-9]+$`)
	arcClusterARN     = regexp.MustCompile(`^arn:aws(-[a-z]+)*:route53-recovery-control::[0-9]{12}:cluster/[A-Za-z0-9-]+$`)
)

// An ARC cluster has five Regional endpoints
// (https://docs.aws.amazon.com/r53recovery/latest/dg/introduction-components.html).
const maxARCEndpoints = 5

// checkLever validates the lever and its configuration: the lever chosen has its section,
// every Region has its control or check, and no section of another lever is given — a lever is
// never silently replaced by another.
func checkLever(env *Environment, t *Traffic, regions []string, pos posTable, errs *ErrorList) {
	have := strings.Join(regions, ", ")
	if pos.has(t, "resolver") && t.Resolver != ResolverSystem {
		if _, port, err := net.SplitHostPort(t.Resolver); err != nil || port == "" {
			errs.add(pos.val(t, "resolver"), "traffic.resolver must be %q or a DNS server's host:port, got %q", ResolverSystem, t.Resolver)
		}
	}
	if pos.has(t, "lever") && !slices.Contains(Levers, t.Lever) {
		errs.add(pos.val(t, "lever"), "traffic.lever must be %s or %s, got %q%s", strings.Join(Levers[:len(Levers)-1], ", "), Levers[len(Levers)-1], t.Lever, didYouMean(t.Lever, Levers))
		return
	}
	lever := t.LeverOf()
	for _, s := range []struct {
		field, lever string
		given        bool
	}{{"arc", LeverARCRoutingControl, t.ARC != nil}, {"health_check_metric", LeverHealthCheckMetric, t.HealthCheckMetric != nil}} {
		switch {
		case lever == s.lever && !s.given:
			errs.add(pos.val(t, "lever"), "traffic.lever %s needs traffic.%s: without it no traffic can move (no other lever is used instead)", lever, s.field)
		case lever != s.lever && s.given && pos.has(t, s.field):
			dflt := ""
			if !pos.has(t, "lever") {
				dflt = " (the default)"
			}
			errs.add(pos.key(t, s.field), "traffic.%s is given but traffic.lever is %s%s: set lever: %s to use it, or remove it (a lever is never chosen silently)",
				s.field, lever, dflt, s.lever)
		}
	}
	if a := t.ARC; a != nil {
		if pos.has(a, "cluster_arn") && !arcClusterARN.MatchString(a.ClusterARN) {
			errs.add(pos.val(a, "cluster_arn"), "traffic.arc.cluster_arn %q is not an ARC cluster ARN (arn:aws:route53-recovery-control::<12-digit account>:cluster/<id>)", a.ClusterARN)
		}
		if pos.has(a, "endpoints") && len(a.Endpoints) < 1 {
			errs.add(pos.val(a, "endpoints"), "traffic.arc.endpoints must list at least one of the cluster's Regional endpoints (DescribeCluster's ClusterEndpoints), got none")
		}
		if len(a.Endpoints) > maxARCEndpoints {
			errs.add(pos.val(a, "endpoints"), "traffic.arc.endpoints lists %d endpoints; an ARC cluster has %d", len(a.Endpoints), maxARCEndpoints)
		}
		for _, r := range sortedKeys(a.Endpoints) {
			if !catalog.LooksLikeRegion(r) {
				errs.add(pos.key(a, "endpoints."+r), "traffic.arc.endpoints: %q is not an AWS Region name (like us-west-2)", r)
			}
			if u := a.Endpoints[r]; !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				errs.add(pos.val(a, "endpoints."+r), "traffic.arc.endpoints.%s must be an https:// URL, got %q", r, u)
			}
		}
		seen := map[string]string{}
		for _, r := range sortedKeys(a.RoutingControls) {
			arn := a.RoutingControls[r]
			if _, ok := env.Regions[r]; !ok {
				errs.add(pos.key(a, "routing_controls."+r), "traffic.arc.routing_controls: %q is not one of the regions (%s)", r, have)
				continue
			}
			switch {
			case !routingControlARN.MatchString(arn):
				errs.add(pos.val(a, "routing_controls."+r), "traffic.arc.routing_controls.%s %q is not a routing control ARN (arn:aws:route53-recovery-control::<12-digit account>:controlpanel/<id>/routingcontrol/<id>)", r, arn)
			case seen[arn] != "":
				errs.add(pos.val(a, "routing_controls."+r), "traffic.arc.routing_controls.%s is the same routing control as %s: each Region needs its own", r, seen[arn])
			default:
				seen[arn] = r
			}
		}
		for _, r := range regions {
			if _, ok := a.RoutingControls[r]; !ok && pos.has(a, "routing_controls") {
				errs.add(pos.val(a, "routing_controls"), "traffic.arc.routing_controls has no routing control for region %q", r)
			}
		}
	}
	if h := t.HealthCheckMetric; h != nil {
		for _, r := range sortedKeys(h.Checks) {
			owner := entryKey{h, "checks." + r}
			if _, ok := env.Regions[r]; !ok {
				errs.add(pos.key(h, "checks."+r), "traffic.health_check_metric.checks: %q is not one of the regions (%s)", r, have)
				continue
			}
			c := h.Checks[r]
			if !pos.has(owner, "alarm_region") {
				continue
			}
			switch peer := env.Peer(r); {
			case c.AlarmRegion == r:
				errs.add(pos.val(owner, "alarm_region"), "traffic.health_check_metric.checks.%s.alarm_region must not be %s itself: when %s is down its CloudWatch is too, and the metric that takes it out of DNS could not be written; keep the alarm in the other Region (%s)",
					r, r, r, peer)
			case peer != "" && c.AlarmRegion != peer:
				errs.add(pos.val(owner, "alarm_region"), "traffic.health_check_metric.checks.%s.alarm_region must be the environment's other Region, %s, got %q (the worker reaches only the environment's Regions)",
					r, peer, c.AlarmRegion)
			}
		}
		for _, r := range regions {
			if _, ok := h.Checks[r]; !ok && pos.has(h, "checks") {
				errs.add(pos.val(h, "checks"), "traffic.health_check_metric.checks has no health check for region %q", r)
			}
		}
	}
}
