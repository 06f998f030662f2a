package lab

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// Profile is a latency profile: every delay of the lab that decides how long a failover takes,
// in one place, so that a benchmark states the conditions its figures hold under. Options
// carries the ones the lab needs at start; TTL and the ARC update latency apply to a running lab
// ([Lab.ApplyProfile]).
type Profile struct {
	Name string `json:"name"`
	// Route53ChangeDelay is how long a Route 53 change stays PENDING before INSYNC.
	Route53ChangeDelay time.Duration `json:"route53_change_delay"`
	// DNSTTL is the TTL of the weighted ingest records: resolvers and the producers' clients keep
	// an answer that long.
	DNSTTL time.Duration `json:"dns_ttl"`
	// ARCUpdateLatency is how long an UpdateRoutingControlState(s) call takes before the
	// cluster applies it.
	ARCUpdateLatency time.Duration `json:"arc_update_latency"`
	// PipelineStartDelay and PipelineStopDelay are how long OSI pipelines stay STARTING and
	// STOPPING.
	PipelineStartDelay time.Duration `json:"pipeline_start_delay"`
	PipelineStopDelay  time.Duration `json:"pipeline_stop_delay"`
	// MetricsInterval is how often metrics are published and alarms evaluated; AlarmWindow how
	// long a condition must hold before its alarm fires.
	MetricsInterval time.Duration `json:"metrics_interval"`
	AlarmWindow     time.Duration `json:"alarm_window"`
	// TakesTrafficPeriod is the period of the takes-traffic alarms the health_check_metric lever
	// flips ([Lab.SetTakesTrafficPeriod]).
	TakesTrafficPeriod time.Duration `json:"takes_traffic_period"`
}

// FastProfile is the lab's own defaults (the ones Options' zero values give, and the TTL the lab
// seeds its records with): drills take seconds. Tests and `starter dev` run with these or
// shorter.
func FastProfile() Profile {
	return Profile{Name: "fast", Route53ChangeDelay: 2 * time.Second, DNSTTL: 5 * time.Second, ARCUpdateLatency: 0,
		PipelineStartDelay: 5 * time.Second, PipelineStopDelay: 3 * time.Second, MetricsInterval: time.Second, AlarmWindow: 10 * time.Second,
		TakesTrafficPeriod: TakesTrafficPeriod}
}

// RealisticProfile is what the same failover meets on AWS, each figure from AWS's documentation
// (or, where AWS publishes none, an estimate that says so):
func RealisticProfile() Profile {
	return Profile{
		Name: "realistic",
		// "Amazon Route 53 is designed to propagate updates you make to your DNS records to its
		// world-wide network of authoritative DNS servers within 60 seconds under normal
		// conditions" (https://aws.amazon.com/route53/faqs/): GetChange says INSYNC once it has.
		// The documented bound, not a typical figure.
		Route53ChangeDelay: 60 * time.Second,
		// 60 s: for DNS failover AWS recommends "a TTL of 60 seconds or less"
		// (https://aws.amazon.com/route53/faqs/), and for health-checked records that fail over
		// "setting the TTL to 60 seconds or 120 seconds is a common choice"
		// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/best-practices-dns.html).
		DNSTTL: 60 * time.Second,
		// An estimate: AWS documents UpdateRoutingControlStates as a synchronous call to one of
		// the cluster's five Regional endpoints
		// (https://docs.aws.amazon.com/routing-control/latest/APIReference/API_UpdateRoutingControlStates.html)
		// and publishes no latency; 1 s covers a cross-Region TLS call to a quorum-backed cluster.
		ARCUpdateLatency: time.Second,
		// OSI: starting or stopping a pipeline takes minutes ("It can take several minutes for
		// the pipeline to start": https://docs.aws.amazon.com/opensearch-service/latest/developerguide/pipeline--stop-start.html).
		// A failover starts or stops no pipeline; failback and the pipeline runbooks do.
		PipelineStartDelay: 5 * time.Minute,
		PipelineStopDelay:  3 * time.Minute,
		// CloudWatch: standard-resolution metrics have a 60 s period and an alarm evaluates its
		// period once a minute; with one datapoint to alarm, a condition that starts mid-period
		// is seen at the next evaluation and fires one period later
		// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation).
		// The lab then evaluates once a minute and fires after a minute of breach: 60-120 s.
		MetricsInterval: 60 * time.Second,
		AlarmWindow:     60 * time.Second,
		// The health_check_metric lever's alarm: AWS's shortest period, a high-resolution alarm
		// evaluated every 10 s (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#high-resolution-alarms).
		// The Route 53 health checker's own interval on the alarm is not modelled: AWS documents
		// none for CLOUDWATCH_METRIC checks.
		TakesTrafficPeriod: 10 * time.Second,
	}
}

// ProfileNames are the profiles ProfileByName knows.
var ProfileNames = []string{"fast", "realistic"}

// ProfileByName returns the profile called name (fast or realistic).
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "fast":
		return FastProfile(), nil
	case "realistic":
		return RealisticProfile(), nil
	}
	return Profile{}, fmt.Errorf("unknown latency profile %q (profiles: %s)", name, strings.Join(ProfileNames, ", "))
}

// Options returns o with the profile's start-time delays set: what Start needs.
func (p Profile) Options(o Options) Options {
	o.Route53ChangeDelay = p.Route53ChangeDelay
	o.PipelineStartDelay, o.PipelineStopDelay = p.PipelineStartDelay, p.PipelineStopDelay
	o.MetricsInterval, o.AlarmWindow = p.MetricsInterval, p.AlarmWindow
	return o
}

// ApplyProfile sets what of the profile a running lab can change: the ingest records' TTL, the
// ARC cluster's update latency and the takes-traffic alarms' period. The start-time delays are
// Options (see [Profile.Options]).
func (l *Lab) ApplyProfile(p Profile) error {
	if err := l.SetDNSTTL(p.DNSTTL); err != nil {
		return err
	}
	l.arc.SetUpdateLatency(p.ARCUpdateLatency)
	return l.SetTakesTrafficPeriod(p.TakesTrafficPeriod)
}

// DNSTTL is the TTL of the ingest records (the first one's: the lab keeps them equal).
func (l *Lab) DNSTTL() (time.Duration, error) {
	recs, err := l.ingestRecords()
	if err != nil {
		return 0, err
	}
	if recs[0].TTL == nil {
		return 0, nil
	}
	return time.Duration(*recs[0].TTL) * time.Second, nil
}

// ingestRecords are the weighted records of the producers' ingest name.
func (l *Lab) ingestRecords() ([]awstwin.RecordSet, error) {
	all, err := l.twin.RecordSets(HostedZoneID)
	if err != nil {
		return nil, fmt.Errorf("lab: ingest records: %w", err)
	}
	var out []awstwin.RecordSet
	for _, rs := range all {
		if strings.EqualFold(strings.TrimSuffix(rs.Name, "."), RecordName) && rs.Weight != nil {
			out = append(out, rs)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lab: no weighted records named %s in zone %s", RecordName, HostedZoneID)
	}
	return out, nil
}

// SetDNSTTL sets the TTL of every weighted ingest record (whole seconds, at least 1), keeping
// their weights, values and health checks. Clients pick it up with their next answer.
func (l *Lab) SetDNSTTL(ttl time.Duration) error {
	secs := int64(ttl / time.Second)
	if secs < 1 {
		return fmt.Errorf("lab: DNS TTL %s: want at least 1s", ttl)
	}
	recs, err := l.ingestRecords()
	if err != nil {
		return err
	}
	for _, rs := range recs {
		rs.TTL = &secs
		if err := l.twin.UpsertRecordSet(HostedZoneID, rs); err != nil {
			return fmt.Errorf("lab: set the TTL of record %s: %w", rs.SetIdentifier, err)
		}
	}
	return nil
}
