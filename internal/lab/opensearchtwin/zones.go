package opensearchtwin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"sync"
	"time"
)

// Zone awareness, as Multi-AZ with standby uses it: weighted shard routing decides which zones
// serve searches (the standby zone has weight 0), and zonal decommission takes a zone out of
// service. Data is not stored per zone — every zone holds a full copy — so a zone is only a
// routing decision plus an availability switch.

const zoneAttr = "zone"

// weightedVersionUnset is WeightedRoutingMetadata.INITIAL_VERSION: the _version a first PUT
// must carry.
const weightedVersionUnset = -1

type zoneSet struct {
	mu    sync.Mutex
	names []string
	avail map[string]bool
	stats map[string]*ZoneStats
	now   func() time.Time
	dur   time.Duration

	hasWeights bool // weighted routing metadata exists (possibly with no weights after DELETE)
	weights    map[string]float64
	version    int64

	decomZone  string
	decomStart time.Time

	rr   map[string]float64 // smooth weighted round robin state
	rrFo map[string]float64
}

// ZoneStats is what one zone has served, for tests and lab dashboards.
type ZoneStats struct {
	Zone           string
	Available      bool
	Decommissioned bool
	// Weight is the zone's routing weight, "" when no weights are set.
	Weight string
	// Reads counts search, count and point-in-time requests the zone served.
	Reads uint64
	// FailOpenReads counts reads the zone served although its weight is 0, because every
	// weighted zone was unavailable.
	FailOpenReads uint64
	// Writes counts documents written to the zone's shard copies.
	Writes uint64
}

func newZoneSet(names []string, dur time.Duration, now func() time.Time) *zoneSet {
	z := &zoneSet{names: append([]string(nil), names...), avail: map[string]bool{}, stats: map[string]*ZoneStats{},
		now: now, dur: dur, version: weightedVersionUnset, rr: map[string]float64{}, rrFo: map[string]float64{}}
	for _, n := range names {
		z.avail[n] = true
		z.stats[n] = &ZoneStats{Zone: n}
	}
	return z
}

// decommissionStatus walks the documented states over the configured duration.
func (z *zoneSet) decommissionStatus(now time.Time) string {
	if z.decomZone == "" {
		return ""
	}
	f := float64(now.Sub(z.decomStart)) / float64(z.dur)
	switch {
	case f >= 1:
		return "SUCCESSFUL"
	case f >= 0.6:
		return "IN_PROGRESS"
	case f >= 0.1:
		return "DRAINING"
	}
	return "INIT"
}

// serving reports whether zone can serve requests at all: available and not decommissioned (a
// zone being decommissioned is weighed away first, so it serves nothing from the start).
func (z *zoneSet) serving(zone string) bool {
	return z.avail[zone] && zone != z.decomZone
}

func (z *zoneSet) weight(zone string) float64 {
	if !z.hasWeights || len(z.weights) == 0 {
		return 1
	}
	return z.weights[zone]
}

// pickRead chooses the zone that serves one search: smooth weighted round robin over the
// available zones with weight > 0; if none, fail open to an available zone with weight 0.
func (z *zoneSet) pickRead() (string, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	pick := func(state map[string]float64, weight func(string) float64) string {
		total, best := 0.0, ""
		for _, n := range z.names {
			w := weight(n)
			if w <= 0 || !z.serving(n) {
				continue
			}
			state[n] += w
			total += w
			if best == "" || state[n] > state[best] {
				best = n
			}
		}
		if best != "" {
			state[best] -= total
		}
		return best
	}
	if zone := pick(z.rr, z.weight); zone != "" {
		z.stats[zone].Reads++
		return zone, true
	}
	zone := pick(z.rrFo, func(string) float64 { return 1 })
	if zone == "" {
		return "", false
	}
	z.stats[zone].Reads++
	z.stats[zone].FailOpenReads++
	return zone, true
}

// writeZones counts docs written into every serving zone; false when no zone can take writes.
func (z *zoneSet) recordWrites(docs int) (copies, ok int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, n := range z.names {
		if n == z.decomZone {
			continue
		}
		copies++
		if z.serving(n) {
			ok++
			z.stats[n].Writes += uint64(docs)
		}
	}
	return copies, ok
}

// peekWritable reports the shard copies per index (one per non-decommissioned zone) and how
// many of them are in available zones.
func (z *zoneSet) peekWritable() (copies, ok int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, n := range z.names {
		if n == z.decomZone {
			continue
		}
		copies++
		if z.avail[n] {
			ok++
		}
	}
	return copies, ok
}

func (z *zoneSet) snapshot() []ZoneStats {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ZoneStats, 0, len(z.names))
	for _, n := range z.names {
		s := *z.stats[n]
		s.Available = z.avail[n]
		s.Decommissioned = n == z.decomZone
		if z.hasWeights && len(z.weights) > 0 {
			if w, ok := z.weights[n]; ok {
				s.Weight = javaDouble(w)
			}
		}
		out = append(out, s)
	}
	return out
}

func javaDouble(f float64) string { return string(appendJFloat(nil, f)) }

// SetZoneAvailable fails (false) or restores (true) one zone: a failed zone serves no reads and
// takes no writes. It returns an error for an unknown zone or a single-zone cluster.
func (c *Cluster) SetZoneAvailable(zone string, available bool) error {
	if c.zones == nil {
		return errors.New("opensearchtwin: cluster has no zones configured")
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, ok := z.avail[zone]; !ok {
		return fmt.Errorf("opensearchtwin: unknown zone %q (zones: %v)", zone, z.names)
	}
	if z.avail[zone] != available {
		z.avail[zone] = available
		c.log.Info("zone availability changed", "zone", zone, "available", available)
		if !available && c.opts.Mode == ModeManaged {
			z.activateStandbyLocked(zone, c)
		}
	}
	return nil
}

// activateStandbyLocked is Multi-AZ with Standby's own failover on a managed domain: when an
// active zone (weight > 0) fails, the service gives the standby zone (weight 0, available) the
// failed zone's weight and the failed zone weight 0, so the failed zone becomes the standby —
// "OpenSearch Service automatically activates the standby nodes"
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html).
// No customer call is involved; the lab does it at once where AWS takes under a minute. When
// the zone comes back it stays standby: the service does not swap back.
func (z *zoneSet) activateStandbyLocked(failed string, c *Cluster) {
	if !z.hasWeights || z.weights[failed] == 0 {
		return
	}
	for _, n := range z.names {
		if w, ok := z.weights[n]; ok && w == 0 && z.avail[n] && n != z.decomZone {
			weights := maps.Clone(z.weights)
			weights[n], weights[failed] = weights[failed], 0
			z.weights, z.version = weights, z.version+1
			z.rr, z.rrFo = map[string]float64{}, map[string]float64{}
			c.log.Info("standby zone activated", "failed", failed, "activated", n, "weights", formatWeights(weights))
			return
		}
	}
}

// ZoneStats reports per-zone routing counters in configuration order; nil without zones.
func (c *Cluster) ZoneStats() []ZoneStats {
	if c.zones == nil {
		return nil
	}
	return c.zones.snapshot()
}

// routeRead picks the zone for a read, or the 503 every shard being unavailable produces.
func (c *Cluster) routeRead() *apiError {
	if c.zones == nil {
		return nil
	}
	if _, ok := c.zones.pickRead(); !ok {
		return &apiError{status: 503, typ: "search_phase_execution_exception", reason: "all shards failed",
			phase: "query", root: &apiError{typ: "no_shard_available_action_exception", reason: "No shard available: every zone is unavailable or decommissioned"}}
	}
	return nil
}

func (c *Cluster) checkZoneAttr(attr, purpose string) *apiError {
	if c.zones == nil || attr != zoneAttr {
		return errValidation(fmt.Sprintf("invalid awareness attribute %s requested for %s", attr, purpose))
	}
	return nil
}

func (c *Cluster) getWeights(attr string) (int, []byte, *apiError) {
	if err := c.checkZoneAttr(attr, "weighted routing"); err != nil {
		return 0, nil, err
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.hasWeights {
		return 200, []byte("{}"), nil
	}
	w := jobj{}
	for _, n := range z.names {
		if v, ok := z.weights[n]; ok {
			w = append(w, jkv{n, javaDouble(v)})
		}
	}
	for n, v := range z.weights {
		if _, known := z.avail[n]; !known {
			w = append(w, jkv{n, javaDouble(v)})
		}
	}
	return 200, mustJSON(jobj{{"weights", w}, {"_version", z.version}, {"discovered_cluster_manager", true}}), nil
}

func (c *Cluster) putWeights(attr string, body []byte) (int, []byte, *apiError) {
	if err := c.checkZoneAttr(attr, "weighted routing"); err != nil {
		return 0, nil, err
	}
	if len(body) == 0 {
		return 0, nil, errBadRequest("parse_exception", "request body is required")
	}
	raw, err := decodeAny(body)
	if err != nil {
		return 0, nil, errBadRequest("parse_exception", "failed to parse weighted routing request: %v", err)
	}
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return 0, nil, errBadRequest("parse_exception", "Empty request body")
	}
	weights := map[string]float64{}
	version := int64(-2)
	var problems []string
	for k, v := range m {
		switch k {
		case "_version":
			n, ok := v.(json.Number)
			if !ok {
				return 0, nil, errBadRequest("parse_exception", "failed to parse weighted routing request [%s], unknown type", zoneAttr)
			}
			version, _ = n.Int64()
		case "weights":
			wm, ok := v.(map[string]any)
			if !ok {
				return 0, nil, errBadRequest("parse_exception", "failed to parse weighted routing request object  [weights], expected object")
			}
			for zone, wv := range wm {
				s, ok := wv.(string)
				if !ok {
					return 0, nil, errBadRequest("parse_exception", "failed to parse weighted routing request attribute [%v], unknown type", wv)
				}
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || math.IsNaN(f) {
					problems = append(problems, "Weight is not a number")
					continue
				}
				weights[zone] = f
			}
		default:
			return 0, nil, errBadRequest("parse_exception", "failed to parse weighted routing request object [%s]", k)
		}
	}
	if len(weights) == 0 && len(problems) == 0 {
		problems = append(problems, "Weights are missing")
	}
	if version == -2 {
		problems = append(problems, "Version is missing")
	}
	if len(problems) > 0 {
		return 0, nil, errValidation(problems...)
	}
	zeros := 0
	for _, w := range weights {
		if w == 0 {
			zeros++
		}
	}
	if zeros > len(weights)/2 {
		return 0, nil, errValidation(fmt.Sprintf("There are too many attribute values [%s] given zero weight [%d]. Maximum expected number of routing weights having zero weight is [%d]",
			formatWeights(weights), zeros, len(weights)/2))
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	conflict := func(format string, args ...any) *apiError {
		return newErr(409, "unsupported_weighted_routing_state_exception", fmt.Sprintf(format, args...))
	}
	zeros = 0
	for _, n := range z.names {
		w, ok := weights[n]
		if !ok {
			return 0, nil, conflict("weight for [%s] is not set and it is part of forced awareness value or a routing node has this attribute.", n)
		}
		if w == 0 {
			zeros++
		}
	}
	if zeros > len(z.names)/2 {
		return 0, nil, errValidation(fmt.Sprintf("There are too many discovered attribute values [%s] given zero weight [%d]. Maximum expected number of routing weights having zero weight is [%d]",
			formatWeights(weights), zeros, len(z.names)/2))
	}
	if z.decomZone != "" && weights[z.decomZone] != 0 {
		return 0, nil, conflict("weight for [%s] must be set to [0.0] as it is under decommission action", z.decomZone)
	}
	current := int64(weightedVersionUnset)
	if z.hasWeights {
		current = z.version
	}
	if version != current {
		return 0, nil, conflict("requested version is %d but cluster weighted routing metadata is at a different version %d ", version, current)
	}
	if z.hasWeights && sameWeights(z.weights, weights) {
		return 200, []byte(`{"acknowledged":true}`), nil
	}
	z.hasWeights, z.weights, z.version = true, weights, version+1
	z.rr, z.rrFo = map[string]float64{}, map[string]float64{}
	c.log.Info("weighted routing updated", "weights", formatWeights(weights), "version", z.version)
	return 200, []byte(`{"acknowledged":true}`), nil
}

func sameWeights(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func formatWeights(w map[string]float64) string {
	s := "{"
	first := true
	for k, v := range w {
		if !first {
			s += ", "
		}
		first = false
		s += k + "=" + javaDouble(v)
	}
	return s + "}"
}

func (c *Cluster) deleteWeights(attr string, body []byte) (int, []byte, *apiError) {
	if attr != "" {
		if err := c.checkZoneAttr(attr, "weighted routing"); err != nil {
			return 0, nil, err
		}
	} else if c.zones == nil {
		return 0, nil, errValidation("invalid awareness attribute requested for weighted routing")
	}
	if len(body) == 0 {
		return 0, nil, errBadRequest("parse_exception", "request body is required")
	}
	raw, err := decodeAny(body)
	if err != nil {
		return 0, nil, errBadRequest("parse_exception", "failed to parse delete weighted routing request body: %v", err)
	}
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return 0, nil, errBadRequest("parse_exception", "Empty request body")
	}
	version := int64(-2)
	for k, v := range m {
		if k != "_version" {
			return 0, nil, errBadRequest("parse_exception", "failed to parse delete weighted routing request body [%s], unknown type", k)
		}
		s, _ := jsonString(v)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, nil, errBadRequest("parse_exception", "failed to parse delete weighted routing request body")
		}
		version = n
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	current := int64(weightedVersionUnset)
	if z.hasWeights {
		current = z.version
	}
	if version != current {
		return 0, nil, newErr(409, "unsupported_weighted_routing_state_exception",
			fmt.Sprintf("requested version is %d but cluster weighted routing metadata is at a different version %d ", version, current))
	}
	if !z.hasWeights {
		return 0, nil, newErr(404, "resource_not_found_exception",
			fmt.Sprintf("weighted routing metadata does not have weights set for awareness attribute %s", attr))
	}
	z.weights, z.version = map[string]float64{}, z.version+1
	z.rr, z.rrFo = map[string]float64{}, map[string]float64{}
	c.log.Info("weighted routing deleted", "version", z.version)
	return 200, []byte(`{"acknowledged":true}`), nil
}

func decommissionFailed(zone, msg string) *apiError {
	return newErr(400, "decommissioning_failed_exception",
		fmt.Sprintf("[DecommissionAttribute{attributeName='%s', attributeValue='%s'}] %s", zoneAttr, zone, msg))
}

func (c *Cluster) putDecommission(attr, zone string) (int, []byte, *apiError) {
	if c.zones == nil {
		return 0, nil, decommissionFailed(zone, "awareness attribute not set to the cluster.")
	}
	if attr != zoneAttr {
		return 0, nil, decommissionFailed(zone, "invalid awareness attribute requested for decommissioning")
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, ok := z.avail[zone]; !ok {
		return 0, nil, errValidation(fmt.Sprintf("invalid awareness attribute value [%s] requested for decommissioning", zone))
	}
	now := z.now()
	if z.decomZone != "" {
		status := z.decommissionStatus(now)
		if z.decomZone == zone {
			return 0, nil, decommissionFailed(zone, "same request is already in status ["+status+"]")
		}
		if status == "SUCCESSFUL" {
			return 0, nil, decommissionFailed(zone, fmt.Sprintf("one awareness attribute [DecommissionAttribute{attributeName='%s', attributeValue='%s'}] already successfully decommissioned, recommission before triggering another decommission", zoneAttr, z.decomZone))
		}
		return 0, nil, decommissionFailed(zone, fmt.Sprintf("there's an inflight decommission request for attribute [DecommissionAttribute{attributeName='%s', attributeValue='%s'}] is in progress, cannot process this request", zoneAttr, z.decomZone))
	}
	if !z.hasWeights {
		return 0, nil, decommissionFailed(zone, "no weights are set to the attribute. Please set appropriate weights before triggering decommission action")
	}
	if w, ok := z.weights[zone]; ok && w != 0 {
		return 0, nil, decommissionFailed(zone, "weight for decommissioned attribute is expected to be [0.0] but found ["+javaDouble(w)+"]")
	}
	z.decomZone, z.decomStart = zone, now
	c.log.Info("zone decommission started", "zone", zone, "duration", z.dur)
	return 200, []byte(`{"acknowledged":true}`), nil
}

func (c *Cluster) getDecommission(attr string) (int, []byte, *apiError) {
	if c.zones == nil || attr != zoneAttr {
		return 0, nil, errValidation("invalid awareness attribute requested for decommissioning")
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.decomZone == "" {
		return 200, []byte("{}"), nil
	}
	return 200, mustJSON(jobj{{z.decomZone, z.decommissionStatus(z.now())}}), nil
}

func (c *Cluster) deleteDecommission() (int, []byte, *apiError) {
	if c.zones == nil {
		return 200, []byte(`{"acknowledged":true}`), nil
	}
	z := c.zones
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.decomZone != "" {
		c.log.Info("zone recommissioned", "zone", z.decomZone)
	}
	z.decomZone = ""
	return 200, []byte(`{"acknowledged":true}`), nil
}
