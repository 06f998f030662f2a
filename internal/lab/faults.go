package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// FaultKind names a fault the lab can inject.
type FaultKind string

// Fault kinds. Each acts on the twins' real mechanisms, so clients meet the failure they would
// meet in AWS, not an error code the lab invented.
const (
	// FaultImpairRegion takes a Region away: its Kafka refuses connections, its collection's
	// endpoint stops listening (the pipeline stalls), and its AWS endpoint drops every request
	// except Route 53's, which is global. Route 53's control plane lives in us-east-1 (unless
	// Options.Route53ControlPlaneAnywhere): impairing us-east-1 drops every Route 53 API call,
	// whichever endpoint receives it, while DNS answers and health checks go on. The impaired
	// Region's CloudWatch alarms read as insufficient data to Route 53's health checkers. The
	// zonal domain goes too when it is in the Region.
	FaultImpairRegion FaultKind = "impair-region"
	// FaultStopReplicator pauses a replicator (MessageLag grows, state stays RUNNING).
	FaultStopReplicator FaultKind = "stop-replicator"
	// FaultSlowReplicator delays every batch a replicator copies by Delay (default 1s).
	FaultSlowReplicator FaultKind = "slow-replicator"
	// FaultPartition cuts the path between the Regions: both replicators lose their source
	// (and report FAILED after ReplicatorFailAfter) while each Region keeps working.
	FaultPartition FaultKind = "partition"
	// FaultDLQShare sends Share (default 1) of a Region's documents to its DLQ bucket.
	FaultDLQShare FaultKind = "dlq-share"
	// FaultThrottle answers Share (default 1) of the control-plane calls matching Region and
	// Service ("" = all) with the service's throttling error.
	FaultThrottle FaultKind = "throttle"
	// FaultFail answers Share (default 1) of the matching control-plane calls with HTTP 500.
	FaultFail FaultKind = "fail"
	// FaultTimeout holds Share (default 1) of the matching control-plane calls for Delay
	// (default 1s), then answers HTTP 504, as a load balancer in front of a stuck service does.
	FaultTimeout FaultKind = "timeout"
	// FaultDeny answers the matching control-plane calls (Service, and Operation when given)
	// with AccessDenied, as an IAM policy lacking the action would.
	FaultDeny FaultKind = "deny"
	// FaultLatency adds Delay to every matching control-plane call (benchmarks).
	FaultLatency FaultKind = "latency"
	// FaultZoneOutage fails one zone of the three-zone domain.
	FaultZoneOutage FaultKind = "zone-outage"
	// FaultLostAnswer serves Share (default 1) of the matching control-plane calls — the
	// operation runs and its change is made — and then loses the answer, as LostAs says: HTTP
	// 500 (default), HTTP 504 after Delay (default 1s), or a connection closed without a
	// response. Every other fault refuses a call before it runs; this is the ambiguous failure
	// AWS clients really meet, where the client cannot tell whether its request was carried out
	// and a retry must not apply the change twice (AWS Builders' Library, "Making retries safe
	// with idempotent APIs":
	// https://aws.amazon.com/builders-library/making-retries-safe-with-idempotent-APIs/).
	FaultLostAnswer FaultKind = "lost-answer"
	// FaultStrandChange strands every Route 53 change batch the lab's hosted zone accepts while
	// it is active: each is answered as usual (a change id, PENDING) and never applied, and
	// GetChange then answers NoSuchChange. Route 53 documents these "stranded changes" for a
	// control-plane failover under accelerated recovery, and recommends resubmitting them
	// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/accelerated-recovery.html).
	FaultStrandChange FaultKind = "strand-change"
)

// How a lost-answer fault loses the answer of a call it served.
const (
	// LostAs500 answers the service's internal error (HTTP 500).
	LostAs500 = "500"
	// LostAs504 holds the connection for the fault's Delay, then answers HTTP 504, as a load
	// balancer does whose backend committed the change but answered too late.
	LostAs504 = "504"
	// LostAsDrop closes the connection without a response.
	LostAsDrop = "drop"
)

// FaultKinds lists every kind, for usage messages.
var FaultKinds = []FaultKind{FaultImpairRegion, FaultStopReplicator, FaultSlowReplicator, FaultPartition, FaultDLQShare,
	FaultThrottle, FaultFail, FaultTimeout, FaultDeny, FaultLatency, FaultZoneOutage, FaultLostAnswer,
	FaultStrandChange, FaultNoPersistentBuffer, FaultNoDLQ, FaultCapPipeline, FaultCapCollection, FaultLowQuota,
	FaultIAMDeny, FaultDeleteAlarm, FaultTrafficDrift}

// Fault is one injected fault: what the fault API takes and lists.
type Fault struct {
	// ID identifies the fault (kind plus its target, e.g. "impair-region:us-east-1"); it is
	// derived, so injecting the same fault twice updates it instead of stacking.
	ID   string    `json:"id,omitempty"`
	Kind FaultKind `json:"kind"`
	// Region: impair-region, dlq-share; throttle, fail and latency ("" = every Region); for the
	// replicator faults, the Region the replicator copies into.
	Region string `json:"region,omitempty"`
	// Replicator names a replicator (lab-primary-to-secondary); alternative to Region.
	Replicator string `json:"replicator,omitempty"`
	// Service is a SigV4 signing name (kafka, osis, aoss, es, route53, monitoring, s3, sqs,
	// ssm) for throttle, fail and latency; "" means every service.
	Service string `json:"service,omitempty"`
	// Operation narrows throttle, fail, timeout, deny and lost-answer to one API operation
	// (e.g. DescribeReplicator).
	Operation string `json:"operation,omitempty"`
	// LostAs is how lost-answer loses a served call's answer: "500" (default), "504" or "drop".
	LostAs string   `json:"lost_as,omitempty"`
	Zone   string   `json:"zone,omitempty"`
	Share  float64  `json:"share,omitempty"`
	Delay  Duration `json:"delay,omitempty"`
	// Since is when the fault was injected (set by the lab).
	Since time.Time `json:"since,omitzero"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("1.5s"); a
// JSON number is read as seconds.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if nerr := json.Unmarshal(b, &secs); nerr != nil {
			return fmt.Errorf("duration: want a string like \"1.5s\" or seconds, got %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// ErrInvalidFault is returned for a fault that names an unknown kind or target.
var ErrInvalidFault = errors.New("invalid fault")

// cpRule is an active control-plane fault.
type cpRule struct {
	id        string
	kind      FaultKind
	region    string
	service   string
	operation string
	share     float64
	delay     time.Duration
	lostAs    string
}

func (r cpRule) matches(fc awstwin.FaultContext) bool {
	return (r.region == "" || r.region == fc.Region) && (r.service == "" || r.service == fc.Service) &&
		(r.operation == "" || r.operation == fc.Operation)
}

var knownServices = []string{awstwin.ServiceKafka, awstwin.ServiceOSIS, awstwin.ServiceAOSS, awstwin.ServiceOpenSearch,
	awstwin.ServiceRoute53, awstwin.ServiceCloudWatch, awstwin.ServiceS3, awstwin.ServiceSQS, awstwin.ServiceSSM,
	awstwin.ServiceIAM, awstwin.ServiceSTS, awstwin.ServiceServiceQuotas}

// normalize validates f, fills defaults and derives its ID.
func (l *Lab) normalize(f Fault) (Fault, error) {
	bad := func(format string, a ...any) (Fault, error) {
		return Fault{}, fmt.Errorf("%w: %s", ErrInvalidFault, fmt.Sprintf(format, a...))
	}
	needRegion := func() error {
		if _, err := l.region(f.Region); err != nil {
			return fmt.Errorf("%w: %s needs --region %s or %s", ErrInvalidFault, f.Kind, l.opts.Primary, l.opts.Secondary)
		}
		return nil
	}
	if f.Share < 0 || f.Share > 1 {
		return bad("share %v is not between 0 and 1", f.Share)
	}
	if f.Delay < 0 {
		return bad("delay %s is negative", time.Duration(f.Delay))
	}
	if f.LostAs != "" && f.Kind != FaultLostAnswer {
		return bad("lost_as applies to %s only", FaultLostAnswer)
	}
	switch f.Kind {
	case FaultImpairRegion:
		if err := needRegion(); err != nil {
			return Fault{}, err
		}
		f.ID = string(f.Kind) + ":" + f.Region
	case FaultStopReplicator, FaultSlowReplicator:
		target := ""
		for _, name := range l.order {
			if rep := l.regions[name].inbound; rep.Name() == f.Replicator || (f.Replicator == "" && name == f.Region) {
				target = name
			}
		}
		if target == "" {
			return bad("%s needs --replicator %s|%s or the --region it copies into",
				f.Kind, l.regions[l.opts.Secondary].inbound.Name(), l.regions[l.opts.Primary].inbound.Name())
		}
		f.Region, f.Replicator = target, l.regions[target].inbound.Name()
		if f.Kind == FaultSlowReplicator && f.Delay == 0 {
			f.Delay = Duration(time.Second)
		}
		f.ID = string(f.Kind) + ":" + f.Replicator
	case FaultPartition:
		f.ID = string(f.Kind)
	case FaultDLQShare:
		if err := needRegion(); err != nil {
			return Fault{}, err
		}
		if f.Share == 0 {
			f.Share = 1
		}
		f.ID = string(f.Kind) + ":" + f.Region
	case FaultThrottle, FaultFail, FaultTimeout, FaultDeny, FaultLatency, FaultLostAnswer:
		if f.Region != "" {
			if err := needRegion(); err != nil {
				return Fault{}, err
			}
		}
		if f.Service != "" && !slices.Contains(knownServices, f.Service) {
			return bad("service %q is not one of %s", f.Service, strings.Join(knownServices, ", "))
		}
		if f.Kind == FaultLatency {
			if f.Delay == 0 {
				return bad("latency needs --delay")
			}
		} else if f.Share == 0 {
			f.Share = 1
		}
		if f.Kind == FaultLostAnswer {
			switch f.LostAs {
			case "":
				f.LostAs = LostAs500
			case LostAs500, LostAs504, LostAsDrop:
			default:
				return bad("lost_as %q is not one of %s, %s, %s", f.LostAs, LostAs500, LostAs504, LostAsDrop)
			}
		}
		if (f.Kind == FaultTimeout || f.LostAs == LostAs504) && f.Delay == 0 {
			f.Delay = Duration(time.Second)
		}
		f.ID = string(f.Kind) + ":" + orStar(f.Region) + ":" + orStar(f.Service)
		if f.Operation != "" {
			f.ID += ":" + f.Operation
		}
	case FaultStrandChange:
		f.ID = string(f.Kind)
	case FaultZoneOutage:
		known := false
		for _, z := range l.zonal.ZoneStats() {
			known = known || z.Zone == f.Zone
		}
		if !known {
			return bad("zone-outage needs --zone %sa, %sb or %sc", l.opts.Primary, l.opts.Primary, l.opts.Primary)
		}
		f.ID = string(f.Kind) + ":" + f.Zone
	default:
		if isReadinessFault(f.Kind) {
			return l.normalizeReadinessFault(f) // readiness.go
		}
		kinds := make([]string, len(FaultKinds))
		for i, k := range FaultKinds {
			kinds[i] = string(k)
		}
		return bad("unknown kind %q (kinds: %s)", f.Kind, strings.Join(kinds, ", "))
	}
	return f, nil
}

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// Inject applies a fault, or updates it when a fault with the same ID is active, and returns
// it as recorded.
func (l *Lab) Inject(ctx context.Context, f Fault) (Fault, error) {
	f, err := l.normalize(f)
	if err != nil {
		return Fault{}, err
	}
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.fmu.Lock()
	prev, ok := l.faults[f.ID]
	l.fmu.Unlock()
	f.Since = time.Now().UTC()
	if ok {
		f.Since = prev.Since
	}
	if err := l.apply(ctx, f, true); err != nil {
		return Fault{}, fmt.Errorf("inject %s: %w", f.ID, err)
	}
	l.fmu.Lock()
	l.faults[f.ID] = f
	l.fmu.Unlock()
	l.log.Warn("lab fault injected", "fault", f.ID, "share", f.Share, "delay", time.Duration(f.Delay))
	return f, nil
}

// Heal removes the fault with f's ID (f.ID, or derived from its kind and target) and reports
// whether it was active. Healing a fault that is not active succeeds.
func (l *Lab) Heal(ctx context.Context, f Fault) (bool, error) {
	id := f.ID
	if id == "" {
		nf, err := l.normalize(f)
		if err != nil {
			return false, err
		}
		id = nf.ID
	}
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.fmu.Lock()
	active, ok := l.faults[id]
	l.fmu.Unlock()
	if !ok {
		return false, nil
	}
	if err := l.apply(ctx, active, false); err != nil {
		return false, fmt.Errorf("heal %s: %w", id, err)
	}
	l.fmu.Lock()
	delete(l.faults, id)
	l.fmu.Unlock()
	l.log.Info("lab fault healed", "fault", id)
	return true, nil
}

// HealAll removes every fault and returns the IDs healed.
func (l *Lab) HealAll(ctx context.Context) ([]string, error) {
	var healed []string
	var errs []error
	for _, f := range l.Faults() {
		ok, err := l.Heal(ctx, Fault{ID: f.ID})
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			healed = append(healed, f.ID)
		}
	}
	return healed, errors.Join(errs...)
}

// Faults lists the active faults by ID.
func (l *Lab) Faults() []Fault {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	out := make([]Fault, 0, len(l.faults))
	for _, f := range l.faults {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fault) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// apply sets (on) or clears a fault's effect. Callers hold l.opMu; l.fmu guards only what the
// control-plane hook reads, so a slow effect (stopping a replicator) never stalls AWS calls.
// Every effect is a desired state, so applying twice is harmless.
func (l *Lab) apply(ctx context.Context, f Fault, on bool) error {
	switch f.Kind {
	case FaultImpairRegion:
		rg := l.regions[f.Region]
		l.fmu.Lock()
		l.impaired[f.Region] = on
		l.fmu.Unlock()
		errs := []error{rg.cluster.SetReachable(!on), rg.osGW.SetReachable(!on), l.impairARC(f.Region, on)}
		if f.Region == l.opts.Primary {
			errs = append(errs, l.zonalGW.SetReachable(!on), l.domainGW.SetReachable(!on))
		}
		return errors.Join(errs...)
	case FaultStopReplicator:
		rep := l.regions[f.Region].inbound
		if !on {
			rep.Resume()
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return rep.Stop(sctx)
	case FaultSlowReplicator:
		d := time.Duration(f.Delay)
		if !on {
			d = 0
		}
		l.regions[f.Region].inbound.SetSlow(d)
	case FaultPartition:
		for _, link := range l.links {
			link.SetUp(!on)
		}
	case FaultDLQShare:
		share := f.Share
		if !on {
			share = 0
		}
		l.regions[f.Region].pipeline.SetDLQShare(share)
	case FaultThrottle, FaultFail, FaultTimeout, FaultDeny, FaultLatency, FaultLostAnswer:
		l.fmu.Lock()
		defer l.fmu.Unlock()
		l.rules = slices.DeleteFunc(l.rules, func(r cpRule) bool { return r.id == f.ID })
		if on {
			l.rules = append(l.rules, cpRule{id: f.ID, kind: f.Kind, region: f.Region, service: f.Service, operation: f.Operation,
				share: f.Share, delay: time.Duration(f.Delay), lostAs: f.LostAs})
		}
	case FaultStrandChange:
		n := 0
		if on {
			n = math.MaxInt32 // every change while the fault lasts
		}
		l.twin.StrandRoute53Changes(HostedZoneID, n)
	case FaultZoneOutage:
		// The zone's nodes of both three-zone clusters go down; the managed domain then
		// activates its standby by itself.
		return errors.Join(l.zonal.SetZoneAvailable(f.Zone, !on), l.domain.SetZoneAvailable(f.Zone, !on))
	default:
		if isReadinessFault(f.Kind) {
			return l.applyReadinessFault(f, on) // readiness.go
		}
	}
	return nil
}

// controlPlaneFault is the AWS twin's fault hook: it decides each call's fault and tells the
// observers what it decided.
func (l *Lab) controlPlaneFault(fc awstwin.FaultContext) awstwin.Fault {
	f := l.decideFault(fc)
	l.omu.Lock()
	observers := slices.Collect(maps.Values(l.observers))
	l.omu.Unlock()
	for _, o := range observers {
		o(fc, f)
	}
	return f
}

// ObserveControlPlane calls fn with every control-plane call the AWS endpoints receive and the
// fault the lab answers it with (none, mostly), until the returned stop is called. Tests and
// benchmarks count and time calls this way without displacing the lab's own faults.
// FaultContext.Region is the Region the call is made into: Route 53 calls count as calls into
// its home Region, us-east-1, whichever endpoint
// (FaultContext.Endpoint) received it — so "zero calls into us-east-1" counts Route 53 too.
func (l *Lab) ObserveControlPlane(fn func(awstwin.FaultContext, awstwin.Fault)) (stop func()) {
	l.omu.Lock()
	defer l.omu.Unlock()
	if l.observers == nil {
		l.observers = map[int]func(awstwin.FaultContext, awstwin.Fault){}
	}
	l.nextObserver++
	id := l.nextObserver
	l.observers[id] = fn
	return func() {
		l.omu.Lock()
		defer l.omu.Unlock()
		delete(l.observers, id)
	}
}

// decideFault picks a call's fault. An impaired Region outranks everything; then denials,
// failures, timeouts, throttling, lost answers and added latency, in that order: a call refused
// before it runs cannot also lose its answer after.
func (l *Lab) decideFault(fc awstwin.FaultContext) awstwin.Fault {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	// fc.Region is us-east-1 for Route 53 once its control plane lives there
	// (SetGlobalControlPlaneInHomeRegion); otherwise Route 53, being global, is exempt.
	if l.impaired[fc.Region] && (fc.Service != awstwin.ServiceRoute53 || l.twin.Route53Home() != "") {
		return awstwin.Fault{Kind: awstwin.FaultRegionImpaired}
	}
	var latency time.Duration
	for _, kind := range []FaultKind{FaultDeny, FaultFail, FaultTimeout, FaultThrottle, FaultLostAnswer} {
		for _, r := range l.rules {
			if r.kind == kind && r.matches(fc) && rand.Float64() < r.share {
				switch kind {
				case FaultDeny:
					return awstwin.Fault{Kind: awstwin.FaultAccessDenied}
				case FaultFail:
					return awstwin.Fault{Kind: awstwin.FaultInternalError}
				case FaultTimeout:
					return awstwin.Fault{Kind: awstwin.FaultTimeout, Delay: r.delay}
				case FaultLostAnswer:
					return lostAnswer(r)
				}
				return awstwin.Fault{Kind: awstwin.FaultThrottle}
			}
		}
	}
	for _, r := range l.rules {
		if r.kind == FaultLatency && r.matches(fc) {
			latency = max(latency, r.delay)
		}
	}
	if latency > 0 {
		return awstwin.Fault{Kind: awstwin.FaultLatency, Delay: latency}
	}
	return awstwin.Fault{}
}

// lostAnswer is the twin's fault for a lost-answer rule: serve the call, then fail it.
func lostAnswer(r cpRule) awstwin.Fault {
	switch r.lostAs {
	case LostAs504:
		return awstwin.Fault{Kind: awstwin.FaultTimeout, Delay: r.delay, AfterCommit: true}
	case LostAsDrop:
		return awstwin.Fault{Kind: awstwin.FaultDropConnection, AfterCommit: true}
	}
	return awstwin.Fault{Kind: awstwin.FaultInternalError, AfterCommit: true}
}

// String renders a fault for the CLI.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.ID)
	if f.Share > 0 && f.Kind != FaultImpairRegion {
		b.WriteString(" share=" + strconv.FormatFloat(f.Share, 'g', -1, 64))
	}
	if f.LostAs != "" {
		b.WriteString(" lost_as=" + f.LostAs)
	}
	if f.Delay > 0 {
		b.WriteString(" delay=" + time.Duration(f.Delay).String())
	}
	if !f.Since.IsZero() {
		b.WriteString(" since " + f.Since.Format(time.RFC3339))
	}
	return b.String()
}
