package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// PipelineArgs is the input of osi.pipeline_status.
type PipelineArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region of the pipeline"`
	Pipeline    string `json:"pipeline,omitempty" doc:"default: the Region's pipeline"`
	Status      string `json:"status,omitempty" doc:"the status that passes (default ACTIVE); with wait_until this waits for a status"`
}

// PipelineStatusResult is the output of osi.pipeline_status.
type PipelineStatusResult struct {
	OK           bool   `json:"ok"`
	Reason       string `json:"reason"`
	Pipeline     string `json:"pipeline"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
	// Warnings say the pipeline passed for ACTIVE while UPDATING (see pipelineState).
	Warnings []string `json:"warnings,omitempty" doc:"set when a check for ACTIVE passes on a pipeline that ingests while UPDATING"`
}

func (c *Cloud) pipeline(ctx context.Context, t target, override string) (string, *osis.Client, error) {
	name, err := orEnv(override, t.rc.Pipeline, "pipeline", "pipeline", t.region)
	if err != nil {
		return "", nil, err
	}
	oc, err := c.opts.AWS.OSIS(ctx, t.aws)
	if err != nil {
		return "", nil, Permanent(err)
	}
	return name, oc, nil
}

func getPipeline(ctx context.Context, oc *osis.Client, name, region string) (osistypes.Pipeline, error) {
	out, err := oc.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(name)})
	if err != nil {
		return osistypes.Pipeline{}, Wrap(err, "get OSI pipeline", name, region)
	}
	if out.Pipeline == nil {
		return osistypes.Pipeline{}, fmt.Errorf("get OSI pipeline %s in %s: empty answer", name, region)
	}
	return *out.Pipeline, nil
}

// PipelineStatus checks an OpenSearch Ingestion pipeline's status (GetPipeline). Asked for
// ACTIVE (the default), it asks whether the pipeline ingests, so UPDATING passes with a warning
// (see pipelineState); any other status must match exactly.
func (c *Cloud) PipelineStatus(ctx context.Context, in PipelineArgs) (PipelineStatusResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return PipelineStatusResult{}, err
	}
	name, oc, err := c.pipeline(ctx, t, in.Pipeline)
	if err != nil {
		return PipelineStatusResult{}, err
	}
	p, err := getPipeline(ctx, oc, name, t.region)
	if err != nil {
		return PipelineStatusResult{}, err
	}
	want := cmp.Or(in.Status, string(osistypes.PipelineStatusActive))
	res := PipelineStatusResult{Pipeline: name, Status: string(p.Status)}
	if p.StatusReason != nil {
		res.StatusReason = aws.ToString(p.StatusReason.Description)
	}
	v := pipelineState(res.Status)
	switch {
	case want == string(osistypes.PipelineStatusActive) && v.Serves && v.Warning != "":
		res.OK, res.Reason = true, fmt.Sprintf("pipeline %s in %s is %s: %s", name, t.region, res.Status, v.Warning)
		res.Warnings = []string{res.Reason}
	case res.Status == want:
		res.OK, res.Reason = true, fmt.Sprintf("pipeline %s in %s is %s", name, t.region, res.Status)
	default:
		res.Reason = fmt.Sprintf("pipeline %s in %s is %s, not %s", name, t.region, res.Status, want)
		if res.StatusReason != "" {
			res.Reason += ": " + res.StatusReason
		}
	}
	return res, nil
}

// PipelineChangeArgs is the input of osi.start_pipeline and osi.stop_pipeline.
type PipelineChangeArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the Region of the pipeline"`
	Pipeline    string           `json:"pipeline,omitempty" doc:"default: the Region's pipeline"`
	Wait        bool             `json:"wait,omitempty" doc:"wait, heartbeating, until the pipeline is ACTIVE (start) or STOPPED (stop)"`
	Timeout     runbook.Duration `json:"timeout,omitempty" catalog:"duration,bounds" default:"20m" bounds_if:"wait" doc:"how long to wait (default 20m)"`
	Interval    runbook.Duration `json:"interval,omitempty" catalog:"duration" doc:"pause between status reads while waiting (default 5s)"`
}

// PipelineChangeResult is the output of osi.start_pipeline and osi.stop_pipeline.
type PipelineChangeResult struct {
	Pipeline string `json:"pipeline"`
	Status   string `json:"status"`
	Changed  bool   `json:"changed" doc:"whether this call asked OSI to change anything"`
	Summary  string `json:"summary"`
}

// StartPipeline brings a pipeline to ACTIVE. It sets a desired state rather than toggling: an
// ACTIVE or STARTING pipeline is left alone (a retried step must not fail on its own earlier
// success), a STOPPING one is started once stopped when waiting and retried otherwise.
func (c *Cloud) StartPipeline(ctx context.Context, in PipelineChangeArgs) (PipelineChangeResult, error) {
	return c.changePipeline(ctx, in, true)
}

// StopPipeline brings a pipeline to STOPPED, the mirror image of StartPipeline: STOPPED or
// STOPPING is a no-op.
func (c *Cloud) StopPipeline(ctx context.Context, in PipelineChangeArgs) (PipelineChangeResult, error) {
	return c.changePipeline(ctx, in, false)
}

func (c *Cloud) changePipeline(ctx context.Context, in PipelineChangeArgs, start bool) (PipelineChangeResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return PipelineChangeResult{}, err
	}
	name, oc, err := c.pipeline(ctx, t, in.Pipeline)
	if err != nil {
		return PipelineChangeResult{}, err
	}
	want, transit, from, verb := osistypes.PipelineStatusActive, osistypes.PipelineStatusStarting, osistypes.PipelineStatusStopped, "start"
	// The opposite transition: a pipeline in it must finish before this one can begin.
	opposite, oppositeEnd := osistypes.PipelineStatusStopping, osistypes.PipelineStatusStopped
	if !start {
		want, transit, from, verb = osistypes.PipelineStatusStopped, osistypes.PipelineStatusStopping, osistypes.PipelineStatusActive, "stop"
		opposite, oppositeEnd = osistypes.PipelineStatusStarting, osistypes.PipelineStatusActive
	}
	res := PipelineChangeResult{Pipeline: name}
	po := pollOptions{interval: c.interval(in.Interval), timeout: cmp.Or(in.Timeout.D(), 20*time.Minute)}
	waitFor := func(s osistypes.PipelineStatus) error {
		po.what = fmt.Sprintf("pipeline %s in %s to be %s", name, t.region, s)
		return poll(ctx, po, func(ctx context.Context) (bool, string, error) {
			p, err := getPipeline(ctx, oc, name, t.region)
			if err != nil {
				return false, "", err
			}
			res.Status = string(p.Status)
			if isFailedPipeline(p.Status) {
				return false, "", Permanent(fmt.Errorf("pipeline %s in %s is %s while waiting for %s%s", name, t.region, p.Status, s, statusReason(p)))
			}
			return p.Status == s, fmt.Sprintf("pipeline %s in %s is %s", name, t.region, p.Status), nil
		})
	}
	p, err := getPipeline(ctx, oc, name, t.region)
	if err != nil {
		return res, err
	}
	res.Status = string(p.Status)
	switch {
	case p.Status == want || p.Status == transit:
		res.Summary = fmt.Sprintf("pipeline %s in %s is already %s", name, t.region, p.Status)
	case p.Status == opposite || p.Status == osistypes.PipelineStatusCreating || p.Status == osistypes.PipelineStatusUpdating:
		if !in.Wait {
			// Retryable: the transition in progress ends by itself and the retry then succeeds.
			return res, fmt.Errorf("cannot %s pipeline %s in %s while it is %s; retrying", verb, name, t.region, p.Status)
		}
		settle := oppositeEnd
		if p.Status != opposite {
			settle = osistypes.PipelineStatusActive
		}
		if err := waitFor(settle); err != nil {
			return res, err
		}
		if settle == want {
			res.Summary = fmt.Sprintf("pipeline %s in %s is %s", name, t.region, want)
			return res, nil
		}
		return c.requestPipelineChange(ctx, oc, t, name, start, in.Wait, waitFor, res)
	case p.Status == from || (start && p.Status == osistypes.PipelineStatusStartFailed):
		return c.requestPipelineChange(ctx, oc, t, name, start, in.Wait, waitFor, res)
	default:
		return res, Permanent(fmt.Errorf("cannot %s pipeline %s in %s: it is %s%s", verb, name, t.region, p.Status, statusReason(p)))
	}
	if in.Wait && p.Status == transit {
		if err := waitFor(want); err != nil {
			return res, err
		}
		res.Summary = fmt.Sprintf("pipeline %s in %s is %s", name, t.region, want)
	}
	return res, nil
}

func (c *Cloud) requestPipelineChange(ctx context.Context, oc *osis.Client, t target, name string, start, wait bool,
	waitFor func(osistypes.PipelineStatus) error, res PipelineChangeResult) (PipelineChangeResult, error) {
	var p *osistypes.Pipeline
	var err error
	verb, want := "start", osistypes.PipelineStatusActive
	// A request whose answer was lost may have been carried out: the activity's retry reads the
	// pipeline (STARTING or STOPPING) instead of the SDK asking again.
	once := func(o *osis.Options) { o.Retryer = resendOnlyIfNotApplied(o.Retryer) }
	if start {
		var out *osis.StartPipelineOutput
		if out, err = oc.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(name)}, once); err == nil {
			p = out.Pipeline
		}
	} else {
		verb, want = "stop", osistypes.PipelineStatusStopped
		var out *osis.StopPipelineOutput
		if out, err = oc.StopPipeline(ctx, &osis.StopPipelineInput{PipelineName: aws.String(name)}, once); err == nil {
			p = out.Pipeline
		}
	}
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ConflictException" {
			// Someone else changed the pipeline between our read and this request; the retry
			// reads again and finds the state it should act on (or already wanted).
			return res, fmt.Errorf("%s pipeline %s in %s: changed concurrently: %w", verb, name, t.region, err)
		}
		return res, Wrap(err, verb+" OSI pipeline", name, t.region)
	}
	res.Changed = true
	if p != nil {
		res.Status = string(p.Status)
	}
	logFor(ctx, c.opts.Logger).Info("pipeline "+verb+" requested", "environment", t.envName, "region", t.region, "pipeline", name, "status", res.Status)
	res.Summary = fmt.Sprintf("requested %s of pipeline %s in %s (now %s)", verb, name, t.region, res.Status)
	if wait {
		if err := waitFor(want); err != nil {
			return res, err
		}
		res.Status = string(want)
		res.Summary = fmt.Sprintf("pipeline %s in %s is %s after %s", name, t.region, want, verb)
	}
	return res, nil
}

func isFailedPipeline(s osistypes.PipelineStatus) bool {
	switch s {
	case osistypes.PipelineStatusCreateFailed, osistypes.PipelineStatusUpdateFailed, osistypes.PipelineStatusStartFailed, osistypes.PipelineStatusDeleting:
		return true
	}
	return false
}

func statusReason(p osistypes.Pipeline) string {
	if p.StatusReason != nil && aws.ToString(p.StatusReason.Description) != "" {
		return " (" + aws.ToString(p.StatusReason.Description) + ")"
	}
	return ""
}

// PipelineMetricsArgs is the input of osi.pipeline_metrics.
type PipelineMetricsArgs struct {
	Environment         string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region              string           `json:"region" catalog:"region,required" doc:"the Region of the pipeline"`
	Pipeline            string           `json:"pipeline,omitempty" doc:"default: the Region's pipeline"`
	SubPipeline         string           `json:"sub_pipeline,omitempty" doc:"metric name prefix; default: the Region's sub_pipeline, else kafka-pipeline"`
	Since               time.Time        `json:"since,omitzero" doc:"start of the window (RFC 3339); default: lookback before now"`
	Lookback            runbook.Duration `json:"lookback,omitempty" catalog:"duration" doc:"window length when since is not given (default 15m)"`
	MinDocumentsSuccess int64            `json:"min_documents_success,omitempty" doc:"documents that must have been written for ok (default 0)"`
	MaxDocumentErrors   int64            `json:"max_document_errors,omitempty" doc:"document errors that still pass (default 0)"`
	MaxDLQRecords       int64            `json:"max_dlq_records,omitempty" doc:"records sent to the dead-letter queue that still pass (default 0)"`
}

// PipelineMetricsResult is the output of osi.pipeline_metrics: sums over the window.
type PipelineMetricsResult struct {
	OK               bool    `json:"ok"`
	Reason           string  `json:"reason"`
	Pipeline         string  `json:"pipeline"`
	DocumentsSuccess float64 `json:"documents_success"`
	DocumentErrors   float64 `json:"document_errors"`
	DLQRecords       float64 `json:"dlq_records"`
	Datapoints       int     `json:"datapoints"`
}

// PipelineMetrics sums the pipeline's OpenSearch-sink counters over a window (namespace AWS/OSIS,
// dimension PipelineName, names <sub_pipeline>.opensearch.documentsSuccess.count,
// .documentErrors.count and .s3.dlqS3RecordsSuccess.count). OSI counters are per-period counts,
// so the window's total is the sum of its datapoints.
func (c *Cloud) PipelineMetrics(ctx context.Context, in PipelineMetricsArgs) (PipelineMetricsResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return PipelineMetricsResult{}, err
	}
	name, err := orEnv(in.Pipeline, t.rc.Pipeline, "pipeline", "pipeline", t.region)
	if err != nil {
		return PipelineMetricsResult{}, err
	}
	sub := cmp.Or(in.SubPipeline, t.rc.SubPipeline, "kafka-pipeline")
	now := time.Now()
	since := in.Since
	if since.IsZero() {
		since = now.Add(-cmp.Or(in.Lookback.D(), 15*time.Minute))
	}
	if !since.Before(now) {
		return PipelineMetricsResult{}, badArgs("since %s is not in the past", since.Format(time.RFC3339))
	}
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return PipelineMetricsResult{}, Permanent(err)
	}
	dims := []cwtypes.Dimension{{Name: aws.String("PipelineName"), Value: aws.String(name)}}
	metrics := map[string]string{
		"success": sub + ".opensearch.documentsSuccess.count",
		"errors":  sub + ".opensearch.documentErrors.count",
		"dlq":     sub + ".opensearch.s3.dlqS3RecordsSuccess.count",
	}
	var queries []cwtypes.MetricDataQuery
	for _, id := range []string{"success", "errors", "dlq"} {
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/OSIS"), MetricName: aws.String(metrics[id]), Dimensions: dims},
			Period: aws.Int32(60), Stat: aws.String("Sum")}})
	}
	res := PipelineMetricsResult{Pipeline: name}
	pages := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(since), EndTime: aws.Time(now), MetricDataQueries: queries})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return res, Wrap(err, "read metrics of OSI pipeline", name, t.region)
		}
		for _, r := range out.MetricDataResults {
			var sum float64
			for _, v := range r.Values {
				sum += v
			}
			res.Datapoints += len(r.Values)
			switch aws.ToString(r.Id) {
			case "success":
				res.DocumentsSuccess += sum
			case "errors":
				res.DocumentErrors += sum
			case "dlq":
				res.DLQRecords += sum
			}
		}
	}
	window := fmt.Sprintf("since %s", since.UTC().Format(time.RFC3339))
	switch {
	case res.DocumentErrors > float64(in.MaxDocumentErrors):
		res.Reason = fmt.Sprintf("pipeline %s in %s: %.0f document errors %s", name, t.region, res.DocumentErrors, window)
	case res.DLQRecords > float64(in.MaxDLQRecords):
		res.Reason = fmt.Sprintf("pipeline %s in %s: %.0f records sent to the dead-letter queue %s", name, t.region, res.DLQRecords, window)
	case res.DocumentsSuccess < float64(in.MinDocumentsSuccess):
		res.Reason = fmt.Sprintf("pipeline %s in %s wrote %.0f documents %s, want at least %d", name, t.region, res.DocumentsSuccess, window, in.MinDocumentsSuccess)
	default:
		res.OK, res.Reason = true, fmt.Sprintf("pipeline %s in %s wrote %.0f documents %s, %.0f errors, %.0f dead letters", name, t.region, res.DocumentsSuccess, window, res.DocumentErrors, res.DLQRecords)
	}
	return res, nil
}
