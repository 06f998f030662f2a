package lab

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidReportedState is returned for a reported state that names an unknown resource, Region or
// state.
var ErrInvalidReportedState = errors.New("invalid reported state")

// StateResource names a resource whose reported state [Lab.SetReportedState] sets.
type StateResource string

// Resources whose state the lab's control plane can be told to report.
const (
	// StateMSKCluster is a Region's MSK cluster (DescribeClusterV2 State).
	StateMSKCluster StateResource = "msk-cluster"
	// StateCollection is a Region's OpenSearch Serverless collection (BatchGetCollection status).
	StateCollection StateResource = "collection"
	// StatePipeline is a Region's OSI pipeline (GetPipeline Status).
	StatePipeline StateResource = "pipeline"
	// StateDomain is the managed domain (DescribeDomain DomainProcessingStatus, and with it
	// Processing, UpgradeProcessing, Created, Deleted and DescribeDomainHealth's DomainState).
	StateDomain StateResource = "domain"
)

// reportableStates are the values each API defines for the state it reports: MSK ClusterState
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-cluster-states.html), AOSS
// CollectionStatus (https://docs.aws.amazon.com/opensearch-service/latest/ServerlessAPIReference/API_CollectionDetail.html),
// OSI PipelineStatus (https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_osis_Pipeline.html)
// and OpenSearch Service DomainProcessingStatus
// (https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_DomainStatus.html).
var reportableStates = map[StateResource][]string{
	StateMSKCluster: {"ACTIVE", "CREATING", "DELETING", "FAILED", "HEALING", "MAINTENANCE", "REBOOTING_BROKER", "UPDATING"},
	StateCollection: {"CREATING", "UPDATING", "DELETING", "ACTIVE", "FAILED", "UPDATE_FAILED"},
	StatePipeline: {"CREATING", "ACTIVE", "UPDATING", "DELETING", "CREATE_FAILED", "UPDATE_FAILED", "STARTING",
		"START_FAILED", "STOPPING", "STOPPED"},
	StateDomain: {"Creating", "Active", "Modifying", "UpgradingEngineVersion", "UpdatingServiceSoftware", "Isolated", "Deleting"},
}

// SetReportedState makes the control plane report state for a Region's resource, the way AWS
// reports an MSK cluster HEALING while it replaces a broker or a domain Modifying during a
// blue/green deployment: the data path is untouched (Kafka still produces and consumes, the
// pipeline ingests, the collection and domain serve), only what the control plane says
// changes, so checks can be rehearsed against the states AWS puts resources in. An empty state
// returns the resource to the state the twins derive. While a pipeline's state is set, starting
// and stopping it is refused, as OSI refuses them outside STOPPED and ACTIVE. The domain is the
// zonal one, in the primary Region.
func (l *Lab) SetReportedState(region string, res StateResource, state string) error {
	valid, ok := reportableStates[res]
	if !ok {
		return fmt.Errorf("%w: no resource %q (want %s, %s, %s or %s)", ErrInvalidReportedState, res, StateMSKCluster, StateCollection, StatePipeline, StateDomain)
	}
	if _, err := l.region(region); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidReportedState, err)
	}
	if res == StateDomain && region != l.opts.Primary {
		return fmt.Errorf("%w: the managed domain is in %s, not %s", ErrInvalidReportedState, l.opts.Primary, region)
	}
	if state != "" && !slices.Contains(valid, state) {
		return fmt.Errorf("%w: %s state %q is not one AWS reports (%s)", ErrInvalidReportedState, res, state, strings.Join(valid, ", "))
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	key := region + "/" + string(res)
	if state == "" {
		delete(l.states, key)
		return nil
	}
	if l.states == nil {
		l.states = map[string]string{}
	}
	l.states[key] = state
	l.log.Info("control plane reports a set state", "region", region, "resource", res, "state", state)
	return nil
}

// reportedState is the state set for a Region's resource, or "" when the twins decide.
func (l *Lab) reportedState(region string, res StateResource) string {
	l.smu.Lock()
	defer l.smu.Unlock()
	return l.states[region+"/"+string(res)]
}
