package lab

import (
	"slices"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Endpoints are where the lab listens, in the shape `starter lab --json` prints.
type Endpoints struct {
	Regions  map[string]RegionEndpoints `json:"regions"`
	FaultAPI string                     `json:"fault_api"`
	// Zonal is the three-zone self-managed cluster for zonal failover.
	Zonal ZonalEndpoints `json:"zonal"`
	// Domain is the three-zone managed domain, whose zones can only be watched.
	Domain DomainEndpoints `json:"domain"`
	// AlarmQueues are the URLs of the alarm event queue by Region.
	AlarmQueues map[string]string `json:"alarm_queues"`
	// DNS is the host:port of the lab's DNS server (UDP and TCP): the hosted zone's answers.
	DNS string `json:"dns"`
	// ARC is the ARC cluster twin.
	ARC ARCEndpoints `json:"arc"`
	// Route53ControlPlane is the Region whose impairment takes Route 53's API down now: us-east-1,
	// as on AWS; empty with Options.Route53ControlPlaneAnywhere (or SetGlobalControlPlaneInHomeRegion(false)).
	Route53ControlPlane string `json:"route53_control_plane,omitempty"`
}

// ARCEndpoints locate the ARC cluster twin.
type ARCEndpoints struct {
	ClusterARN string `json:"cluster_arn"`
	// Endpoints are the cluster's data-plane endpoints by Region (DescribeCluster's
	// ClusterEndpoints).
	Endpoints map[string]string `json:"endpoints"`
	// ControlPlane serves the recovery-control-config API (DescribeCluster), in us-west-2.
	ControlPlane string `json:"control_plane"`
}

// RegionEndpoints are one Region's endpoints.
type RegionEndpoints struct {
	// AWSEndpoint serves every AWS service of the Region (BaseEndpoint, AWS_ENDPOINT_URL).
	AWSEndpoint string `json:"aws_endpoint"`
	// KafkaBootstrap is the comma-separated broker list.
	KafkaBootstrap string `json:"kafka_bootstrap"`
	// OpenSearchURL is the collection endpoint.
	OpenSearchURL string `json:"opensearch_url"`
}

// ZonalEndpoints locate the self-managed zonal cluster and say how to log in to it.
type ZonalEndpoints struct {
	OpenSearchURL string `json:"opensearch_url"`
	Region        string `json:"region"`
	// User logs in with basic auth; the password is the SecureString SSM parameter
	// PasswordParameter in Region.
	User              string `json:"user"`
	PasswordParameter string `json:"password_parameter"`
}

// DomainEndpoints locate the managed domain.
type DomainEndpoints struct {
	OpenSearchURL string `json:"opensearch_url"`
	Region        string `json:"region"`
	Domain        string `json:"domain"`
}

// Endpoints returns the lab's endpoints, with the ports actually bound.
func (l *Lab) Endpoints() Endpoints {
	ep := Endpoints{Regions: map[string]RegionEndpoints{}, AlarmQueues: map[string]string{}, FaultAPI: l.faultGW.URL(),
		Zonal:  ZonalEndpoints{OpenSearchURL: l.zonalGW.URL(), Region: l.opts.Primary, User: ZonalUser, PasswordParameter: ZonalPasswordParameter},
		Domain: DomainEndpoints{OpenSearchURL: l.domainGW.URL(), Region: l.opts.Primary, Domain: ZonalDomain}, DNS: l.dns.Addr()}
	for _, name := range l.order {
		rg := l.regions[name]
		ep.Regions[name] = RegionEndpoints{AWSEndpoint: rg.awsGW.URL(), KafkaBootstrap: strings.Join(rg.cluster.Bootstrap(), ","),
			OpenSearchURL: rg.osGW.URL()}
		ep.AlarmQueues[name] = rg.awsGW.URL() + "/" + AccountID + "/" + AlarmQueue
	}
	ep.ARC = ARCEndpoints{ClusterARN: l.arc.ClusterARN(), Endpoints: l.arc.Endpoints(), ControlPlane: l.arc.ControlPlaneURL()}
	ep.Route53ControlPlane = l.twin.Route53Home()
	return ep
}

// Environment returns the runbook environment bound to this lab's actual endpoints: with
// random ports, the only correct one.
func (l *Lab) Environment() *runbook.Environment {
	return environment(l.opts, l.Endpoints())
}

// DefaultEnvironment is the environment of a lab on the default ports:
// runbooks/environments/lab.yaml, built from code (a test keeps the two equal).
func DefaultEnvironment() *runbook.Environment {
	o := Options{}.withDefaults()
	ep := Endpoints{Regions: map[string]RegionEndpoints{}, Zonal: ZonalEndpoints{OpenSearchURL: "http://" + hostPort(o.Host, o.Ports.Zonal)}}
	for name, p := range map[string]RegionPorts{o.Primary: o.Ports.Primary, o.Secondary: o.Ports.Secondary} {
		ep.Regions[name] = RegionEndpoints{AWSEndpoint: "http://" + hostPort(o.Host, p.AWS), KafkaBootstrap: hostPort(o.Host, p.Kafka),
			OpenSearchURL: "http://" + hostPort(o.Host, p.OpenSearch)}
	}
	ep.DNS = hostPort(o.Host, o.Ports.DNS)
	addrs, control := arcAddrs(o)
	ep.ARC = ARCEndpoints{ClusterARN: arctwin.ClusterARN(AccountID, arctwin.DefaultName), Endpoints: map[string]string{}, ControlPlane: "http://" + control}
	for region, addr := range addrs {
		ep.ARC.Endpoints[region] = "http://" + addr
	}
	return environment(o, ep)
}

func environment(o Options, ep Endpoints) *runbook.Environment {
	env := &runbook.Environment{
		Schema: "switchyard/v1", Name: "lab", Description: "The local lab twin of the two-Region architecture.",
		Primary: o.Primary, Secondary: o.Secondary, Topic: Topic,
		IndexPattern: IndexPattern, IndexTemplate: "application-logs-${yyyy.MM.dd}",
		TimestampField: "timestamp", IDField: "event_id",
		Regions: map[string]runbook.RegionConfig{},
		Traffic: &runbook.Traffic{HostedZoneID: HostedZoneID, RecordName: RecordName, RecordType: "CNAME", TTL: 5,
			SetIdentifiers: map[string]string{}, Values: map[string]string{}, Resolver: ep.DNS},
		// The zonal runbooks move zones, which only a self-managed cluster lets a client do; its
		// password stays in SSM, where the lab put it.
		Zonal: &runbook.Zonal{Endpoint: ep.Zonal.OpenSearchURL, Region: o.Primary, Kind: runbook.ClusterSelfManaged, Attribute: "zone",
			Zones: []string{o.Primary + "a", o.Primary + "b", o.Primary + "c"},
			Auth:  &runbook.ClusterAuth{Basic: &runbook.BasicAuth{Username: ZonalUser, Password: runbook.SecretSSM + ":" + ZonalPasswordParameter}}},
		Slack: &runbook.Slack{Channel: "#switchyard-lab"},
	}
	for _, name := range []string{o.Primary, o.Secondary} {
		role, peerRole := rolePrimary, roleSecondary
		if name == o.Secondary {
			role, peerRole = roleSecondary, rolePrimary
		}
		e := ep.Regions[name]
		env.Regions[name] = runbook.RegionConfig{
			Role: role, AWSEndpoint: e.AWSEndpoint, MSKClusterARN: clusterARN(name, role),
			KafkaBootstrap: strings.Split(e.KafkaBootstrap, ","), KafkaAuth: "none",
			InboundReplicatorARN: replicatorARN(name, peerRole, role), ConsumerGroup: consumerGroup(role),
			Replication: &runbook.Replication{TopicNameConfiguration: runbook.TopicNameIdentical,
				ConsumerGroupOffsetSyncMode: runbook.OffsetSyncEnhanced, MetricsPeriod: runbook.Duration(ReplicatorMetricsPeriod)},
			Pipeline: pipelineName(role), SubPipeline: SubPipeline,
			OpenSearch: runbook.OpenSearch{Kind: runbook.ClusterServerless, Collection: collectionName(role), Endpoint: e.OpenSearchURL},
			DLQBucket:  dlqBucket(name),
			Alarms:     []string{alarmNotIngesting(name), alarmUnreachable(name)},
		}
		env.Traffic.SetIdentifiers[name] = name
		env.Traffic.Values[name] = ingestHost(name)
	}
	// The lab moves traffic as AWS recommends for a Regional outage: ARC routing controls,
	// through the cluster's data-plane endpoints, never Route 53's control plane (in us-east-1).
	env.Traffic.Lever = runbook.LeverARCRoutingControl
	env.Traffic.ARC = arcLever(o, ep.ARC)
	return env
}

// ManagedDomainEnvironment is this lab's environment under another name, with the managed
// domain as its zonal cluster: what an operator whose zones Amazon OpenSearch Service runs would
// write. The zonal runbooks are refused for it when they load; opensearch.domain_status watches
// its zones.
func (l *Lab) ManagedDomainEnvironment(name string) *runbook.Environment {
	env := l.Environment()
	env.Name = name
	env.Zonal = &runbook.Zonal{Endpoint: l.domainGW.URL(), Region: l.opts.Primary, Kind: runbook.ClusterManaged, Domain: ZonalDomain,
		Attribute: "zone", Zones: slices.Clone(env.Zonal.Zones)}
	return env
}
