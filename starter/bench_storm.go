//go:build !nodev

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
	"github.com/switchyard-dr/switchyard/workflows"
)

// stormSpec describes the alarm storm of `starter bench alarms`: events alarm events over the
// environments, each with the 4 alarms its rules act on (pipeline-not-ingesting and
// collection-unreachable in both Regions) and quietAlarms alarms no rule matches; every state
// change delivered to the queue of each of regions.
type stormSpec struct {
	events       int
	environments []string
	quietAlarms  int
	regions      []string
	seed         uint64
	// at is when the last state change happened; the others precede it a millisecond apart.
	at time.Time
}

// stormEvent is one message of the storm.
type stormEvent struct {
	queue string // the Region whose alarm queue it is sent to
	body  string
	env   string
	alarm string
	state string
	at    time.Time
	copy  int // which delivery of its state change (0 .. len(regions)-1)
}

// stormEvents builds the storm: not one event repeated, but state changes of many alarms, each
// alarm flapping OK -> ALARM -> OK ..., the first change of each environment its primary
// pipeline-not-ingesting going to ALARM (so each environment's rules start exactly one run),
// every change delivered to every queue of spec.regions, the copies interleaved with other
// changes as two Regions' queues deliver them. Deterministic for a spec.
func stormEvents(spec stormSpec) []stormEvent {
	q := max(len(spec.regions), 1)
	changes := (spec.events + q - 1) / q
	rng := rand.New(rand.NewPCG(spec.seed, 0x5707))
	type alarm struct{ env, name, region string }
	var alarms []alarm
	for _, env := range spec.environments {
		for _, r := range spec.regions {
			alarms = append(alarms, alarm{env, env + "-" + r + "-pipeline-not-ingesting", r}, alarm{env, env + "-" + r + "-collection-unreachable", r})
		}
		for i := range spec.quietAlarms {
			alarms = append(alarms, alarm{env, fmt.Sprintf("%s-quiet-%03d", env, i), spec.regions[i%len(spec.regions)]})
		}
	}
	state := map[string]string{}
	type keyed struct {
		key float64
		e   stormEvent
	}
	var out []keyed
	for k := range changes {
		a := alarms[rng.IntN(len(alarms))]
		if k < len(spec.environments) {
			env := spec.environments[k]
			a = alarm{env, env + "-" + spec.regions[0] + "-pipeline-not-ingesting", spec.regions[0]}
		}
		prev := state[a.name]
		if prev == "" {
			prev = "OK"
		}
		next := "ALARM"
		if prev == "ALARM" {
			next = "OK"
		}
		state[a.name] = next
		at := spec.at.Add(-time.Duration(changes-1-k) * time.Millisecond)
		body := string(lab.NewAlarmEvent(fmt.Sprintf("storm-%d", k), lab.AccountID, a.region, a.name, "AWS/OSIS",
			lab.SubPipeline+".opensearch.documentsSuccess.count", map[string]string{"PipelineName": a.name}, prev, next, "Threshold Crossed: bench storm", at).JSON())
		// The alarm's own Region's queue first, then the others', each copy a few changes later.
		queues := append([]string{a.region}, without(spec.regions, a.region)...)
		for c, r := range queues {
			if len(out) == spec.events {
				break
			}
			key := float64(k)
			if c > 0 {
				key += rng.Float64() * 8
			}
			out = append(out, keyed{key, stormEvent{queue: r, body: body, env: a.env, alarm: a.name, state: next, at: at, copy: c}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	events := make([]stormEvent, len(out))
	for i, o := range out {
		events[i] = o.e
	}
	return events
}

func without(xs []string, x string) []string {
	var out []string
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// stormSummary counts what a storm holds.
type stormSummary struct {
	changes, alarms int
	// copies is the number of deliveries of each state change (by alarm|state|time).
	copies map[string]int
}

func summarizeStorm(events []stormEvent) stormSummary {
	s := stormSummary{copies: map[string]int{}}
	alarms := map[string]bool{}
	for _, e := range events {
		s.copies[e.alarm+"|"+e.state+"|"+e.at.Format(time.RFC3339Nano)]++
		alarms[e.alarm] = true
	}
	s.changes, s.alarms = len(s.copies), len(alarms)
	return s
}

// stormRunsAsExpected says whether each storm environment got exactly one run: one DR operation
// per environment (the lock id), and the rules' cooldown after it.
func stormRunsAsExpected(perEnv map[string]int64, envs []string) bool {
	if len(perEnv) != len(envs) {
		return false
	}
	for _, e := range envs {
		if perEnv[e] != 1 {
			return false
		}
	}
	return true
}

// visibleRuns counts, per environment, the runs the Temporal server's visibility lists under the
// environment's operation id that started at or after since. Visibility is eventually
// consistent: it reads until two reads a second apart agree and every environment has a run, or
// timeout passes (then it returns the last read).
func visibleRuns(ctx context.Context, c client.Client, envs []string, since time.Time, timeout time.Duration) (map[string]int64, error) {
	read := func() (map[string]int64, error) {
		out := map[string]int64{}
		for _, env := range envs {
			out[env] = 0
			var token []byte
			for {
				resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
					Query:         fmt.Sprintf("WorkflowId = '%s' AND StartTime >= '%s'", workflows.OperationID(env), since.UTC().Format(time.RFC3339Nano)),
					NextPageToken: token,
				})
				if err != nil {
					return nil, fmt.Errorf("list the runs of %s: %w", env, err)
				}
				out[env] += int64(len(resp.GetExecutions()))
				if token = resp.GetNextPageToken(); len(token) == 0 {
					break
				}
			}
		}
		return out, nil
	}
	deadline := time.Now().Add(timeout)
	prev, err := read()
	if err != nil {
		return nil, err
	}
	for time.Now().Before(deadline) {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil, err
		}
		cur, err := read()
		if err != nil {
			return nil, err
		}
		same, all := true, true
		for _, env := range envs {
			same = same && cur[env] == prev[env]
			all = all && cur[env] > 0
		}
		if same && all {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

var (
	envNameLine  = regexp.MustCompile(`(?m)^name: .*$`)
	envRulesLine = regexp.MustCompile(`(?m)^environment: lab$`)
)

// writeStormEnvironments adds to dir, for each name, an environment that is the lab's under
// another name with its alarms renamed (NAME-<region>-...), and the lab's trigger rules (with
// their cooldown) for it: several environments whose alarms the storm mixes.
func writeStormEnvironments(src, dir string, env *runbook.Environment, names []string) error {
	envYAML, err := yaml.Marshal(env)
	if err != nil {
		return fmt.Errorf("lab environment: %w", err)
	}
	rules, err := os.ReadFile(filepath.Join(src, triggers.Dir, "lab.yaml"))
	if err != nil {
		return fmt.Errorf("lab trigger rules: %w", err)
	}
	for _, name := range names {
		e := envNameLine.ReplaceAllString(string(envYAML), "name: "+name)
		e = strings.ReplaceAll(e, "lab-us-", name+"-us-")
		if err := os.WriteFile(filepath.Join(dir, "environments", name+".yaml"), []byte(e), 0o644); err != nil {
			return err
		}
		r := envRulesLine.ReplaceAllString(string(rules), "environment: "+name)
		r = strings.ReplaceAll(r, "alarm: lab-*-", "alarm: "+name+"-*-")
		r = strings.ReplaceAll(r, "alarm_regexp: lab-(", "alarm_regexp: "+name+"-(")
		if err := os.WriteFile(filepath.Join(dir, triggers.Dir, name+".yaml"), []byte(r), 0o644); err != nil {
			return err
		}
	}
	set, err := triggers.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("storm trigger rules: %w", err)
	}
	for _, name := range names {
		f := set.File(name)
		if f == nil || len(f.Rules) == 0 || f.CooldownOrDefault() == 0 {
			return fmt.Errorf("storm trigger rules of %s: missing, empty or without a cooldown", name)
		}
	}
	return nil
}
