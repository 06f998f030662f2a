//go:build !nodev

package main

import (
	"bufio"
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
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// benchTwinsEnv marks the child process that seeds and serves the two OpenSearch twins. The
// benchmark measures the engine's memory, so the twins (which hold every document) run in a
// separate process and the engine's process holds only what the engine itself allocates.
const benchTwinsEnv = "SWITCHYARD_BENCH_BACKFILL_TWINS"

// benchBackfillOptions are the flags of `starter bench backfill`.
type benchBackfillOptions struct {
	docs, missing, duplicates int
	span                      time.Duration
	seed                      uint64
	pageSize                  int
	inProcess, skipBaseline   bool
	outputOptions
}

// benchBackfillResult is what the benchmark prints.
type benchBackfillResult struct {
	Docs             int     `json:"docs"`
	Missing          int     `json:"missing"`
	Duplicates       int     `json:"duplicates"`
	FoundMissing     int     `json:"found_missing"`
	FoundDuplicates  int64   `json:"found_duplicates"`
	Requests         int64   `json:"requests"`
	BaselineRequests int64   `json:"baseline_requests"`
	Seconds          float64 `json:"seconds"`
	BaselineSeconds  float64 `json:"baseline_seconds"`
	// RSSBytes is the engine's peak resident memory: the most the process's RSS grew above its
	// idle level while the engine ran (sampled every few milliseconds). The starter binary links
	// the embedded Temporal server, whose package initialisation alone holds about 115 MiB, so its
	// whole-process peak (ProcessPeakRSSBytes) says nothing about the engine; the worker binary
	// that runs the engine idles at about 24 MiB.
	RSSBytes            int64 `json:"rss_bytes"`
	ProcessPeakRSSBytes int64 `json:"process_peak_rss_bytes"`
	// BaselineFoundMissing checks the baseline found the same loss.
	BaselineFoundMissing int     `json:"baseline_found_missing"`
	RequestRatio         float64 `json:"request_ratio"`
	TimeRatio            float64 `json:"time_ratio"`
	SeedSeconds          float64 `json:"seed_seconds"`
	Span                 string  `json:"span"`
	Levels               string  `json:"levels"`
}

// runBenchBackfill compares the backfill engine with the naive full id scan over the same data:
// two OpenSearch Serverless twins with --docs events each, the target missing --missing random
// events and holding --duplicates events twice.
func runBenchBackfill(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench backfill", cio)
	var o benchBackfillOptions
	fs.IntVar(&o.docs, "docs", 1_000_000, "events per Region")
	fs.IntVar(&o.missing, "missing", 1000, "events the target lacks, at random times")
	fs.IntVar(&o.duplicates, "duplicates", 500, "events the target holds twice")
	fs.DurationVar(&o.span, "span", 24*time.Hour, "time the events are spread over")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the injected differences")
	fs.IntVar(&o.pageSize, "page-size", 10000, "hits per id request, for both methods")
	fs.BoolVar(&o.inProcess, "in-process", false, "serve the twins in this process (rss_bytes then includes them)")
	fs.BoolVar(&o.skipBaseline, "skip-baseline", false, "run only the engine")
	o.outputOptions.register(fs, "print the result as JSON")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.docs <= 0 || o.missing < 0 || o.duplicates < 0 || o.missing+o.duplicates > o.docs {
		return fmt.Errorf("bench backfill: want --docs > 0 and --missing + --duplicates <= --docs")
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
	res, err := measureBackfill(ctx, o, urls)
	if err != nil {
		return err
	}
	res.SeedSeconds = urls.SeedSeconds
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	fmt.Fprintf(cio.stdout, "docs %d per side over %s, %d missing, %d duplicated (seeded in %.1fs)\n", res.Docs, res.Span, res.Missing, res.Duplicates, res.SeedSeconds)
	fmt.Fprintf(cio.stdout, "engine:    %6d requests %8.2fs  found %d/%d missing, %d duplicated ids, RSS +%.1f MiB over idle (process peak %.1f MiB; levels %s)\n",
		res.Requests, res.Seconds, res.FoundMissing, res.Missing, res.FoundDuplicates, float64(res.RSSBytes)/(1<<20), float64(res.ProcessPeakRSSBytes)/(1<<20), res.Levels)
	if !o.skipBaseline {
		fmt.Fprintf(cio.stdout, "full scan: %6d requests %8.2fs  found %d/%d missing\n", res.BaselineRequests, res.BaselineSeconds, res.BaselineFoundMissing, res.Missing)
		fmt.Fprintf(cio.stdout, "engine / full scan: %.2f%% of the requests, %.2f%% of the time\n", 100*res.RequestRatio, 100*res.TimeRatio)
	}
	return nil
}

// benchData is the deterministic data set: which events the target lacks and which it doubles.
type benchData struct {
	start      time.Time
	step       time.Duration
	missing    map[int]bool
	duplicated map[int]bool
}

func newBenchData(o benchBackfillOptions) *benchData {
	d := &benchData{start: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), step: o.span / time.Duration(o.docs),
		missing: map[int]bool{}, duplicated: map[int]bool{}}
	rng := rand.New(rand.NewPCG(o.seed, 0xbacf111))
	for len(d.missing) < o.missing {
		d.missing[rng.IntN(o.docs)] = true
	}
	for len(d.duplicated) < o.duplicates {
		if i := rng.IntN(o.docs); !d.missing[i] {
			d.duplicated[i] = true
		}
	}
	return d
}

func (d *benchData) eventID(i int) string {
	return lab.NewEvent(uint64(i), d.start, "us-west-2", "bench", true).EventID
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
		at := d.start.Add(time.Duration(i) * d.step)
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

// measureBackfill runs the engine, then the full scan, over the same twins.
func measureBackfill(ctx context.Context, o benchBackfillOptions, urls benchTwinURLs) (*benchBackfillResult, error) {
	d := newBenchData(o)
	opts := backfill.Options{
		Scope: backfill.Scope{Pattern: "application-logs-*", TimeField: "timestamp", IDField: "event_id"},
		From:  d.start, To: d.start.Add(o.span), PageSize: o.pageSize, SampleSize: max(100, o.missing),
	}
	// Each method gets fresh sides, so each pays its own discovery of the id field's mapping.
	sides := func() (backfill.Side, backfill.Side, error) {
		fields := &backfill.FieldCache{}
		src, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "source", Endpoint: urls.Source, Service: "aoss", Fields: fields})
		if err != nil {
			return nil, nil, err
		}
		dst, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "target", Endpoint: urls.Target, Service: "aoss", Fields: fields})
		return src, dst, err
	}
	res := &benchBackfillResult{Docs: o.docs, Missing: o.missing, Duplicates: o.duplicates, Span: o.span.String()}
	injected := map[string]bool{}
	for i := range d.missing {
		injected[d.eventID(i)] = true
	}
	found := func(l backfill.IDList) int {
		n := 0
		for _, s := range l.Sample {
			if injected[s.ID] {
				n++
			}
		}
		return n
	}

	src, dst, err := sides()
	if err != nil {
		return nil, err
	}
	debug.FreeOSMemory()
	idle := benchCurrentRSS()
	stopSampling := benchSampleRSS()
	start := time.Now()
	rep, err := backfill.Compare(ctx, src, dst, opts)
	peak := stopSampling()
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	res.Seconds = time.Since(start).Seconds()
	res.RSSBytes = max(peak-idle, 0)
	res.ProcessPeakRSSBytes = benchPeakRSS()
	res.Requests = rep.Requests.Total()
	res.FoundMissing = found(rep.Missing)
	res.FoundDuplicates = rep.TargetDuplicates.IDs
	var levels []string
	for _, l := range rep.Levels {
		levels = append(levels, fmt.Sprintf("%s:%d/%d", l.Interval, l.Divergent, l.Buckets))
	}
	res.Levels = strings.Join(levels, " ")
	if o.skipBaseline {
		return res, nil
	}
	src, dst, err = sides()
	if err != nil {
		return nil, err
	}
	start = time.Now()
	base, err := backfill.Baseline(ctx, src, dst, opts)
	if err != nil {
		return nil, fmt.Errorf("full scan: %w", err)
	}
	res.BaselineSeconds = time.Since(start).Seconds()
	res.BaselineRequests = base.Requests.Total()
	res.BaselineFoundMissing = found(base.Missing)
	if res.BaselineRequests > 0 {
		res.RequestRatio = float64(res.Requests) / float64(res.BaselineRequests)
	}
	if res.BaselineSeconds > 0 {
		res.TimeRatio = res.Seconds / res.BaselineSeconds
	}
	return res, nil
}

// benchCurrentRSS is the process's resident set now, or 0 where /proc is not available.
func benchCurrentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// benchSampleRSS records the largest resident set until the returned function is called.
func benchSampleRSS() func() int64 {
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		peak := benchCurrentRSS()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- max(peak, benchCurrentRSS())
				return
			case <-t.C:
				peak = max(peak, benchCurrentRSS())
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}

// benchPeakRSS is the process's peak resident set (VmHWM), or 0 where /proc is not available.
func benchPeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}
