package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/workflows"
)

// BenchmarkStepOverhead measures the interpreter's cost per sequential step on the embedded
// server: a runbook of N core.echo steps against one of a single step, on a dedicated task queue.
// Report: go test ./starter -run ^$ -bench StepOverhead -benchtime 5x
func BenchmarkStepOverhead(b *testing.B) {
	const n = 20
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		b.Fatal(err)
	}
	lab, err := os.ReadFile("../runbooks/environments/lab.yaml")
	if err != nil {
		b.Fatal(err)
	}
	// Without a Slack channel no step updates are posted, so this measures the interpreter alone.
	lab = []byte(strings.Replace(string(lab), "slack:\n  channel: \"#switchyard-lab\"\n", "", 1))
	if err := os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), lab, 0o644); err != nil {
		b.Fatal(err)
	}
	write := func(name string, steps int) {
		var sb strings.Builder
		fmt.Fprintf(&sb, "schema: switchyard/v1\nname: %s\nlock: none\nsteps:\n", name)
		for i := 0; i < steps; i++ {
			fmt.Fprintf(&sb, "  - id: s%d\n    action: core.echo\n    with: {message: \"step %d\"}\n", i, i)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("one", 1)
	write("many", n)

	queue := "bench-step-overhead"
	w := worker.New(shared.client, queue, worker.Options{})
	workflows.Register(w)
	activities.RegisterAll(w, activities.Options{RunbookDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	runOnce := func(rb string, i int) time.Duration {
		start := time.Now()
		wr, err := shared.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench/%s/%d/%d", rb, i, time.Now().UnixNano()), TaskQueue: queue,
		}, workflows.RunbookWorkflowType, workflows.RunInput{Runbook: rb, Environment: "lab"})
		if err != nil {
			b.Fatal(err)
		}
		if err := wr.Get(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	runOnce("one", -1) // warm up caches and the worker's sticky queue
	var one, many time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one += runOnce("one", i)
		many += runOnce("many", i)
	}
	b.StopTimer()
	perStep := (many - one) / time.Duration(b.N*(n-1))
	b.ReportMetric(float64(perStep.Microseconds())/1000, "ms/step")
	b.ReportMetric(float64((one/time.Duration(b.N)).Microseconds())/1000, "ms/run-of-1")
}
