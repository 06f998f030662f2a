package activities

import (
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	ostypes "github.com/aws/aws-sdk-go-v2/service/opensearch/types"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
)

// A status check asks one question: does the resource serve traffic? The state AWS reports
// answers it, and it is not only the steady state that serves: an MSK cluster replacing a
// broker, a collection or pipeline being updated, a domain in a blue/green deployment all keep
// serving. Failing a failover's pre-flight on them would block a recovery for nothing; passing
// them silently would hide from the operator that the resource is mid-change. So these states
// pass with a warning, which the run carries to the step's summary, the Slack thread and the
// report. Every other state — being created or deleted, failed, stopped, or one this code does
// not know — fails the check. Each service's classification is one pure function here, used by
// its check and by nothing else's copy of it.

// stateVerdict is what a reported state means for traffic.
type stateVerdict struct {
	// Serves says the resource takes traffic in this state.
	Serves bool
	// Warning, for a serving state other than the steady one, tells the operator what is going
	// on; it completes "<resource> is <STATE>: ".
	Warning string
}

// mskClusterState classifies an MSK provisioned cluster's State (DescribeClusterV2). AWS: in
// HEALING, MAINTENANCE, REBOOTING_BROKER and UPDATING "you can still use the cluster to produce
// and consume data", but MSK update operations wait until it is ACTIVE again; CREATING, DELETING
// and FAILED cannot be used to produce or consume
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-cluster-states.html).
func mskClusterState(state string) stateVerdict {
	const still = "it still produces and consumes, but MSK refuses update operations on it until it is ACTIVE again"
	switch kafkatypes.ClusterState(state) {
	case kafkatypes.ClusterStateActive:
		return stateVerdict{Serves: true}
	case kafkatypes.ClusterStateHealing:
		return stateVerdict{Serves: true, Warning: "Amazon MSK is running internal operations such as replacing an unhealthy broker; " + still}
	case kafkatypes.ClusterStateMaintenance:
		return stateVerdict{Serves: true, Warning: "Amazon MSK is running routine maintenance such as security patching; " + still}
	case kafkatypes.ClusterStateRebootingBroker:
		return stateVerdict{Serves: true, Warning: "Amazon MSK is rebooting a broker; " + still}
	case kafkatypes.ClusterStateUpdating:
		return stateVerdict{Serves: true, Warning: "a user-initiated update is being applied; " + still}
	}
	return stateVerdict{}
}

// collectionState classifies an OpenSearch Serverless collection's status (BatchGetCollection:
// CREATING, UPDATING, DELETING, ACTIVE, FAILED, UPDATE_FAILED —
// https://docs.aws.amazon.com/opensearch-service/latest/ServerlessAPIReference/API_CollectionDetail.html).
// An UPDATING collection keeps its endpoint and serves while the change is applied (the audit in
// reference §7); a failed update is refused until someone has looked at it.
func collectionState(status string) stateVerdict {
	switch aosstypes.CollectionStatus(status) {
	case aosstypes.CollectionStatusActive:
		return stateVerdict{Serves: true}
	case aosstypes.CollectionStatusUpdating:
		return stateVerdict{Serves: true, Warning: "a change to the collection is being applied; it still serves reads and writes"}
	}
	return stateVerdict{}
}

// pipelineState classifies an OpenSearch Ingestion pipeline's status (GetPipeline) for a check
// that wants it ingesting. An update is a blue/green deployment: the running pipeline keeps
// ingesting until the updated one replaces it
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/update-pipeline.html).
func pipelineState(status string) stateVerdict {
	switch osistypes.PipelineStatus(status) {
	case osistypes.PipelineStatusActive:
		return stateVerdict{Serves: true}
	case osistypes.PipelineStatusUpdating:
		return stateVerdict{Serves: true, Warning: "an update is being deployed blue/green; the running pipeline keeps ingesting until the updated one takes over"}
	}
	return stateVerdict{}
}

// domainStates are the parts of a managed domain's DescribeDomain and DescribeDomainHealth
// answers that say whether it serves.
type domainStates struct {
	// Created and Deleted are DomainStatus.Created and .Deleted; nil when AWS left them out.
	Created, Deleted *bool
	// Processing and UpgradeProcessing are DomainStatus.Processing and .UpgradeProcessing.
	Processing, UpgradeProcessing bool
	// ProcessingStatus is DomainStatus.DomainProcessingStatus (Creating, Active, Modifying,
	// UpgradingEngineVersion, UpdatingServiceSoftware, Isolated, Deleting); "" when absent.
	ProcessingStatus string
	// HealthState is DescribeDomainHealth's DomainState: Active, Processing or NotAvailable.
	HealthState string
}

// domainState classifies a managed domain. A configuration change or a service software
// update runs as a blue/green deployment, during which the domain is Processing and keeps
// serving from the current environment until the switchover; an engine upgrade likewise, with
// OpenSearch Dashboards possibly unavailable for part of it
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-configuration-changes.html).
// A domain being created or deleted, isolated, or whose state AWS cannot retrieve
// (NotAvailable) does not pass. Cluster health is judged apart, by the caller.
func domainState(d domainStates) stateVerdict {
	switch {
	case d.Deleted != nil && *d.Deleted,
		d.Created != nil && !*d.Created,
		d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeCreating),
		d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeDeleting),
		d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeIsolated):
		return stateVerdict{}
	}
	switch ostypes.DomainState(d.HealthState) {
	case ostypes.DomainStateActive, ostypes.DomainStateProcessing:
	default:
		return stateVerdict{}
	}
	switch {
	case d.UpgradeProcessing || d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeUpgrading):
		return stateVerdict{Serves: true, Warning: "an engine version upgrade is in progress; the domain keeps serving, OpenSearch Dashboards may be unavailable during part of it"}
	case d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeUpdating):
		return stateVerdict{Serves: true, Warning: "a service software update is being deployed blue/green; the domain keeps serving from its current nodes until the switchover"}
	case d.Processing || d.HealthState == string(ostypes.DomainStateProcessing) ||
		d.ProcessingStatus == string(ostypes.DomainProcessingStatusTypeModifying):
		return stateVerdict{Serves: true, Warning: "a configuration change is being applied (blue/green deployment); the domain keeps serving from its current nodes until the switchover"}
	}
	return stateVerdict{Serves: true}
}
