//go:build !nodev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/benchrss"
	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/workflows"
)

// benchScaleOptions are the flags of `starter bench scale`.
type benchScaleOptions struct {
	outputOptions
	runbooksOptions
	runs, steps, starters int
	local                 bool
	workerBin             string
	timeout               time.Duration
}

// BenchScaleResult is what `starter bench scale --json` prints.
type BenchScaleResult struct {
	Runs  int `json:"runs"`
	Steps int `json:"steps"`
	// Local says the steps ran as local activities (in the workflow's worker, several per
	// workflow task); otherwise each step is an activity task the server schedules and
	// dispatches, a round trip through the server per step.
	Local bool `json:"local"`
	// Completed counts the runs that completed; Failed the others (with the first error).
	Completed  int    `json:"completed"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// Seconds is from the first start request to the last result; RunsPerSecond and
	// StepsPerSecond are the completed runs and their steps over it.
	Seconds        float64 `json:"seconds"`
	RunsPerSecond  float64 `json:"runs_per_second"`
	StepsPerSecond float64 `json:"steps_per_second"`
	// Step latency is a step's recorded start to its end, in workflow time (the start of the
	// workflow task that scheduled it to the start of the one that saw it end): for core.echo,
	// all of it is scheduling the activity, dispatching it to the worker and recording its
	// result. Local steps completed within one workflow task show (almost) 0.
	StepP50MS float64 `json:"step_p50_ms"`
	StepP99MS float64 `json:"step_p99_ms"`
	StepMaxMS float64 `json:"step_max_ms"`
	// RunP50Seconds and RunP99Seconds are the runs' own durations (first step start to last end);
	// EndToEndP50Seconds and EndToEndP99Seconds are from a run's start request to its result
	// reaching the client, which includes waiting for the worker to take its first task.
	RunP50Seconds      float64 `json:"run_p50_seconds"`
	RunP99Seconds      float64 `json:"run_p99_seconds"`
	EndToEndP50Seconds float64 `json:"end_to_end_p50_seconds"`
	EndToEndP99Seconds float64 `json:"end_to_end_p99_seconds"`
	// WorkerPeakRSSBytes is the worker process's peak resident set (VmHWM), read before it stops.
	WorkerPeakRSSBytes int64 `json:"worker_peak_rss_bytes"`
	GoalRSSBytes       int64 `json:"goal_rss_bytes"`
	GoalMet            bool  `json:"goal_met"`
}

// benchScaleGoalRSS is issue 19's goal for the worker's peak RSS under the scale bench.
const benchScaleGoalRSS = 300 << 20

func runBenchScale(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench scale", cio)
	var o benchScaleOptions
	o.outputOptions.register(fs, "print the figures as JSON")
	o.runbooksOptions.register(fs, cio, "runbook folder (its environments/lab.yaml is the runs' environment)")
	fs.IntVar(&o.runs, "runs", 1000, "runs started at once")
	fs.IntVar(&o.steps, "steps", 20, "core.echo steps of the runbook each run runs")
	fs.IntVar(&o.starters, "starters", 50, "concurrent start requests")
	fs.BoolVar(&o.local, "local", false, "run the steps as local activities (the catalog's choice for core.echo) instead of activity tasks through the server")
	fs.StringVar(&o.workerBin, "worker-bin", "", "the worker program (go build ./worker); empty: build it")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up on the runs after this long")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.runs < 1 || o.steps < 1 || o.starters < 1 {
		return errors.New("bench scale: want --runs, --steps and --starters of at least 1")
	}
	res, err := benchScale(ctx, o, cio.stderr)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	kind := "activity tasks"
	if res.Local {
		kind = "local activities"
	}
	fmt.Fprintf(cio.stdout, "%d concurrent runs of a %d-step runbook (%s), one worker process, the embedded server: %d completed, %d failed %s\n",
		res.Runs, res.Steps, kind, res.Completed, res.Failed, res.FirstError)
	fmt.Fprintf(cio.stdout, "  %.1fs: %.1f runs/s, %.0f steps/s; step latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; run p50 %.1fs, p99 %.1fs; start to result p50 %.1fs, p99 %.1fs\n",
		res.Seconds, res.RunsPerSecond, res.StepsPerSecond, res.StepP50MS, res.StepP99MS, res.StepMaxMS, res.RunP50Seconds, res.RunP99Seconds, res.EndToEndP50Seconds, res.EndToEndP99Seconds)
	verdict := "met"
	if !res.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(cio.stdout, "  worker peak RSS %.1f MiB (goal <= %d MiB: %s)\n", float64(res.WorkerPeakRSSBytes)/(1<<20), res.GoalRSSBytes>>20, verdict)
	return nil
}

var slackBlock = regexp.MustCompile(`(?m)^slack:\n(?:[ #].*\n)*`)

// writeScaleRunbooks writes a folder with the scale runbook (steps core.echo steps, lock none so
// every run has an id of its own; local or activity tasks) and the lab environment of src
// without its Slack channel (no posts: this measures the engine, not Slack; core.echo calls no
// system of the environment).
func writeScaleRunbooks(src string, steps int, local bool) (string, error) {
	dir, err := os.MkdirTemp("", "switchyard-scale-")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		return dir, err
	}
	env, err := os.ReadFile(filepath.Join(src, "environments", "lab.yaml"))
	if err != nil {
		return dir, fmt.Errorf("the lab environment: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), slackBlock.ReplaceAll(env, nil), 0o644); err != nil {
		return dir, err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "schema: switchyard/v1\nname: scale\ndescription: %d core.echo steps.\nlock: none\nsteps:\n", steps)
	for i := range steps {
		fmt.Fprintf(&sb, "  - id: s%d\n    action: core.echo\n    with: {message: \"step %d\"}\n    local: %t\n", i, i, local)
	}
	return dir, os.WriteFile(filepath.Join(dir, "scale.yaml"), []byte(sb.String()), 0o644)
}

// buildGoProgram builds the package pkg of this module into a temporary folder.
func buildGoProgram(ctx context.Context, pkg, name string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "switchyard-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	bin := filepath.Join(dir, name)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, cleanup, nil
}

func benchScale(ctx context.Context, o benchScaleOptions, logw io.Writer) (*BenchScaleResult, error) {
	quiet := slog.New(slog.DiscardHandler)
	dir, err := writeScaleRunbooks(o.runbooks, o.steps, o.local)
	defer func() { _ = os.RemoveAll(dir) }()
	if err != nil {
		return nil, err
	}
	bin := o.workerBin
	if bin == "" {
		fmt.Fprintln(logw, "building the worker (go build ./worker)")
		b, cleanup, err := buildGoProgram(ctx, "github.com/switchyard-dr/switchyard/worker", "worker")
		if err != nil {
			return nil, fmt.Errorf("build the worker (or pass --worker-bin): %w", err)
		}
		defer cleanup()
		bin = b
	}
	port, err := devserver.FreePort()
	if err != nil {
		return nil, err
	}
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	srv, err := devserver.Start(ctx, devserver.Options{IP: "127.0.0.1", Port: port, UIPort: -1, Namespaces: []string{"default"}, SearchAttributes: sa, Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("start the embedded server: %w", err)
	}
	defer func() { _ = srv.Stop() }()
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendHostPort(), Namespace: "default", Logger: nopSDKLogger{}})
	if err != nil {
		return nil, err
	}
	defer c.Close()

	home, err := os.MkdirTemp("", "switchyard-scale-home-") // no temporal.toml of whoever runs the bench
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(home) }()
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	worker := exec.CommandContext(wctx, bin)
	worker.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + os.TempDir(), "SWITCHYARD_LOG_LEVEL=warn",
		"TEMPORAL_ADDRESS=" + srv.FrontendHostPort(), "TEMPORAL_NAMESPACE=default", "SWITCHYARD_RUNBOOKS=" + dir}
	worker.Stdout, worker.Stderr = logw, logw
	if err := worker.Start(); err != nil {
		return nil, fmt.Errorf("start the worker: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = worker.Wait(); close(exited) }()
	defer func() { stopWorker(); <-exited }()
	pid := strconv.Itoa(worker.Process.Pid)

	// One run first, so the worker is polling before the clock starts.
	if run, err := scaleStart(ctx, c, "bench-scale/warmup"); err != nil {
		return nil, fmt.Errorf("warm-up run: %w", err)
	} else if err := run.Get(ctx, nil); err != nil {
		return nil, fmt.Errorf("warm-up run: %w", err)
	}
	fmt.Fprintf(logw, "starting %d runs of %d steps\n", o.runs, o.steps)
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	results := make([]*workflows.Result, o.runs)
	errs := make([]error, o.runs)
	e2e := make([]time.Duration, o.runs)
	ids := make(chan int)
	var starters, waiters sync.WaitGroup
	start := time.Now()
	stamp := start.UnixNano()
	// --starters goroutines send the start requests; each started run is then waited for in a
	// goroutine of its own, so every run is in flight at once.
	for range o.starters {
		starters.Go(func() {
			for i := range ids {
				sent := time.Now()
				run, err := scaleStart(rctx, c, fmt.Sprintf("bench-scale/%d/%d", stamp, i))
				if err != nil {
					errs[i] = err
					continue
				}
				waiters.Go(func() {
					var res workflows.Result
					if err := run.Get(rctx, &res); err != nil {
						errs[i] = fmt.Errorf("run %s: %w", run.GetID(), err)
						return
					}
					results[i], e2e[i] = &res, time.Since(sent)
				})
			}
		})
	}
	for i := range o.runs {
		ids <- i
	}
	close(ids)
	starters.Wait()
	fmt.Fprintf(logw, "%d runs started in %.1fs\n", o.runs, time.Since(start).Seconds())
	waiters.Wait()
	elapsed := time.Since(start)
	select {
	case <-exited:
		return nil, fmt.Errorf("the worker exited during the bench (%s)", worker.ProcessState)
	default:
	}
	peak := benchrss.PeakOf(pid)
	res := summarizeScale(results, errs, e2e, o.steps, elapsed)
	res.Local = o.local
	res.WorkerPeakRSSBytes, res.GoalRSSBytes = peak, benchScaleGoalRSS
	res.GoalMet = res.Completed == o.runs && peak > 0 && peak <= benchScaleGoalRSS
	return res, nil
}

// scaleStart starts one run of the scale runbook.
func scaleStart(ctx context.Context, c client.Client, id string) (client.WorkflowRun, error) {
	in := workflows.RunInput{Runbook: "scale", Environment: "lab", RequestedBy: "bench"}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.RunbookWorkflowType, in)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	return run, nil
}

// summarizeScale computes the scale figures from the runs' results (nil for a run that failed,
// with its error in errs), each run's time from start request to result (e2e) and the time they
// all took.
func summarizeScale(results []*workflows.Result, errs []error, e2e []time.Duration, steps int, elapsed time.Duration) *BenchScaleResult {
	res := &BenchScaleResult{Runs: len(results), Steps: steps, Seconds: elapsed.Seconds()}
	var lat, runs, ends []float64
	for i, r := range results {
		if r == nil {
			res.Failed++
			if res.FirstError == "" && errs[i] != nil {
				res.FirstError = errs[i].Error()
			}
			continue
		}
		res.Completed++
		ends = append(ends, e2e[i].Seconds())
		var first, last time.Time
		for _, st := range r.Steps {
			if st.StartedAt == nil || st.EndedAt == nil {
				continue
			}
			lat = append(lat, float64(st.EndedAt.Sub(*st.StartedAt).Microseconds())/1000)
			if first.IsZero() || st.StartedAt.Before(first) {
				first = *st.StartedAt
			}
			if st.EndedAt.After(last) {
				last = *st.EndedAt
			}
		}
		if !first.IsZero() {
			runs = append(runs, last.Sub(first).Seconds())
		}
	}
	sort.Float64s(lat)
	sort.Float64s(runs)
	sort.Float64s(ends)
	res.EndToEndP50Seconds, res.EndToEndP99Seconds = percentile(ends, 50), percentile(ends, 99)
	res.StepP50MS, res.StepP99MS = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		res.StepMaxMS = lat[len(lat)-1]
	}
	res.RunP50Seconds, res.RunP99Seconds = percentile(runs, 50), percentile(runs, 99)
	res.RunsPerSecond = ratio(float64(res.Completed), res.Seconds)
	res.StepsPerSecond = ratio(float64(res.Completed*steps), res.Seconds)
	return res
}
