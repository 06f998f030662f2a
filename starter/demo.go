//go:build !nodev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/logging"
	runreport "github.com/switchyard-dr/switchyard/internal/report"
	"github.com/switchyard-dr/switchyard/workflows"
)

// demoOptions are the flags of `starter demo`.
type demoOptions struct {
	outputOptions
	runbooksOptions
	rate     float64
	pause    time.Duration
	soak     time.Duration
	logLevel string
}

// DemoReport is what `starter demo --json` prints: the drill's run report plus the lab's ground
// truth, so "no document is missing" is checked against what the producers were acknowledged,
// not only against the other Region.
type DemoReport struct {
	*runreport.Report
	// Produced is what the lab's producer was acknowledged, per Region it wrote to.
	Produced map[string]int64 `json:"produced"`
	// Documents is what each Region's collection holds at the end.
	Documents map[string]int64 `json:"documents"`
	// Passed is true when the drill succeeded, backfill verification found no missing document
	// and every collection holds at least as many documents as were acknowledged.
	Passed bool     `json:"passed"`
	Notes  []string `json:"notes,omitempty"`
}

// runDemo runs a scripted DR drill on a private lab: embedded Temporal server and worker, the lab
// with producers writing, then: impair the primary Region → the drill fails over (ungraceful,
// approvals granted by the lab policy) → writes continue in the secondary → heal the primary →
// the drill fails back after proving the backfill. It shows the live timeline, then the report,
// and exits 0 only when the drill succeeded and no document is missing.
func runDemo(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("demo", cio)
	var o demoOptions
	o.outputOptions.register(fs, "print the report as JSON (the timeline goes to stderr)")
	o.runbooksOptions.register(fs, cio, "runbook folder")
	fs.Float64Var(&o.rate, "rate", 50, "events per second the lab's producers write")
	fs.DurationVar(&o.pause, "pause", 10*time.Second, "how long writes stay in the secondary before failing back")
	fs.DurationVar(&o.soak, "soak", 3*time.Second, "failback's soak after each weight step")
	fs.StringVar(&o.logLevel, "log-level", "error", "log level of the server, worker and lab (logs go to stderr)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	logger, err := logging.New(cio.stderr, "text", o.logLevel)
	if err != nil {
		return err
	}
	timeline := cio.stdout
	if o.json {
		timeline = cio.stderr
	}
	rep, err := demo(ctx, o, logger, timeline)
	if rep == nil {
		return err
	}
	if o.json {
		if werr := writeJSON(cio.stdout, rep); werr != nil {
			return werr
		}
	} else {
		fmt.Fprintln(cio.stdout)
		fmt.Fprint(cio.stdout, rep.Markdown())
		fmt.Fprintf(cio.stdout, "\n## Ground truth\n\n- Acknowledged writes: %v\n- Documents per collection: %v\n", rep.Produced, rep.Documents)
		for _, n := range rep.Notes {
			fmt.Fprintf(cio.stdout, "- %s\n", n)
		}
		verdict := "PASSED"
		if !rep.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(cio.stdout, "\nDrill %s.\n", verdict)
	}
	if err != nil {
		fmt.Fprintln(cio.stderr, "demo:", err)
	}
	if !rep.Passed {
		return exitError(1)
	}
	return nil
}

func demo(ctx context.Context, o demoOptions, logger *slog.Logger, w io.Writer) (*DemoReport, error) {
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "%s  == %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	say("starting the lab (two Regions: Kafka, pipelines, collections, replicators, Route 53, CloudWatch), the embedded Temporal server and a worker")
	p, err := startPrivateLab(ctx, lab.Options{ProducerRate: o.rate, WithEventIDs: true, TestID: "demo",
		AlarmWindow: 3 * time.Second, Logger: logger.With("component", "lab")}, o.runbooks, nil, logger)
	if err != nil {
		return nil, err
	}
	defer p.close()
	l, env := p.lab, p.dev
	primary, secondary := l.Regions()

	say("producers write to %s (Route 53 weights %v); waiting for documents in both collections", primary, l.Producer().Stats().Weights)
	if err := waitUntil(ctx, time.Minute, func() bool {
		return l.Collection(primary).DocCount(lab.IndexPattern) > 0 && l.Collection(secondary).DocCount(lab.IndexPattern) > 0
	}); err != nil {
		return nil, fmt.Errorf("no documents reached both collections: %w", err)
	}

	impairedAt := time.Now()
	say("IMPAIRING %s: its Kafka, pipeline and collection become unreachable, its control plane times out (Route 53's too: it lives in us-east-1); traffic moves with ARC routing controls, through the data plane", primary)
	if _, err := l.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: primary}); err != nil {
		return nil, fmt.Errorf("impair %s: %w", primary, err)
	}
	in := workflows.RunInput{Runbook: "drill", Environment: "lab", RequestedBy: "demo", Mode: workflows.ModeExecute,
		Params: map[string]any{"target": secondary, "ungraceful": true, "auto_approve": true, "pause": o.pause.String(),
			"soak": o.soak.String(), "lookback": "1h", "settle": "5s", "verify_window": "30s"},
		Trigger: workflows.Trigger{Kind: "demo", Detail: "lab fault impair-region " + primary, At: &impairedAt}}
	id := workflows.OperationID(in.Environment)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	if err != nil {
		return nil, fmt.Errorf("start the drill: %w", err)
	}
	say("drill started: %s (failover to %s, hold %s, failback to %s)", id, secondary, o.pause, primary)

	// Follow the timeline; heal the primary once the failover is done, while writes continue in
	// the secondary.
	seen := map[string]workflows.StepStatus{}
	healed := false
	done := make(chan struct{})
	var res *workflows.Result
	var runErr error
	go func() {
		defer close(done)
		res, runErr = result(ctx, env.client, id, run.GetRunID())
	}()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-done:
			loop = false
		case <-tick.C:
			p, err := queryProgress(ctx, env.client, id, run.GetRunID())
			if err != nil {
				continue
			}
			printTransitions(w, p.Steps, seen)
			if !healed && stepAt(p, "failover").Status == workflows.StatusSucceeded {
				healed = true
				st := l.Producer().Stats()
				say("writes continue in %s (acknowledged so far: %v); HEALING %s", secondary, st.Acked, primary)
				if _, err := l.Heal(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: primary}); err != nil {
					return nil, fmt.Errorf("heal %s: %w", primary, err)
				}
			}
		}
	}
	if res == nil {
		return nil, fmt.Errorf("drill: %w", runErr)
	}
	printTransitions(w, res.Steps, seen)
	if !healed {
		_, _ = l.HealAll(ctx)
	}

	// Ground truth: stop the producer, let the pipelines drain, then compare.
	l.Producer().Close()
	produced := l.Producer().Stats().Acked
	var total int64
	for _, n := range produced {
		total += n
	}
	docs := map[string]int64{}
	_ = waitUntil(ctx, 30*time.Second, func() bool {
		for _, r := range []string{primary, secondary} {
			docs[r] = l.Collection(r).DocCount(lab.IndexPattern)
		}
		return docs[primary] >= total && docs[secondary] >= total
	})
	rep := &DemoReport{Report: runreport.FromProgress(id, &res.Progress), Produced: produced, Documents: docs}
	rep.Passed = runErr == nil && res.Outcome == workflows.OutcomeSucceeded
	if rep.MissingDocs == nil {
		rep.Passed = false
		rep.Notes = append(rep.Notes, "the drill produced no backfill verification figures")
	} else if *rep.MissingDocs > 0 {
		rep.Passed = false
		rep.Notes = append(rep.Notes, fmt.Sprintf("backfill verification found %d missing documents", *rep.MissingDocs))
	}
	for _, r := range []string{primary, secondary} {
		if docs[r] < total {
			rep.Passed = false
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s holds %d documents but %d writes were acknowledged", r, docs[r], total))
		}
	}
	return rep, runErr
}

func stepAt(p *workflows.Progress, path string) workflows.StepState {
	for _, s := range p.Steps {
		if s.Path == path {
			return s
		}
	}
	return workflows.StepState{}
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
