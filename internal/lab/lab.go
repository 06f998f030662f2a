// Package lab assembles the running twin of the two-Region architecture Switchyard protects: in
// each Region a Kafka cluster, an OpenSearch Ingestion pipeline, an OpenSearch Serverless
// collection and a DLQ bucket; MSK Replicators both ways; Route 53 weighted records that steer
// the producers; CloudWatch metrics and alarms that publish state changes to SQS; a three-zone
// self-managed OpenSearch cluster for zonal failover and a three-zone managed domain whose zones
// can only be watched; and a fault API that breaks any of it on demand.
//
// Why the lab exists: no real AWS is reachable from the team's machines or CI, and operators
// want to rehearse disaster recovery on a laptop before they trust a tool with production. So
// every runbook, test, demo and benchmark runs against the lab, through the same SDK clients
// that talk to AWS — only the endpoints differ (runbooks/environments/lab.yaml). That only proves
// something if the lab fails the way AWS fails and recovers the way AWS recovers, which is why it
// is built from wire-compatible twins (awstwin, kafkatwin, opensearchtwin) rather than mocks, and
// why faults act on the twins' real mechanisms: an impaired Region's Kafka refuses connections,
// its collection stops answering, its control plane drops requests; a partition cuts only the
// replicators' path between Regions; a traffic shift is a real ChangeResourceRecordSets that the
// producers follow.
//
// Choices a drill depends on:
//
//   - Traffic starts active/passive: weight 100 on the primary's record and 0 on the secondary's
//     (Options.InitialWeights), as the sample's producer writes to the primary. Both Regions
//     still replicate to each other, so a shift needs no replicator change.
//   - Alarms are evaluated by the lab, not by metric math: "pipeline not ingesting" means no
//     document indexed for Options.AlarmWindow while its consumer group has a backlog (an idle
//     pipeline is healthy); "collection unreachable" means the lab's probe of the collection
//     endpoint failed for the window; "replication lag high" means the inbound replicator's
//     MessageLag stayed above Options.ReplicationLagThreshold, or could not be measured, for the
//     window. Every state change is sent as an EventBridge "CloudWatch Alarm State Change" event
//     to the SQS queue [AlarmQueue] in both Regions (a cross-Region EventBridge rule, so the
//     intake can read it while the alarm's own Region is down); both copies carry the same event
//     id, so consumers deduplicate on it. An impaired Region's alarms evaluate and send nothing,
//     as on AWS; each Region also keeps the other's collection-unreachable alarm on a canary it
//     runs, so that alarm still arrives from the healthy Region (monitor.go,
//     docs/reliability.md "Alarms from the healthy Region").
//   - The producer plays several application instances, each resolving the weighted record
//     through the lab's Route 53 data plane ([Route53Router.Resolve]: one record per answer, by
//     weight; all weights 0 means every record with equal probability, as Route 53 does) and
//     keeping the answer for the record's TTL (5 s). After a change is INSYNC, writes still reach
//     the old Region for up to a TTL, as they would on AWS; write checks must wait longer.
//   - Route 53 is global and its control plane lives in us-east-1, as AWS runs it: impairing
//     us-east-1 takes every Route 53 API call down, whichever Region's endpoint receives it; its
//     DNS answers and health checks keep working (Options.Route53ControlPlaneAnywhere undoes
//     this, unlike AWS).
//   - An ARC cluster twin (five Regional endpoints and the recovery-control-config API, on
//     fixed ports after the lab's) holds one routing control per Region; each Region's record
//     carries a RECOVERY_CONTROL health check on it, and the lab's environment moves traffic
//     with them (traffic.lever arc_routing_control), through the data plane.
//   - Metrics use the real namespaces, names and dimensions (AWS/Kafka by ReplicatorName in the
//     target Region, AWS/OSIS by PipelineName, SumOffsetLag by consumer group); the collection
//     probe, which has no AWS equivalent, is Switchyard/Lab CollectionReachable.
//   - Every OpenSearch request is authenticated as its real counterpart does it: the collections
//     and the managed domain verify SigV4 signatures (service aoss or es, the Region, the secret
//     of a key the lab knows: [AccessKeyID] and Options.Credentials) and answer AWS's 403
//     otherwise; the self-managed zonal cluster wants basic auth ([ZonalUser], whose password
//     the lab keeps in SSM as [ZonalPasswordParameter], as an operator would). The lab's OSI
//     pipelines sign their writes like OSI's pipeline role does.
package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// Fixed names of the lab, as runbooks/environments/lab.yaml spells them.
const (
	AccountID     = "000000000000"
	Topic         = kafkatwin.DefaultTopic
	HostedZoneID  = "ZLAB0000000001"
	HostedZone    = "lab.switchyard.internal"
	RecordName    = "ingest.lab.switchyard.internal"
	AlarmQueue    = "switchyard-alarms"
	ZonalDomain   = "lab-multiaz"
	SubPipeline   = kafkatwin.DefaultSubPipeline
	IndexPattern  = "application-logs-*"
	rolePrimary   = "primary"
	roleSecondary = "secondary"
)

// The self-managed three-zone cluster the zonal runbooks move zones on, and its login: the user
// ZonalUser, whose password is the SecureString parameter ZonalPasswordParameter in the primary
// Region's SSM.
const (
	ZonalCluster           = "lab-zonal"
	ZonalUser              = "switchyard"
	ZonalPasswordParameter = "/switchyard/lab/zonal-opensearch-password"
)

// The key pair the lab knows besides Options.Credentials. Tools that reach the lab on this machine
// sign with it (internal/awsclients' default lab credentials are the same pair; a test keeps them
// equal), and so can a person: `curl --aws-sigv4 "aws:amz:us-east-1:aoss" --user
// SWITCHYARDLAB:switchyard-lab ...`.
const (
	AccessKeyID     = "SWITCHYARDLAB"
	SecretAccessKey = "switchyard-lab"
)

// Ports are the lab's listening ports on Options.Host.
type Ports struct {
	Primary, Secondary RegionPorts
	// Zonal serves the three-zone self-managed OpenSearch cluster.
	Zonal int
	// Domain serves the three-zone managed domain's data plane.
	Domain int
	// FaultAPI serves the fault API and the lab's endpoints.
	FaultAPI int
	// DNS serves the hosted zone's DNS answers, UDP and TCP (traffic.resolver).
	DNS int
	// ARC is the first of six ports of the ARC cluster twin: its five endpoints, in
	// arctwin.DefaultRegions order, then the recovery-control-config API.
	ARC int
}

// RegionPorts are one Region's ports.
type RegionPorts struct {
	AWS, Kafka, OpenSearch int
}

// DefaultPorts are the ports runbooks/environments/lab.yaml names.
func DefaultPorts() Ports {
	return Ports{
		Primary:   RegionPorts{AWS: 4510, Kafka: 9092, OpenSearch: 9200},
		Secondary: RegionPorts{AWS: 4520, Kafka: 9093, OpenSearch: 9201},
		Zonal:     9210,
		Domain:    9211,
		FaultAPI:  4500,
		DNS:       DefaultDNSPort,
		ARC:       4530,
	}
}

// DefaultFaultAPI is the fault API's address on the default ports.
const DefaultFaultAPI = "http://127.0.0.1:4500"

// Options configures the lab. The zero value runs it on the default ports with no producer.
// Durations: 0 means the default given; a negative value means none.
type Options struct {
	// Primary and Secondary are the two Regions; "" means us-east-1 and us-west-2.
	Primary, Secondary string
	// Host is the address every listener binds; "" means 127.0.0.1.
	Host string
	// Ports overrides the default ports field by field (0 keeps the default).
	Ports Ports
	// RandomPorts binds every listener to a free port instead (tests, parallel labs); the
	// lab's Endpoints and Environment report the ports chosen.
	RandomPorts bool

	// PipelineStartDelay and PipelineStopDelay are how long STARTING and STOPPING last
	// (defaults 5s and 3s; OSI takes minutes).
	PipelineStartDelay, PipelineStopDelay time.Duration
	// Route53ChangeDelay is how long a change stays PENDING before INSYNC (default 2s).
	Route53ChangeDelay time.Duration
	// Route53ProcessingTime is how long Route 53 takes to process a change request for a hosted
	// zone; another change request for the zone arriving sooner is refused with
	// PriorRequestNotComplete (default 0: never). Real Route 53 refuses so when requests for one
	// zone come faster than it processes them.
	Route53ProcessingTime time.Duration
	// ReplicatorCreateDelay is how long the replicators stay CREATING at start (default 1s);
	// ReplicatorUpdateDelay how long UpdateReplicationInfo keeps one UPDATING (default 2s).
	ReplicatorCreateDelay, ReplicatorUpdateDelay time.Duration
	// ReplicatorFailAfter is how long a replicator may miss a cluster before it reports
	// FAILED (default 10s).
	ReplicatorFailAfter time.Duration

	// ProducerRate is events per second of the lab's producer; 0 means no producer.
	ProducerRate float64
	// WithEventIDs adds a unique event_id to every produced event.
	WithEventIDs bool
	// TestID tags produced events; "" means "lab".
	TestID string
	// InitialWeights are the Route 53 weights by Region; nil means 100 on the primary and 0 on
	// the secondary.
	InitialWeights map[string]int64

	// MetricsInterval is how often metrics are published and alarms evaluated (default 1s).
	MetricsInterval time.Duration
	// AlarmWindow is how long a condition must hold before its alarm fires (default 10s).
	AlarmWindow time.Duration
	// ReplicationLagThreshold is the MessageLag above which replication lag is high (default
	// 1000 records).
	ReplicationLagThreshold int64

	// Route53ControlPlaneAnywhere lets every Region's endpoint answer Route 53 API calls,
	// exempt from impair-region: unlike AWS, which hosts Route 53's control plane in us-east-1
	// (by default every Route 53 API call counts as a call into us-east-1 and fails while it is
	// impaired, whichever Region's endpoint receives it; DNS answers and health checks keep
	// working). For tests of weights under a us-east-1 fault that AWS would not allow. See
	// [Lab.SetGlobalControlPlaneInHomeRegion].
	Route53ControlPlaneAnywhere bool
	// RecordHealthChecks is the kind of health check the weighted records carry:
	// RecordChecksRecoveryControl ("", the default: ARC routing controls) or
	// RecordChecksCloudWatchMetric (takes-traffic alarms, lever health_check_metric). See
	// [Lab.SetRecordHealthChecks] (hcm.go).
	RecordHealthChecks string
	// RoutingControlState tells Route 53's RECOVERY_CONTROL health checks whether an ARC routing
	// control is On (and whether that is known); nil means unknown. See
	// [Lab.SetRoutingControlState].
	RoutingControlState func(arn string) (on, known bool)
	// IAMPolicyFiles names, per Region, the policy file of the worker's role there, which IAM
	// policy simulation answers from; a Region not named gets DefaultWorkerPolicy (readiness.go).
	IAMPolicyFiles map[string]string

	// Credentials are key pairs the lab's OpenSearch endpoints accept besides AccessKeyID (access
	// key id to secret): the signatures are verified, so a client must sign with a pair the lab
	// knows.
	Credentials map[string]string
	// ZonalPassword is the zonal cluster's password; "" means a random one, which the lab puts in
	// SSM (ZonalPasswordParameter) where the environment's secret reference finds it.
	ZonalPassword string

	// Logger receives the lab's and the twins' logs; nil means slog.Default().
	Logger *slog.Logger
}

func orDur(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

func (o Options) withDefaults() Options {
	if o.Primary == "" {
		o.Primary = "us-east-1"
	}
	if o.Secondary == "" {
		o.Secondary = "us-west-2"
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	def := DefaultPorts()
	pick := func(p *int, d int) {
		if o.RandomPorts {
			*p = 0
		} else if *p == 0 {
			*p = d
		}
	}
	pick(&o.Ports.Primary.AWS, def.Primary.AWS)
	pick(&o.Ports.Primary.Kafka, def.Primary.Kafka)
	pick(&o.Ports.Primary.OpenSearch, def.Primary.OpenSearch)
	pick(&o.Ports.Secondary.AWS, def.Secondary.AWS)
	pick(&o.Ports.Secondary.Kafka, def.Secondary.Kafka)
	pick(&o.Ports.Secondary.OpenSearch, def.Secondary.OpenSearch)
	pick(&o.Ports.Zonal, def.Zonal)
	pick(&o.Ports.Domain, def.Domain)
	pick(&o.Ports.FaultAPI, def.FaultAPI)
	pick(&o.Ports.DNS, def.DNS)
	pick(&o.Ports.ARC, def.ARC)
	o.PipelineStartDelay = orDur(o.PipelineStartDelay, 5*time.Second)
	o.PipelineStopDelay = orDur(o.PipelineStopDelay, 3*time.Second)
	o.Route53ChangeDelay = orDur(o.Route53ChangeDelay, 2*time.Second)
	o.ReplicatorCreateDelay = orDur(o.ReplicatorCreateDelay, time.Second)
	o.ReplicatorUpdateDelay = orDur(o.ReplicatorUpdateDelay, 2*time.Second)
	o.ReplicatorFailAfter = orDur(o.ReplicatorFailAfter, 10*time.Second)
	o.MetricsInterval = orDur(o.MetricsInterval, time.Second)
	if o.MetricsInterval <= 0 {
		o.MetricsInterval = time.Second
	}
	o.AlarmWindow = orDur(o.AlarmWindow, 10*time.Second)
	if o.ReplicationLagThreshold <= 0 {
		o.ReplicationLagThreshold = 1000
	}
	if o.TestID == "" {
		o.TestID = "lab"
	}
	if o.InitialWeights == nil {
		o.InitialWeights = map[string]int64{o.Primary: 100, o.Secondary: 0}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ZonalPassword == "" {
		var b [12]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		o.ZonalPassword = hex.EncodeToString(b[:])
	}
	return o
}

// secretOf returns the secret access key of a key pair the lab knows.
func (o Options) secretOf(accessKeyID string) (string, bool) {
	if accessKeyID == AccessKeyID {
		return SecretAccessKey, true
	}
	s, ok := o.Credentials[accessKeyID]
	return s, ok
}

// sigV4Auth is how the lab's collections and its managed domain authenticate in Region.
func (o Options) sigV4Auth(region string) *opensearchtwin.Auth {
	return &opensearchtwin.Auth{Region: region, Secrets: o.secretOf}
}

// Lab is a running twin. Its methods are safe for concurrent use.
type Lab struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	twin    *awstwin.Twin
	regions map[string]*region // by Region name
	order   []string           // primary, secondary
	zonal   *opensearchtwin.Cluster
	zonalGW *gatedServer
	faultGW *gatedServer
	links   map[string]*kafkatwin.Link // by target Region: the inbound replicator's path to its source
	router  *Route53Router
	dns     *dnsServer

	// zonal is the self-managed cluster the zonal runbooks act on; domain is the managed domain,
	// whose zones are the service's business.
	domain   *opensearchtwin.Cluster
	domainGW *gatedServer

	producer *Producer
	monitor  *monitor

	// arc is the ARC cluster twin; arcControls its routing control of each Region.
	arc         *arctwin.Cluster
	arcControls map[string]string
	// hcm holds both kinds of record health checks (hcm.go).
	hcm *hcmSetup

	opMu     sync.Mutex // serializes Inject and Heal
	fmu      sync.Mutex // guards the three fields below
	faults   map[string]Fault
	impaired map[string]bool
	rules    []cpRule
	// deletedAlarms keeps the alarms the delete-alarm fault removed, by Region (readiness.go).
	deletedAlarms map[string]awstwin.Alarm

	smu    sync.Mutex        // guards states
	states map[string]string // by "<region>/<resource>": what SetReportedState told the control plane to report

	omu          sync.Mutex // guards the observers of ObserveControlPlane
	observers    map[int]func(awstwin.FaultContext, awstwin.Fault)
	nextObserver int

	closeOnce sync.Once
}

// region is one Region's half of the architecture.
type region struct {
	name, role string
	ports      RegionPorts
	cluster    *kafkatwin.Cluster
	collection *opensearchtwin.Cluster
	osGW       *gatedServer
	awsGW      *gatedServer
	pipeline   *kafkatwin.Pipeline
	inbound    *kafkatwin.Replicator // copies the peer's topic into this Region
}

// Start runs the lab and returns once every listener is bound, the pipelines are ACTIVE and the
// replicators RUNNING; ctx bounds that wait only. Close releases everything.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	o := opts.withDefaults()
	if o.Primary == o.Secondary {
		return nil, fmt.Errorf("lab: primary and secondary Regions are both %q", o.Primary)
	}
	l := &Lab{
		opts: o, log: o.Logger.With("component", "lab"), started: time.Now(),
		regions: map[string]*region{}, order: []string{o.Primary, o.Secondary},
		links: map[string]*kafkatwin.Link{}, faults: map[string]Fault{}, impaired: map[string]bool{},
	}
	if err := l.build(); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.waitReady(ctx); err != nil {
		l.Close()
		return nil, err
	}
	if o.ProducerRate > 0 {
		if err := l.startProducer(); err != nil {
			l.Close()
			return nil, err
		}
	}
	l.log.Info("lab is up", "primary", o.Primary, "secondary", o.Secondary, "fault_api", l.faultGW.URL())
	return l, nil
}

func (l *Lab) build() error {
	o := l.opts
	l.twin = awstwin.New(awstwin.Options{AccountID: AccountID, Logger: o.Logger, Route53ChangeDelay: o.Route53ChangeDelay,
		Route53ProcessingTime: o.Route53ProcessingTime, EvaluateAlarms: true})
	for _, name := range l.order {
		rg := &region{name: name, role: roleSecondary, ports: o.Ports.Secondary}
		if name == o.Primary {
			rg.role, rg.ports = rolePrimary, o.Ports.Primary
		}
		l.regions[name] = rg
		var ports []int
		if rg.ports.Kafka != 0 {
			ports = []int{rg.ports.Kafka}
		}
		var err error
		rg.cluster, err = kafkatwin.NewCluster(kafkatwin.ClusterOptions{Region: name, Name: clusterName(rg.role), Ports: ports,
			AccountID: AccountID, Logger: o.Logger})
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		rg.collection = opensearchtwin.New(opensearchtwin.Options{Name: collectionName(rg.role), Mode: opensearchtwin.ModeServerless,
			Auth: o.sigV4Auth(name), Logger: o.Logger})
		if rg.osGW, err = serveGated(o.Host, rg.ports.OpenSearch, rg.collection.Handler(), o.Logger); err != nil {
			return fmt.Errorf("lab: collection %s in %s: %w", collectionName(rg.role), name, err)
		}
		if err := l.twin.CreateBucket(name, dlqBucket(name)); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if err := l.twin.CreateQueue(name, AlarmQueue); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		// OSI signs its writes with the pipeline role's credentials for aoss (sts_role_arn in the
		// sink); the lab's pipelines sign with the lab's key.
		sg, err := awsv2.NewSignerWithService(aws.Config{Region: name,
			Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")}, "aoss")
		if err != nil {
			return fmt.Errorf("lab: pipeline signer: %w", err)
		}
		rg.pipeline, err = kafkatwin.NewPipeline(kafkatwin.PipelineOptions{
			Name: pipelineName(rg.role), Cluster: rg.cluster, GroupID: consumerGroup(rg.role), OpenSearchURL: rg.osGW.URL(), Signer: sg,
			Region: name, DLQ: s3DLQ{twin: l.twin, region: name}, DLQBucket: dlqBucket(name),
			StartDelay: o.PipelineStartDelay, StopDelay: o.PipelineStopDelay, Logger: o.Logger,
		})
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	for _, target := range l.order {
		tgt := l.regions[target]
		src := l.regions[l.peer(target)]
		link := kafkatwin.NewLink()
		l.links[target] = link
		// The seed's two-way design: identical topic names, and ENHANCED offset sync so that
		// consumers can fail back (runbooks/environments/lab.yaml says so, and the pre-flight
		// checks it).
		r, err := kafkatwin.NewReplicator(kafkatwin.ReplicatorOptions{
			Name: replicatorName(src.role, tgt.role), Source: src.cluster, Target: tgt.cluster, SourceLink: link,
			TopicNameConfiguration: kafkatwin.TopicNameIdentical, ConsumerGroupOffsetSyncMode: kafkatwin.OffsetSyncEnhanced,
			CreateDelay: o.ReplicatorCreateDelay, UpdateDelay: o.ReplicatorUpdateDelay, FailAfter: o.ReplicatorFailAfter,
			Logger: o.Logger,
		})
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		tgt.inbound = r
	}
	for _, name := range l.order {
		l.regions[name].inbound.SetReverse(l.regions[l.peer(name)].inbound)
	}

	zones := []string{o.Primary + "a", o.Primary + "b", o.Primary + "c"}
	l.zonal = opensearchtwin.New(opensearchtwin.Options{Name: ZonalCluster, Mode: opensearchtwin.ModeSelfManaged, Zones: zones, StandbyZone: zones[2],
		Auth: &opensearchtwin.Auth{Users: map[string]string{ZonalUser: o.ZonalPassword}}, Logger: o.Logger})
	var err error
	if l.zonalGW, err = serveGated(o.Host, o.Ports.Zonal, l.zonal.Handler(), o.Logger); err != nil {
		return fmt.Errorf("lab: zonal cluster: %w", err)
	}
	if _, err := l.twin.PutParameter(o.Primary, ZonalPasswordParameter, o.ZonalPassword, "SecureString"); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.domain = opensearchtwin.New(opensearchtwin.Options{Name: ZonalDomain, Mode: opensearchtwin.ModeManaged, Zones: zones, StandbyZone: zones[2],
		Auth: o.sigV4Auth(o.Primary), Logger: o.Logger})
	if l.domainGW, err = serveGated(o.Host, o.Ports.Domain, l.domain.Handler(), o.Logger); err != nil {
		return fmt.Errorf("lab: managed domain: %w", err)
	}

	for _, name := range l.order {
		rg := l.regions[name]
		b := awstwin.Backends{MSK: mskBackend{l: l, rg: rg}, OSIS: &osisBackend{l: l, rg: rg}, AOSS: aossBackend{l: l, rg: rg}}
		if name == o.Primary {
			b.OpenSearch = domainBackend{l: l}
		}
		l.twin.SetBackends(name, b)
		if rg.awsGW, err = serveGated(o.Host, rg.ports.AWS, l.twin.Handler(name), o.Logger); err != nil {
			return fmt.Errorf("lab: AWS endpoint of %s: %w", name, err)
		}
	}
	l.twin.SetFaultHook(l.controlPlaneFault)
	if err := l.seedIdentity(); err != nil { // readiness.go
		return err
	}
	if err := l.startARC(); err != nil {
		return err
	}
	l.wireRoute53Planes()
	if err := l.seedRoute53(); err != nil {
		return err
	}
	l.router = &Route53Router{Twin: l.twin, ZoneID: HostedZoneID, Name: RecordName, Type: "CNAME", SetIdentifiers: l.setIdentifiers()}
	if l.dns, err = startDNSServer(l.twin, map[string]string{HostedZone: HostedZoneID}, o.Host, o.Ports.DNS, o.Logger); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := l.defineAlarms(); err != nil {
		return err
	}
	if l.faultGW, err = serveGated(o.Host, o.Ports.FaultAPI, l.faultAPI(), o.Logger); err != nil {
		return fmt.Errorf("lab: fault API: %w", err)
	}
	l.monitor = startMonitor(l)
	return nil
}

func (l *Lab) seedRoute53() error {
	if err := l.twin.PutHostedZone(HostedZoneID, HostedZone, true); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	ttl := int64(5)
	for _, name := range l.order {
		w := l.opts.InitialWeights[name]
		hc, err := l.recordHealthCheck(name)
		if err != nil {
			return err
		}
		err = l.twin.UpsertRecordSet(HostedZoneID, awstwin.RecordSet{Name: RecordName, Type: "CNAME", SetIdentifier: name, Weight: &w,
			TTL: &ttl, Values: []string{ingestHost(name)}, HealthCheckID: hc})
		if err != nil {
			return fmt.Errorf("lab: seed Route 53: %w", err)
		}
	}
	return nil
}

func (l *Lab) setIdentifiers() map[string]string {
	m := map[string]string{}
	for _, name := range l.order {
		m[name] = name
	}
	return m
}

func (l *Lab) waitReady(ctx context.Context) error {
	for _, name := range l.order {
		rg := l.regions[name]
		if err := rg.pipeline.WaitForStatus(ctx, kafkatwin.PipelineActive); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if err := rg.inbound.WaitForState(ctx, kafkatwin.ReplicatorRunning); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	return nil
}

func (l *Lab) startProducer() error {
	boot := map[string][]string{}
	for _, name := range l.order {
		boot[name] = l.regions[name].cluster.Bootstrap()
	}
	p, err := NewProducer(ProducerOptions{Bootstrap: boot, Topic: Topic, Resolver: l.router, Rate: l.opts.ProducerRate,
		TestID: l.opts.TestID, WithEventIDs: l.opts.WithEventIDs, Logger: l.opts.Logger})
	if err != nil {
		return fmt.Errorf("lab: producer: %w", err)
	}
	l.producer = p
	p.Start(context.Background())
	return nil
}

// Close stops the lab; its data is gone afterwards. It is safe to call more than once.
func (l *Lab) Close() {
	l.closeOnce.Do(func() {
		if l.producer != nil {
			l.producer.Close()
		}
		if l.monitor != nil {
			l.monitor.stop()
		}
		if l.faultGW != nil {
			l.faultGW.Close()
		}
		if l.dns != nil {
			l.dns.Close()
		}
		var wg sync.WaitGroup
		for _, rg := range l.regions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if rg.pipeline != nil {
					rg.pipeline.Close()
				}
				if rg.inbound != nil {
					rg.inbound.Close()
				}
			}()
		}
		wg.Wait()
		if l.twin != nil {
			l.twin.Close() // releases held requests before the servers close
		}
		if l.arc != nil {
			l.arc.Close()
		}
		for _, rg := range l.regions {
			for _, gw := range []*gatedServer{rg.awsGW, rg.osGW} {
				if gw != nil {
					gw.Close()
				}
			}
			if rg.cluster != nil {
				rg.cluster.Close()
			}
		}
		for _, gw := range []*gatedServer{l.zonalGW, l.domainGW} {
			if gw != nil {
				gw.Close()
			}
		}
		l.log.Info("lab stopped")
	})
}

// Regions returns the primary and the secondary Region.
func (l *Lab) Regions() (primary, secondary string) { return l.opts.Primary, l.opts.Secondary }

func (l *Lab) peer(name string) string {
	if name == l.opts.Primary {
		return l.opts.Secondary
	}
	return l.opts.Primary
}

func (l *Lab) region(name string) (*region, error) {
	rg, ok := l.regions[name]
	if !ok {
		return nil, fmt.Errorf("lab: unknown Region %q (the lab has %s and %s)", name, l.opts.Primary, l.opts.Secondary)
	}
	return rg, nil
}

// Twin returns the AWS control-plane twin, for seeding and inspection from Go.
func (l *Lab) Twin() *awstwin.Twin { return l.twin }

// Cluster returns a Region's Kafka cluster twin.
func (l *Lab) Cluster(regionName string) *kafkatwin.Cluster { return l.mustRegion(regionName).cluster }

// Collection returns a Region's collection twin.
func (l *Lab) Collection(regionName string) *opensearchtwin.Cluster {
	return l.mustRegion(regionName).collection
}

// Pipeline returns a Region's OSI pipeline twin.
func (l *Lab) Pipeline(regionName string) *kafkatwin.Pipeline {
	return l.mustRegion(regionName).pipeline
}

// InboundReplicator returns the replicator whose target is the Region.
func (l *Lab) InboundReplicator(regionName string) *kafkatwin.Replicator {
	return l.mustRegion(regionName).inbound
}

// Zonal returns the three-zone self-managed cluster twin the zonal runbooks act on.
func (l *Lab) Zonal() *opensearchtwin.Cluster { return l.zonal }

// Domain returns the three-zone managed domain twin: it refuses the zone APIs, as Amazon
// OpenSearch Service does, and moves its standby zone itself.
func (l *Lab) Domain() *opensearchtwin.Cluster { return l.domain }

// Producer returns the lab's producer, nil when Options.ProducerRate is 0.
func (l *Lab) Producer() *Producer { return l.producer }

// Router returns the Route 53 router producers follow.
func (l *Lab) Router() *Route53Router { return l.router }

func (l *Lab) mustRegion(name string) *region {
	rg, err := l.region(name)
	if err != nil {
		panic(err.Error())
	}
	return rg
}

// ---- names ----

func clusterName(role string) string    { return "lab-msk-" + role }
func pipelineName(role string) string   { return "lab-osi-" + role }
func collectionName(role string) string { return "lab-opensearch-" + role }
func consumerGroup(role string) string  { return "osi-consumer-group-" + role }
func dlqBucket(region string) string    { return "lab-opensearch-dlq-" + region }
func ingestHost(region string) string   { return "ingest." + region + "." + HostedZone }
func replicatorName(src, tgt string) string {
	return "lab-" + src + "-to-" + tgt
}

func roleIndex(role string) int {
	if role == roleSecondary {
		return 2
	}
	return 1
}

func clusterARN(regionName, role string) string {
	return fmt.Sprintf("arn:aws:kafka:%s:%s:cluster/%s/00000000-0000-0000-0000-00000000000%d-1", regionName, AccountID, clusterName(role), roleIndex(role))
}

// replicatorARN names the replicator into target, which lives in the target Region.
func replicatorARN(target, srcRole, tgtRole string) string {
	return fmt.Sprintf("arn:aws:kafka:%s:%s:replicator/%s/00000000-0000-0000-0000-00000000001%d", target, AccountID, replicatorName(srcRole, tgtRole), roleIndex(tgtRole))
}

// Alarm names of a Region.
func alarmNotIngesting(region string) string   { return "lab-" + region + "-pipeline-not-ingesting" }
func alarmUnreachable(region string) string    { return "lab-" + region + "-collection-unreachable" }
func alarmReplicationLag(region string) string { return "lab-" + region + "-replication-lag-high" }

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
