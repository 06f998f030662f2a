package runbook

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
}

// OpenSearch names a collection (serverless) or a domain (managed) and its data endpoint.
type OpenSearch struct {
	// Kind is "serverless" (SigV4 service aoss) or "managed" (service es).
	Kind         string `yaml:"kind" json:"kind"`
	Endpoint     string `yaml:"endpoint" json:"endpoint"`
	CollectionID string `yaml:"collection_id,omitempty" json:"collection_id,omitempty"`
	Collection   string `yaml:"collection,omitempty" json:"collection,omitempty"`
	Domain       string `yaml:"domain,omitempty" json:"domain,omitempty"`
}

// Traffic says how producers are steered between Regions: Route 53 weighted records.
type Traffic struct {
	HostedZoneID string `yaml:"hosted_zone_id" json:"hosted_zone_id"`
	RecordName   string `yaml:"record_name" json:"record_name"`
	RecordType   string `yaml:"record_type" json:"record_type"`
	// SetIdentifiers maps each Region to the SetIdentifier of its weighted record.
	SetIdentifiers map[string]string `yaml:"set_identifiers" json:"set_identifiers"`
	// Values maps each Region to the record's value (the Region's ingest endpoint).
	Values map[string]string `yaml:"values,omitempty" json:"values,omitempty"`
	TTL    int64             `yaml:"ttl,omitempty" json:"ttl,omitempty"`
}

// Zonal describes a three-zone OpenSearch cluster for zonal failover (Multi-AZ with standby).
type Zonal struct {
	Endpoint  string   `yaml:"endpoint" json:"endpoint"`
	Region    string   `yaml:"region" json:"region"`
	Kind      string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	Domain    string   `yaml:"domain,omitempty" json:"domain,omitempty"`
	Attribute string   `yaml:"attribute,omitempty" json:"attribute,omitempty"`
	Zones     []string `yaml:"zones" json:"zones"`
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
