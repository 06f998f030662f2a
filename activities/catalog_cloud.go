package activities

import (
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// RegisterCloud adds the cloud entries to r. Reads are ReadOnly, so plan mode runs them against
// the real environment; everything that changes state is an action and idempotent.
func RegisterCloud(r *Registry, c *Cloud) {
	check := func(name, desc string, iam ...string) catalog.Spec {
		return catalog.Spec{Name: name, Kind: catalog.KindCheck, ReadOnly: true, Description: desc, IAM: iam}
	}
	read := func(name, desc string, iam ...string) catalog.Spec {
		return catalog.Spec{Name: name, Kind: catalog.KindAction, ReadOnly: true, Description: desc, IAM: iam}
	}
	act := func(name, desc string, iam ...string) catalog.Spec {
		return catalog.Spec{Name: name, Kind: catalog.KindAction, Description: desc, IAM: iam}
	}
	kafkaIAM := []string{"kafka-cluster:Connect", "kafka-cluster:DescribeGroup", "kafka-cluster:DescribeTopic"}
	osData := []string{"aoss:APIAccessAll", "es:ESHttpGet", "es:ESHttpPost"}
	// Zone moves are for self-managed clusters (not reached with IAM); the worker only reads the
	// cluster's password when the environment keeps it in SSM (ssm:/name).
	zoneIAM := []string{"ssm:GetParameter"}
	selfManaged := func(s catalog.Spec) catalog.Spec {
		s.ZonalKinds = []string{runbook.ClusterSelfManaged}
		return s
	}
	// No cloud entry runs as a local activity by default, although most make one short call: a
	// local activity holds the workflow task while it runs and retries, and during an outage —
	// when calls time out and retry — that would leave `starter status` and the UI without
	// answers exactly when people look. Runbooks opt in per step with local: true.

	// MSK
	Register(r, check("msk.cluster_active", "Check that the Region's MSK cluster serves (DescribeClusterV2): ACTIVE, or with a warning HEALING, MAINTENANCE, REBOOTING_BROKER or UPDATING.", "kafka:DescribeClusterV2"), c.ClusterActive)
	Register(r, check("msk.replicator_running", "Check that the replicator copying into the Region is RUNNING and replicates as the environment needs (topic naming, ENHANCED offset sync) (DescribeReplicator).", "kafka:DescribeReplicator"), c.ReplicatorRunning)
	Register(r, check("msk.replicator_lag", "Check the replicator's MessageLag, the Sum over its partitions (and optionally ReplicationLatency), from CloudWatch in its target Region.", "cloudwatch:GetMetricData"), c.ReplicatorLag)
	Register(r, check("msk.consumer_lag", "Check a consumer group's lag (default: the OSI pipeline's) at the Region's brokers, on the topic and the replicator's copy topic.", append([]string{"kafka:DescribeReplicator"}, kafkaIAM...)...), c.ConsumerLag)
	Register(r, check("msk.group_idle", "Check that a consumer group has no active members, so the replicator's offset sync commits to it.", kafkaIAM...), c.GroupIdle)

	// OpenSearch Ingestion
	Register(r, check("osi.pipeline_status", "Check an OSI pipeline's status (default: ACTIVE, which UPDATING meets with a warning); with wait_until, wait for a status.", "osis:GetPipeline"), c.PipelineStatus)
	Register(r, act("osi.start_pipeline", "Bring an OSI pipeline to ACTIVE (no-op when ACTIVE or STARTING), optionally waiting.", "osis:GetPipeline", "osis:StartPipeline"), c.StartPipeline)
	Register(r, act("osi.stop_pipeline", "Bring an OSI pipeline to STOPPED (no-op when STOPPED or STOPPING), optionally waiting.", "osis:GetPipeline", "osis:StopPipeline"), c.StopPipeline)
	registerPrescale(r, c) // capacity.prescale, capacity.restore (prescale.go)
	Register(r, check("osi.pipeline_metrics", "Check an OSI pipeline's documentsSuccess, documentErrors and DLQ records over a window (AWS/OSIS).", "cloudwatch:GetMetricData"), c.PipelineMetrics)

	// OpenSearch
	Register(r, check("opensearch.collection_active", "Check that the Region's OpenSearch Serverless collection serves (BatchGetCollection): ACTIVE, or UPDATING with a warning.", "aoss:BatchGetCollection"), c.CollectionActive)
	domainStatus := check("opensearch.domain_status", "Check a managed domain: DescribeDomain, DescribeDomainHealth and DescribeDomainNodes, with per-zone status and nodes (zone status NotAvailable means AWS could not retrieve it, not that the zone is down); a domain applying a change (Processing) passes with a warning.",
		"es:DescribeDomain", "es:DescribeDomainHealth", "es:DescribeDomainNodes")
	domainStatus.ZonalKinds, domainStatus.ZonalIf = []string{runbook.ClusterManaged}, "zonal"
	Register(r, domainStatus, c.DomainStatus)
	Register(r, read("opensearch.count", "Count documents in a time range (_count with a range on the timestamp field).", osData...), c.Count)
	Register(r, check("opensearch.ingesting", "Check that the document count grows within a window: writes land in the collection.", osData...), c.Ingesting)
	Register(r, check("opensearch.cluster_health", "Check _cluster/health of a managed domain or of the zonal cluster (Serverless has none).", "es:ESHttpGet"), c.ClusterHealth)
	Register(r, selfManaged(read("opensearch.zone_weights", "Read the zonal cluster's weighted-routing zone weights (self-managed clusters only).", zoneIAM...)), c.ZoneWeights)
	Register(r, selfManaged(act("opensearch.set_zone_weights", "Set the zonal cluster's zone weights to the desired ones (read failover: weight 0 takes a zone out of searches; self-managed clusters only).", zoneIAM...)), c.SetZoneWeights)
	Register(r, selfManaged(act("opensearch.decommission_zone", "Decommission a zone of the zonal cluster (write failover; its weight must be 0), optionally waiting (self-managed clusters only).", zoneIAM...)), c.DecommissionZone)
	Register(r, selfManaged(check("opensearch.decommission_status", "Check the zonal cluster's decommission status (default: SUCCESSFUL; NONE after a recommission; self-managed clusters only).", zoneIAM...)), c.DecommissionStatus)
	Register(r, selfManaged(act("opensearch.recommission_zone", "Recommission the decommissioned zone of the zonal cluster (no-op when none; self-managed clusters only).", zoneIAM...)), c.RecommissionZone)

	// Traffic
	Register(r, read("route53.weights", "Read the weights of the environment's weighted record set, by Region.", "route53:ListResourceRecordSets"), c.Route53Weights)
	// Not local although it sits on every failover's critical path: with wait it holds the
	// step until INSYNC (about a minute on AWS), and a local activity that long delays every
	// progress query until the workflow task's next heartbeat.
	Register(r, act("route53.set_weights", "Set the weighted records to the desired weights per Region, changing only what differs; optionally wait for INSYNC.",
		"route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets", "route53:GetChange"), c.SetRoute53Weights)
	// One step whatever the environment's lever (traffic.lever), so runbooks do not fork per
	// lever; the IAM actions are every lever's, the worker's policy covers whichever is chosen.
	trafficIAM := []string{"route53:ListResourceRecordSets", "route53-recovery-cluster:GetRoutingControlState", "cloudwatch:DescribeAlarms"}
	Register(r, read("traffic.state", "Read which Regions take traffic by the environment's lever (route53_weights: weights; arc_routing_control: routing controls; health_check_metric: the alarms the health checks watch), and the record's DNS answers through traffic.resolver.",
		append(trafficIAM, "route53:GetHealthCheck")...), c.TrafficState)
	Register(r, check("traffic.dns", "Check what clients resolving the record get (traffic.resolver, the DNS data plane) against the weights a step set: every Region of weight 0 absent, every Region with weight present in fresh (authoritative) answers; use it under wait_until after each weight step."), c.TrafficDNS)
	Register(r, act("traffic.shift", "Make a Region the active one by the environment's lever, reading first and writing only what differs: Route 53 weights (after a fast control-plane probe), ARC routing controls (data plane), or PutMetricData of the metric the health checks' alarms watch (data plane).",
		append(trafficIAM, "route53:ChangeResourceRecordSets", "route53:GetChange", "route53-recovery-cluster:UpdateRoutingControlState",
			"route53-recovery-cluster:UpdateRoutingControlStates", "cloudwatch:PutMetricData")...), c.TrafficShift)
	Register(r, read("route53.wait_insync", "Wait until a Route 53 change is INSYNC (empty change_id: nothing to wait for).", "route53:GetChange"), c.WaitRoute53Change)
	Register(r, read("ssm.get_parameter", "Read an SSM parameter.", "ssm:GetParameter"), c.GetParameter)
	Register(r, act("ssm.put_parameter", "Set an SSM parameter to a desired value, writing only when it differs.", "ssm:GetParameter", "ssm:PutParameter"), c.PutParameter)

	// Monitoring
	Register(r, check("cloudwatch.alarm_state", "Check that none of the Region's alarms (default: the environment's) is in ALARM.", "cloudwatch:DescribeAlarms"), c.AlarmState)
	Register(r, check("cloudwatch.soak", "Watch the Region's alarms for a duration after a traffic shift; not ok the moment one fires (the rollback trigger of a gradual shift).", "cloudwatch:DescribeAlarms"), c.Soak)
	Register(r, check("s3.dlq_objects", "Count the pipeline's dead-letter objects since a time (ok when within max_objects).", "s3:ListBucket"), c.DLQObjects)
}
