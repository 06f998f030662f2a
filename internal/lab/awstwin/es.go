package awstwin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// Amazon OpenSearch Service (signing name "es") speaks restJson1 with PascalCase members; its
// domain counts in DescribeDomainHealth are strings in the model, so they are strings here.
// Zonal runbooks read DescribeDomainHealth because it is the only control-plane view of which
// Availability Zone of a Multi-AZ-with-standby domain is active and which is standby.

// ServiceOpenSearch is the signing name of Amazon OpenSearch Service (managed domains).
const ServiceOpenSearch = "es"

// OpenSearchService is one Region's Amazon OpenSearch Service control plane, reduced to the
// domain reads the engine makes. The lab's zonal OpenSearch twin implements it.
type OpenSearchService interface {
	Domains(ctx context.Context) ([]Domain, error)
}

// Domain mirrors the parts of opensearch types.DomainStatus the engine reads, plus the
// domain's health for DescribeDomainHealth.
type Domain struct {
	Name string
	// ID is DomainStatus.DomainId, "<account>/<name>" on AWS; "" means that form.
	ID  string
	ARN string // "" means the Region's arn:aws:es:...:domain/<name>
	// Endpoint is the domain endpoint without scheme, as DomainStatus.Endpoint.
	Endpoint      string
	EngineVersion string // e.g. OpenSearch_2.19
	InstanceType  string
	InstanceCount int
	// DedicatedMasterCount > 0 means dedicated master nodes are enabled.
	DedicatedMasterCount int
	DedicatedMasterType  string
	MultiAZWithStandby   bool
	// AvailabilityZoneCount is ZoneAwarenessConfig.AvailabilityZoneCount; more than one
	// means zone awareness is enabled.
	AvailabilityZoneCount int
	Processing            bool
	// UpgradeProcessing is DomainStatus.UpgradeProcessing: an engine version upgrade is running.
	UpgradeProcessing bool
	// ProcessingStatus is DomainStatus.DomainProcessingStatus (Creating, Active, Modifying,
	// UpgradingEngineVersion, UpdatingServiceSoftware, Isolated, Deleting); "" derives it from
	// Processing and UpgradeProcessing. Creating reports Created false, Deleting Deleted true.
	ProcessingStatus string
	Health           DomainHealth
	// Nodes are what DescribeDomainNodes lists.
	Nodes []DomainNode
}

// DomainNode mirrors opensearch types.DomainNodesStatus.
type DomainNode struct {
	ID               string
	Type             string // Data, Master, Warm, Ultrawarm
	AvailabilityZone string
	InstanceType     string
	Status           string // Active, StandBy, NotAvailable
	StorageType      string // ebs, instance
	StorageSize      string // GiB
	VolumeType       string // gp2, gp3, ...; data nodes with EBS only
}

// DomainHealth mirrors opensearch DescribeDomainHealthOutput.
type DomainHealth struct {
	DomainState             string // Active, Processing, NotAvailable
	ClusterHealth           string // Green, Yellow, Red, NotAvailable
	MasterNode              string // Available, UnAvailable
	MasterEligibleNodeCount int
	DataNodeCount           int
	WarmNodeCount           int
	TotalShards             int
	TotalUnAssignedShards   int
	Zones                   []ZoneHealth
}

// ZoneHealth mirrors opensearch types.AvailabilityZoneInfo.
type ZoneHealth struct {
	Name                    string
	Status                  string // Active, StandBy, NotAvailable
	ConfiguredDataNodeCount int
	AvailableDataNodeCount  int
	TotalShards             int
	TotalUnAssignedShards   int
}

// InMemoryOpenSearch is a slice-backed [OpenSearchService].
type InMemoryOpenSearch struct {
	mu sync.Mutex
	ds []Domain
}

// NewInMemoryOpenSearch returns an InMemoryOpenSearch without domains.
func NewInMemoryOpenSearch() *InMemoryOpenSearch { return &InMemoryOpenSearch{} }

// PutDomain adds or replaces a domain by name.
func (o *InMemoryOpenSearch) PutDomain(d Domain) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.ds {
		if o.ds[i].Name == d.Name {
			o.ds[i] = d
			return
		}
	}
	o.ds = append(o.ds, d)
}

// Domains implements [OpenSearchService].
func (o *InMemoryOpenSearch) Domains(context.Context) ([]Domain, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ds), nil
}

func esService() *service {
	return &service{
		name:         ServiceOpenSearch,
		namespace:    "com.amazonaws.opensearch",
		defaultProto: protoRestJSON,
		resolve:      resolveES,
		ops: map[string]func(*call) error{
			"ListDomainNames":      esListDomainNames,
			"DescribeDomain":       esDescribeDomain,
			"DescribeDomainHealth": esDescribeDomainHealth,
			"DescribeDomainNodes":  esDescribeDomainNodes,
		},
		throttle: apiError{Status: http.StatusTooManyRequests, Code: "ThrottlingException", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalException", Receiver: true},
	}
}

func resolveES(c *call) *apiError {
	seg := segments(c.r)
	if c.r.Method == http.MethodGet && len(seg) >= 2 && seg[0] == "2021-01-01" {
		switch {
		case len(seg) == 2 && seg[1] == "domain":
			c.op = "ListDomainNames"
			return nil
		case len(seg) == 4 && seg[1] == "opensearch" && seg[2] == "domain":
			c.op, c.labels = "DescribeDomain", seg[3:4]
			return nil
		case len(seg) == 5 && seg[1] == "opensearch" && seg[2] == "domain" && seg[4] == "health":
			c.op, c.labels = "DescribeDomainHealth", seg[3:4]
			return nil
		case len(seg) == 5 && seg[1] == "opensearch" && seg[2] == "domain" && seg[4] == "nodes":
			c.op, c.labels = "DescribeDomainNodes", seg[3:4]
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: fmt.Sprintf("the lab twin does not implement es %s %s", c.r.Method, c.r.URL.Path)}
}

func esDomains(c *call) ([]Domain, error) {
	b := c.backends()
	if b.OpenSearch == nil {
		return nil, nil
	}
	ds, err := b.OpenSearch.Domains(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("list OpenSearch domains in %s: %w", c.rs.name, err)
	}
	return ds, nil
}

func esFind(c *call, name string) (Domain, error) {
	ds, err := esDomains(c)
	if err != nil {
		return Domain{}, err
	}
	for _, d := range ds {
		if d.Name == name {
			return d, nil
		}
	}
	// OpenSearch Service answers a missing domain with ResourceNotFoundException, HTTP 409.
	return Domain{}, &apiError{Status: http.StatusConflict, Code: "ResourceNotFoundException", Message: "Domain not found: " + name}
}

func esListDomainNames(c *call) error {
	ds, err := esDomains(c)
	if err != nil {
		return err
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	if et := c.r.URL.Query().Get("engineType"); et != "" && et != "OpenSearch" {
		ds = nil // every twin domain runs OpenSearch, none Elasticsearch
	}
	names := make([]map[string]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, map[string]string{"DomainName": d.Name, "EngineType": "OpenSearch"})
	}
	return c.replyJSON(map[string]any{"DomainNames": names})
}

func esDescribeDomain(c *call) error {
	d, err := esFind(c, c.labels[0])
	if err != nil {
		return err
	}
	id, arn := d.ID, d.ARN
	if id == "" {
		id = c.t.opts.AccountID + "/" + d.Name
	}
	if arn == "" {
		arn = c.t.arn("es", c.rs.name, "domain/"+d.Name)
	}
	cc := map[string]any{
		"InstanceType":              d.InstanceType,
		"InstanceCount":             d.InstanceCount,
		"DedicatedMasterEnabled":    d.DedicatedMasterCount > 0,
		"ZoneAwarenessEnabled":      d.AvailabilityZoneCount > 1,
		"MultiAZWithStandbyEnabled": d.MultiAZWithStandby,
		"WarmEnabled":               false,
	}
	if d.DedicatedMasterCount > 0 {
		cc["DedicatedMasterCount"] = d.DedicatedMasterCount
		cc["DedicatedMasterType"] = d.DedicatedMasterType
	}
	if d.AvailabilityZoneCount > 1 {
		cc["ZoneAwarenessConfig"] = map[string]int{"AvailabilityZoneCount": d.AvailabilityZoneCount}
	}
	processing := d.ProcessingStatus
	switch {
	case processing != "":
	case d.UpgradeProcessing:
		processing = "UpgradingEngineVersion"
	case d.Processing:
		processing = "Modifying"
	default:
		processing = "Active"
	}
	return c.replyJSON(map[string]any{"DomainStatus": dropNil(map[string]any{
		"ARN":                    arn,
		"DomainId":               id,
		"DomainName":             d.Name,
		"Created":                processing != "Creating",
		"Deleted":                processing == "Deleting",
		"Processing":             d.Processing,
		"UpgradeProcessing":      d.UpgradeProcessing,
		"DomainProcessingStatus": processing,
		"Endpoint":               omitEmpty(d.Endpoint),
		"EngineVersion":          omitEmpty(d.EngineVersion),
		"ClusterConfig":          cc,
	})})
}

func esDescribeDomainHealth(c *call) error {
	d, err := esFind(c, c.labels[0])
	if err != nil {
		return err
	}
	h := d.Health
	itoa := strconv.Itoa
	var active, standby int
	zones := make([]map[string]string, 0, len(h.Zones))
	for _, z := range h.Zones {
		switch z.Status {
		case "Active":
			active++
		case "StandBy":
			standby++
		}
		zones = append(zones, map[string]string{
			"AvailabilityZoneName":    z.Name,
			"ZoneStatus":              z.Status,
			"ConfiguredDataNodeCount": itoa(z.ConfiguredDataNodeCount),
			"AvailableDataNodeCount":  itoa(z.AvailableDataNodeCount),
			"TotalShards":             itoa(z.TotalShards),
			"TotalUnAssignedShards":   itoa(z.TotalUnAssignedShards),
		})
	}
	out := map[string]any{
		"DomainState":                  h.DomainState,
		"ClusterHealth":                h.ClusterHealth,
		"MasterNode":                   h.MasterNode,
		"DedicatedMaster":              d.DedicatedMasterCount > 0,
		"MasterEligibleNodeCount":      itoa(h.MasterEligibleNodeCount),
		"DataNodeCount":                itoa(h.DataNodeCount),
		"WarmNodeCount":                itoa(h.WarmNodeCount),
		"TotalShards":                  itoa(h.TotalShards),
		"TotalUnAssignedShards":        itoa(h.TotalUnAssignedShards),
		"AvailabilityZoneCount":        itoa(len(h.Zones)),
		"ActiveAvailabilityZoneCount":  itoa(active),
		"StandByAvailabilityZoneCount": itoa(standby),
	}
	if len(zones) > 0 {
		out["EnvironmentInformation"] = []map[string]any{{"AvailabilityZoneInformation": zones}}
	}
	return c.replyJSON(out)
}

// esDescribeDomainNodes answers GET /2021-01-01/opensearch/domain/{DomainName}/nodes with
// DomainNodesStatusList, the per-node view (zone, type, Active/StandBy/NotAvailable) of
// https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_DescribeDomainNodes.html.
func esDescribeDomainNodes(c *call) error {
	d, err := esFind(c, c.labels[0])
	if err != nil {
		return err
	}
	nodes := make([]map[string]any, 0, len(d.Nodes))
	for _, n := range d.Nodes {
		nodes = append(nodes, dropNil(map[string]any{
			"NodeId":            n.ID,
			"NodeType":          n.Type,
			"AvailabilityZone":  n.AvailabilityZone,
			"InstanceType":      n.InstanceType,
			"NodeStatus":        n.Status,
			"StorageType":       omitEmpty(n.StorageType),
			"StorageVolumeType": omitEmpty(n.VolumeType),
			"StorageSize":       omitEmpty(n.StorageSize),
		}))
	}
	return c.replyJSON(map[string]any{"DomainNodesStatusList": nodes})
}
