package lab

import (
	"errors"
	"fmt"
	"maps"

	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// ARCControlPanel is the name of the lab's ARC control panel.
const ARCControlPanel = "switchyard"

// startARC runs the lab's ARC cluster twin: five Regional endpoints, a control panel with one
// routing control per Region (both On) and the "at least one On" assertion rule AWS recommends
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html). Each
// Region's weighted record then carries a RECOVERY_CONTROL health check on its control
// (seedRoute53), so turning a control Off takes the Region out of DNS answers through the data
// plane alone, as an ARC failover does on AWS
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.create.health-checks.html).
// While every control is On the records answer by weight, as they did before the lab had ARC.
func (l *Lab) startARC() error {
	addrs, control := arcAddrs(l.opts)
	cl, err := arctwin.New(arctwin.Options{Account: AccountID, Credentials: l.opts.secretOf, Logger: l.opts.Logger,
		Addrs: addrs, ControlPlaneAddr: control})
	if err != nil {
		return fmt.Errorf("lab: ARC cluster: %w", err)
	}
	l.arc = cl
	controls, _, err := cl.AddCellControls(ARCControlPanel, l.order, l.order)
	if err != nil {
		return fmt.Errorf("lab: ARC routing controls: %w", err)
	}
	l.arcControls = controls
	if l.opts.RoutingControlState == nil {
		l.opts.RoutingControlState = cl.RoutingControlState
	}
	return nil
}

// arcAddrs are where the ARC twin listens: on fixed ports from Ports.ARC (the environment file of
// a lab on default ports names them), or free ports when Ports.ARC is 0 (RandomPorts).
func arcAddrs(o Options) (endpoints map[string]string, controlPlane string) {
	if o.Ports.ARC == 0 {
		return nil, ""
	}
	endpoints = map[string]string{}
	for i, region := range arctwin.DefaultRegions {
		endpoints[region] = hostPort(o.Host, o.Ports.ARC+i)
	}
	return endpoints, hostPort(o.Host, o.Ports.ARC+len(arctwin.DefaultRegions))
}

// arcLever is the lab's traffic lever: its cluster's routing control of each Region, which the
// records' RECOVERY_CONTROL health checks watch. IDs derive from names, so a lab that has not
// started (DefaultEnvironment) names the same ARNs a running one has.
func arcLever(o Options, ep ARCEndpoints) *runbook.ARCLever {
	panel := arctwin.ControlPanelARN(AccountID, ARCControlPanel)
	controls := map[string]string{}
	for _, region := range []string{o.Primary, o.Secondary} {
		controls[region] = arctwin.RoutingControlARN(panel, arctwin.CellControlName(region))
	}
	return &runbook.ARCLever{ClusterARN: ep.ClusterARN, Endpoints: maps.Clone(ep.Endpoints), RoutingControls: controls}
}

// recoveryHealthCheck creates the RECOVERY_CONTROL health check of a Region's record.
func (l *Lab) recoveryHealthCheck(region string) (string, error) {
	arn, ok := l.arcControls[region]
	if !ok {
		return "", fmt.Errorf("lab: no routing control for %s", region)
	}
	return l.twin.CreateHealthCheck("lab-recovery-"+region, awstwin.HealthCheckConfig{Type: "RECOVERY_CONTROL", RoutingControlArn: arn})
}

// ARC is the lab's ARC cluster twin: tests read its update log and per-Region request counts.
func (l *Lab) ARC() *arctwin.Cluster { return l.arc }

// RoutingControls maps each Region to the ARN of its routing control.
func (l *Lab) RoutingControls() map[string]string { return maps.Clone(l.arcControls) }

// ResetRoutingControls turns every Region's routing control On again, as the lab starts.
func (l *Lab) ResetRoutingControls() error {
	var errs []error
	for _, arn := range l.arcControls {
		errs = append(errs, l.arc.SetRoutingControlState(arn, true))
	}
	return errors.Join(errs...)
}

// impairARC takes the cluster's endpoint in region down with the Region (or brings it back). A
// Region without an endpoint of the cluster is not an error: most Regions have none.
func (l *Lab) impairARC(region string, on bool) error {
	if l.arc == nil {
		return nil
	}
	if err := l.arc.Impair(region, on); err != nil && !errors.Is(err, arctwin.ErrNoEndpoint) {
		return err
	}
	return nil
}

// ARCEnvironment is this lab's environment (traffic lever arc_routing_control) under another
// name: traffic.shift sets the routing controls through the cluster's data-plane endpoints,
// never Route 53's control plane. What an operator who follows AWS's guidance writes.
func (l *Lab) ARCEnvironment(name string) *runbook.Environment {
	env := l.Environment()
	env.Name = name
	return env
}

// WeightsEnvironment is this lab's environment under another name with the traffic lever
// route53_weights: traffic.shift sets the records' weights through Route 53's control plane,
// which lives in us-east-1 — what a team without a data-plane lever has, and what fails in a
// us-east-1 outage.
func (l *Lab) WeightsEnvironment(name string) *runbook.Environment {
	env := l.Environment()
	env.Name = name
	env.Traffic.Lever = ""
	env.Traffic.ARC = nil
	return env
}
