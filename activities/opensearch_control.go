package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	ostypes "github.com/aws/aws-sdk-go-v2/service/opensearch/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	"go.temporal.io/sdk/temporal"
)

// CollectionArgs is the input of opensearch.collection_active.
type CollectionArgs struct {
	Environment  string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region       string `json:"region" catalog:"region,required" doc:"the Region of the collection"`
	Collection   string `json:"collection,omitempty" doc:"collection name; default: the Region's opensearch.collection"`
	CollectionID string `json:"collection_id,omitempty" doc:"collection id, used instead of the name when given (default: the Region's opensearch.collection_id)"`
}

// CollectionResult is the output of opensearch.collection_active.
type CollectionResult struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason"`
	Name     string `json:"name"`
	ID       string `json:"id"`
	Status   string `json:"status"`
	Endpoint string `json:"endpoint"`
	// Warnings say the collection passed in a state other than ACTIVE (see collectionState).
	Warnings []string `json:"warnings,omitempty" doc:"set when the collection serves in a state other than ACTIVE (UPDATING)"`
}

// CollectionActive checks that the Region's OpenSearch Serverless collection is ACTIVE
// (BatchGetCollection, by name, so no ListCollections round trip). Serverless has no cluster
// health; this is its health signal.
func (c *Cloud) CollectionActive(ctx context.Context, in CollectionArgs) (CollectionResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return CollectionResult{}, err
	}
	if t.rc.OpenSearch.Kind == "managed" && in.Collection == "" && in.CollectionID == "" {
		return CollectionResult{}, badArgs("%s of environment %s has a managed domain, not a collection; use opensearch.domain_status", t.region, t.envName)
	}
	in2 := &opensearchserverless.BatchGetCollectionInput{}
	id := in.CollectionID
	if id == "" && in.Collection == "" {
		id = t.rc.OpenSearch.CollectionID
	}
	name := in.Collection
	if id != "" {
		in2.Ids = []string{id}
	} else {
		if name, err = orEnv(name, t.rc.OpenSearch.Collection, "collection", "opensearch.collection", t.region); err != nil {
			return CollectionResult{}, err
		}
		in2.Names = []string{name}
	}
	resource := "collection " + name + id
	ac, err := c.opts.AWS.OpenSearchServerless(ctx, t.aws)
	if err != nil {
		return CollectionResult{}, Permanent(err)
	}
	out, err := ac.BatchGetCollection(ctx, in2)
	if err != nil {
		return CollectionResult{}, Wrap(err, "get", resource, t.region)
	}
	if len(out.CollectionDetails) == 0 {
		reason := "not found"
		if len(out.CollectionErrorDetails) > 0 {
			e := out.CollectionErrorDetails[0]
			reason = aws.ToString(e.ErrorCode) + ": " + aws.ToString(e.ErrorMessage)
		}
		return CollectionResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("get %s in %s: %s", resource, t.region, reason), ErrNotFound, nil)
	}
	d := out.CollectionDetails[0]
	res := CollectionResult{Name: aws.ToString(d.Name), ID: aws.ToString(d.Id), Status: string(d.Status), Endpoint: aws.ToString(d.CollectionEndpoint)}
	switch v := collectionState(res.Status); {
	case v.Serves && v.Warning != "":
		res.OK, res.Reason = true, fmt.Sprintf("collection %s in %s is %s: %s", res.Name, t.region, res.Status, v.Warning)
		res.Warnings = []string{res.Reason}
	case v.Serves:
		res.OK, res.Reason = true, fmt.Sprintf("collection %s in %s is ACTIVE", res.Name, t.region)
	default:
		res.Reason = fmt.Sprintf("collection %s in %s is %s, not ACTIVE", res.Name, t.region, res.Status)
		if msg := aws.ToString(d.FailureMessage); msg != "" {
			res.Reason += ": " + msg
		}
	}
	return res, nil
}

// DomainArgs is the input of opensearch.domain_status.
type DomainArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region,omitempty" catalog:"region" doc:"the Region of the domain (required unless zonal)"`
	Zonal       bool   `json:"zonal,omitempty" doc:"ask about the environment's zonal domain instead"`
	Domain      string `json:"domain,omitempty" doc:"domain name; default: the environment's"`
	AllowYellow bool   `json:"allow_yellow,omitempty" doc:"let Yellow cluster health pass"`
}

// ZoneHealth is one Availability Zone of a domain as DescribeDomainHealth reports it, with its
// nodes from DescribeDomainNodes.
type ZoneHealth struct {
	Zone string `json:"zone"`
	// Status NotAvailable means AWS could not retrieve the zone's status ("NotAvailable - Unable
	// to retrieve information", AvailabilityZoneInfo in the OpenSearch Service API reference),
	// not that the zone is down: whether it serves shows in the node counts.
	Status             string       `json:"status" doc:"Active, StandBy or NotAvailable (AWS could not retrieve the zone's status; not that the zone is down)"`
	AvailableDataNodes int          `json:"available_data_nodes"`
	ConfiguredNodes    int          `json:"configured_data_nodes"`
	Nodes              []DomainNode `json:"nodes" doc:"the zone's nodes (DescribeDomainNodes)"`
}

// DomainNode is one node of a domain as DescribeDomainNodes reports it.
type DomainNode struct {
	ID           string `json:"id"`
	Type         string `json:"type" doc:"Data, Master, Warm or Ultrawarm"`
	Status       string `json:"status" doc:"Active, StandBy or NotAvailable"`
	InstanceType string `json:"instance_type"`
}

// DomainResult is the output of opensearch.domain_status.
type DomainResult struct {
	OK            bool         `json:"ok"`
	Reason        string       `json:"reason"`
	Domain        string       `json:"domain"`
	Processing    bool         `json:"processing" doc:"a configuration change is being applied"`
	DomainState   string       `json:"domain_state" doc:"Active, Processing or NotAvailable"`
	ClusterHealth string       `json:"cluster_health" doc:"Green, Yellow, Red or NotAvailable"`
	ActiveZones   int          `json:"active_zones"`
	StandbyZones  int          `json:"standby_zones"`
	Zones         []ZoneHealth `json:"zones"`
	MultiAZ       bool         `json:"multi_az_with_standby"`
	Warnings      []string     `json:"warnings,omitempty" doc:"set when the domain serves while a change is applied (Processing, UpgradeProcessing)"`
}

// DomainStatus checks a managed domain through the control plane: DescribeDomain for whether a
// change is in progress, DescribeDomainHealth for cluster health and the per-zone picture
// (which zone is active, which standby, nodes available per zone) and DescribeDomainNodes for
// each zone's nodes. The control plane answers even when the data plane is unreachable from the
// worker. On a managed domain this is all a customer can do about zones: the service moves them
// itself (Multi-AZ with Standby), so zonal failover is for self-managed clusters.
func (c *Cloud) DomainStatus(ctx context.Context, in DomainArgs) (DomainResult, error) {
	o, err := c.osTarget(ctx, in.Environment, in.Region, in.Zonal)
	if err != nil {
		return DomainResult{}, err
	}
	domain, err := orEnv(in.Domain, o.domain, "domain", "opensearch.domain", o.t.region)
	if err != nil {
		return DomainResult{}, err
	}
	oc, err := c.opts.AWS.OpenSearch(ctx, o.t.aws)
	if err != nil {
		return DomainResult{}, Permanent(err)
	}
	dout, err := oc.DescribeDomain(ctx, &opensearch.DescribeDomainInput{DomainName: aws.String(domain)})
	if err != nil {
		return DomainResult{}, Wrap(err, "describe domain", domain, o.t.region)
	}
	res := DomainResult{Domain: domain, Zones: []ZoneHealth{}}
	var states domainStates
	if ds := dout.DomainStatus; ds != nil {
		res.Processing = aws.ToBool(ds.Processing)
		states = domainStates{Created: ds.Created, Deleted: ds.Deleted, Processing: res.Processing,
			UpgradeProcessing: aws.ToBool(ds.UpgradeProcessing), ProcessingStatus: string(ds.DomainProcessingStatus)}
		if cc := ds.ClusterConfig; cc != nil {
			res.MultiAZ = aws.ToBool(cc.MultiAZWithStandbyEnabled)
		}
	}
	hout, err := oc.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String(domain)})
	if err != nil {
		return res, Wrap(err, "describe health of domain", domain, o.t.region)
	}
	res.DomainState, res.ClusterHealth = string(hout.DomainState), string(hout.ClusterHealth)
	res.ActiveZones, res.StandbyZones = atoiPtr(hout.ActiveAvailabilityZoneCount), atoiPtr(hout.StandByAvailabilityZoneCount)
	nout, err := oc.DescribeDomainNodes(ctx, &opensearch.DescribeDomainNodesInput{DomainName: aws.String(domain)})
	if err != nil {
		return res, Wrap(err, "describe nodes of domain", domain, o.t.region)
	}
	nodes := map[string][]DomainNode{}
	for _, n := range nout.DomainNodesStatusList {
		z := aws.ToString(n.AvailabilityZone)
		nodes[z] = append(nodes[z], DomainNode{ID: aws.ToString(n.NodeId), Type: string(n.NodeType), Status: string(n.NodeStatus), InstanceType: string(n.InstanceType)})
	}
	var notAvailable []string
	for _, env := range hout.EnvironmentInformation {
		for _, z := range env.AvailabilityZoneInformation {
			zh := ZoneHealth{Zone: aws.ToString(z.AvailabilityZoneName), Status: string(z.ZoneStatus),
				AvailableDataNodes: atoiPtr(z.AvailableDataNodeCount), ConfiguredNodes: atoiPtr(z.ConfiguredDataNodeCount)}
			zh.Nodes = nodes[zh.Zone]
			if zh.Nodes == nil {
				zh.Nodes = []DomainNode{}
			}
			res.Zones = append(res.Zones, zh)
			if z.ZoneStatus == ostypes.ZoneStatusNotAvailable {
				notAvailable = append(notAvailable, zh.Zone)
			}
		}
	}
	healthy := res.ClusterHealth == string(ostypes.DomainHealthGreen) || (in.AllowYellow && res.ClusterHealth == string(ostypes.DomainHealthYellow))
	desc := fmt.Sprintf("domain %s in %s: %s, health %s, %d active and %d standby zones", domain, o.t.region, res.DomainState, res.ClusterHealth, res.ActiveZones, res.StandbyZones)
	for _, z := range res.Zones {
		if z.ConfiguredNodes > 0 && z.AvailableDataNodes < z.ConfiguredNodes {
			desc += fmt.Sprintf(", %s has %d of %d data nodes", z.Zone, z.AvailableDataNodes, z.ConfiguredNodes)
		}
	}
	if len(notAvailable) > 0 {
		// NotAvailable is AWS not knowing, not the zone being down: say so, so that nobody
		// fails a zone over on it.
		desc += fmt.Sprintf(", zone status of %s not retrievable (NotAvailable: AWS could not retrieve it; it does not mean the zone is down)", strings.Join(notAvailable, ", "))
	}
	states.HealthState = res.DomainState
	switch v := domainState(states); {
	case !v.Serves:
		res.Reason = desc
		if ps := states.ProcessingStatus; ps != "" && ps != string(ostypes.DomainProcessingStatusTypeActive) {
			res.Reason += " (" + ps + ")"
		}
	case !healthy:
		res.Reason = desc
	case v.Warning != "":
		res.OK, res.Reason = true, desc
		res.Warnings = []string{fmt.Sprintf("domain %s in %s: %s", domain, o.t.region, v.Warning)}
	default:
		res.OK, res.Reason = true, desc
	}
	return res, nil
}

func atoiPtr(s *string) int {
	n, _ := strconv.Atoi(aws.ToString(s))
	return n
}
