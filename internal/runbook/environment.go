package runbook

import (
	"cmp"
	"fmt"
	"strings"
)

// Environment binds generic runbooks to one deployment: which Regions, which MSK clusters,
// replicators, pipelines, collections and DNS records, and who may approve. It lives in
// runbooks/environments/<name>.yaml.
type Environment struct {
	Schema      string `yaml:"schema" json:"schema"`
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Primary and Secondary name the two Regions; both must be keys of Regions.
	Primary   string `yaml:"primary" json:"primary"`
	Secondary string `yaml:"secondary" json:"secondary"`
	// Topic is the Kafka topic producers write and replicators copy, identical in both Regions.
	Topic string `yaml:"topic" json:"topic"`
	// IndexPattern matches every index the pipelines write (application-logs-*); IndexTemplate is
	// the pipeline's index setting (application-logs-${yyyy.MM.dd}).
	IndexPattern  string `yaml:"index_pattern" json:"index_pattern"`
	IndexTemplate string `yaml:"index_template,omitempty" json:"index_template,omitempty"`
	// TimestampField orders documents in time; IDField, when producers set one, is unique per event
	// and lets verification name missing and duplicate documents.
	TimestampField string `yaml:"timestamp_field" json:"timestamp_field"`
	IDField        string `yaml:"id_field,omitempty" json:"id_field,omitempty"`

	Regions map[string]RegionConfig `yaml:"regions" json:"regions"`
	Traffic *Traffic                `yaml:"traffic,omitempty" json:"traffic,omitempty"`
	Zonal   *Zonal                  `yaml:"zonal,omitempty" json:"zonal,omitempty"`
	Slack   *Slack                  `yaml:"slack,omitempty" json:"slack,omitempty"`
	// Approvers are the user or group ids who may approve steps that name no approvers.
	Approvers []string `yaml:"approvers,omitempty" json:"approvers,omitempty"`
	// OnFailure pause makes every step of a DR runbook (lock: environment) whose failure would stop
	// the run (on_failure abort or rollback) pause instead, for an operator to retry, skip or abort
	// (with or without rollback). Empty: each step's own on_failure applies.
	OnFailure FailurePolicy `yaml:"on_failure,omitempty" json:"on_failure,omitempty"`

	Pos Pos `yaml:"-" json:"-"`
}

// RegionConfig is one Region's half of the architecture.
type RegionConfig struct {
	// Role is "primary" or "secondary", for messages and reports.
	Role string `yaml:"role" json:"role"`
	// AWSEndpoint overrides every AWS service endpoint in this Region (the lab); empty means AWS.
	AWSEndpoint string `yaml:"aws_endpoint,omitempty" json:"aws_endpoint,omitempty"`
	// AssumeRoleARN, when set, is assumed for every call into this Region.
	AssumeRoleARN string `yaml:"assume_role_arn,omitempty" json:"assume_role_arn,omitempty"`

	MSKClusterARN  string   `yaml:"msk_cluster_arn" json:"msk_cluster_arn"`
	KafkaBootstrap []string `yaml:"kafka_bootstrap,omitempty" json:"kafka_bootstrap,omitempty"`
	// KafkaAuth is "iam" for MSK IAM auth (the default on AWS) or "none" (the lab).
	KafkaAuth string `yaml:"kafka_auth,omitempty" json:"kafka_auth,omitempty"`
	// InboundReplicatorARN is the replicator that copies the peer Region's topic into this Region;
	// its metrics live in this Region.
	InboundReplicatorARN string `yaml:"inbound_replicator_arn" json:"inbound_replicator_arn"`
	ConsumerGroup        string `yaml:"consumer_group" json:"consumer_group"`
	Pipeline             string `yaml:"pipeline" json:"pipeline"`
	// SubPipeline prefixes the pipeline's CloudWatch metric names (kafka-pipeline).
	SubPipeline string     `yaml:"sub_pipeline,omitempty" json:"sub_pipeline,omitempty"`
	OpenSearch  OpenSearch `yaml:"opensearch" json:"opensearch"`
	DLQBucket   string     `yaml:"dlq_bucket,omitempty" json:"dlq_bucket,omitempty"`
	DLQPrefix   string     `yaml:"dlq_prefix,omitempty" json:"dlq_prefix,omitempty"`
	// Alarms are CloudWatch alarm names whose ALARM state means this Region is impaired.
	Alarms []string `yaml:"alarms,omitempty" json:"alarms,omitempty"`
	// Replication is how the inbound replicator must copy and how its metrics are read; nil
	// means Replication's defaults.
	Replication *Replication `yaml:"replication,omitempty" json:"replication,omitempty"`
}

// Kinds of OpenSearch cluster an environment names.
const (
	// ClusterServerless is an Amazon OpenSearch Serverless collection, signed with SigV4 for
	// service aoss.
	ClusterServerless = "serverless"
	// ClusterManaged is an Amazon OpenSearch Service domain, signed with SigV4 for service es.
	ClusterManaged = "managed"
	// ClusterSelfManaged is OpenSearch its owner runs, reached with basic auth or a TLS client
	// certificate; only such a cluster lets a client move zones (weighted shard routing, zonal
	// decommission).
	ClusterSelfManaged = "self_managed"
)

// SigningService is the SigV4 service name requests to a cluster of kind are signed for: aoss
// for a collection, es for a domain, "" for a self-managed cluster (not signed). AWS refuses a
// request signed for the other service with 403.
func SigningService(kind string) string {
	switch kind {
	case ClusterServerless:
		return "aoss"
	case ClusterManaged:
		return "es"
	}
	return ""
}

// OpenSearch names a collection (serverless) or a domain (managed) and its data endpoint.
type OpenSearch struct {
	// Kind is "serverless" (SigV4 service aoss, the default) or "managed" (service es); read it
	// with ClusterKind.
	Kind         string `yaml:"kind,omitempty" json:"kind,omitempty"`
	Endpoint     string `yaml:"endpoint" json:"endpoint"`
	CollectionID string `yaml:"collection_id,omitempty" json:"collection_id,omitempty"`
	Collection   string `yaml:"collection,omitempty" json:"collection,omitempty"`
	Domain       string `yaml:"domain,omitempty" json:"domain,omitempty"`
}

// ClusterKind is the kind of the Region's OpenSearch: Kind, or serverless when the file leaves
// it out (the architecture Switchyard protects puts collections in both Regions). Everything that
// depends on the kind — the signing service of the activities and of backfill verification,
// which control-plane API describes it — asks here, so a collection without kind is signed for
// aoss everywhere.
func (o OpenSearch) ClusterKind() string { return cmp.Or(o.Kind, ClusterServerless) }

// Traffic says how producers are steered between Regions: Route 53 weighted records, and the
// lever that moves them (traffic.go).
type Traffic struct {
	HostedZoneID string `yaml:"hosted_zone_id" json:"hosted_zone_id"`
	RecordName   string `yaml:"record_name" json:"record_name"`
	RecordType   string `yaml:"record_type" json:"record_type"`
	// SetIdentifiers maps each Region to the SetIdentifier of its weighted record.
	SetIdentifiers map[string]string `yaml:"set_identifiers" json:"set_identifiers"`
	// Values maps each Region to the record's value (the Region's ingest endpoint).
	Values map[string]string `yaml:"values,omitempty" json:"values,omitempty"`
	TTL    int64             `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Lever is how traffic.shift moves traffic: route53_weights (the default),
	// arc_routing_control or health_check_metric; read it with LeverOf. The weighted records
	// above stay the records clients resolve whatever the lever.
	Lever string `yaml:"lever,omitempty" json:"lever,omitempty"`
	// ARC configures lever arc_routing_control.
	ARC *ARCLever `yaml:"arc,omitempty" json:"arc,omitempty"`
	// HealthCheckMetric configures lever health_check_metric.
	HealthCheckMetric *HealthCheckMetricLever `yaml:"health_check_metric,omitempty" json:"health_check_metric,omitempty"`
	// Resolver is where traffic.state reads the record's DNS answers: "system" (the worker's
	// resolver) or a DNS server's host:port; empty reads none.
	Resolver string `yaml:"resolver,omitempty" json:"resolver,omitempty"`
}

// Zonal describes a three-zone OpenSearch cluster for zonal failover (Multi-AZ with standby).
//
// Moving reads and writes between zones (weighted shard routing, zonal decommission) is only
// possible on a self-managed cluster: Amazon OpenSearch Service runs Multi-AZ with Standby itself
// and refuses those APIs to customers, so on a managed domain zones can only be watched
// (DescribeDomainHealth, DescribeDomainNodes). The zonal runbooks therefore need kind
// self_managed, with Auth or a client certificate in TLS: such a cluster is not reached with
// SigV4.
type Zonal struct {
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	Region   string `yaml:"region" json:"region"`
	// Kind is "self_managed" or "managed" (the default); read it with ClusterKind.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Domain is the managed domain's name (kind managed only).
	Domain    string   `yaml:"domain,omitempty" json:"domain,omitempty"`
	Attribute string   `yaml:"attribute,omitempty" json:"attribute,omitempty"`
	Zones     []string `yaml:"zones" json:"zones"`
	// Auth is how a self-managed cluster is logged in to (kind self_managed only).
	Auth *ClusterAuth `yaml:"auth,omitempty" json:"auth,omitempty"`
	// TLS holds the CA that signed a self-managed cluster's certificate and the client
	// certificate it may require (kind self_managed only).
	TLS *ClusterTLS `yaml:"tls,omitempty" json:"tls,omitempty"`

	// KindPos is where kind was written (the zonal mapping when it was not), for messages that
	// refuse a runbook because of it; set by the loader.
	KindPos Pos `yaml:"-" json:"-"`
}

// ClusterKind is the zonal cluster's kind: Kind, or managed when the file leaves it out, so an
// environment written before self_managed existed keeps meaning what it meant — and the zonal
// runbooks are refused for it rather than failing against AWS halfway.
func (z *Zonal) ClusterKind() string { return cmp.Or(z.Kind, ClusterManaged) }

// ClusterAuth is how Switchyard logs in to a self-managed cluster. Environment files are
// committed, so they hold references to secrets, never the secrets.
type ClusterAuth struct {
	// Basic is HTTP basic auth: a user of the cluster's security plugin.
	Basic *BasicAuth `yaml:"basic,omitempty" json:"basic,omitempty"`
}

// BasicAuth names a user and where its password is kept.
type BasicAuth struct {
	// Username is the user name, written out or as a secret reference.
	Username string `yaml:"username" json:"username"`
	// Password is a secret reference (env:VAR, file:/path or ssm:/parameter), never the
	// password.
	Password string `yaml:"password" json:"password"`
}

// ClusterTLS configures TLS to a self-managed cluster: the files are read by the worker.
type ClusterTLS struct {
	// CAFile is a PEM bundle of the CAs that signed the cluster's certificate; empty means the
	// system's roots.
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its key, for clusters that
	// authenticate clients by certificate; both or neither.
	CertFile string `yaml:"cert_file,omitempty" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty" json:"key_file,omitempty"`
}

// ClientCertificate reports whether a client certificate is configured.
func (t *ClusterTLS) ClientCertificate() bool { return t != nil && t.CertFile != "" && t.KeyFile != "" }

// Secret reference schemes.
const (
	SecretEnv  = "env"  // env:NAME, a variable of the worker's environment
	SecretFile = "file" // file:/path, a file the worker reads (a mounted secret)
	SecretSSM  = "ssm"  // ssm:/name, a SecureString parameter, read decrypted in the cluster's Region
)

// SecretRef is where a secret is kept: Scheme is env, file or ssm, Name the variable, path or
// parameter name.
type SecretRef struct {
	Scheme, Name string
}

func (r SecretRef) String() string { return r.Scheme + ":" + r.Name }

// IsSecretRef reports whether s is written as a secret reference (scheme:name with a known
// scheme), which is how a username that is itself kept secret is told from a plain one.
func IsSecretRef(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	return ok && (scheme == SecretEnv || scheme == SecretFile || scheme == SecretSSM)
}

// ParseSecretRef reads env:NAME, file:/path or ssm:/name.
func ParseSecretRef(s string) (SecretRef, error) {
	scheme, name, ok := strings.Cut(s, ":")
	if !ok || !IsSecretRef(s) {
		return SecretRef{}, fmt.Errorf("%q is not a secret reference: write env:VARIABLE, file:/path or ssm:/parameter-name", redact(s))
	}
	if strings.TrimSpace(name) == "" || strings.TrimSpace(name) != name {
		return SecretRef{}, fmt.Errorf("secret reference %q names nothing after %q", s, scheme+":")
	}
	if scheme == SecretFile && !strings.HasPrefix(name, "/") {
		return SecretRef{}, fmt.Errorf("secret reference %q: a file must be an absolute path", s)
	}
	return SecretRef{Scheme: scheme, Name: name}, nil
}

// redact shows the shape of what may be a secret written inline without repeating it.
func redact(s string) string {
	if len(s) <= 2 {
		return strings.Repeat("*", len(s))
	}
	return s[:1] + strings.Repeat("*", min(len(s)-1, 8))
}

// Slack holds where a run's messages go.
type Slack struct {
	Channel string `yaml:"channel" json:"channel"`
}

// Peer returns the other Region of the pair, or "" when region is not one of them.
func (e *Environment) Peer(region string) string {
	switch region {
	case e.Primary:
		return e.Secondary
	case e.Secondary:
		return e.Primary
	}
	return ""
}
