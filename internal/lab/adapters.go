package lab

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
)

// The adapters below let the AWS twin answer control-plane calls from the running twins, so
// that DescribeReplicator shows the state the data path is really in and StopPipeline really
// stops consuming. Names and ARNs are the lab's fixed ones (runbooks/environments/lab.yaml),
// not the twins' generated ones.

// s3DLQ writes a pipeline's dead letters into the Region's S3 twin.
type s3DLQ struct {
	twin   *awstwin.Twin
	region string
}

func (d s3DLQ) PutObject(_ context.Context, bucket, key string, body []byte) error {
	if err := d.twin.PutObject(d.region, bucket, key, body); err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	return nil
}

// ---- MSK ----

type mskBackend struct {
	l  *Lab
	rg *region
}

func (m mskBackend) Clusters(context.Context) ([]awstwin.Cluster, error) {
	return []awstwin.Cluster{{
		ARN: clusterARN(m.rg.name, m.rg.role), Name: clusterName(m.rg.role), State: cmp.Or(m.l.reportedState(m.rg.name, StateMSKCluster), "ACTIVE"),
		CurrentVersion: "K3AEGXETSR30VB", CreationTime: m.l.started, KafkaVersion: "3.8.x",
		BrokerNodes: len(m.rg.cluster.Bootstrap()), Tags: map[string]string{"switchyard:lab": "true"},
		ClientSubnets: []string{"subnet-lab-" + m.rg.name + "a"}, SecurityGroups: []string{"sg-lab-" + m.rg.name},
	}}, nil
}

func (m mskBackend) Replicators(context.Context) ([]awstwin.Replicator, error) {
	return []awstwin.Replicator{m.describe()}, nil
}

func (m mskBackend) arn() string {
	return replicatorARN(m.rg.name, m.l.regions[m.l.peer(m.rg.name)].role, m.rg.role)
}

// describe converts the inbound replicator's description, replacing the twin's ARNs by the
// lab's.
func (m mskBackend) describe() awstwin.Replicator {
	d := m.rg.inbound.Describe()
	out := awstwin.Replicator{
		ARN: m.arn(), Name: d.ReplicatorName, CurrentVersion: d.CurrentVersion, State: string(d.ReplicatorState),
		CreationTime: d.CreationTime, ServiceExecutionRoleARN: "arn:aws:iam::" + AccountID + ":role/lab-msk-replicator",
		Tags: map[string]string{"switchyard:lab": "true"},
	}
	if d.StateInfo != nil {
		out.StateInfoCode, out.StateInfoMessage = d.StateInfo.Code, d.StateInfo.Message
	}
	for _, kc := range d.KafkaClusters {
		role := m.l.regions[kc.Region].role
		out.KafkaClusters = append(out.KafkaClusters, awstwin.ReplicatorCluster{
			Alias: kc.KafkaClusterAlias, MSKClusterARN: clusterARN(kc.Region, role),
			SubnetIDs: []string{"subnet-lab-" + kc.Region + "a"}, SecurityGroupIDs: []string{"sg-lab-" + kc.Region},
		})
	}
	for _, ri := range d.ReplicationInfoList {
		out.ReplicationInfo = append(out.ReplicationInfo, awstwin.ReplicationInfo{
			SourceAlias: ri.SourceKafkaClusterAlias, TargetAlias: ri.TargetKafkaClusterAlias, TargetCompressionType: ri.TargetCompressionType,
			TopicReplication: awstwin.TopicReplication{
				TopicsToReplicate: ri.TopicReplication.TopicsToReplicate, TopicsToExclude: ri.TopicReplication.TopicsToExclude,
				CopyAccessControlListsForTopics: ri.TopicReplication.CopyAccessControlListsForTopics,
				CopyTopicConfigurations:         ri.TopicReplication.CopyTopicConfigurations,
				DetectAndCopyNewTopics:          ri.TopicReplication.DetectAndCopyNewTopics,
				StartingPosition:                ri.TopicReplication.StartingPosition,
				TopicNameConfiguration:          ri.TopicReplication.TopicNameConfiguration,
			},
			ConsumerGroupReplication: awstwin.ConsumerGroupReplication{
				ConsumerGroupsToReplicate:       ri.ConsumerGroupReplication.ConsumerGroupsToReplicate,
				ConsumerGroupsToExclude:         ri.ConsumerGroupReplication.ConsumerGroupsToExclude,
				DetectAndCopyNewConsumerGroups:  ri.ConsumerGroupReplication.DetectAndCopyNewConsumerGroups,
				SynchroniseConsumerGroupOffsets: ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets,
				ConsumerGroupOffsetSyncMode:     ri.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode,
			},
		})
	}
	return out
}

func (m mskBackend) UpdateReplicationInfo(_ context.Context, in awstwin.ReplicationInfoUpdate) (awstwin.Replicator, error) {
	if in.ReplicatorARN != m.arn() {
		return awstwin.Replicator{}, fmt.Errorf("replicator %s: %w", in.ReplicatorARN, awstwin.ErrNotFound)
	}
	srcARN := clusterARN(m.l.peer(m.rg.name), m.l.regions[m.l.peer(m.rg.name)].role)
	tgtARN := clusterARN(m.rg.name, m.rg.role)
	if (in.SourceKafkaClusterARN != "" && in.SourceKafkaClusterARN != srcARN) || (in.TargetKafkaClusterARN != "" && in.TargetKafkaClusterARN != tgtARN) {
		return awstwin.Replicator{}, fmt.Errorf("replicator %s copies %s to %s; source and target cannot be changed: %w",
			m.rg.inbound.Name(), srcARN, tgtARN, awstwin.ErrInvalidInput)
	}
	up := kafkatwin.UpdateReplicationInfoInput{CurrentVersion: in.CurrentVersion}
	if t := in.TopicReplication; t != nil {
		up.TopicReplication = &kafkatwin.TopicReplicationUpdate{
			TopicsToReplicate: t.TopicsToReplicate, TopicsToExclude: t.TopicsToExclude,
			CopyAccessControlListsForTopics: t.CopyAccessControlListsForTopics, CopyTopicConfigurations: t.CopyTopicConfigurations,
			DetectAndCopyNewTopics: t.DetectAndCopyNewTopics,
		}
	}
	if g := in.ConsumerGroupReplication; g != nil {
		up.ConsumerGroupReplication = &kafkatwin.ConsumerGroupReplicationUpdate{
			ConsumerGroupsToReplicate: g.ConsumerGroupsToReplicate, ConsumerGroupsToExclude: g.ConsumerGroupsToExclude,
			DetectAndCopyNewConsumerGroups: g.DetectAndCopyNewConsumerGroups, SynchroniseConsumerGroupOffsets: g.SynchroniseConsumerGroupOffsets,
		}
	}
	_, err := m.rg.inbound.Update(up)
	switch {
	case errors.Is(err, kafkatwin.ErrStaleVersion):
		return awstwin.Replicator{}, fmt.Errorf("%w: %w", awstwin.ErrVersionMismatch, err)
	case errors.Is(err, kafkatwin.ErrReplicatorNotRunning):
		return awstwin.Replicator{}, fmt.Errorf("%w: %w", awstwin.ErrInvalidState, err)
	case errors.Is(err, kafkatwin.ErrInvalidUpdate):
		return awstwin.Replicator{}, fmt.Errorf("%w: %w", awstwin.ErrInvalidInput, err)
	case err != nil:
		return awstwin.Replicator{}, err
	}
	return m.describe(), nil
}

// ---- OSIS ----

type osisBackend struct {
	l  *Lab
	rg *region

	mu      sync.Mutex
	updated time.Time
}

func (o *osisBackend) pipeline() awstwin.Pipeline {
	o.mu.Lock()
	updated := o.updated
	o.mu.Unlock()
	if updated.IsZero() {
		updated = o.l.started
	}
	p := o.rg.pipeline
	return awstwin.Pipeline{
		Name: p.Name(), ARN: fmt.Sprintf("arn:aws:osis:%s:%s:pipeline/%s", o.rg.name, AccountID, p.Name()),
		Status: cmp.Or(o.l.reportedState(o.rg.name, StatePipeline), string(p.Status())), MinUnits: labMinUnits, MaxUnits: labMaxUnits, CreatedAt: o.l.started, LastUpdatedAt: updated,
		// Persistent buffering and log publishing as the seed recommends (readiness checks them).
		PersistentBufferEnabled: true,
		LogPublishing:           &awstwin.PipelineLogPublishing{IsLoggingEnabled: true, LogGroup: "/aws/vendedlogs/OpenSearchIngestion/" + p.Name() + "/audit-logs"},
		ConfigurationBody:       o.configurationBody(),
		IngestEndpointURLs:      []string{p.Name() + "-lab." + o.rg.name + ".osis.amazonaws.com"},
		Destinations:            []awstwin.PipelineDestination{{ServiceName: "OpenSearch_Serverless", Endpoint: o.rg.osGW.URL()}},
		Tags:                    map[string]string{"switchyard:lab": "true"},
	}
}

// configurationBody is the sample's pipeline body with the lab's names.
func (o *osisBackend) configurationBody() string {
	rg := o.rg
	return fmt.Sprintf(`version: "2"
%s:
  source:
    kafka:
      acknowledgments: true
      topics:
        - name: %q
          group_id: %q
      aws:
        msk: { arn: %q }
        region: %q
  sink:
    - opensearch:
        hosts: [%q]
        index: "application-logs-${yyyy.MM.dd}"
        aws: { serverless: true, region: %q }
        dlq:
          s3: { bucket: %q, region: %q }
`, SubPipeline, Topic, consumerGroup(rg.role), clusterARN(rg.name, rg.role), rg.name, rg.osGW.URL(), rg.name, dlqBucket(rg.name), rg.name)
}

func (o *osisBackend) Pipelines(context.Context) ([]awstwin.Pipeline, error) {
	return []awstwin.Pipeline{o.pipeline()}, nil
}

func (o *osisBackend) StartPipeline(ctx context.Context, name string) (awstwin.Pipeline, error) {
	return o.transition(ctx, name, o.rg.pipeline.Start)
}

func (o *osisBackend) StopPipeline(ctx context.Context, name string) (awstwin.Pipeline, error) {
	return o.transition(ctx, name, o.rg.pipeline.Stop)
}

func (o *osisBackend) transition(ctx context.Context, name string, do func(context.Context) (kafkatwin.PipelineStatus, error)) (awstwin.Pipeline, error) {
	if name != o.rg.pipeline.Name() {
		return awstwin.Pipeline{}, fmt.Errorf("pipeline %s: %w", name, awstwin.ErrNotFound)
	}
	if st := o.l.reportedState(o.rg.name, StatePipeline); st != "" {
		// OSI starts only a STOPPED pipeline and stops only an ACTIVE one (the twin's OSIS contract).
		return awstwin.Pipeline{}, fmt.Errorf("pipeline %s is %s: %w", name, st, awstwin.ErrInvalidState)
	}
	before := o.rg.pipeline.Status()
	st, err := do(ctx)
	if errors.Is(err, kafkatwin.ErrValidation) {
		return awstwin.Pipeline{}, fmt.Errorf("%w: %w", awstwin.ErrInvalidState, err)
	}
	if err != nil {
		return awstwin.Pipeline{}, err
	}
	if st != before {
		o.mu.Lock()
		o.updated = time.Now()
		o.mu.Unlock()
	}
	p := o.pipeline()
	p.Status = string(st)
	return p, nil
}

// ---- AOSS ----

type aossBackend struct {
	l  *Lab
	rg *region
}

// collectionID is a stable 20-character id, shaped like AOSS's.
func collectionID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:20]
}

func (a aossBackend) Collections(context.Context) ([]awstwin.Collection, error) {
	name := collectionName(a.rg.role)
	id := collectionID(name)
	status := cmp.Or(a.l.reportedState(a.rg.name, StateCollection), "ACTIVE")
	if !a.rg.osGW.Reachable() || !a.rg.collection.Available() {
		// The lab's reading of an unreachable collection: AOSS has no "unreachable" status,
		// and FAILED is the one a health check treats as not serving.
		status = "FAILED"
	}
	return []awstwin.Collection{{
		ID: id, Name: name, ARN: fmt.Sprintf("arn:aws:aoss:%s:%s:collection/%s", a.rg.name, AccountID, id),
		Status: status, Type: "TIMESERIES", Description: "Switchyard lab collection (" + a.rg.role + ")",
		CollectionEndpoint: a.rg.osGW.URL(), DashboardEndpoint: a.rg.osGW.URL() + "/_dashboards",
		StandbyReplicas: "ENABLED", CreatedDate: a.l.started, LastModifiedDate: a.l.started,
	}}, nil
}

// ---- OpenSearch Service (the managed domain) ----

type domainBackend struct{ l *Lab }

// Each zone holds two data nodes and a dedicated master; every index has one copy per zone.
const dataNodesPerZone = 2

// Domains describes the managed domain twin. A zone's status follows the service's own routing
// (weight 0 is the standby); a failed zone keeps its status and shows no available data nodes.
// NotAvailable is reserved for what AWS means by it, "Unable to retrieve information"
// (AvailabilityZoneInfo, https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_AvailabilityZoneInfo.html):
// the lab answers it when the domain itself is unreachable (its Region impaired). What AWS
// reports for a zone during a real zone failure is not documented; this is the lab's reading.
func (d domainBackend) Domains(context.Context) ([]awstwin.Domain, error) {
	zs := d.l.domain.ZoneStats()
	indices := len(d.l.domain.Stats())
	reachable := d.l.domainGW.Reachable()
	h := awstwin.DomainHealth{DomainState: "Active", MasterNode: "Available", TotalShards: indices * len(zs)}
	var nodes []awstwin.DomainNode
	var serving, standbyUp, masters int
	for _, z := range zs {
		zh := awstwin.ZoneHealth{Name: z.Zone, ConfiguredDataNodeCount: dataNodesPerZone, TotalShards: indices}
		w, err := strconv.ParseFloat(z.Weight, 64)
		up := z.Available && !z.Decommissioned && reachable
		routed := "Active"
		if err == nil && w == 0 {
			routed = "StandBy"
		}
		zh.Status = routed
		if !reachable {
			zh.Status = "NotAvailable"
		}
		nodeStatus := routed
		if up {
			zh.AvailableDataNodeCount = dataNodesPerZone
			masters++
			if routed == "StandBy" {
				standbyUp++
			} else {
				serving++
			}
		} else {
			zh.TotalUnAssignedShards = indices
			nodeStatus = "NotAvailable"
		}
		h.DataNodeCount += zh.AvailableDataNodeCount
		h.TotalUnAssignedShards += zh.TotalUnAssignedShards
		h.Zones = append(h.Zones, zh)
		for i := 1; i <= dataNodesPerZone; i++ {
			nodes = append(nodes, awstwin.DomainNode{ID: fmt.Sprintf("%s-data-%d", z.Zone, i), Type: "Data", AvailabilityZone: z.Zone,
				InstanceType: "r6g.large.search", Status: nodeStatus, StorageType: "ebs", StorageSize: "100", VolumeType: "gp3"})
		}
		masterStatus := "Active"
		if !up {
			masterStatus = "NotAvailable"
		}
		nodes = append(nodes, awstwin.DomainNode{ID: z.Zone + "-master", Type: "Master", AvailabilityZone: z.Zone,
			InstanceType: "m6g.large.search", Status: masterStatus, StorageType: "ebs", StorageSize: "20", VolumeType: "gp3"})
	}
	h.MasterEligibleNodeCount = masters
	switch {
	case masters*2 <= len(zs):
		h.MasterNode, h.ClusterHealth = "UnAvailable", "Red"
		if masters == 0 {
			h.DomainState, h.ClusterHealth = "NotAvailable", "NotAvailable"
		}
	case h.TotalUnAssignedShards == 0:
		h.ClusterHealth = "Green"
	case serving+standbyUp > 0:
		h.ClusterHealth = "Yellow"
	default:
		h.ClusterHealth = "Red"
	}
	// A set processing status: a blue/green deployment or an upgrade is Processing in
	// DescribeDomainHealth too ("During a blue/green deployment, a cluster state changes to
	// Processing": https://repost.aws/knowledge-center/opensearch-configuration-change), and the
	// domain keeps serving.
	ps := d.l.reportedState(d.l.opts.Primary, StateDomain)
	switch ps {
	case "Creating", "Modifying", "UpgradingEngineVersion", "UpdatingServiceSoftware":
		if h.DomainState == "Active" {
			h.DomainState = "Processing"
		}
	}
	return []awstwin.Domain{{
		ProcessingStatus: ps, Processing: ps != "" && ps != "Active" && ps != "Isolated", UpgradeProcessing: ps == "UpgradingEngineVersion",
		Name: ZonalDomain, Endpoint: d.l.domainGW.Addr(), EngineVersion: "OpenSearch_2.19",
		InstanceType: "r6g.large.search", InstanceCount: dataNodesPerZone * len(zs),
		DedicatedMasterCount: len(zs), DedicatedMasterType: "m6g.large.search",
		MultiAZWithStandby: true, AvailabilityZoneCount: len(zs), Health: h, Nodes: nodes,
	}}, nil
}
