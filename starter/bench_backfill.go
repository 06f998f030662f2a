//go:build !nodev

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/benchproto"
	"github.com/switchyard-dr/switchyard/internal/benchrss"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// benchTwinsEnv marks the child process that seeds and serves the two OpenSearch twins. The
// benchmark measures the engine's memory, so the twins (which hold every document) run in a
// separate process, and the engine in a third (starter/benchengine), whose whole resident set is
// then the engine's own.
const benchTwinsEnv = "SWITCHYARD_BENCH_BACKFILL_TWINS"

// Distributions of `starter bench backfill --distribution`.
const (
	// distUniform spreads the events evenly over the span, one per timestamp, the missing ones
	// at random.
	distUniform = "uniform"
	// distHard is the data that breaks a naive bucketing: bursts of benchBurst events in one
	// millisecond; half the missing events clustered in one minute and the rest spread thin
	// across the span; a span that crosses midnight, so the daily index rolls over, with a burst
	// in the last millisecond of the day and one in the first of the next.
	distHard = "hard"
	// benchBurst is the events per millisecond of the hard distribution's bursts.
	benchBurst = 250
)

// benchBackfillOptions are the flags of `starter bench backfill`.
type benchBackfillOptions struct {
	docs, missing, duplicates int
	span                      time.Duration
	seed                      uint64
	pageSize                  int
	distribution              string
	inProcess, skipBaseline   bool
	engineInProcess, dupLists bool
	engineBin                 string
	outputOptions
}

// benchBackfillResult is what the benchmark prints.
type benchBackfillResult struct {
	Distribution string `json:"distribution"`
	// DupLists says the engine ran with backfill.Options.DupLists.
	DupLists   bool `json:"dup_lists"`
	Docs       int  `json:"docs"`
	Missing    int  `json:"missing"`
	Duplicates int  `json:"duplicates"`
	// Engine and Baseline score each method's report against the ground truth.
	Engine   backfillScore  `json:"engine"`
	Baseline *backfillScore `json:"baseline,omitempty"`
	// FoundMissing and FoundDuplicates are the engine's totals (Engine has the detail).
	FoundMissing     int64   `json:"found_missing"`
	FoundDuplicates  int64   `json:"found_duplicates"`
	Requests         int64   `json:"requests"`
	BaselineRequests int64   `json:"baseline_requests"`
	Seconds          float64 `json:"seconds"`
	BaselineSeconds  float64 `json:"baseline_seconds"`
	// EngineProcess says where the engine ran: "own process" (starter/benchengine, whose
	// figures below are the whole process's) or "this process".
	EngineProcess string `json:"engine_process"`
	// RSSBytes is the engine's peak resident memory: in its own process, that process's peak
	// (VmHWM) — the Go runtime, the OpenSearch client and the engine, nothing else; in this
	// process, the most the RSS grew above its idle level while the engine ran (the starter
	// binary idles at about 115 MiB, the embedded Temporal server's package initialisation).
	RSSBytes int64 `json:"rss_bytes"`
	// IdleRSSBytes is the engine process's resident set just before the pass (after a GC).
	IdleRSSBytes int64 `json:"idle_rss_bytes"`
	// BaselineRSSBytes is the full scan's peak, measured the same way.
	BaselineRSSBytes int64   `json:"baseline_rss_bytes"`
	RequestRatio     float64 `json:"request_ratio"`
	TimeRatio        float64 `json:"time_ratio"`
	SeedSeconds      float64 `json:"seed_seconds"`
	Span             string  `json:"span"`
	Levels           string  `json:"levels"`
}

// runBenchBackfill compares the backfill engine with the naive full id scan over the same data:
// two OpenSearch Serverless twins with --docs events each, the target missing --missing events
// and holding --duplicates events twice, and checks both against that ground truth.
func runBenchBackfill(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench backfill", cio)
	var o benchBackfillOptions
	fs.IntVar(&o.docs, "docs", 1_000_000, "events per Region")
	fs.IntVar(&o.missing, "missing", 1000, "events the target lacks")
	fs.IntVar(&o.duplicates, "duplicates", 500, "events the target holds twice")
	fs.DurationVar(&o.span, "span", 24*time.Hour, "time the events are spread over")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the injected differences")
	fs.IntVar(&o.pageSize, "page-size", 10000, "hits per id request, for both methods")
	fs.StringVar(&o.distribution, "distribution", distUniform, "uniform (one event per timestamp, missing at random) or hard (bursts per millisecond, missing clustered and thin, midnight rollover)")
	fs.BoolVar(&o.inProcess, "in-process", false, "serve the twins in this process")
	fs.BoolVar(&o.engineInProcess, "engine-in-process", false, "run the engine and the full scan in this process, not in processes of their own (rss_bytes is then the growth over idle)")
	fs.StringVar(&o.engineBin, "engine-bin", "", "the engine's program (go build ./starter/benchengine); empty: build it")
	fs.BoolVar(&o.skipBaseline, "skip-baseline", false, "run only the engine")
	fs.BoolVar(&o.dupLists, "dup-lists", false, "run the engine with backfill.Options.DupLists (per-bucket duplicate lists; the verification workflow does not set it)")
	o.outputOptions.register(fs, "print the result as JSON")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.docs <= 0 || o.missing < 0 || o.duplicates < 0 || o.missing+o.duplicates > o.docs {
		return fmt.Errorf("bench backfill: want --docs > 0 and --missing + --duplicates <= --docs")
	}
	if o.distribution != distUniform && o.distribution != distHard {
		return fmt.Errorf("bench backfill: --distribution %q: want %s or %s", o.distribution, distUniform, distHard)
	}
	if cio.getenv(benchTwinsEnv) != "" {
		return serveBenchTwins(ctx, o, cio)
	}
	var urls benchTwinURLs
	if o.inProcess {
		twins, err := startBenchTwins(o)
		if err != nil {
			return err
		}
		defer twins.close()
		urls = twins.urls
	} else {
		child, u, err := spawnBenchTwins(ctx, cio)
		if err != nil {
			return err
		}
		defer child.stop()
		urls = u
	}
	res, err := measureBackfill(ctx, o, urls, cio.stderr)
	if err != nil {
		return err
	}
	res.SeedSeconds = urls.SeedSeconds
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(cio.stdout, "docs %d per side over %s (%s), %d missing, %d duplicated (seeded in %.1fs)\n", res.Docs, res.Span, res.Distribution, res.Missing, res.Duplicates, res.SeedSeconds)
	fmt.Fprintf(cio.stdout, "engine:    %6d requests %8.2fs  %s; RSS %.1f MiB (%s, idle %.1f MiB; levels %s)\n",
		res.Requests, res.Seconds, res.Engine, mib(res.RSSBytes), res.EngineProcess, mib(res.IdleRSSBytes), res.Levels)
	if res.Baseline != nil {
		fmt.Fprintf(cio.stdout, "full scan: %6d requests %8.2fs  %s; RSS %.1f MiB\n", res.BaselineRequests, res.BaselineSeconds, *res.Baseline, mib(res.BaselineRSSBytes))
		fmt.Fprintf(cio.stdout, "engine / full scan: %.2f%% of the requests, %.2f%% of the time\n", 100*res.RequestRatio, 100*res.TimeRatio)
	}
	return nil
}

// benchData is the deterministic data set: when each event happened, which events the target
// lacks and which it doubles. Both the twins (seeding) and the scorer (ground truth) derive it
// from the options alone.
type benchData struct {
	dist       string
	n          int
	start      time.Time
	span       time.Duration
	step       time.Duration // uniform: between events
	groups     int           // hard: bursts
	gap        time.Duration // hard: between bursts
	midnight   int           // hard: the first burst at or after midnight
	missing    map[int]bool
	duplicated map[int]bool
}

func newBenchData(o benchBackfillOptions) *benchData {
	d := &benchData{dist: o.distribution, n: o.docs, span: o.span, missing: map[int]bool{}, duplicated: map[int]bool{}}
	rng := rand.New(rand.NewPCG(o.seed, 0xbacf111))
	if d.dist == distHard {
		// Noon, so that the span (a day by default) crosses midnight and the index rolls over.
		d.start = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		d.groups = (o.docs + benchBurst - 1) / benchBurst
		d.gap = o.span / time.Duration(d.groups)
		d.midnight = d.groups
		if d.gap > 0 {
			mid := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).Sub(d.start)
			d.midnight = int((mid + d.gap - 1) / d.gap)
		}
		d.pickHardMissing(o.missing)
	} else {
		d.start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		d.step = o.span / time.Duration(o.docs)
		for len(d.missing) < o.missing {
			d.missing[rng.IntN(o.docs)] = true
		}
	}
	for len(d.duplicated) < o.duplicates {
		if i := rng.IntN(o.docs); !d.missing[i] {
			d.duplicated[i] = true
		}
	}
	return d
}

// at is when event i happened. Events are in time order.
func (d *benchData) at(i int) time.Time {
	if d.dist != distHard {
		return d.start.Add(time.Duration(i) * d.step)
	}
	g := i / benchBurst
	switch {
	case g == d.midnight-1 && d.midnight < d.groups:
		// The last burst of the day, in its last millisecond.
		return d.start.Add(time.Duration(d.midnight) * d.gap).Truncate(24 * time.Hour).Add(-time.Millisecond)
	case g == d.midnight:
		return d.start.Add(time.Duration(g) * d.gap).Truncate(24 * time.Hour)
	}
	return d.start.Add(time.Duration(g) * d.gap).Truncate(time.Millisecond)
}

// pickHardMissing chooses m missing events: half of them the first events of the minute a third
// into the span (as many as it holds), the rest spread evenly over the whole span.
func (d *benchData) pickHardMissing(m int) {
	if m == 0 {
		return
	}
	minute := d.at(d.n / 3).Truncate(time.Minute)
	first := d.n / 3
	for first > 0 && !d.at(first-1).Before(minute) {
		first--
	}
	for i := first; i < d.n && len(d.missing) < m/2 && d.at(i).Before(minute.Add(time.Minute)); i++ {
		d.missing[i] = true
	}
	// The thin part stays out of the cluster's minute, so the cluster is exactly half.
	clustered := func(i int) bool { at := d.at(i); return !at.Before(minute) && at.Before(minute.Add(time.Minute)) }
	rest := m - len(d.missing)
	for k := 0; k < rest; k++ {
		i := (k*d.n + d.n/2) / rest
		for tries := 0; tries < d.n && (d.missing[i%d.n] || clustered(i%d.n)); tries++ {
			i++
		}
		d.missing[i%d.n] = true
	}
}

func (d *benchData) eventID(i int) string {
	return lab.NewEvent(uint64(i), d.start, "us-west-2", "bench", true).EventID
}

// truth is the ground truth the reports are scored against, by event id.
func (d *benchData) truth() backfillTruth {
	t := backfillTruth{missing: map[string]bool{}, duplicated: map[string]bool{}}
	for i := range d.missing {
		t.missing[d.eventID(i)] = true
	}
	for i := range d.duplicated {
		t.duplicated[d.eventID(i)] = true
	}
	return t
}

// backfillTruth is what the target lacks and what it holds twice (each exactly twice).
type backfillTruth struct {
	missing, duplicated map[string]bool
}

// backfillScore is a report checked against the ground truth. Totals are the report's exact
// totals, not its sample; the sample is checked id by id, and when it is the whole list (the
// bench asks for a sample as large as the truth) that check covers every reported id.
type backfillScore struct {
	// FoundMissing is the report's total of missing ids; MissingFalse the sampled ones the
	// target does hold (false positives); MissingUnfound the true missing ids not reported,
	// known exactly when the sample is complete (MissingSampleComplete), else the shortfall of the
	// total.
	FoundMissing          int64 `json:"found_missing"`
	MissingFalse          int   `json:"missing_false_positives"`
	MissingUnfound        int64 `json:"missing_unfound"`
	MissingSampleComplete bool  `json:"missing_sample_complete"`
	// Extra is the report's total of ids the target holds and the source lacks: the data has
	// none, so every one is a false positive.
	Extra int64 `json:"extra"`
	// FoundDuplicates is the report's total of ids the target holds more than once, and
	// DuplicateCopies its surplus copies; DuplicatesFalse the sampled ones that are not.
	FoundDuplicates  int64 `json:"found_duplicates"`
	DuplicateCopies  int64 `json:"duplicate_copies"`
	DuplicatesFalse  int   `json:"duplicates_false_positives"`
	DuplicatesMissed int64 `json:"duplicates_missed"`
	// Exact says the report is the truth: every total right, no false positive.
	Exact bool `json:"exact"`
}

func (s backfillScore) String() string {
	verdict := "EXACT"
	if !s.Exact {
		verdict = "NOT exact"
	}
	return fmt.Sprintf("missing %d (false %d, unfound %d), extra %d, duplicates %d ids/%d copies (false %d, missed %d): %s",
		s.FoundMissing, s.MissingFalse, s.MissingUnfound, s.Extra, s.FoundDuplicates, s.DuplicateCopies, s.DuplicatesFalse, s.DuplicatesMissed, verdict)
}

// scoreBackfill checks a report against the truth.
func scoreBackfill(t backfillTruth, rep *backfill.Report) backfillScore {
	s := backfillScore{FoundMissing: rep.Missing.Total, Extra: rep.Extra.Total,
		FoundDuplicates: rep.TargetDuplicates.IDs, DuplicateCopies: rep.TargetDuplicates.ExtraCopies}
	sampled := map[string]bool{}
	for _, m := range rep.Missing.Sample {
		sampled[m.ID] = true
		if !t.missing[m.ID] {
			s.MissingFalse++
		}
	}
	s.MissingSampleComplete = int64(len(sampled)) == rep.Missing.Total
	if s.MissingSampleComplete {
		for id := range t.missing {
			if !sampled[id] {
				s.MissingUnfound++
			}
		}
	} else {
		s.MissingUnfound = max(int64(len(t.missing))-(rep.Missing.Total-int64(s.MissingFalse)), 0)
	}
	for _, d := range rep.TargetDuplicates.Sample {
		if !t.duplicated[d.ID] || d.Count != 2 {
			s.DuplicatesFalse++
		}
	}
	s.DuplicatesMissed = max(int64(len(t.duplicated))-(rep.TargetDuplicates.IDs-int64(s.DuplicatesFalse)), 0)
	want := int64(len(t.duplicated))
	s.Exact = s.FoundMissing == int64(len(t.missing)) && s.MissingFalse == 0 && s.MissingUnfound == 0 && s.Extra == 0 &&
		s.FoundDuplicates == want && s.DuplicateCopies == want && s.DuplicatesFalse == 0 && s.DuplicatesMissed == 0
	return s
}

// benchTwinURLs is what the twin process reports once it serves.
type benchTwinURLs struct {
	Source      string  `json:"source"`
	Target      string  `json:"target"`
	SeedSeconds float64 `json:"seed_seconds"`
}

type benchTwins struct {
	urls    benchTwinURLs
	servers []*http.Server
}

func (t *benchTwins) close() {
	for _, s := range t.servers {
		_ = s.Close()
	}
}

// startBenchTwins seeds two serverless twins through their in-process ingest and serves them.
func startBenchTwins(o benchBackfillOptions) (*benchTwins, error) {
	begin := time.Now()
	d := newBenchData(o)
	logger := slog.New(slog.DiscardHandler)
	src := opensearchtwin.New(opensearchtwin.Options{Name: "bench-source", Mode: opensearchtwin.ModeServerless, Logger: logger})
	dst := opensearchtwin.New(opensearchtwin.Options{Name: "bench-target", Mode: opensearchtwin.ModeServerless, Logger: logger})
	const batch = 50_000
	type pending struct{ src, dst [][]byte }
	byIndex := map[string]*pending{}
	flush := func(index string, p *pending) error {
		if errs := src.IndexDocs(index, p.src); errs != nil {
			return fmt.Errorf("seed source %s: %w", index, errors.Join(errs...))
		}
		if errs := dst.IndexDocs(index, p.dst); errs != nil {
			return fmt.Errorf("seed target %s: %w", index, errors.Join(errs...))
		}
		p.src, p.dst = p.src[:0], p.dst[:0]
		return nil
	}
	for i := range o.docs {
		at := d.at(i)
		b, err := json.Marshal(lab.NewEvent(uint64(i), at, "us-west-2", "bench", true))
		if err != nil {
			return nil, fmt.Errorf("encode event %d: %w", i, err)
		}
		index := "application-logs-" + at.Format("2006.01.02")
		p := byIndex[index]
		if p == nil {
			p = &pending{}
			byIndex[index] = p
		}
		p.src = append(p.src, b)
		if !d.missing[i] {
			p.dst = append(p.dst, b)
		}
		if d.duplicated[i] {
			p.dst = append(p.dst, b)
		}
		if len(p.src) >= batch {
			if err := flush(index, p); err != nil {
				return nil, err
			}
		}
	}
	for index, p := range byIndex {
		if err := flush(index, p); err != nil {
			return nil, err
		}
	}
	t := &benchTwins{}
	for i, c := range []*opensearchtwin.Cluster{src, dst} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.close()
			return nil, fmt.Errorf("listen for the twins: %w", err)
		}
		srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.servers = append(t.servers, srv)
		url := "http://" + ln.Addr().String()
		if i == 0 {
			t.urls.Source = url
		} else {
			t.urls.Target = url
		}
	}
	runtime.GC()
	t.urls.SeedSeconds = time.Since(begin).Seconds()
	return t, nil
}

// serveBenchTwins is the child process: it seeds and serves the twins, reports their addresses on
// stdout and serves until its parent closes stdin.
func serveBenchTwins(ctx context.Context, o benchBackfillOptions, cio cmdIO) error {
	twins, err := startBenchTwins(o)
	if err != nil {
		return err
	}
	defer twins.close()
	if err := json.NewEncoder(cio.stdout).Encode(twins.urls); err != nil {
		return fmt.Errorf("report twin addresses: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

type benchChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (c *benchChild) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// spawnBenchTwins re-runs this command in a child process that serves the twins.
func spawnBenchTwins(ctx context.Context, cio cmdIO) (*benchChild, benchTwinURLs, error) {
	var urls benchTwinURLs
	exe, err := os.Executable()
	if err != nil {
		return nil, urls, fmt.Errorf("find this program to run the twins: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), benchTwinsEnv+"=1")
	cmd.Stderr = cio.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, urls, fmt.Errorf("twin process stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, urls, fmt.Errorf("twin process stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, urls, fmt.Errorf("start the twin process: %w", err)
	}
	child := &benchChild{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		child.stop()
		return nil, urls, fmt.Errorf("twin process ended before serving: %w", err)
	}
	if err := json.Unmarshal(line, &urls); err != nil {
		child.stop()
		return nil, urls, fmt.Errorf("twin process said %q: %w", line, err)
	}
	return child, urls, nil
}

// engineRequest and engineAnswer are starter/benchengine's stdin and stdout.
type (
	engineRequest = benchproto.Request
	engineAnswer  = benchproto.Answer
)

// buildBenchEngine builds starter/benchengine into a temporary folder (go build, with the
// module's build cache) and returns its path and a function that removes it.
func buildBenchEngine(ctx context.Context) (string, func(), error) {
	dir, err := os.MkdirTemp("", "switchyard-benchengine-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	bin := filepath.Join(dir, "benchengine")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/switchyard-dr/switchyard/starter/benchengine").CombinedOutput()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build the engine's program (or pass --engine-bin): go build ./starter/benchengine: %w\n%s", err, out)
	}
	return bin, cleanup, nil
}

// runEngineProcess runs one pass in a process of the engine's program.
func runEngineProcess(ctx context.Context, bin string, req engineRequest, logw io.Writer) (*engineAnswer, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, logw
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s process: %w", req.Method, err)
	}
	var a engineAnswer
	if err := json.Unmarshal(out.Bytes(), &a); err != nil || a.Report == nil {
		return nil, fmt.Errorf("%s process answered %q: %v", req.Method, out.String(), err)
	}
	return &a, nil
}

// runEngineHere runs one pass in this process; the RSS figures are the growth over idle.
func runEngineHere(ctx context.Context, req engineRequest) (*engineAnswer, error) {
	fields := &backfill.FieldCache{}
	src, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "source", Endpoint: req.Source, Service: "aoss", Fields: fields})
	if err != nil {
		return nil, err
	}
	dst, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "target", Endpoint: req.Target, Service: "aoss", Fields: fields})
	if err != nil {
		return nil, err
	}
	pass := backfill.Compare
	if req.Method == "baseline" {
		pass = backfill.Baseline
	}
	debug.FreeOSMemory()
	idle := benchrss.Current()
	stop := benchrss.Sample()
	start := time.Now()
	rep, err := pass(ctx, src, dst, backfill.Options{Scope: req.Scope, From: req.From, To: req.To, PageSize: req.PageSize, SampleSize: req.SampleSize, DupLists: req.DupLists})
	peak := stop()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Method, err)
	}
	return &engineAnswer{Report: rep, Seconds: time.Since(start).Seconds(), IdleRSSBytes: idle, PeakRSSBytes: max(peak-idle, 0)}, nil
}

// measureBackfill runs the engine, then the full scan, over the same twins, each in a process of
// its own unless told otherwise, and scores both against the ground truth.
func measureBackfill(ctx context.Context, o benchBackfillOptions, urls benchTwinURLs, logw io.Writer) (*benchBackfillResult, error) {
	d := newBenchData(o)
	truth := d.truth()
	req := engineRequest{Source: urls.Source, Target: urls.Target,
		Scope: backfill.Scope{Pattern: "application-logs-*", TimeField: "timestamp", IDField: "event_id"},
		From:  d.start, To: d.start.Add(o.span), PageSize: o.pageSize,
		// A sample as large as the truth, so every reported id is checked, not only the totals.
		SampleSize: max(100, o.missing, o.duplicates), DupLists: o.dupLists}
	run := func(method string) (*engineAnswer, error) {
		req.Method = method
		return runEngineHere(ctx, req)
	}
	res := &benchBackfillResult{Distribution: o.distribution, DupLists: o.dupLists, Docs: o.docs, Missing: o.missing, Duplicates: o.duplicates, Span: o.span.String(),
		EngineProcess: "this process"}
	if !o.engineInProcess {
		bin := o.engineBin
		if bin == "" {
			b, cleanup, err := buildBenchEngine(ctx)
			if err != nil {
				return nil, err
			}
			defer cleanup()
			bin = b
		}
		run = func(method string) (*engineAnswer, error) {
			req.Method = method
			return runEngineProcess(ctx, bin, req, logw)
		}
		res.EngineProcess = "own process"
	}
	eng, err := run("engine")
	if err != nil {
		return nil, err
	}
	rep := eng.Report
	res.Engine = scoreBackfill(truth, rep)
	res.Seconds, res.RSSBytes, res.IdleRSSBytes = eng.Seconds, eng.PeakRSSBytes, eng.IdleRSSBytes
	res.Requests = rep.Requests.Total()
	res.FoundMissing, res.FoundDuplicates = rep.Missing.Total, rep.TargetDuplicates.IDs
	var levels []string
	for _, l := range rep.Levels {
		levels = append(levels, fmt.Sprintf("%s:%d/%d", l.Interval, l.Divergent, l.Buckets))
	}
	res.Levels = strings.Join(levels, " ")
	if o.skipBaseline {
		return res, nil
	}
	base, err := run("baseline")
	if err != nil {
		return nil, err
	}
	score := scoreBackfill(truth, base.Report)
	res.Baseline = &score
	res.BaselineSeconds, res.BaselineRSSBytes = base.Seconds, base.PeakRSSBytes
	res.BaselineRequests = base.Report.Requests.Total()
	res.RequestRatio = ratio(float64(res.Requests), float64(res.BaselineRequests))
	res.TimeRatio = ratio(res.Seconds, res.BaselineSeconds)
	return res, nil
}
