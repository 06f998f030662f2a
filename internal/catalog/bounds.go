package catalog

import (
	"fmt"
	"strings"
	"time"
)

// BoundMargin is what a step needs beyond the bound of its entry: the last read of a soak or a
// watch starts just before the bound ends and may take a few seconds (reads are bounded by their
// interval or 5 s), and the activity must still report. A step's timeout covers a bound when it is
// at least MinTimeout(bound).
const BoundMargin = 30 * time.Second

// MinTimeout is the shortest step timeout that lets an entry bounded by bound finish. The
// validator refuses an explicit timeout below it, and the interpreter gives a step without one at
// least this long.
func MinTimeout(bound time.Duration) time.Duration {
	if bound <= 0 {
		return 0
	}
	return bound + BoundMargin
}

// DNSMargin is what a window for writes steered by DNS needs beyond the record's TTL: the first
// write sent after the resolvers' caches expire must still travel producer -> Kafka -> pipeline ->
// collection and be refreshed into search (about a second in the lab; OSI batching and the
// collection's refresh on AWS).
const DNSMargin = 20 * time.Second

// MinDNSWindow is the shortest window in which writes can be expected to show up where a weighted
// record with this TTL now points. Route 53 reports a change INSYNC once its authoritative servers
// answer with it, but resolvers keep answering from their cache for up to the TTL ("the amount of
// time, in seconds, that you want DNS recursive resolvers to cache information about this
// record", https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-basic.html#rrsets-values-basic-ttl).
func MinDNSWindow(ttl time.Duration) time.Duration { return ttl + DNSMargin }

// PlanArg is the argument the interpreter adds, set to true, to every call it makes in plan mode.
// The activity registry takes it out again before decoding, so no entry declares it and no
// runbook may write it; entries that watch for a while (a soak, a sleep, a write window) read
// once instead and report what they would watch.
const PlanArg = "_plan"

// EnvArg is the argument the interpreter adds to every call of a run: the environment the run
// loaded and the sha256 of its file, as {"environment": "lab", "sha256": "..."}. The activity
// registry takes it out again before decoding, like PlanArg; an entry that resolves that
// environment refuses a file whose sha256 differs, so one run never acts on two versions of it.
const EnvArg = "_env"

// Bound is one argument that bounds an entry's run time, as a step carries it to the interpreter.
type Bound struct {
	// Arg is the duration argument.
	Arg string `json:"arg"`
	// Default is the entry's value when the argument is left out ("" when it is required).
	Default string `json:"default,omitempty"`
	// If names a bool argument that must be true for the bound to apply.
	If string `json:"if,omitempty"`
}

// RunBound returns the longest run time the bounds give for args, and the argument it comes from
// (with " (default)" when the entry's default applies). Values that are not durations yet (an
// expression the caller could not evaluate) are skipped: what cannot be known is not checked. A
// bound whose If argument is not literally true does not apply. Durations are strings ("5m") or
// numbers of nanoseconds, the two forms runbook durations take in JSON.
func RunBound(bounds []Bound, args map[string]any) (time.Duration, string) {
	var best time.Duration
	from := ""
	for _, b := range bounds {
		if b.If != "" {
			if on, _ := args[b.If].(bool); !on {
				continue
			}
		}
		v, given := args[b.Arg]
		name := b.Arg
		if !given || v == nil {
			if b.Default == "" {
				continue
			}
			v, name = b.Default, b.Arg+" (default)"
		}
		d, ok := DurationOf(v)
		if ok && d > best {
			best, from = d, name
		}
	}
	return best, from
}

// DurationOf reads a duration argument: a string like "5m" or a number of nanoseconds.
func DurationOf(v any) (time.Duration, bool) {
	switch v := v.(type) {
	case string:
		if strings.Contains(v, "${{") {
			return 0, false
		}
		d, err := time.ParseDuration(v)
		return d, err == nil
	case float64:
		return time.Duration(v), v == float64(int64(v))
	case int:
		return time.Duration(v), true
	case int64:
		return time.Duration(v), true
	}
	return 0, false
}

// ShortDuration formats a duration as runbook authors write it: 5m, 1h30m, 90s -> 1m30s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// BoundProblem says why an explicit step timeout cannot cover what the entry will run for, or
// "" when it can; what names the bounding argument and its value ("duration 5m").
func BoundProblem(timeout, bound time.Duration, what string) string {
	need := MinTimeout(bound)
	if timeout <= 0 || need <= 0 || timeout >= need {
		return ""
	}
	return fmt.Sprintf("timeout %s cannot cover %s: the step needs at least %s (%s + %s for the last read); raise the timeout or leave it out to have it derived",
		ShortDuration(timeout), what, ShortDuration(need), ShortDuration(bound), ShortDuration(BoundMargin))
}

// AllWeightsZero reports whether every weight of a weighted record group is 0. Route 53 does not
// read that as "send no traffic": "If you set Weight to 0 for all records in the group, traffic is
// routed to all resources with equal probability"
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html), so a
// failover that zeroes both Regions would send half the writes to the impaired one. set_weights
// refuses such a set, and the validator refuses it when the weights are written literally.
func AllWeightsZero(weights map[string]int64) bool {
	if len(weights) == 0 {
		return false
	}
	for _, w := range weights {
		if w != 0 {
			return false
		}
	}
	return true
}

// LiteralWeightsAllZero reports whether a weights value written literally in a runbook (numbers,
// no expressions) sets at least two records, all to 0. An environment has exactly two Regions,
// so two zeros are the whole group; one zero may leave the other record's weight standing.
func LiteralWeightsAllZero(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) < 2 {
		return false
	}
	w := make(map[string]int64, len(m))
	for k, x := range m {
		switch n := x.(type) {
		case int:
			w[k] = int64(n)
		case int64:
			w[k] = n
		case uint64:
			w[k] = int64(n)
		case float64:
			w[k] = 0
			if n != 0 {
				w[k] = 1 // only zero or not matters here
			}
		default:
			return false // an expression, or not a number (reported elsewhere)
		}
	}
	return AllWeightsZero(w)
}

// AllZeroWeightsProblem is the message for a weight set AllWeightsZero refuses.
const AllZeroWeightsProblem = "every weight of the record group would be 0, which Route 53 reads as \"route to all records with equal probability\", not as \"no traffic\": give the Region that should take the writes a weight above 0"
