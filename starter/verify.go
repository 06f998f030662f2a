package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// verifyOptions are the flags of `starter verify`.
type verifyOptions struct {
	connFlags
	env, source, target       string
	since, impairment, until  string
	idField, pattern          string
	tolerance                 int64
	acceptDLQ, follow         bool
	interval, timeout, settle time.Duration
	id                        string
}

// runVerify starts a BackfillVerificationWorkflow: it proves the recovered Region (target) holds
// every document the healthy one (source) received since a time, before traffic fails back.
func runVerify(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("verify", cio)
	var o verifyOptions
	o.register(fs)
	fs.StringVar(&o.env, "env", "", "environment name (required)")
	fs.StringVar(&o.source, "source", "", "the Region that took the writes during the impairment (required)")
	fs.StringVar(&o.target, "target", "", "the recovered Region that must hold every document (required)")
	fs.StringVar(&o.since, "since", "", "window start: RFC 3339 time, or a duration ago such as 6h (default: --impairment-start minus 15m, else 24h ago)")
	fs.StringVar(&o.impairment, "impairment-start", "", "when the impairment began: RFC 3339 time or a duration ago")
	fs.StringVar(&o.until, "until", "", "fixed window end (default: 2m before each pass)")
	fs.StringVar(&o.idField, "id-field", "", "unique event field (default: the environment's id_field; - compares counts only)")
	fs.StringVar(&o.pattern, "index-pattern", "", "indices to compare (default: the environment's index_pattern)")
	fs.Int64Var(&o.tolerance, "tolerance", 0, "documents that may be missing for the Regions to count as converged")
	fs.BoolVar(&o.acceptDLQ, "accept-dlq", false, "let dead-letter objects pass the gates (they are still reported)")
	fs.DurationVar(&o.interval, "interval", 0, "time between passes (default 1m)")
	fs.DurationVar(&o.timeout, "timeout", 0, "give up after this long (default 2h)")
	fs.DurationVar(&o.settle, "settle", 0, "how long before each pass the window ends (default 2m)")
	fs.BoolVar(&o.follow, "follow", false, "show progress until the verification ends")
	fs.StringVar(&o.id, "id", "", "workflow id (default: switchyard/ENV/backfill-verify/<time>)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.env == "" || o.source == "" || o.target == "" {
		return errors.New("usage: starter verify --env ENV --source REGION --target REGION [--since T] [--id-field F] [--follow] [--json]")
	}
	now := time.Now()
	in := workflows.BackfillInput{Environment: o.env, Source: o.source, Target: o.target, IDField: o.idField, IndexPattern: o.pattern,
		Tolerance: o.tolerance, AcceptDLQ: o.acceptDLQ, Interval: runbook.Duration(o.interval), Timeout: runbook.Duration(o.timeout),
		SettleDelay: runbook.Duration(o.settle)}
	var err error
	if in.Since, err = parseVerifyTime("--since", o.since, now); err != nil {
		return err
	}
	if in.ImpairmentStart, err = parseVerifyTime("--impairment-start", o.impairment, now); err != nil {
		return err
	}
	if in.Until, err = parseVerifyTime("--until", o.until, now); err != nil {
		return err
	}
	id := o.id
	if id == "" {
		id = workflows.ReadOnlyRunID(o.env, "backfill-verify", now.UTC().Format("20060102T150405.000Z"))
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	// Verification only reads, so it takes no environment lock: it may run inside a failback.
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAEnvironment.ValueSet(o.env),
			workflows.SATargetRegion.ValueSet(o.target), workflows.SATrigger.ValueSet("cli")),
		StaticSummary: fmt.Sprintf("verify backfill on %s: %s -> %s", o.env, o.source, o.target),
	}, workflows.BackfillVerificationType, in)
	if err != nil {
		return fmt.Errorf("start backfill verification on %s: %w", o.env, err)
	}
	if !o.follow {
		return o.print(cio.stdout, map[string]string{"workflow_id": wr.GetID(), "run_id": wr.GetRunID()}, func(w io.Writer) {
			fmt.Fprintf(w, "started backfill verification of %s into %s: workflow %s\nfollow it with: starter status %s --follow, or the progress query in the UI\n",
				o.env, o.target, wr.GetID(), wr.GetID())
		})
	}
	return followVerify(ctx, c, wr.GetID(), o.json, cio.stdout)
}

// parseVerifyTime reads an RFC 3339 time or a duration before now; empty means unset.
func parseVerifyTime(flag, s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("%s %q: want an RFC 3339 time (2026-11-20T09:00:00Z) or a duration ago (6h)", flag, s)
	}
	t := now.Add(-d).UTC()
	return &t, nil
}

// followVerify prints progress changes until the verification ends, then its report. With
// asJSON it prints only the report; the exit status is 1 when the Regions did not converge.
func followVerify(ctx context.Context, c client.Client, id string, asJSON bool, w io.Writer) error {
	done := make(chan struct{})
	var res *workflows.BackfillResult
	var runErr error
	go func() {
		defer close(done)
		res, runErr = backfillResult(ctx, c, id)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return reportVerify(w, res, runErr, asJSON)
		case <-tick.C:
			if asJSON {
				continue
			}
			p, err := queryBackfill(ctx, c, id)
			if err != nil {
				continue
			}
			if line := progressLine(p); line != last {
				fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), line)
				last = line
			}
		}
	}
}

func progressLine(p *workflows.BackfillProgress) string {
	line := fmt.Sprintf("%-10s passes %d", p.Phase, p.Passes)
	if p.Passes > 0 {
		line += fmt.Sprintf(", last pass: %d missing, %d divergent buckets, %d docs compared, %d buckets checked", p.Missing, p.DivergentNow, p.DocsCompared, p.BucketsChecked)
	}
	if g := p.LastGates; g != nil && !g.OK {
		line += "; gates: " + g.Reason
	}
	if p.LastError != "" {
		line += "; error: " + p.LastError
	}
	return line
}

func queryBackfill(ctx context.Context, c client.Client, id string) (*workflows.BackfillProgress, error) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return nil, err
	}
	var p workflows.BackfillProgress
	if err := v.Get(&p); err != nil {
		return nil, fmt.Errorf("decode progress: %w", err)
	}
	return &p, nil
}

// backfillResult waits for the verification (following continue-as-new) and returns its report,
// which a failed verification carries in its error's details.
func backfillResult(ctx context.Context, c client.Client, id string) (*workflows.BackfillResult, error) {
	var res workflows.BackfillResult
	err := c.GetWorkflow(ctx, id, "").Get(ctx, &res)
	if err == nil {
		return &res, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var failed workflows.BackfillResult
		if derr := appErr.Details(&failed); derr == nil {
			return &failed, err
		}
	}
	return nil, err
}

func reportVerify(w io.Writer, res *workflows.BackfillResult, runErr error, asJSON bool) error {
	if asJSON {
		var err error
		if res == nil {
			err = writeJSON(w, map[string]any{"converged": false, "reason": runErr.Error()})
		} else {
			err = writeJSON(w, res)
		}
		if err == nil && (runErr != nil || res == nil || !res.Converged) {
			return exitError(1)
		}
		return err
	}
	if res == nil {
		return fmt.Errorf("backfill verification failed: %w", runErr)
	}
	printBackfill(w, res)
	if runErr != nil || !res.Converged {
		return exitError(1)
	}
	return nil
}

func printBackfill(w io.Writer, res *workflows.BackfillResult) {
	verdict := "NOT CONVERGED"
	if res.Converged {
		verdict = "CONVERGED"
	}
	fmt.Fprintf(w, "\nbackfill of %s from %s into %s: %s after %d passes (%s)\n  %s\n", res.Environment, res.Source, res.Target, verdict,
		res.Passes, res.EndedAt.Sub(res.StartedAt).Round(time.Second), res.Reason)
	if g := res.Gates; g != nil {
		fmt.Fprintf(w, "  gates: %s\n", g.Reason)
	}
	r := res.Report
	if r == nil {
		return
	}
	fmt.Fprintf(w, "  window %s .. %s, %s\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Method)
	fmt.Fprintf(w, "  documents: source %d, target %d, compared %d; buckets checked %d; requests %d (all passes %d)\n",
		r.SourceDocs, r.TargetDocs, r.DocsCompared, r.BucketsChecked, r.Requests.Total(), res.Requests)
	if r.Scope.IDField != "" {
		fmt.Fprintf(w, "  missing %d, extra %d, duplicated ids: source %d (+%d copies), target %d (+%d copies)\n", r.Missing.Total, r.Extra.Total,
			r.SourceDuplicates.IDs, r.SourceDuplicates.ExtraCopies, r.TargetDuplicates.IDs, r.TargetDuplicates.ExtraCopies)
	} else {
		fmt.Fprintf(w, "  missing at least %d (counts only, no id field)\n", r.MissingEstimate)
	}
	fmt.Fprintf(w, "  dead-letter objects since the window start: %d\n", res.DLQObjects)
	if len(r.Indices) > 0 {
		fmt.Fprintf(w, "  %-40s %12s %12s %8s\n", "index", "source", "target", "diff")
		for _, ix := range r.Indices {
			fmt.Fprintf(w, "  %-40s %12d %12d %8d\n", ix.Index, ix.Source, ix.Target, ix.Diff)
		}
	}
	printBucketRows(w, "divergent buckets", r.Buckets, r.BucketsDivergent)
	printBucketRows(w, "divergent leaf buckets", r.Leaves, r.LeavesDivergent)
	printIDList(w, "missing", r.Missing)
	printIDList(w, "extra", r.Extra)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// printBucketRows prints the first rows of a bucket table; --json has the whole (capped) table.
func printBucketRows(w io.Writer, title string, rows []backfill.BucketRow, total int64) {
	if len(rows) == 0 {
		return
	}
	const shown = 10
	fmt.Fprintf(w, "  %s (%d of %d; --json for more):\n", title, min(len(rows), shown), total)
	rows = rows[:min(len(rows), shown)]
	for _, b := range rows {
		flag := ""
		if b.Unresolved {
			flag = " (duplicates not fully known)"
		}
		fmt.Fprintf(w, "    %s +%-5s source %8d target %8d diff %+d%s\n", b.Start.Format(time.RFC3339Nano), b.Interval, b.Source, b.Target, b.Diff, flag)
	}
}

func printIDList(w io.Writer, title string, l backfill.IDList) {
	if l.Total == 0 {
		return
	}
	const shown = 20
	ids := make([]string, 0, shown)
	for _, s := range l.Sample[:min(len(l.Sample), shown)] {
		ids = append(ids, s.ID+"@"+s.Timestamp.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(w, "  %s ids (%d of %d): %s\n", title, len(ids), l.Total, strings.Join(ids, ", "))
}
