// Command benchengine runs one backfill verification pass for `starter bench backfill`, in a
// process of its own, so that the peak resident memory it reports is the engine's (with the Go
// runtime and the OpenSearch client it needs) and nothing else's: not the twins that hold the
// documents (another process), not the embedded Temporal server the starter binary links.
//
// It reads one JSON request on stdin and writes one JSON answer on stdout. It is an internal
// tool of the benchmark, which builds it (`go build ./starter/benchengine`) or takes --engine-bin.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/benchproto"
	"github.com/switchyard-dr/switchyard/internal/benchrss"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchengine:", err)
		os.Exit(1)
	}
}

func run() error {
	var req benchproto.Request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("read the request: %w", err)
	}
	fields := &backfill.FieldCache{}
	src, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "source", Endpoint: req.Source, Service: "aoss", Fields: fields})
	if err != nil {
		return err
	}
	dst, err := backfill.NewOpenSearch(backfill.OpenSearchOptions{Name: "target", Endpoint: req.Target, Service: "aoss", Fields: fields})
	if err != nil {
		return err
	}
	opts := backfill.Options{Scope: req.Scope, From: req.From, To: req.To, PageSize: req.PageSize, SampleSize: req.SampleSize, DupLists: req.DupLists}
	pass := backfill.Compare
	switch req.Method {
	case "engine":
	case "baseline":
		pass = backfill.Baseline
	default:
		return fmt.Errorf("unknown method %q (engine or baseline)", req.Method)
	}
	debug.FreeOSMemory()
	var a benchproto.Answer
	a.IdleRSSBytes = benchrss.Current()
	start := time.Now()
	rep, err := pass(context.Background(), src, dst, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", req.Method, err)
	}
	a.Seconds = time.Since(start).Seconds()
	a.PeakRSSBytes = benchrss.Peak()
	a.Report = rep
	return json.NewEncoder(os.Stdout).Encode(a)
}
