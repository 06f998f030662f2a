//go:build !nodev

package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// benchmarks are the measurements `starter bench` can run on the lab. They print figures, never
// pass or fail on time: timing belongs in benchmarks, not in tests.
func benchmarks() map[string]func(context.Context, []string, cmdIO) error {
	return map[string]func(context.Context, []string, cmdIO) error{
		"backfill": runBenchBackfill,
		"failover": runBenchFailover,
		"intake":   runBenchIntake,
		"alarms":   runBenchAlarms,
		"rto":      runBenchRTO,
		"scale":    runBenchScale,
	}
}

func runBench(ctx context.Context, args []string, cio cmdIO) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: starter bench NAME [flags] (names: %s)", sortedKeys(benchmarks()))
	}
	b, ok := benchmarks()[args[0]]
	if !ok {
		return fmt.Errorf("bench: unknown benchmark %q (names: %s)", args[0], sortedKeys(benchmarks()))
	}
	return b(ctx, args[1:], cio)
}

func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
