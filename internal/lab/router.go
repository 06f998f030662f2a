package lab

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// Route53Router is the lab's Route 53 data plane for the producers' ingest record: it answers a
// DNS query for the weighted record set as Route 53's resolvers do, and reports the weights.
// A ChangeResourceRecordSets made through any SDK changes its answers at once. It reads the twin's
// state directly rather than through the endpoint, because DNS resolution is Route 53's data
// plane, which stays up when a Region's control-plane endpoint is impaired.
type Route53Router struct {
	Twin   *awstwin.Twin
	ZoneID string
	Name   string
	Type   string
	// SetIdentifiers maps each Region to its record's SetIdentifier.
	SetIdentifiers map[string]string

	queries atomic.Uint64
}

// Answer is one DNS answer for the weighted record: the record chosen, and how long a resolver
// may keep it.
type Answer struct {
	// Region is the Region of the chosen record (by its SetIdentifier).
	Region string
	// Value is the record's value (the Region's ingest host name).
	Value string
	// TTL is the record's TTL: resolvers and clients keep the answer that long.
	TTL time.Duration
	// Weights are the group's weights when the query was answered, by Region.
	Weights map[string]int64
}

type weightedRecord struct {
	region string
	rs     awstwin.RecordSet
}

func (r *Route53Router) records() ([]weightedRecord, error) {
	records, err := r.Twin.RecordSets(r.ZoneID)
	if err != nil {
		return nil, fmt.Errorf("route 53 weights: %w", err)
	}
	name := strings.ToLower(strings.TrimSuffix(r.Name, ".")) + "."
	bySetID := map[string]string{}
	for region, id := range r.SetIdentifiers {
		bySetID[id] = region
	}
	var out []weightedRecord
	for _, rs := range records {
		if rs.Name != name || rs.Type != r.Type || rs.Weight == nil {
			continue
		}
		if region, ok := bySetID[rs.SetIdentifier]; ok {
			out = append(out, weightedRecord{region: region, rs: rs})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("route 53 weights: no weighted %s records named %s in zone %s", r.Type, r.Name, r.ZoneID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].region < out[j].region })
	return out, nil
}

// Weights returns the weights of the weighted records by Region.
func (r *Route53Router) Weights(context.Context) (map[string]int64, error) {
	recs, err := r.records()
	if err != nil {
		return nil, err
	}
	return weightsOf(recs), nil
}

func weightsOf(recs []weightedRecord) map[string]int64 {
	out := make(map[string]int64, len(recs))
	for _, w := range recs {
		out[w.region] = *w.rs.Weight
	}
	return out
}

// Resolve answers one DNS query for the record, choosing one record of the group as Route 53
// does: "Route 53 sends traffic to a resource based on the weight that you assign to the record
// as a proportion of the total weight for all records in the group"; "to disable routing to a
// resource, set Weight to 0. If you set Weight to 0 for all of the records in the group, traffic
// is routed to all resources with equal probability"
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html). The
// choice is spread by a hash of the query number, so a lab run is repeatable. The answer carries
// the record's TTL, for which resolvers may keep answering with it
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-basic.html#rrsets-values-basic-ttl).
func (r *Route53Router) Resolve(context.Context) (Answer, error) {
	recs, err := r.records()
	if err != nil {
		return Answer{}, err
	}
	var total int64
	for _, w := range recs {
		total += *w.rs.Weight
	}
	x := mix(r.queries.Add(1) ^ 0x5eed)
	var chosen weightedRecord
	if total == 0 {
		chosen = recs[x%uint64(len(recs))] // all 0: equal probability
	} else {
		left := int64(x % uint64(total))
		for _, w := range recs {
			left -= *w.rs.Weight
			if left < 0 {
				chosen = w
				break
			}
		}
	}
	a := Answer{Region: chosen.region, Weights: weightsOf(recs)}
	if len(chosen.rs.Values) > 0 {
		a.Value = chosen.rs.Values[0]
	}
	if chosen.rs.TTL != nil {
		a.TTL = time.Duration(*chosen.rs.TTL) * time.Second
	}
	return a, nil
}
