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
	// Healthy says, by Region, whether the record's health check was healthy when the query
	// was answered (a record without a health check is healthy).
	Healthy map[string]bool
}

// weightedRecord is one record of a weighted group; region keys it (the producers' router keys
// records by Region, the DNS server by SetIdentifier).
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
// Records whose health check is unhealthy are left out, as [healthyCandidates] explains.
func (r *Route53Router) Resolve(context.Context) (Answer, error) {
	recs, err := r.records()
	if err != nil {
		return Answer{}, err
	}
	healthy := recordsHealth(r.Twin, recs)
	chosen := chooseWeighted(healthyCandidates(recs, healthy), mix(r.queries.Add(1)^0x5eed))
	a := Answer{Region: chosen.region, Weights: weightsOf(recs), Healthy: healthy}
	if len(chosen.rs.Values) > 0 {
		a.Value = chosen.rs.Values[0]
	}
	if chosen.rs.TTL != nil {
		a.TTL = time.Duration(*chosen.rs.TTL) * time.Second
	}
	return a, nil
}

// chooseWeighted picks one of the candidates (from [healthyCandidates]) by weight, x being a
// well-mixed random number: "Route 53 sends traffic to a resource based on the weight that you
// assign to the record as a proportion of the total weight for all records in the group", and "if
// you set Weight to 0 for all of the records in the group, traffic is routed to all resources with
// equal probability" (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html).
// The producers' router and the lab's DNS server both choose here.
func chooseWeighted(candidates []weightedRecord, x uint64) weightedRecord {
	var total int64
	for _, w := range candidates {
		total += *w.rs.Weight
	}
	if total == 0 {
		return candidates[x%uint64(len(candidates))] // all 0: equal probability
	}
	left := int64(x % uint64(total))
	for _, w := range candidates {
		left -= *w.rs.Weight
		if left < 0 {
			return w
		}
	}
	return candidates[len(candidates)-1] // unreachable: left < total
}

// recordsHealth is each record's health check status, by the record's key (Region).
func recordsHealth(t *awstwin.Twin, recs []weightedRecord) map[string]bool {
	healthy := make(map[string]bool, len(recs))
	for _, w := range recs {
		healthy[w.region] = recordHealthy(t, w.rs)
	}
	return healthy
}

// recordHealthy is the status Route 53's health checkers report for a record: a record without
// a health check is healthy, and so (the lab's choice) is one whose health check was deleted —
// "the future status of the health check can't be predicted"
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_DeleteHealthCheck.html).
func recordHealthy(t *awstwin.Twin, rs awstwin.RecordSet) bool {
	if rs.HealthCheckID == "" {
		return true
	}
	healthy, ok := t.HealthCheckHealthy(rs.HealthCheckID)
	return healthy || !ok
}

// healthyCandidates are the records of a weighted group a DNS answer is chosen from, as Route 53
// chooses with health checks (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):
// "Records without a health check are always healthy"; unhealthy records are left out; with
// zero-weighted records, "Route 53 initially considers only the nonzero weighted records, if any.
// If all the records that have a weight greater than 0 are unhealthy, then Route 53 considers the
// zero-weighted records"; and "If no record is healthy, all records are healthy": when every
// record of the group is unhealthy, "Route 53 considers all the records in the group to be healthy
// and selects one based on the routing policy and on the values that you specify for each record"
// (fail open; also https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-complex-configs.html).
// The weighted choice over the candidates then keeps the rules above, all-zero weights included.
func healthyCandidates(recs []weightedRecord, healthy map[string]bool) []weightedRecord {
	var nonZero, zero []weightedRecord
	for _, w := range recs {
		switch {
		case !healthy[w.region]:
		case *w.rs.Weight > 0:
			nonZero = append(nonZero, w)
		default:
			zero = append(zero, w)
		}
	}
	switch {
	case len(nonZero) > 0:
		return nonZero
	case len(zero) > 0:
		return zero
	}
	return recs // every record unhealthy: fail open
}
