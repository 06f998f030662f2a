package statuspage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/readiness"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Collector gathers an environment's status from where it lives: AWS (through the activities'
// Cloud: DNS, CloudWatch, OSI, OpenSearch Serverless) and Temporal (the DR lock's run, the last
// drill, the latest readiness evaluation). It only reads.
type Collector struct {
	Cloud    *activities.Cloud
	Temporal client.Client
	// Store lists and resolves the environments (the worker's runbook folder).
	Store *runbook.Store
	// Namespace and UIURL make links to the Temporal UI ("" UIURL: no links).
	Namespace, UIURL string
	// LagWindow is how far back the lag chart reaches (default 1 h); DNSSamples how many DNS
	// answers are read for the traffic split (default 40).
	LagWindow  time.Duration
	DNSSamples int
	// Timeout bounds one environment's collection (default 15 s): a Region that does not answer
	// shows as an error on the page, it does not hold the page.
	Timeout time.Duration
	// Only limits the page to these environments of the folder (none: every one).
	Only []string
}

// Environments lists the environments of the runbook folder, sorted.
func (c *Collector) Environments() ([]string, error) {
	files, err := runbook.YAMLFiles(c.Store.Dir() + "/environments")
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var out []string
	for _, f := range files {
		env, _, err := c.Store.Environment(trimYAML(f))
		if err != nil {
			continue // the validator reports a broken file; the page shows the others
		}
		if len(c.Only) > 0 && !slices.Contains(c.Only, env.Name) {
			continue
		}
		out = append(out, env.Name)
	}
	sort.Strings(out)
	return out, nil
}

func trimYAML(path string) string {
	base := path
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			base = path[i+1:]
			break
		}
	}
	for _, ext := range []string{".yaml", ".yml"} {
		if len(base) > len(ext) && base[len(base)-len(ext):] == ext {
			return base[:len(base)-len(ext)]
		}
	}
	return base
}

// Collect reads one environment's status. Every part is read independently and in parallel; a
// part that fails says why in its place.
func (c *Collector) Collect(ctx context.Context, name string) Env {
	ctx, cancel := context.WithTimeout(ctx, orDur(c.Timeout, 15*time.Second))
	defer cancel()
	out := Env{Name: name}
	env, _, err := c.Store.Environment(name)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Regions = []string{env.Primary, env.Secondary}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { out.Traffic = c.traffic(ctx, env) })
	run(func() { out.Lag, out.LagLines = c.lag(ctx, env) })
	run(func() { out.Pipelines, out.Collections = c.resources(ctx, env) })
	run(func() { out.Readiness = c.readiness(ctx, name) })
	run(func() { out.Lock = c.lock(ctx, name) })
	run(func() { out.LastDrill = c.lastDrill(ctx, name) })
	wg.Wait()
	return out
}

func (c *Collector) traffic(ctx context.Context, env *runbook.Environment) Traffic {
	var tr Traffic
	st, err := c.Cloud.TrafficState(ctx, activities.TrafficStateArgs{Environment: env.Name, Region: env.Primary})
	if err != nil {
		tr.Error = "traffic lever: " + errText(err)
	} else {
		tr.Lever, tr.Summary = st.Lever, st.Summary
	}
	if env.Traffic == nil || env.Traffic.Resolver == "" {
		tr.Note = "no traffic.resolver: DNS answers not read"
		return tr
	}
	tr.Record, tr.Resolver = env.Traffic.RecordName, env.Traffic.Resolver
	dns, err := c.Cloud.TrafficDNS(ctx, activities.TrafficDNSArgs{Environment: env.Name, Region: env.Primary, Samples: orInt(c.DNSSamples, 40)})
	if err != nil {
		tr.Error = joinErr(tr.Error, "DNS: "+errText(err))
		return tr
	}
	if dns.Samples == 0 {
		tr.Error = joinErr(tr.Error, dns.Reason)
		return tr
	}
	tr.Samples = dns.Samples
	for _, r := range []string{env.Primary, env.Secondary} {
		n := dns.Answers[r]
		tr.Shares = append(tr.Shares, Share{Region: r, Answers: n, Percent: 100 * float64(n) / float64(dns.Samples)})
	}
	for k, n := range dns.Answers {
		if k != env.Primary && k != env.Secondary {
			tr.Shares = append(tr.Shares, Share{Region: k + " (no Region)", Answers: n, Percent: 100 * float64(n) / float64(dns.Samples)})
		}
	}
	return tr
}

func (c *Collector) lag(ctx context.Context, env *runbook.Environment) (Chart, []LagLine) {
	window := orDur(c.LagWindow, time.Hour)
	to := time.Now()
	from := to.Add(-window)
	var lines []Line
	var info []LagLine
	for i, r := range []string{env.Primary, env.Secondary} {
		name, pts, err := c.Cloud.ReplicatorLagSeries(ctx, env.Name, r, window)
		ll := LagLine{Into: r, Replicator: name, Class: fmt.Sprintf("lag%d", i)}
		if err != nil {
			ll.Error = errText(err)
		}
		l := Line{Label: "into " + r, Class: ll.Class}
		for _, p := range pts {
			l.Points = append(l.Points, Point{At: p.At, Value: p.Lag})
		}
		if n := len(pts); n > 0 {
			ll.Last, ll.HasLast, ll.LastAt = pts[n-1].Lag, true, pts[n-1].At
		}
		lines = append(lines, l)
		info = append(info, ll)
	}
	return Plot(lines, from, to, 560, 150), info
}

func (c *Collector) resources(ctx context.Context, env *runbook.Environment) (pipelines, collections []Resource) {
	for _, r := range []string{env.Primary, env.Secondary} {
		rc := env.Regions[r]
		p := Resource{Region: r, Name: rc.Pipeline}
		if st, err := c.Cloud.PipelineStatus(ctx, activities.PipelineArgs{Environment: env.Name, Region: r}); err != nil {
			p.Status, p.Detail = "unknown", errText(err)
		} else {
			p.Name, p.Status, p.OK, p.Detail = st.Pipeline, st.Status, st.OK, st.Reason
		}
		pipelines = append(pipelines, p)
		col := Resource{Region: r, Name: rc.OpenSearch.Collection}
		if rc.OpenSearch.ClusterKind() != runbook.ClusterServerless {
			col.Name, col.Status, col.Detail = rc.OpenSearch.Domain, "-", "a managed domain: see opensearch.domain_status"
		} else if st, err := c.Cloud.CollectionActive(ctx, activities.CollectionArgs{Environment: env.Name, Region: r}); err != nil {
			col.Status, col.Detail = "unknown", errText(err)
		} else {
			col.Name, col.Status, col.OK, col.Detail = st.Name, st.Status, st.OK, st.Reason
		}
		collections = append(collections, col)
	}
	return pipelines, collections
}

func (c *Collector) readiness(ctx context.Context, env string) *Readiness {
	res, err := readiness.Latest(ctx, c.Temporal, env)
	if errors.Is(err, readiness.ErrNone) {
		return nil
	}
	if err != nil {
		return &Readiness{Error: errText(err)}
	}
	rd := &Readiness{State: res.State, EvaluatedAt: res.EvaluatedAt}
	for _, ch := range res.Checks {
		what := ch.Detail
		switch ch.State {
		case wire.ReadinessActionRequired:
			what = ch.Action
		case wire.ReadinessUnknown:
			what = ch.Reason
		}
		rd.Checks = append(rd.Checks, Check{Name: ch.Name, Region: ch.Region, State: ch.State, What: what, Source: ch.Source})
	}
	return rd
}

// lock is the environment's DR lock: the running workflow switchyard/<env>, if any.
func (c *Collector) lock(ctx context.Context, env string) *Lock {
	id := workflows.OperationID(env)
	d, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil // no DR operation ever ran on it
		}
		return &Lock{WorkflowID: id, Error: errText(err)}
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil
	}
	l := &Lock{WorkflowID: id, RunID: info.GetExecution().GetRunId(), URL: c.workflowURL(id, info.GetExecution().GetRunId())}
	if t := info.GetStartTime(); t != nil {
		l.StartedAt = t.AsTime()
	}
	v, err := c.Temporal.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		l.Error = "progress: " + errText(err)
		return l
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		l.Error = "progress: " + errText(err)
		return l
	}
	l.Runbook, l.Current, l.RequestedBy = p.Runbook, p.Current, p.RequestedBy
	for _, s := range p.Steps {
		for _, cur := range p.Current {
			if s.Path == cur {
				l.Steps = append(l.Steps, StepLine{Path: s.Path, Name: s.Name, Status: string(s.Status), What: s.What})
			}
		}
	}
	return l
}

// lastDrill is the newest closed drill of the environment, with its measures; a plan-mode drill
// changed nothing and measured nothing, so it is not one.
// lastDrill is the newest closed drill of the environment, with its measures.
func (c *Collector) lastDrill(ctx context.Context, env string) *Drill {
	q := fmt.Sprintf("WorkflowType = '%s' AND Runbook = 'drill' AND Environment = '%s' AND ExecutionStatus != 'Running' AND Outcome != '%s'", workflows.RunbookWorkflowType, env, workflows.OutcomePlanned)
	resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 5})
	if err != nil {
		return &Drill{Error: errText(err)}
	}
	var newest *workflowpb.WorkflowExecutionInfo
	for _, e := range resp.GetExecutions() {
		if newest == nil || e.GetCloseTime().AsTime().After(newest.GetCloseTime().AsTime()) {
			newest = e
		}
	}
	if newest == nil {
		return nil
	}
	id, runID := newest.GetExecution().GetWorkflowId(), newest.GetExecution().GetRunId()
	d := &Drill{WorkflowID: id, RunID: runID, EndedAt: newest.GetCloseTime().AsTime(), URL: c.workflowURL(id, runID),
		ReportURL: "report?id=" + url.QueryEscape(id) + "&run=" + url.QueryEscape(runID)}
	res, err := Result(ctx, c.Temporal, id, runID)
	if res == nil {
		d.Error = errText(err)
		return d
	}
	d.Outcome = res.Outcome
	if m := res.Measures; m != nil {
		if m.RTOSeconds != nil {
			d.RTO = fmt.Sprintf("%.1f s", *m.RTOSeconds)
		}
		if m.MissingDocs != nil {
			d.RPO = fmt.Sprintf("%d missing, %d duplicate documents", *m.MissingDocs, *m.DuplicateDocs)
		}
	}
	return d
}

// Result is a closed run's result: its value, or the report a failed run carries in its
// failure's details.
func Result(ctx context.Context, c client.Client, id, runID string) (*workflows.Result, error) {
	var res workflows.Result
	err := c.GetWorkflow(ctx, id, runID).Get(ctx, &res)
	if err == nil {
		return &res, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var failed workflows.Result
		if derr := appErr.Details(&failed); derr == nil {
			return &failed, err
		}
	}
	return nil, err
}

// workflowURL is the run's page in the Temporal UI ("" without a UI).
func (c *Collector) workflowURL(id, runID string) string {
	if c.UIURL == "" {
		return ""
	}
	ns := c.Namespace
	if ns == "" {
		ns = "default"
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", c.UIURL, url.PathEscape(ns), url.PathEscape(id), url.PathEscape(runID))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
