package activities

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// CanaryArgs is the input of opensearch.canary.
type CanaryArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the Region whose topic the marker event is produced to"`
	Targets     []string         `json:"targets,omitempty" doc:"the Regions whose collections must find the marker (default: every Region of the environment)"`
	Timeout     runbook.Duration `json:"timeout,omitempty" catalog:"duration" doc:"how long to wait for the marker (default 60s)"`
	Interval    runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between searches (default 250ms)"`
	MaxLatency  runbook.Duration `json:"max_latency,omitempty" catalog:"duration" doc:"highest end-to-end latency that passes (default: any within the timeout)"`
}

// CanaryResult is the output of opensearch.canary.
type CanaryResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Marker string `json:"marker" doc:"the marker event's id"`
	// LatencySeconds is the time from the broker's acknowledgement to the marker being
	// searchable in the slowest target collection.
	LatencySeconds float64            `json:"latency_seconds"`
	Latencies      map[string]float64 `json:"latencies" doc:"seconds to searchable, by target Region"`
	Missing        []string           `json:"missing,omitempty" doc:"target Regions whose collection did not find the marker in time"`
}

// Canary proves writes land end to end: it produces one marker event to the Region's topic
// and searches every target Region's collection for it until each finds it — the producer →
// Kafka → pipeline → collection path in the Region, and through the replicator and the peer's
// pipeline in the peer. The seed's design expects "one to a few seconds"; the latency is the
// result's and readiness keeps it as a metric. The marker looks like the producers' events
// (timestamp, level, service, message, the environment's id_field) so the pipeline and the
// index mapping take it as any other, and carries service "switchyard-canary" so dashboards
// can leave it out.
func (c *Cloud) Canary(ctx context.Context, in CanaryArgs) (CanaryResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return CanaryResult{}, err
	}
	targets := in.Targets
	if len(targets) == 0 {
		targets = regionNames(t.env)
	}
	osts := map[string]osTarget{}
	for _, rg := range targets {
		o, err := c.osTarget(ctx, in.Environment, rg, false)
		if err != nil {
			return CanaryResult{}, err
		}
		osts[rg] = o
	}
	topic := t.env.Topic
	if topic == "" {
		return CanaryResult{}, badArgs("environment %s has no topic to produce the canary to", t.envName)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	marker := "canary-" + t.region + "-" + hex.EncodeToString(b[:])
	idField := cmp.Or(t.env.IDField, "event_id")
	now := time.Now().UTC()
	event := map[string]any{
		cmp.Or(t.env.TimestampField, "timestamp"): now.Format(time.RFC3339Nano),
		"level": "INFO", "service": "switchyard-canary", "message": "switchyard readiness canary " + marker,
		"source_region": t.region, idField: marker,
	}
	body, err := json.Marshal(event)
	if err != nil {
		return CanaryResult{}, fmt.Errorf("canary event: %w", err)
	}
	res := CanaryResult{Marker: marker, Latencies: map[string]float64{}}
	if InPlan(ctx) {
		res.OK, res.Reason = true, fmt.Sprintf("would produce a marker to %s in %s and wait until %s find it", topic, t.region, strings.Join(targets, ", "))
		return res, nil
	}
	cl, err := kafkaClient(ctx, c.opts.AWS, t.region, t.rc, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return res, err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, kafkaTimeout)
	err = cl.ProduceSync(pctx, &kgo.Record{Key: []byte(marker), Value: body}).FirstErr()
	cancel()
	if err != nil {
		res.Reason = fmt.Sprintf("could not produce the marker to %s in %s: %v", topic, t.region, err)
		return res, nil
	}
	acked := time.Now()
	timeout := cmp.Or(in.Timeout.D(), 60*time.Second)
	interval := cmp.Or(in.Interval.D(), 250*time.Millisecond)
	pending := append([]string(nil), targets...)
	deadline := acked.Add(timeout)
	lastErr := map[string]string{}
	for len(pending) > 0 && time.Now().Before(deadline) {
		var still []string
		for _, rg := range pending {
			n, err := c.countMarker(ctx, osts[rg], idField, marker)
			switch {
			case err != nil:
				lastErr[rg] = err.Error()
				still = append(still, rg)
			case n > 0:
				res.Latencies[rg] = time.Since(acked).Seconds()
			default:
				still = append(still, rg)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, fmt.Sprintf("canary %s: waiting for %s", marker, strings.Join(pending, ", ")))
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(interval):
		}
	}
	for _, l := range res.Latencies {
		res.LatencySeconds = max(res.LatencySeconds, l)
	}
	var parts []string
	for _, rg := range targets {
		if l, ok := res.Latencies[rg]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2fs", rg, l))
		}
	}
	if len(pending) > 0 {
		sort.Strings(pending)
		res.Missing = pending
		why := ""
		for _, rg := range pending {
			if e := lastErr[rg]; e != "" {
				why += fmt.Sprintf("; %s: %s", rg, e)
			}
		}
		res.Reason = fmt.Sprintf("marker %s produced in %s was not searchable in %s within %s (found: %s)%s", marker, t.region,
			strings.Join(pending, ", "), timeout, orNone(parts), why)
		return res, nil
	}
	res.OK = true
	res.Reason = fmt.Sprintf("marker produced in %s searchable in %s", t.region, strings.Join(parts, ", "))
	if max := in.MaxLatency.D(); max > 0 && res.LatencySeconds > max.Seconds() {
		res.OK = false
		res.Reason = fmt.Sprintf("%s: slower than %s", res.Reason, max)
	}
	return res, nil
}

// countMarker counts the documents whose id field is the marker.
func (c *Cloud) countMarker(ctx context.Context, o osTarget, field, marker string) (int64, error) {
	index := o.t.env.IndexPattern
	if index == "" {
		return 0, badArgs("no index_pattern in environment %s", o.t.envName)
	}
	var out struct {
		Count int64 `json:"count"`
	}
	params := url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}
	q := map[string]any{"query": map[string]any{"match_phrase": map[string]any{field: marker}}}
	if err := c.osDo(ctx, o, "POST", "/"+url.PathEscape(index)+"/_count", params, q, &out); err != nil {
		return 0, osWrap(err, "count the canary marker in "+index, o)
	}
	return out.Count, nil
}
