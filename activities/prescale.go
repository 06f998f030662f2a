package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Pre-scaling the survivor. In the active-active design each Region's pipeline and collection
// are sized for that Region's own writes; after a failover the survivor takes both Regions'.
// OSI and OpenSearch Serverless scale on load, but only within the pipeline's MaxUnits and the
// account's capacity limits, and scaling up takes minutes the RTO does not have. AWS ARC Region
// switch pre-scales the target before it moves traffic; capacity.prescale does the same: it
// raises the survivor's pipeline MinUnits/MaxUnits and the Region's OpenSearch Serverless
// capacity limits to factor × (both Regions' peak of the lookback), and capacity.restore puts
// back exactly what was there before.
//
// The values from before are kept in an SSM parameter of the survivor's Region
// (prescaleParameter), written before anything changes: a failback is a different run, a retried
// attempt must not mistake the raised values for the prior ones, and a second failover must not
// ratchet the survivor up again on peaks its own raised floor produced. While a pre-scale is in
// effect, capacity.prescale re-applies the desired values it recorded (desired state, not
// "raise again").

// DefaultPrescaleFactor is capacity.prescale's factor when left out: 20 % above the sum of both
// Regions' peaks.
const DefaultPrescaleFactor = 1.2

// DefaultPeakLookback is how far back the peaks are read when left out: a day covers the daily
// cycle.
const DefaultPeakLookback = 24 * time.Hour

// minAOSSCapacityOCU is OpenSearch Serverless's lowest capacity limit ("Valid Range: Minimum
// value of 2", API_CapacityLimits.html).
const minAOSSCapacityOCU = 2

// RegionPeak is one Region's peak usage over a lookback, from CloudWatch: the pipeline's
// computeUnits (AWS/OSIS, PipelineName) and the account's IndexingOCU and SearchOCU (AWS/AOSS,
// ClientId; account-level in the Region), each the Maximum of the window. A nil value had no
// datapoint.
type RegionPeak struct {
	Region        string   `json:"region"`
	PipelineUnits *float64 `json:"pipeline_units" doc:"the pipeline's peak computeUnits (Ingestion OCUs); null without datapoints"`
	IndexingOCU   *float64 `json:"indexing_ocu" doc:"the account's peak IndexingOCU in the Region; null without datapoints"`
	SearchOCU     *float64 `json:"search_ocu" doc:"the account's peak SearchOCU in the Region; null without datapoints"`
	// Estimated: the Region was not read (ungraceful: nothing calls the impaired Region) and
	// these are the survivor's own peaks, the active-active design's symmetric split.
	Estimated bool `json:"estimated,omitempty" doc:"not read (ungraceful): the survivor's own peaks stand in for it"`
}

// Capacity is what a pipeline and an account's OpenSearch Serverless limits are set to.
type Capacity struct {
	MinUnits       int `json:"min_units"`
	MaxUnits       int `json:"max_units"`
	MaxIndexingOCU int `json:"max_indexing_ocu"`
	MaxSearchOCU   int `json:"max_search_ocu"`
}

func (c Capacity) String() string {
	return fmt.Sprintf("pipeline %d-%d units, collections %d indexing / %d search OCUs", c.MinUnits, c.MaxUnits, c.MaxIndexingOCU, c.MaxSearchOCU)
}

// SurvivorNeed is the capacity a survivor needs to absorb both Regions: factor × the sum of the
// Regions' peaks, rounded up, per resource. A peak without datapoints counts as floor (the
// pipeline's MinUnits, say: it runs at least that many). This is the one rule of "enough
// capacity": capacity.prescale raises to it and readiness judges headroom against it.
func SurvivorNeed(peaks []RegionPeak, factor float64, floor Capacity) Capacity {
	sum := func(get func(RegionPeak) *float64, dflt int) int {
		var total float64
		for _, p := range peaks {
			if v := get(p); v != nil {
				total += *v
			} else {
				total += float64(dflt)
			}
		}
		// Rounding guards against 1.2 × 5 = 6.000000000000001 asking for 7.
		return int(math.Ceil(math.Round(total*factor*1e6) / 1e6))
	}
	units := sum(func(p RegionPeak) *float64 { return p.PipelineUnits }, floor.MinUnits)
	return Capacity{
		MinUnits: units, MaxUnits: units,
		MaxIndexingOCU: max(sum(func(p RegionPeak) *float64 { return p.IndexingOCU }, 0), minAOSSCapacityOCU),
		MaxSearchOCU:   max(sum(func(p RegionPeak) *float64 { return p.SearchOCU }, 0), minAOSSCapacityOCU),
	}
}

// prescaleTo is the pre-scaled capacity: never below what is set now (a pre-scale never lowers
// anything), MinUnits raised to the need so the units are there before traffic arrives, MaxUnits
// at least that.
func prescaleTo(now, need Capacity) Capacity {
	out := Capacity{
		MinUnits:       max(now.MinUnits, need.MinUnits),
		MaxIndexingOCU: max(now.MaxIndexingOCU, need.MaxIndexingOCU),
		MaxSearchOCU:   max(now.MaxSearchOCU, need.MaxSearchOCU),
	}
	out.MaxUnits = max(now.MaxUnits, out.MinUnits)
	return out
}

// peakPeriod is the period peaks are read at: fine enough to leave out the minutes a pipeline
// was pre-scaled, coarse enough that a day is 1440 datapoints per metric.
const peakPeriod = time.Minute

// readPeak reads a Region's peaks over lookback in one GetMetricData call (its own CloudWatch:
// metrics are regional). The account id of the AOSS ClientId dimension is the environment's MSK
// cluster ARN's: the design keeps a Region's resources in one account.
//
// A pipeline that capacity.prescale raised runs at its raised MinUnits, and computeUnits reports
// them: capacity bought, not load seen. Its datapoints in the minutes of the pre-scale windows
// the Region's record keeps are left out, or every failover would raise the next day's peak by
// the pre-scale's own headroom (and readiness would ask for more than the load ever needed).
// Collections have no floor (capacity limits are ceilings), so their OCUs are all read.
func (c *Cloud) readPeak(ctx context.Context, t target, lookback time.Duration) (RegionPeak, error) {
	peak := RegionPeak{Region: t.region}
	var windows []prescaleWindow
	if _, rec, found, err := c.readPrescale(ctx, t); err == nil && found {
		windows = rec.Windows
	} // unreadable (no ssm:GetParameter, say): every datapoint counts, as before any pre-scale
	pipeline, err := orEnv("", t.rc.Pipeline, "pipeline", "pipeline", t.region)
	if err != nil {
		return peak, err
	}
	account := arnAccount(t.rc.MSKClusterARN)
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return peak, Permanent(err)
	}
	period := int32(peakPeriod / time.Second)
	q := func(id, ns, metric, dim, value string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(value)}}},
			Period: aws.Int32(period), Stat: aws.String("Maximum")}}
	}
	queries := []cwtypes.MetricDataQuery{q("units", "AWS/OSIS", "computeUnits", "PipelineName", pipeline)}
	if account != "" {
		queries = append(queries, q("indexing", "AWS/AOSS", "IndexingOCU", "ClientId", account), q("search", "AWS/AOSS", "SearchOCU", "ClientId", account))
	}
	now := time.Now()
	pages := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-lookback)), EndTime: aws.Time(now), MetricDataQueries: queries})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return peak, Wrap(err, "read capacity metrics of", "pipeline "+pipeline, t.region)
		}
		for _, r := range out.MetricDataResults {
			var dst **float64
			switch aws.ToString(r.Id) {
			case "units":
				dst = &peak.PipelineUnits
			case "indexing":
				dst = &peak.IndexingOCU
			case "search":
				dst = &peak.SearchOCU
			default:
				continue
			}
			for i, v := range r.Values {
				if aws.ToString(r.Id) == "units" && i < len(r.Timestamps) && inWindows(windows, r.Timestamps[i], peakPeriod) {
					continue
				}
				if *dst == nil || v > **dst {
					v := v
					*dst = &v
				}
			}
		}
	}
	return peak, nil
}

// arnAccount is an ARN's account field ("" when s is not an ARN).
func arnAccount(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// readCapacity reads what the Region's pipeline and OpenSearch Serverless limits are set to.
func (c *Cloud) readCapacity(ctx context.Context, t target) (string, Capacity, error) {
	name, oc, err := c.pipeline(ctx, t, "")
	if err != nil {
		return "", Capacity{}, err
	}
	p, err := getPipeline(ctx, oc, name, t.region)
	if err != nil {
		return name, Capacity{}, err
	}
	cur := Capacity{MinUnits: int(p.MinUnits), MaxUnits: int(p.MaxUnits)}
	ac, err := c.opts.AWS.OpenSearchServerless(ctx, t.aws)
	if err != nil {
		return name, cur, Permanent(err)
	}
	out, err := ac.GetAccountSettings(ctx, &opensearchserverless.GetAccountSettingsInput{})
	if err != nil {
		return name, cur, Wrap(err, "get OpenSearch Serverless account settings", "capacity limits", t.region)
	}
	if d := out.AccountSettingsDetail; d != nil && d.CapacityLimits != nil {
		cur.MaxIndexingOCU = int(aws.ToInt32(d.CapacityLimits.MaxIndexingCapacityInOCU))
		cur.MaxSearchOCU = int(aws.ToInt32(d.CapacityLimits.MaxSearchCapacityInOCU))
	}
	return name, cur, nil
}

// setCapacity sets the pipeline's units and the account's limits to want, calling only for what
// differs from cur; it reports whether it asked for a change.
func (c *Cloud) setCapacity(ctx context.Context, t target, pipeline string, cur, want Capacity) (bool, error) {
	changed := false
	if cur.MinUnits != want.MinUnits || cur.MaxUnits != want.MaxUnits {
		_, oc, err := c.pipeline(ctx, t, pipeline)
		if err != nil {
			return changed, err
		}
		_, err = oc.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipeline),
			MinUnits: aws.Int32(int32(want.MinUnits)), MaxUnits: aws.Int32(int32(want.MaxUnits))})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ConflictException" {
			// The pipeline is in a transition (UPDATING, STARTING): it ends by itself and the
			// activity's retry then updates it.
			return changed, fmt.Errorf("update units of pipeline %s in %s: it is changing now; retrying: %w", pipeline, t.region, err)
		}
		if err != nil {
			return changed, Wrap(err, "update units of OSI pipeline", pipeline, t.region)
		}
		changed = true
	}
	if cur.MaxIndexingOCU != want.MaxIndexingOCU || cur.MaxSearchOCU != want.MaxSearchOCU {
		ac, err := c.opts.AWS.OpenSearchServerless(ctx, t.aws)
		if err != nil {
			return changed, Permanent(err)
		}
		_, err = ac.UpdateAccountSettings(ctx, &opensearchserverless.UpdateAccountSettingsInput{CapacityLimits: &aosstypes.CapacityLimits{
			MaxIndexingCapacityInOCU: aws.Int32(int32(want.MaxIndexingOCU)), MaxSearchCapacityInOCU: aws.Int32(int32(want.MaxSearchOCU))}})
		if err != nil {
			return changed, Wrap(err, "update OpenSearch Serverless capacity limits", "account settings", t.region)
		}
		changed = true
	}
	return changed, nil
}

// prescaleRecord is what the SSM parameter keeps between a pre-scale and its restore.
type prescaleRecord struct {
	// State is raised while a pre-scale is in effect, restored after.
	State    string    `json:"state"`
	Pipeline string    `json:"pipeline"`
	Prior    Capacity  `json:"prior"`
	Desired  Capacity  `json:"desired"`
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
	// Windows are the recent pre-scales, oldest first (To nil while in effect), kept for
	// prescaleWindowsKept so that peaks leave their minutes out (readPeak).
	Windows []prescaleWindow `json:"windows,omitempty"`
}

// prescaleWindow is when a pre-scale was in effect.
type prescaleWindow struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to,omitempty"`
}

// prescaleWindowsKept is how long a past pre-scale window is remembered: beyond any lookback a
// peak is read over.
const prescaleWindowsKept = 7 * 24 * time.Hour

// inWindows reports whether the period starting at ts overlaps one of the windows.
func inWindows(windows []prescaleWindow, ts time.Time, period time.Duration) bool {
	for _, w := range windows {
		to := time.Now()
		if w.To != nil {
			to = *w.To
		}
		if ts.Before(to) && ts.Add(period).After(w.From) {
			return true
		}
	}
	return false
}

// recentWindows drops the windows that ended more than prescaleWindowsKept before now.
func recentWindows(ws []prescaleWindow, now time.Time) []prescaleWindow {
	var out []prescaleWindow
	for _, w := range ws {
		if w.To == nil || now.Sub(*w.To) < prescaleWindowsKept {
			out = append(out, w)
		}
	}
	return out
}

const (
	prescaleRaised   = "raised"
	prescaleRestored = "restored"
)

// prescaleParameter is the SSM parameter (in the pre-scaled Region) that keeps the record.
func prescaleParameter(env string) string { return "/switchyard/" + env + "/prescale" }

func (c *Cloud) readPrescale(ctx context.Context, t target) (*ssm.Client, prescaleRecord, bool, error) {
	sc, err := c.opts.AWS.SSM(ctx, t.aws)
	if err != nil {
		return nil, prescaleRecord{}, false, Permanent(err)
	}
	p, found, err := getParameter(ctx, sc, prescaleParameter(t.envName), t.region)
	if err != nil || !found {
		return sc, prescaleRecord{}, false, err
	}
	var rec prescaleRecord
	if err := json.Unmarshal([]byte(aws.ToString(p.Value)), &rec); err != nil {
		return sc, prescaleRecord{}, false, Permanent(fmt.Errorf("parameter %s in %s is not a pre-scale record (fix or delete it): %w", prescaleParameter(t.envName), t.region, err))
	}
	return sc, rec, true, nil
}

func writePrescale(ctx context.Context, sc *ssm.Client, t target, rec prescaleRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode pre-scale record: %w", err)
	}
	name := prescaleParameter(t.envName)
	_, err = sc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(string(b)),
		Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
		Description: aws.String("Switchyard: capacity before the survivor was pre-scaled (capacity.prescale / capacity.restore)")})
	if err != nil {
		return Wrap(err, "record pre-scale in parameter", name, t.region)
	}
	return nil
}

// PrescaleArgs is the input of capacity.prescale.
type PrescaleArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the survivor: the Region that takes both Regions' writes"`
	Ungraceful  bool             `json:"ungraceful,omitempty" doc:"the other Region is down: read nothing there; the survivor's own peaks stand in for its"`
	Factor      float64          `json:"factor,omitempty" default:"1.2" doc:"headroom over the sum of both Regions' peaks"`
	Lookback    runbook.Duration `json:"lookback,omitempty" catalog:"duration" default:"24h" doc:"how far back the peaks are read"`
}

// PrescaleResult is the output of capacity.prescale.
type PrescaleResult struct {
	Pipeline string       `json:"pipeline"`
	Prior    Capacity     `json:"prior" doc:"what was set before the pre-scale (capacity.restore puts it back)"`
	Desired  Capacity     `json:"desired" doc:"what is set now"`
	Peaks    []RegionPeak `json:"peaks" doc:"the peaks read (none when a pre-scale was already in effect)"`
	Changed  bool         `json:"changed" doc:"whether this call asked AWS to change anything"`
	Summary  string       `json:"summary"`
	Warnings []string     `json:"warnings,omitempty" doc:"set when a peak was estimated or had no datapoints"`
}

// Prescale raises the survivor's capacity to SurvivorNeed (never lowering anything), records the
// prior values first, and is a desired-state setter: with a pre-scale in effect it re-applies the
// recorded desired values.
func (c *Cloud) Prescale(ctx context.Context, in PrescaleArgs) (PrescaleResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return PrescaleResult{}, err
	}
	factor := cmp.Or(in.Factor, DefaultPrescaleFactor)
	if factor < 1 || factor > 10 {
		return PrescaleResult{}, badArgs("factor %g: want 1 to 10 (a pre-scale below the sum of the peaks would not absorb them)", factor)
	}
	sc, rec, found, err := c.readPrescale(ctx, t)
	if err != nil {
		return PrescaleResult{}, err
	}
	pipeline, cur, err := c.readCapacity(ctx, t)
	if err != nil {
		return PrescaleResult{}, err
	}
	res := PrescaleResult{Pipeline: pipeline, Peaks: []RegionPeak{}}
	if !found || rec.State != prescaleRaised {
		past := rec.Windows
		peers := []string{t.region}
		if peer := peerOf(t.env, t.region); peer != "" {
			peers = append(peers, peer)
		}
		lookback := cmp.Or(in.Lookback.D(), DefaultPeakLookback)
		own, err := c.readPeak(ctx, t, lookback)
		if err != nil {
			return res, err
		}
		res.Peaks = append(res.Peaks, own)
		if len(peers) > 1 {
			if in.Ungraceful {
				est := own
				est.Region, est.Estimated = peers[1], true
				res.Peaks = append(res.Peaks, est)
				res.Warnings = append(res.Warnings, fmt.Sprintf("ungraceful: %s was not read; its peaks are taken to be %s's", peers[1], t.region))
			} else {
				pt, err := c.target(ctx, in.Environment, peers[1])
				if err != nil {
					return res, err
				}
				other, err := c.readPeak(ctx, pt, lookback)
				if err != nil {
					return res, err
				}
				res.Peaks = append(res.Peaks, other)
			}
		}
		for _, p := range res.Peaks {
			if !p.Estimated && p.PipelineUnits == nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("no computeUnits datapoint for %s's pipeline in %s: counted as %d units (the survivor's MinUnits)", p.Region, lookback, cur.MinUnits))
			}
		}
		need := SurvivorNeed(res.Peaks, factor, Capacity{MinUnits: cur.MinUnits})
		now := time.Now().UTC()
		rec = prescaleRecord{State: prescaleRaised, Pipeline: pipeline, Prior: cur, Desired: prescaleTo(cur, need), At: now, By: callerRun(ctx),
			Windows: append(recentWindows(past, now), prescaleWindow{From: now})}
		if rec.Desired == cur {
			res.Prior, res.Desired = cur, cur
			res.Summary = fmt.Sprintf("%s already covers %g × both Regions' peaks (%s): nothing to raise", t.region, factor, cur)
			return res, nil
		}
		// Recorded before anything changes: a crash after this leaves a record whose prior is
		// what is still set, which a restore sets again harmlessly.
		if err := writePrescale(ctx, sc, t, rec); err != nil {
			return res, err
		}
	}
	res.Prior, res.Desired = rec.Prior, rec.Desired
	res.Changed, err = c.setCapacity(ctx, t, pipeline, cur, rec.Desired)
	if err != nil {
		return res, err
	}
	verb := "raised"
	if !res.Changed {
		verb = "already raised"
	}
	res.Summary = fmt.Sprintf("%s %s to %s (from %s)", t.region, verb, rec.Desired, rec.Prior)
	return res, nil
}

// RestoreCapacityArgs is the input of capacity.restore.
type RestoreCapacityArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region capacity.prescale raised"`
}

// RestoreCapacityResult is the output of capacity.restore.
type RestoreCapacityResult struct {
	Pipeline string    `json:"pipeline"`
	Restored *Capacity `json:"restored" doc:"what was set back; null when no pre-scale was in effect"`
	Changed  bool      `json:"changed" doc:"whether this call asked AWS to change anything"`
	Summary  string    `json:"summary"`
}

// RestoreCapacity puts back the capacity a pre-scale recorded, exactly, and marks the record
// restored. Without a pre-scale in effect it does nothing: a failback after a failover that did
// not pre-scale, or a retried restore, changes nothing.
func (c *Cloud) RestoreCapacity(ctx context.Context, in RestoreCapacityArgs) (RestoreCapacityResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return RestoreCapacityResult{}, err
	}
	sc, rec, found, err := c.readPrescale(ctx, t)
	if err != nil {
		return RestoreCapacityResult{}, err
	}
	if !found || rec.State != prescaleRaised {
		return RestoreCapacityResult{Summary: fmt.Sprintf("no pre-scale in effect in %s: nothing to restore", t.region)}, nil
	}
	pipeline, cur, err := c.readCapacity(ctx, t)
	if err != nil {
		return RestoreCapacityResult{}, err
	}
	if rec.Pipeline != "" && rec.Pipeline != pipeline {
		return RestoreCapacityResult{}, Permanent(fmt.Errorf("the pre-scale record of %s is for pipeline %s, the environment now names %s: restore it by hand (parameter %s)", t.region, rec.Pipeline, pipeline, prescaleParameter(t.envName)))
	}
	res := RestoreCapacityResult{Pipeline: pipeline, Restored: &rec.Prior}
	if res.Changed, err = c.setCapacity(ctx, t, pipeline, cur, rec.Prior); err != nil {
		return res, err
	}
	now := time.Now().UTC()
	rec.State, rec.At, rec.By = prescaleRestored, now, callerRun(ctx)
	if n := len(rec.Windows); n > 0 && rec.Windows[n-1].To == nil {
		rec.Windows[n-1].To = &now
	}
	if err := writePrescale(ctx, sc, t, rec); err != nil {
		return res, err
	}
	res.Summary = fmt.Sprintf("%s restored to %s (pre-scaled: %s)", t.region, rec.Prior, rec.Desired)
	return res, nil
}

// peerOf is the environment's other Region ("" when region is neither).
func peerOf(env runbook.Environment, region string) string {
	switch region {
	case env.Primary:
		return env.Secondary
	case env.Secondary:
		return env.Primary
	}
	return ""
}

func registerPrescale(r *Registry, c *Cloud) {
	act := func(name, desc string, iam ...string) catalog.Spec {
		return catalog.Spec{Name: name, Kind: catalog.KindAction, Description: desc, IAM: iam}
	}
	Register(r, act("capacity.prescale", "Pre-scale the survivor before traffic moves: raise its OSI pipeline's MinUnits/MaxUnits and the Region's OpenSearch Serverless capacity limits to factor × the sum of both Regions' peaks (computeUnits, IndexingOCU, SearchOCU from CloudWatch), never lowering anything; the prior values are recorded in SSM first for capacity.restore.",
		"cloudwatch:GetMetricData", "osis:GetPipeline", "osis:UpdatePipeline", "aoss:GetAccountSettings", "aoss:UpdateAccountSettings", "ssm:GetParameter", "ssm:PutParameter"), c.Prescale)
	Register(r, act("capacity.restore", "Put back exactly the capacity capacity.prescale recorded (pipeline units, OpenSearch Serverless capacity limits); nothing when no pre-scale is in effect.",
		"osis:GetPipeline", "osis:UpdatePipeline", "aoss:GetAccountSettings", "aoss:UpdateAccountSettings", "ssm:GetParameter", "ssm:PutParameter"), c.RestoreCapacity)
}

// callerRun is the workflow id of the run calling the activity ("" outside one), kept in the
// pre-scale record so an operator reading the parameter knows which run raised it.
func callerRun(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	return activity.GetInfo(ctx).WorkflowExecution.ID
}
