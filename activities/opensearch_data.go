package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// CountArgs is the input of opensearch.count.
type CountArgs struct {
	Environment    string    `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region         string    `json:"region,omitempty" catalog:"region" doc:"the Region of the collection or domain (required unless zonal)"`
	Zonal          bool      `json:"zonal,omitempty" doc:"count on the environment's zonal cluster instead"`
	Index          string    `json:"index,omitempty" doc:"index pattern; default: the environment's index_pattern"`
	TimestampField string    `json:"timestamp_field,omitempty" doc:"default: the environment's timestamp_field"`
	From           time.Time `json:"from,omitzero" doc:"count documents at or after this time (RFC 3339); default: no lower bound"`
	To             time.Time `json:"to,omitzero" doc:"count documents before this time; default: no upper bound"`
}

// CountResult is the output of opensearch.count.
type CountResult struct {
	Count   int64  `json:"count"`
	Index   string `json:"index"`
	Summary string `json:"summary"`
}

// Count counts documents in a time range with _count and a range query on the timestamp field.
// _count is exact, unlike hits.total; an index pattern that matches nothing counts 0, so a Region
// that has not received anything yet reads as empty rather than failing.
func (c *Cloud) Count(ctx context.Context, in CountArgs) (CountResult, error) {
	o, err := c.osTarget(ctx, in.Environment, in.Region, in.Zonal)
	if err != nil {
		return CountResult{}, err
	}
	n, index, err := c.count(ctx, o, in.Index, in.TimestampField, in.From, in.To)
	if err != nil {
		return CountResult{}, err
	}
	rng := "all time"
	if !in.From.IsZero() || !in.To.IsZero() {
		rng = fmt.Sprintf("[%s, %s)", timeOrDash(in.From), timeOrDash(in.To))
	}
	return CountResult{Count: n, Index: index, Summary: fmt.Sprintf("%d documents in %s on %s in %s, %s", n, index, o.name(), o.t.region, rng)}, nil
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *Cloud) count(ctx context.Context, o osTarget, index, field string, from, to time.Time) (int64, string, error) {
	index = cmp.Or(index, o.t.env.IndexPattern)
	if index == "" {
		return 0, "", badArgs("no index: pass one or set index_pattern in environment %s", o.t.envName)
	}
	query := map[string]any{"match_all": map[string]any{}}
	if !from.IsZero() || !to.IsZero() {
		field = cmp.Or(field, o.t.env.TimestampField)
		if field == "" {
			return 0, "", badArgs("no timestamp field: pass one or set timestamp_field in environment %s", o.t.envName)
		}
		r := map[string]any{}
		if !from.IsZero() {
			r["gte"] = osTime(from)
		}
		if !to.IsZero() {
			r["lt"] = osTime(to)
		}
		query = map[string]any{"range": map[string]any{field: r}}
	}
	params := url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}
	var out struct {
		Count int64 `json:"count"`
	}
	err := c.osDo(ctx, o, "POST", "/"+url.PathEscape(index)+"/_count", params, map[string]any{"query": query}, &out)
	if err != nil {
		return 0, index, osWrap(err, "count documents in "+index, o)
	}
	return out.Count, index, nil
}

// IngestingArgs is the input of opensearch.ingesting.
type IngestingArgs struct {
	Environment    string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region         string           `json:"region,omitempty" catalog:"region" doc:"the Region of the collection or domain (required unless zonal)"`
	Zonal          bool             `json:"zonal,omitempty" doc:"watch the environment's zonal cluster instead"`
	Index          string           `json:"index,omitempty" doc:"index pattern; default: the environment's index_pattern"`
	TimestampField string           `json:"timestamp_field,omitempty" doc:"default: the environment's timestamp_field"`
	Since          time.Time        `json:"since,omitzero" doc:"count only documents stamped at or after this time; default: all"`
	Window         runbook.Duration `json:"window,omitempty" catalog:"duration,bounds,dns_window" default:"60s" doc:"how long the count may take to grow (default 60s; Serverless refreshes every 10-60s); after a traffic shift, make it longer than the DNS record's TTL plus a margin"`
	Interval       runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between counts (default 5s)"`
	MinIncrease    int64            `json:"min_increase,omitempty" doc:"growth that passes (default 1)"`
}

// IngestingResult is the output of opensearch.ingesting.
type IngestingResult struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason"`
	First    int64  `json:"first"`
	Last     int64  `json:"last"`
	Increase int64  `json:"increase"`
}

// Ingesting checks that writes land: it counts, then counts again every interval until the count
// has grown by min_increase or the window is over. This is the failover's proof that traffic
// reaches the target collection end to end (producer, Kafka, pipeline, OpenSearch), which no
// control-plane status shows.
func (c *Cloud) Ingesting(ctx context.Context, in IngestingArgs) (IngestingResult, error) {
	o, err := c.osTarget(ctx, in.Environment, in.Region, in.Zonal)
	if err != nil {
		return IngestingResult{}, err
	}
	first, index, err := c.count(ctx, o, in.Index, in.TimestampField, in.Since, time.Time{})
	if err != nil {
		return IngestingResult{}, err
	}
	minInc := max(in.MinIncrease, 1)
	window := cmp.Or(in.Window.D(), 60*time.Second)
	if InPlan(ctx) {
		// One count proves the collection answers; watching the window would only delay the plan.
		return IngestingResult{OK: true, First: first, Last: first, Reason: fmt.Sprintf("would watch %s on %s in %s for %d new documents within %s; now: %d documents",
			index, o.name(), o.t.region, minInc, catalog.ShortDuration(window), first)}, nil
	}
	interval := min(c.interval(in.Interval), window)
	res := IngestingResult{First: first, Last: first}
	err = poll(ctx, pollOptions{interval: interval, timeout: window + interval, what: "documents to arrive"}, func(ctx context.Context) (bool, string, error) {
		n, _, err := c.count(ctx, o, in.Index, in.TimestampField, in.Since, time.Time{})
		if err != nil {
			return false, "", err
		}
		res.Last, res.Increase = n, n-first
		return res.Increase >= minInc, fmt.Sprintf("%s in %s: %d documents (+%d)", index, o.t.region, n, res.Increase), nil
	})
	where := fmt.Sprintf("%s on %s in %s", index, o.name(), o.t.region)
	switch {
	case err == nil:
		res.OK, res.Reason = true, fmt.Sprintf("%s grew from %d to %d documents", where, res.First, res.Last)
	case errors.As(err, new(*pollTimeout)):
		res.Reason = fmt.Sprintf("%s grew by %d documents in %s (want %d): stayed at %d", where, res.Increase, window, minInc, res.Last)
	default:
		return res, err
	}
	return res, nil
}

// ClusterHealthArgs is the input of opensearch.cluster_health.
type ClusterHealthArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region,omitempty" catalog:"region" doc:"the Region of the domain (required unless zonal)"`
	Zonal       bool   `json:"zonal,omitempty" doc:"ask the environment's zonal cluster instead"`
	Want        string `json:"want,omitempty" doc:"green (default) or yellow: the worst status that passes"`
}

// ClusterHealthResult is the output of opensearch.cluster_health.
type ClusterHealthResult struct {
	OK               bool    `json:"ok"`
	Reason           string  `json:"reason"`
	Status           string  `json:"status"`
	Nodes            int     `json:"nodes"`
	UnassignedShards int     `json:"unassigned_shards"`
	ActiveShardsPct  float64 `json:"active_shards_percent"`
}

// ClusterHealth checks GET /_cluster/health of a managed domain. Serverless collections have no
// cluster to ask (AOSS does not offer _cluster APIs), so asking is a bad argument; runbooks use
// opensearch.collection_active there.
func (c *Cloud) ClusterHealth(ctx context.Context, in ClusterHealthArgs) (ClusterHealthResult, error) {
	o, err := c.osTarget(ctx, in.Environment, in.Region, in.Zonal)
	if err != nil {
		return ClusterHealthResult{}, err
	}
	if o.kind == "serverless" {
		return ClusterHealthResult{}, badArgs("%s in %s is OpenSearch Serverless, which has no cluster health; use opensearch.collection_active", o.name(), o.t.region)
	}
	want := cmp.Or(in.Want, "green")
	rank := map[string]int{"green": 0, "yellow": 1, "red": 2}
	if _, ok := rank[want]; !ok || want == "red" {
		return ClusterHealthResult{}, badArgs("want must be green or yellow, got %q", want)
	}
	var out struct {
		Status              string  `json:"status"`
		Nodes               int     `json:"number_of_nodes"`
		Unassigned          int     `json:"unassigned_shards"`
		ActiveShardsPercent float64 `json:"active_shards_percent_as_number"`
	}
	if err := c.osDo(ctx, o, "GET", "/_cluster/health", nil, nil, &out); err != nil {
		return ClusterHealthResult{}, osWrap(err, "read cluster health", o)
	}
	res := ClusterHealthResult{Status: out.Status, Nodes: out.Nodes, UnassignedShards: out.Unassigned, ActiveShardsPct: out.ActiveShardsPercent}
	r, known := rank[out.Status]
	if known && r <= rank[want] {
		res.OK, res.Reason = true, fmt.Sprintf("%s in %s is %s (%d nodes)", o.name(), o.t.region, out.Status, out.Nodes)
	} else {
		res.Reason = fmt.Sprintf("%s in %s is %s, want %s (%d unassigned shards)", o.name(), o.t.region, out.Status, want, out.Unassigned)
	}
	return res, nil
}
