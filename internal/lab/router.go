package lab

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// Route53Router reads the weights of the weighted records in the Route 53 twin, as a resolver
// would answer for them: a ChangeResourceRecordSets made through any SDK moves the producers'
// writes on their next refresh. It reads the twin's state directly rather than through the
// endpoint, because DNS resolution is Route 53's data plane, which stays up when a Region's
// control-plane endpoint is impaired.
type Route53Router struct {
	Twin   *awstwin.Twin
	ZoneID string
	Name   string
	Type   string
	// SetIdentifiers maps each Region to its record's SetIdentifier.
	SetIdentifiers map[string]string
}

// Weights implements [Router].
func (r *Route53Router) Weights(context.Context) (map[string]int64, error) {
	records, err := r.Twin.RecordSets(r.ZoneID)
	if err != nil {
		return nil, fmt.Errorf("route 53 weights: %w", err)
	}
	name := strings.ToLower(strings.TrimSuffix(r.Name, ".")) + "."
	bySetID := map[string]string{}
	for region, id := range r.SetIdentifiers {
		bySetID[id] = region
	}
	out := map[string]int64{}
	for _, rs := range records {
		if rs.Name != name || rs.Type != r.Type || rs.Weight == nil {
			continue
		}
		if region, ok := bySetID[rs.SetIdentifier]; ok {
			out[region] = *rs.Weight
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("route 53 weights: no weighted %s records named %s in zone %s", r.Type, r.Name, r.ZoneID)
	}
	return out, nil
}
