package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Zonal failover of a three-zone cluster uses OpenSearch's weighted shard routing (a zone with
// weight 0 serves no searches) for reads and zonal decommission for writes. Both are APIs of
// self-managed OpenSearch: Amazon OpenSearch Service runs them itself for Multi-AZ with Standby
// ("automatically activates the standby nodes",
// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html)
// and they are not among the operations it supports for customers
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-operations.html):
// a domain answers them 401 "Your request: '…' is not allowed.". The catalog says so (these
// entries' ZonalKinds), so a runbook using them is refused at load for an environment whose
// zonal cluster is a managed domain; on such a domain zones are only watched, with
// opensearch.domain_status.

// ZoneWeightsArgs is the input of opensearch.zone_weights.
type ZoneWeightsArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region,omitempty" catalog:"region" doc:"default: the zonal cluster's Region (must match it)"`
	Attribute   string `json:"attribute,omitempty" doc:"awareness attribute; default: the zonal cluster's attribute, else zone"`
}

// ZoneWeightsResult is the output of opensearch.zone_weights.
type ZoneWeightsResult struct {
	Weights map[string]float64 `json:"weights" catalog:"weights" doc:"zone to weight; empty when none are set"`
	Version int64              `json:"version" doc:"the routing metadata _version (-1 when never set)"`
	Summary string             `json:"summary"`
}

type zoneWeights struct {
	weights map[string]float64
	version int64
	set     bool
}

func (c *Cloud) zonalTarget(ctx context.Context, envName, region, attribute string) (osTarget, error) {
	o, err := c.osTarget(ctx, envName, region, true)
	if err != nil {
		return o, err
	}
	o.attribute = cmp.Or(attribute, o.attribute)
	return o, nil
}

func (c *Cloud) getZoneWeights(ctx context.Context, o osTarget) (zoneWeights, error) {
	var out struct {
		Weights map[string]json.RawMessage `json:"weights"`
		Version *int64                     `json:"_version"`
	}
	path := "/_cluster/routing/awareness/" + url.PathEscape(o.attribute) + "/weights"
	if err := c.osDo(ctx, o, http.MethodGet, path, nil, nil, &out); err != nil {
		return zoneWeights{}, osWrap(err, "read zone weights", o)
	}
	zw := zoneWeights{weights: map[string]float64{}, version: -1}
	if out.Version != nil {
		zw.version, zw.set = *out.Version, true
	}
	for zone, raw := range out.Weights {
		// OpenSearch answers weights as strings ("1.0"); accept numbers too.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return zoneWeights{}, fmt.Errorf("zone weights of %s: weight %s of %s is not a number", o.name(), raw, zone)
		}
		zw.weights[zone] = f
	}
	return zw, nil
}

// ZoneWeights reads the weighted-routing weights of the zonal cluster.
func (c *Cloud) ZoneWeights(ctx context.Context, in ZoneWeightsArgs) (ZoneWeightsResult, error) {
	o, err := c.zonalTarget(ctx, in.Environment, in.Region, in.Attribute)
	if err != nil {
		return ZoneWeightsResult{}, err
	}
	zw, err := c.getZoneWeights(ctx, o)
	if err != nil {
		return ZoneWeightsResult{}, err
	}
	return ZoneWeightsResult{Weights: zw.weights, Version: zw.version,
		Summary: fmt.Sprintf("%s in %s: weights %s (version %d)", o.name(), o.t.region, formatZoneWeights(zw.weights), zw.version)}, nil
}

// SetZoneWeightsArgs is the input of opensearch.set_zone_weights.
type SetZoneWeightsArgs struct {
	Environment string             `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string             `json:"region,omitempty" catalog:"region" doc:"default: the zonal cluster's Region (must match it)"`
	Attribute   string             `json:"attribute,omitempty" doc:"awareness attribute; default: the zonal cluster's attribute, else zone"`
	Weights     map[string]float64 `json:"weights" catalog:"weights,required" doc:"the desired weight of every zone, e.g. {us-east-1a: 1, us-east-1b: 1, us-east-1c: 0}"`
}

// SetZoneWeightsResult is the output of opensearch.set_zone_weights.
type SetZoneWeightsResult struct {
	Changed  bool               `json:"changed"`
	Previous map[string]float64 `json:"previous" catalog:"weights" doc:"the weights before, to restore them later"`
	Weights  map[string]float64 `json:"weights" catalog:"weights"`
	Version  int64              `json:"version"`
	Summary  string             `json:"summary"`
}

// SetZoneWeights sets the zonal cluster's weights to the desired ones. It reads first and writes
// only when they differ, with the _version it read, so a retried step and a concurrent change
// are both safe: a version conflict re-reads and tries again a few times.
func (c *Cloud) SetZoneWeights(ctx context.Context, in SetZoneWeightsArgs) (SetZoneWeightsResult, error) {
	o, err := c.zonalTarget(ctx, in.Environment, in.Region, in.Attribute)
	if err != nil {
		return SetZoneWeightsResult{}, err
	}
	if len(in.Weights) == 0 {
		return SetZoneWeightsResult{}, badArgs("weights are required")
	}
	if len(o.zones) > 0 {
		if got, want := slices.Sorted(maps.Keys(in.Weights)), slices.Sorted(slices.Values(o.zones)); !slices.Equal(got, want) {
			return SetZoneWeightsResult{}, badArgs("weights must name every zone of the zonal cluster (%s), got %s", strings.Join(want, ", "), strings.Join(got, ", "))
		}
	}
	for z, w := range in.Weights {
		if w < 0 {
			return SetZoneWeightsResult{}, badArgs("weight of %s must not be negative, got %v", z, w)
		}
	}
	path := "/_cluster/routing/awareness/" + url.PathEscape(o.attribute) + "/weights"
	for attempt := 1; ; attempt++ {
		cur, err := c.getZoneWeights(ctx, o)
		if err != nil {
			return SetZoneWeightsResult{}, err
		}
		res := SetZoneWeightsResult{Previous: cur.weights, Weights: in.Weights, Version: cur.version}
		if cur.set && maps.Equal(cur.weights, in.Weights) {
			res.Summary = fmt.Sprintf("%s in %s already has weights %s", o.name(), o.t.region, formatZoneWeights(in.Weights))
			return res, nil
		}
		body := map[string]any{"weights": stringWeights(in.Weights), "_version": cur.version}
		err = c.osDo(ctx, o, http.MethodPut, path, nil, body, nil)
		var he *osHTTPError
		if errors.As(err, &he) && he.Status == http.StatusConflict && strings.Contains(he.Reason, "version") && attempt < 3 {
			continue // changed between our read and write: read again
		}
		if err != nil {
			return res, osWrap(err, "set zone weights", o)
		}
		after, err := c.getZoneWeights(ctx, o)
		if err != nil {
			return res, err
		}
		res.Changed, res.Version = true, after.version
		logFor(ctx, c.opts.Logger).Info("zone weights set", "environment", o.t.envName, "cluster", o.name(), "weights", formatZoneWeights(in.Weights), "version", after.version)
		res.Summary = fmt.Sprintf("%s in %s: weights %s -> %s (version %d)", o.name(), o.t.region, formatZoneWeights(cur.weights), formatZoneWeights(in.Weights), after.version)
		return res, nil
	}
}

func stringWeights(w map[string]float64) map[string]string {
	out := make(map[string]string, len(w))
	for z, v := range w {
		out[z] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return out
}

func formatZoneWeights(w map[string]float64) string {
	if len(w) == 0 {
		return "{}"
	}
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatFloat(w[k], 'f', -1, 64)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// decommissionStatus reads GET /_cluster/decommission/awareness/{attr}/_status: a map from the
// decommissioned zone to its status, empty when no zone is decommissioned.
func (c *Cloud) decommissionStatus(ctx context.Context, o osTarget) (map[string]string, error) {
	out := map[string]string{}
	path := "/_cluster/decommission/awareness/" + url.PathEscape(o.attribute) + "/_status"
	if err := c.osDo(ctx, o, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, osWrap(err, "read decommission status", o)
	}
	return out, nil
}

// DecommissionArgs is the input of opensearch.decommission_zone.
type DecommissionArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region,omitempty" catalog:"region" doc:"default: the zonal cluster's Region (must match it)"`
	Attribute   string           `json:"attribute,omitempty" doc:"awareness attribute; default: the zonal cluster's attribute, else zone"`
	Zone        string           `json:"zone" catalog:"required" doc:"the zone to take out of service; its weight must already be 0"`
	Wait        bool             `json:"wait,omitempty" doc:"wait, heartbeating, until the decommission is SUCCESSFUL"`
	Timeout     runbook.Duration `json:"timeout,omitempty" catalog:"duration,bounds" default:"30m" bounds_if:"wait" doc:"how long to wait (default 30m)"`
	Interval    runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between status reads (default 5s)"`
}

// DecommissionResult is the output of opensearch.decommission_zone.
type DecommissionResult struct {
	Zone    string `json:"zone"`
	Status  string `json:"status" doc:"INIT, DRAINING, IN_PROGRESS, SUCCESSFUL or FAILED"`
	Changed bool   `json:"changed"`
	Summary string `json:"summary"`
}

// DecommissionZone takes a zone out of service for writes (zonal write failover). It is
// idempotent: a zone already being or already decommissioned is left alone; another zone's
// decommission, or a FAILED one, needs a recommission first and fails the step.
func (c *Cloud) DecommissionZone(ctx context.Context, in DecommissionArgs) (DecommissionResult, error) {
	o, err := c.zonalTarget(ctx, in.Environment, in.Region, in.Attribute)
	if err != nil {
		return DecommissionResult{}, err
	}
	if in.Zone == "" {
		return DecommissionResult{}, badArgs("zone is required")
	}
	if len(o.zones) > 0 && !slices.Contains(o.zones, in.Zone) {
		return DecommissionResult{}, badArgs("zone %q is not a zone of the zonal cluster (%s)", in.Zone, strings.Join(o.zones, ", "))
	}
	st, err := c.decommissionStatus(ctx, o)
	if err != nil {
		return DecommissionResult{}, err
	}
	res := DecommissionResult{Zone: in.Zone}
	for zone, status := range st {
		switch {
		case zone != in.Zone:
			return res, Permanent(fmt.Errorf("%s in %s: zone %s is already decommissioned (%s); recommission it before decommissioning %s", o.name(), o.t.region, zone, status, in.Zone))
		case status == "FAILED":
			return res, Permanent(fmt.Errorf("%s in %s: the decommission of %s FAILED; recommission it before trying again", o.name(), o.t.region, zone))
		}
		res.Status = status
	}
	if res.Status == "" {
		path := "/_cluster/decommission/awareness/" + url.PathEscape(o.attribute) + "/" + url.PathEscape(in.Zone)
		if err := c.osDo(ctx, o, http.MethodPut, path, nil, nil, nil); err != nil {
			return res, osWrap(err, "decommission zone "+in.Zone, o)
		}
		res.Changed, res.Status = true, "INIT"
		logFor(ctx, c.opts.Logger).Info("zone decommission requested", "environment", o.t.envName, "cluster", o.name(), "zone", in.Zone)
	}
	if in.Wait && res.Status != "SUCCESSFUL" {
		po := pollOptions{interval: c.interval(in.Interval), timeout: cmp.Or(in.Timeout.D(), 30*time.Minute),
			what: fmt.Sprintf("the decommission of %s on %s to succeed", in.Zone, o.name())}
		err := poll(ctx, po, func(ctx context.Context) (bool, string, error) {
			st, err := c.decommissionStatus(ctx, o)
			if err != nil {
				return false, "", err
			}
			res.Status = st[in.Zone]
			if res.Status == "FAILED" || res.Status == "" {
				return false, "", Permanent(fmt.Errorf("%s in %s: the decommission of %s is %s", o.name(), o.t.region, in.Zone, cmp.Or(res.Status, "gone (recommissioned?)")))
			}
			return res.Status == "SUCCESSFUL", fmt.Sprintf("decommission of %s: %s", in.Zone, res.Status), nil
		})
		if err != nil {
			return res, err
		}
	}
	verb := "decommission of"
	if !res.Changed {
		verb = "already: decommission of"
	}
	res.Summary = fmt.Sprintf("%s %s %s on %s in %s: %s", verb, o.attribute, in.Zone, o.name(), o.t.region, res.Status)
	return res, nil
}

// DecommissionStatusArgs is the input of opensearch.decommission_status.
type DecommissionStatusArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region,omitempty" catalog:"region" doc:"default: the zonal cluster's Region (must match it)"`
	Attribute   string `json:"attribute,omitempty" doc:"awareness attribute; default: the zonal cluster's attribute, else zone"`
	Zone        string `json:"zone,omitempty" doc:"the zone to ask about; default: whichever is decommissioned"`
	Want        string `json:"want,omitempty" doc:"the status that passes: SUCCESSFUL (default), another status, or NONE for no decommission"`
}

// DecommissionStatusResult is the output of opensearch.decommission_status.
type DecommissionStatusResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Zone   string `json:"zone" doc:"the decommissioned zone, empty when none"`
	Status string `json:"status" doc:"its status, NONE when no zone is decommissioned"`
}

// DecommissionStatus checks the zonal cluster's decommission status, for wait_until after a
// decommission or, with want NONE, after a recommission.
func (c *Cloud) DecommissionStatus(ctx context.Context, in DecommissionStatusArgs) (DecommissionStatusResult, error) {
	o, err := c.zonalTarget(ctx, in.Environment, in.Region, in.Attribute)
	if err != nil {
		return DecommissionStatusResult{}, err
	}
	st, err := c.decommissionStatus(ctx, o)
	if err != nil {
		return DecommissionStatusResult{}, err
	}
	res := DecommissionStatusResult{Status: "NONE"}
	for zone, status := range st {
		if in.Zone == "" || zone == in.Zone {
			res.Zone, res.Status = zone, status
		}
	}
	want := strings.ToUpper(cmp.Or(in.Want, "SUCCESSFUL"))
	subject := "no zone"
	if in.Zone != "" {
		subject = "zone " + in.Zone
	}
	if res.Zone != "" {
		subject = "zone " + res.Zone
	}
	desc := fmt.Sprintf("%s of %s in %s: decommission %s", subject, o.name(), o.t.region, res.Status)
	if res.Status == want {
		res.OK, res.Reason = true, desc
	} else {
		res.Reason = desc + ", want " + want
	}
	return res, nil
}

// RecommissionArgs is the input of opensearch.recommission_zone.
type RecommissionArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region,omitempty" catalog:"region" doc:"default: the zonal cluster's Region (must match it)"`
	Attribute   string `json:"attribute,omitempty" doc:"awareness attribute; default: the zonal cluster's attribute, else zone"`
}

// RecommissionResult is the output of opensearch.recommission_zone.
type RecommissionResult struct {
	Changed bool   `json:"changed"`
	Zone    string `json:"zone" doc:"the zone that was decommissioned, empty when none was"`
	Summary string `json:"summary"`
}

// RecommissionZone brings a decommissioned zone back (DELETE /_cluster/decommission/awareness);
// with no zone decommissioned it does nothing. Weights are separate: restore them with
// opensearch.set_zone_weights afterwards.
func (c *Cloud) RecommissionZone(ctx context.Context, in RecommissionArgs) (RecommissionResult, error) {
	o, err := c.zonalTarget(ctx, in.Environment, in.Region, in.Attribute)
	if err != nil {
		return RecommissionResult{}, err
	}
	st, err := c.decommissionStatus(ctx, o)
	if err != nil {
		return RecommissionResult{}, err
	}
	var res RecommissionResult
	zones := slices.Collect(maps.Keys(st))
	sort.Strings(zones)
	if len(zones) == 0 {
		res.Summary = fmt.Sprintf("no zone of %s in %s is decommissioned", o.name(), o.t.region)
		return res, nil
	}
	res.Zone = zones[0]
	if err := c.osDo(ctx, o, http.MethodDelete, "/_cluster/decommission/awareness", nil, nil, nil); err != nil {
		return res, osWrap(err, "recommission zone "+res.Zone, o)
	}
	res.Changed = true
	logFor(ctx, c.opts.Logger).Info("zone recommissioned", "environment", o.t.envName, "cluster", o.name(), "zone", res.Zone)
	res.Summary = fmt.Sprintf("recommissioned %s on %s in %s", res.Zone, o.name(), o.t.region)
	return res, nil
}
