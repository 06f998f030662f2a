package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// recordRef names the weighted record set; every part defaults to the environment's traffic
// section.
type recordRef struct {
	zone, name, typ string
}

func (c *Cloud) trafficTarget(ctx context.Context, envName, region, zone, name, typ string) (target, recordRef, error) {
	t, err := c.target(ctx, envName, region)
	if err != nil {
		return t, recordRef{}, err
	}
	tr := t.env.Traffic
	if tr == nil {
		tr = &runbook.Traffic{}
	}
	ref := recordRef{zone: cmp.Or(zone, tr.HostedZoneID), name: cmp.Or(name, tr.RecordName), typ: cmp.Or(typ, tr.RecordType)}
	if ref.zone == "" || ref.name == "" || ref.typ == "" {
		return t, ref, badArgs("no weighted record: pass hosted_zone_id, record_name and record_type or set traffic in environment %s", envName)
	}
	return t, ref, nil
}

// dnsName canonicalises a record name for comparison: Route 53 answers with a trailing dot.
func dnsName(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }

// weightedRecords lists the record sets of ref (every set identifier of the name and type).
func weightedRecords(ctx context.Context, rc *route53.Client, ref recordRef, region string) ([]r53types.ResourceRecordSet, error) {
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(ref.zone), StartRecordName: aws.String(ref.name),
		StartRecordType: r53types.RRType(ref.typ)}
	var out []r53types.ResourceRecordSet
	for {
		page, err := rc.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, Wrap(err, "list record sets of", ref.name+" in hosted zone "+ref.zone, region)
		}
		for _, r := range page.ResourceRecordSets {
			if dnsName(aws.ToString(r.Name)) != dnsName(ref.name) || string(r.Type) != ref.typ {
				return out, nil // sorted by name and type: past ours
			}
			out = append(out, r)
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// regionOfSet maps a set identifier back to its Region through the environment.
func regionOfSet(env runbook.Environment, set string) string {
	if env.Traffic != nil {
		for r, s := range env.Traffic.SetIdentifiers {
			if s == set {
				return r
			}
		}
	}
	return set
}

func setOfRegion(env runbook.Environment, region string) string {
	if env.Traffic != nil {
		if s, ok := env.Traffic.SetIdentifiers[region]; ok {
			return s
		}
	}
	return region
}

// Route53WeightsArgs is the input of route53.weights.
type Route53WeightsArgs struct {
	Environment  string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region       string `json:"region" catalog:"region,required" doc:"the Region whose credentials (and lab endpoint) make the call; Route 53 is global, so pick the healthy one"`
	HostedZoneID string `json:"hosted_zone_id,omitempty" doc:"default: the environment's traffic.hosted_zone_id"`
	RecordName   string `json:"record_name,omitempty" doc:"default: the environment's traffic.record_name"`
	RecordType   string `json:"record_type,omitempty" doc:"default: the environment's traffic.record_type"`
}

// Route53WeightsResult is the output of route53.weights.
type Route53WeightsResult struct {
	Weights map[string]int64 `json:"weights" doc:"Region (or set identifier without one) to weight"`
	Summary string           `json:"summary"`
}

// Route53Weights reads the current weights of the environment's weighted record set.
func (c *Cloud) Route53Weights(ctx context.Context, in Route53WeightsArgs) (Route53WeightsResult, error) {
	t, ref, err := c.trafficTarget(ctx, in.Environment, in.Region, in.HostedZoneID, in.RecordName, in.RecordType)
	if err != nil {
		return Route53WeightsResult{}, err
	}
	rc, err := c.opts.AWS.Route53(ctx, t.aws)
	if err != nil {
		return Route53WeightsResult{}, Permanent(err)
	}
	recs, err := weightedRecords(ctx, rc, ref, t.region)
	if err != nil {
		return Route53WeightsResult{}, err
	}
	w := currentWeights(t.env, recs)
	return Route53WeightsResult{Weights: w, Summary: fmt.Sprintf("%s %s: %s", ref.name, ref.typ, formatWeights(w))}, nil
}

func currentWeights(env runbook.Environment, recs []r53types.ResourceRecordSet) map[string]int64 {
	w := map[string]int64{}
	for _, r := range recs {
		if r.SetIdentifier != nil && r.Weight != nil {
			w[regionOfSet(env, aws.ToString(r.SetIdentifier))] = aws.ToInt64(r.Weight)
		}
	}
	return w
}

func formatWeights(w map[string]int64) string {
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, w[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// SetRoute53WeightsArgs is the input of route53.set_weights.
type SetRoute53WeightsArgs struct {
	Environment  string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region       string           `json:"region" catalog:"region,required" doc:"the Region whose credentials (and lab endpoint) make the call; Route 53 is global, so pick the healthy one"`
	Weights      map[string]int64 `json:"weights" catalog:"weights,required,not_all_zero" doc:"desired weight per Region (0-255), e.g. {us-east-1: 0, us-west-2: 100}; not all 0 (Route 53 would then route to every Region)"`
	Wait         bool             `json:"wait,omitempty" doc:"wait, heartbeating, until the change is INSYNC"`
	Timeout      runbook.Duration `json:"timeout,omitempty" catalog:"duration,bounds" default:"5m" bounds_if:"wait" doc:"how long to wait for INSYNC (default 5m)"`
	Interval     runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between GetChange calls (default 5s)"`
	Comment      string           `json:"comment,omitempty" doc:"change batch comment"`
	HostedZoneID string           `json:"hosted_zone_id,omitempty" doc:"default: the environment's traffic.hosted_zone_id"`
	RecordName   string           `json:"record_name,omitempty" doc:"default: the environment's traffic.record_name"`
	RecordType   string           `json:"record_type,omitempty" doc:"default: the environment's traffic.record_type"`
}

// SetRoute53WeightsResult is the output of route53.set_weights.
type SetRoute53WeightsResult struct {
	Changed  bool             `json:"changed"`
	ChangeID string           `json:"change_id" doc:"empty when nothing changed"`
	Status   string           `json:"status" doc:"PENDING or INSYNC"`
	Previous map[string]int64 `json:"previous" doc:"the weights before, to shift back to"`
	Weights  map[string]int64 `json:"weights"`
	Summary  string           `json:"summary"`
}

// SetRoute53Weights moves traffic by setting the weighted records to the desired weights. It
// compares first and UPSERTs only the records whose weight differs, keeping each record's value,
// TTL and health check, so a retried or repeated step changes nothing; a Region without a record
// yet gets one from the environment's traffic values.
func (c *Cloud) SetRoute53Weights(ctx context.Context, in SetRoute53WeightsArgs) (SetRoute53WeightsResult, error) {
	t, ref, err := c.trafficTarget(ctx, in.Environment, in.Region, in.HostedZoneID, in.RecordName, in.RecordType)
	if err != nil {
		return SetRoute53WeightsResult{}, err
	}
	if len(in.Weights) == 0 {
		return SetRoute53WeightsResult{}, badArgs("weights are required")
	}
	for r, w := range in.Weights {
		if _, ok := t.env.Regions[r]; !ok {
			return SetRoute53WeightsResult{}, badArgs("weights name %q, which is not a Region of environment %s", r, t.envName)
		}
		if w < 0 || w > 255 {
			return SetRoute53WeightsResult{}, badArgs("weight of %s must be between 0 and 255, got %d", r, w)
		}
	}
	if len(in.Weights) == len(t.env.Regions) && catalog.AllWeightsZero(in.Weights) {
		// Every Region named, all 0: refused before any call, whatever the records hold.
		return SetRoute53WeightsResult{}, badArgs("weights %s: %s", formatWeights(in.Weights), catalog.AllZeroWeightsProblem)
	}
	rc, err := c.opts.AWS.Route53(ctx, t.aws)
	if err != nil {
		return SetRoute53WeightsResult{}, Permanent(err)
	}
	recs, err := weightedRecords(ctx, rc, ref, t.region)
	if err != nil {
		return SetRoute53WeightsResult{}, err
	}
	if after := weightsAfter(recs, t.env, in.Weights); catalog.AllWeightsZero(after) {
		// Some Regions left out, but the records of the others are 0 already: the group would
		// still be all 0 after the change.
		return SetRoute53WeightsResult{}, badArgs("weights %s would leave the group at %s: %s", formatWeights(in.Weights), formatWeights(after), catalog.AllZeroWeightsProblem)
	}
	res := SetRoute53WeightsResult{Previous: currentWeights(t.env, recs), Weights: in.Weights, Status: string(r53types.ChangeStatusInsync)}
	bySet := map[string]r53types.ResourceRecordSet{}
	for _, r := range recs {
		bySet[aws.ToString(r.SetIdentifier)] = r
	}
	var changes []r53types.Change
	for _, region := range slices.Sorted(maps.Keys(in.Weights)) {
		want := in.Weights[region]
		set := setOfRegion(t.env, region)
		rec, ok := bySet[set]
		switch {
		case ok && rec.Weight != nil && *rec.Weight == want:
			continue
		case ok:
			rec.Weight = aws.Int64(want)
		default:
			value := ""
			var ttl int64 = 60
			if tr := t.env.Traffic; tr != nil {
				value = tr.Values[region]
				ttl = cmp.Or(tr.TTL, ttl)
			}
			if value == "" {
				return res, badArgs("%s has no %s record %s for %s and environment %s has no traffic.values entry to create it from", ref.name, ref.typ, set, region, t.envName)
			}
			rec = r53types.ResourceRecordSet{Name: aws.String(ref.name), Type: r53types.RRType(ref.typ), SetIdentifier: aws.String(set),
				Weight: aws.Int64(want), TTL: aws.Int64(ttl), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rec})
	}
	if len(changes) == 0 {
		res.Summary = fmt.Sprintf("%s already has weights %s", ref.name, formatWeights(in.Weights))
		// A retry after a worker died mid-wait finds its own change applied; the change it must
		// still wait for is the one the earlier attempt recorded in its heartbeat.
		if id := earlierChange(ctx); in.Wait && id != "" {
			res.ChangeID = id
			status, err := c.waitChange(ctx, rc, t.region, id, in.Timeout, in.Interval)
			switch {
			case errors.Is(err, errChangeUnknown):
				// The records hold the weights already; the earlier change is gone from Route 53
				// (a control-plane failover) but what it set is there.
				status = "unknown to Route 53"
			case err != nil:
				return res, err
			}
			res.Status = status
			res.Summary += fmt.Sprintf(" (change %s of an earlier attempt, now %s)", id, status)
		} else if in.Wait && id == "" && activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
			// The earlier attempt's answer (and with it the change id) was lost: Route 53 has
			// no call to find a change without its id, so the weights read are taken as the
			// desired state, and the summary says INSYNC was not seen ("Changes generally
			// propagate to all Route 53 name servers managing the hosted zone within 60
			// seconds": https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html).
			res.Summary += " (set by an earlier attempt whose answer was lost; INSYNC not confirmed: changes generally propagate within 60 s)"
		}
		return res, nil
	}
	comment := cmp.Or(in.Comment, fmt.Sprintf("switchyard: weights %s", formatWeights(in.Weights)))
	// Never resent blindly: a batch whose answer was lost may be applied, and a second one would
	// change DNS twice. The activity's retry reads first and finds the weights set.
	out, err := rc.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(ref.zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: changes, Comment: aws.String(comment)}},
		func(o *route53.Options) { o.Retryer = resendOnlyIfNotApplied(o.Retryer) })
	if err != nil {
		return res, Wrap(err, "change weights of", ref.name+" in hosted zone "+ref.zone, t.region)
	}
	res.Changed = true
	if ci := out.ChangeInfo; ci != nil {
		res.ChangeID, res.Status = aws.ToString(ci.Id), string(ci.Status)
	}
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, route53ChangeHeartbeat{ChangeID: res.ChangeID, Status: res.Status})
	}
	logFor(ctx, c.opts.Logger).Info("route 53 weights changed", "environment", t.envName, "record", ref.name, "previous", formatWeights(res.Previous),
		"weights", formatWeights(in.Weights), "change_id", res.ChangeID)
	res.Summary = fmt.Sprintf("%s: weights %s -> %s (change %s %s)", ref.name, formatWeights(res.Previous), formatWeights(in.Weights), res.ChangeID, res.Status)
	if in.Wait && res.Status != string(r53types.ChangeStatusInsync) {
		status, err := c.waitChange(ctx, rc, t.region, res.ChangeID, in.Timeout, in.Interval)
		if err != nil && !errors.Is(err, errChangeUnknown) {
			return res, err
		}
		// INSYNC, or a change Route 53 no longer knows: either way only the records tell whether
		// the change was made, because Route 53 can accept a change and lose it (stranded).
		if err := c.confirmWeights(ctx, rc, ref, t, in.Weights, res.ChangeID); err != nil {
			return res, err
		}
		res.Status = status
		res.Summary += ", now " + status
	}
	return res, nil
}

// errChangeUnknown is GetChange's NoSuchChange for a change Route 53 accepted: after a control
// plane failover it no longer knows changes it accepted and lost.
var errChangeUnknown = errors.New("route 53 does not know the change (NoSuchChange)")

// confirmWeights re-reads the records after a change was reported INSYNC or lost. Route 53 can
// accept a change and then lose it: "the US East (N. Virginia) Region may accept some changes
// that are not replicated to the US West (Oregon) Region. These in-flight changes are called
// stranded changes", to be resubmitted
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/accelerated-recovery.html). A
// record that does not hold its weight fails the attempt, retryably: the retry reads first and
// resubmits only what is missing, so a change that was made is never sent twice.
func (c *Cloud) confirmWeights(ctx context.Context, rc *route53.Client, ref recordRef, t target, desired map[string]int64, changeID string) error {
	recs, err := weightedRecords(ctx, rc, ref, t.region)
	if err != nil {
		return err
	}
	now := currentWeights(t.env, recs)
	for _, region := range slices.Sorted(maps.Keys(desired)) {
		if w, ok := now[region]; !ok || w != desired[region] {
			return fmt.Errorf("change %s of %s was accepted but its records hold %s, not %s: Route 53 lost it (a stranded change); the retry resubmits",
				changeID, ref.name, formatWeights(now), formatWeights(desired))
		}
	}
	return nil
}

// weightsAfter is the weight of every record of the group (by Region, or set identifier for a
// record of no Region of the environment) once desired is applied.
func weightsAfter(recs []r53types.ResourceRecordSet, env runbook.Environment, desired map[string]int64) map[string]int64 {
	out := currentWeights(env, recs)
	maps.Copy(out, desired)
	return out
}

func (c *Cloud) waitChange(ctx context.Context, rc *route53.Client, region, id string, timeout, interval runbook.Duration) (string, error) {
	status := ""
	po := pollOptions{interval: c.interval(interval), timeout: cmp.Or(timeout.D(), 5*time.Minute), what: "Route 53 change " + id + " to be INSYNC",
		heartbeat: func() any { return route53ChangeHeartbeat{ChangeID: id, Status: status} }}
	err := poll(ctx, po, func(ctx context.Context) (bool, string, error) {
		out, err := rc.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			if apiErr := (smithy.APIError)(nil); errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchChange" {
				return false, "", fmt.Errorf("get Route 53 change %s in %s: %w", id, region, errChangeUnknown)
			}
			return false, "", Wrap(err, "get Route 53 change", id, region)
		}
		if out.ChangeInfo != nil {
			status = string(out.ChangeInfo.Status)
		}
		return status == string(r53types.ChangeStatusInsync), route53ChangeHeartbeat{ChangeID: id, Status: status}.String(), nil
	})
	return status, err
}

// Route53ChangeArgs is the input of route53.wait_insync.
type Route53ChangeArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the Region whose credentials (and lab endpoint) make the call"`
	ChangeID    string           `json:"change_id,omitempty" doc:"the change_id of route53.set_weights; empty: nothing to wait for"`
	Timeout     runbook.Duration `json:"timeout,omitempty" catalog:"duration,bounds" default:"5m" doc:"how long to wait (default 5m)"`
	Interval    runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between GetChange calls (default 5s)"`
}

// Route53ChangeResult is the output of route53.wait_insync.
type Route53ChangeResult struct {
	ChangeID string `json:"change_id"`
	Status   string `json:"status"`
	Summary  string `json:"summary"`
}

// WaitRoute53Change waits, heartbeating, until a change is INSYNC: Route 53's authoritative
// servers all answer with the new weights. An empty change id (set_weights changed nothing, or
// plan mode) has nothing to wait for.
func (c *Cloud) WaitRoute53Change(ctx context.Context, in Route53ChangeArgs) (Route53ChangeResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return Route53ChangeResult{}, err
	}
	if in.ChangeID == "" {
		return Route53ChangeResult{Status: string(r53types.ChangeStatusInsync), Summary: "no change to wait for"}, nil
	}
	rc, err := c.opts.AWS.Route53(ctx, t.aws)
	if err != nil {
		return Route53ChangeResult{}, Permanent(err)
	}
	status, err := c.waitChange(ctx, rc, t.region, in.ChangeID, in.Timeout, in.Interval)
	if errors.Is(err, errChangeUnknown) {
		// Waiting longer cannot help; route53.set_weights re-reads the records and resubmits.
		return Route53ChangeResult{ChangeID: in.ChangeID}, temporal.NewNonRetryableApplicationError(
			err.Error()+": a change accepted before a control-plane failover may be stranded; run route53.set_weights again, which resubmits only what the records lack",
			ErrNotFound, err)
	}
	if err != nil {
		return Route53ChangeResult{ChangeID: in.ChangeID, Status: status}, err
	}
	return Route53ChangeResult{ChangeID: in.ChangeID, Status: status, Summary: "change " + in.ChangeID + " is " + status}, nil
}

// route53ChangeHeartbeat is what route53.set_weights and route53.wait_insync heartbeat once
// Route 53 accepted a change: the change id, so that a retry after a lost worker waits for that
// change instead of finding the weights set and nothing to wait for, and its last status, which
// the Temporal UI shows as the pending activity's details.
type route53ChangeHeartbeat struct {
	ChangeID string `json:"change_id"`
	Status   string `json:"status"`
}

func (h route53ChangeHeartbeat) String() string { return "change " + h.ChangeID + " is " + h.Status }

// earlierChange returns the change id a previous attempt of this activity heartbeated, if any.
func earlierChange(ctx context.Context) string {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return ""
	}
	var hb route53ChangeHeartbeat
	if activity.GetHeartbeatDetails(ctx, &hb) != nil {
		return ""
	}
	return hb.ChangeID
}
