package lab

import "github.com/switchyard-dr/switchyard/internal/lab/awstwin"

// Route53ControlPlaneRegion is where AWS hosts Route 53's control plane: "the Route 53 control
// plane … is hosted in us-east-1"; its DNS data plane and health checkers run in many locations
// and keep working when us-east-1 is impaired (AWS Fault Isolation Boundaries whitepaper, Global
// services: https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html).
// The SDK sends every commercial Region's Route 53 calls to route53.amazonaws.com, signed for
// us-east-1 (https://docs.aws.amazon.com/general/latest/gr/r53.html).
const Route53ControlPlaneRegion = "us-east-1"

// wireRoute53Planes places Route 53's control plane in us-east-1 (unless
// Options.Route53ControlPlaneAnywhere) and connects the health checkers to the lab: they cannot read an impaired Region's
// CloudWatch, and they ask Options.RoutingControlState for routing controls.
func (l *Lab) wireRoute53Planes() {
	l.SetGlobalControlPlaneInHomeRegion(!l.opts.Route53ControlPlaneAnywhere)
	l.SetRoutingControlState(l.opts.RoutingControlState)
}

// SetGlobalControlPlaneInHomeRegion places Route 53's control plane (every Route 53 API call:
// ChangeResourceRecordSets, GetChange, List*, health-check CRUD and status) in
// [Route53ControlPlaneRegion] (on, as AWS does and the lab starts) or in whichever Region's endpoint receives the
// call, exempt from impair-region (off). On: whichever Region's endpoint receives such a call,
// the lab treats it as a call into us-east-1 — ObserveControlPlane reports it with
// FaultContext.Region "us-east-1" (FaultContext.Endpoint is the receiving endpoint's Region),
// and while us-east-1 is impaired it gets that Region's fault (the connection dropped without an
// answer, as every impaired-Region call). DNS answers (Route53Router) and the health checkers
// are data plane and keep working either way.
func (l *Lab) SetGlobalControlPlaneInHomeRegion(on bool) {
	home := ""
	if on {
		home = Route53ControlPlaneRegion
	}
	l.twin.SetRoute53Home(home)
}

// SetRoutingControlState installs the function the Route 53 health checkers ask for the state of
// an ARC routing control (RECOVERY_CONTROL health checks): on, and whether the state is known.
// nil means unknown, and a check then keeps its last status. The ARC cluster twin provides it.
func (l *Lab) SetRoutingControlState(fn func(arn string) (on, known bool)) {
	l.twin.SetHealthCheckHooks(awstwin.HealthCheckHooks{
		RoutingControlState: fn,
		// An impaired Region's CloudWatch answers nobody, Route 53's checkers included: its
		// alarms count as insufficient data (the check's InsufficientDataHealthStatus decides).
		AlarmReadable: func(region string) bool {
			l.fmu.Lock()
			defer l.fmu.Unlock()
			return !l.impaired[region]
		},
	})
}
