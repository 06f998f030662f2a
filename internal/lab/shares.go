package lab

import "context"

// Shares says which part of the DNS answers (percent, by Region) the weighted record gets now,
// with Route 53's rules: weights among the records whose health checks are healthy, zero-weighted
// records only when no healthy one weighs more, all records when none is healthy
// ([healthyCandidates]). It is where traffic goes whatever moved it — weights (route53_weights)
// or health checks (arc_routing_control, health_check_metric) — so tests assert on it rather
// than on the weights alone. Rounding can leave the sum a little under 100.
func (r *Route53Router) Shares(context.Context) (map[string]int64, error) {
	recs, err := r.records()
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(recs))
	for _, w := range recs {
		out[w.region] = 0
	}
	candidates := healthyCandidates(recs, recordsHealth(r.Twin, recs))
	var total int64
	for _, w := range candidates {
		total += *w.rs.Weight
	}
	for _, w := range candidates {
		if total == 0 {
			out[w.region] = 100 / int64(len(candidates)) // all 0: equal probability
		} else {
			out[w.region] = 100 * *w.rs.Weight / total
		}
	}
	return out, nil
}
