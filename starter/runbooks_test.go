package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The shipped runbooks, end to end: the embedded Temporal server, the worker with the real
// activity catalog, and the lab behind real SDK clients. Each test leaves the lab healed with
// writes going to the primary Region.

const (
	east = "us-east-1"
	west = "us-west-2"
)

// runToEnd starts a runbook through the CLI and follows it to its end.
func runToEnd(t *testing.T, name string, params ...string) (*workflows.Result, error) {
	t.Helper()
	return followToEnd(t, startRunbook(t, name, params...))
}

// runToEndIn is runToEnd in another environment than lab.
func runToEndIn(t *testing.T, env, name string, params ...string) (*workflows.Result, error) {
	t.Helper()
	return followToEnd(t, startRunbookIn(t, env, name, params...))
}

// startRunbook starts a runbook on the lab environment through the CLI and returns its workflow
// id.
func startRunbook(t *testing.T, name string, params ...string) string {
	t.Helper()
	return startRunbookIn(t, "lab", name, params...)
}

// startRunbookIn is startRunbook in another environment than lab.
func startRunbookIn(t *testing.T, env, name string, params ...string) string {
	t.Helper()
	args := []string{"run", name, "--env", env, "--as", "tester", "--json"}
	for _, p := range params {
		args = append(args, "--param", p)
	}
	out, err := cli(t, args...)
	require.NoError(t, err, "start %s", name)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	return started.WorkflowID
}

func followToEnd(t *testing.T, id string) (*workflows.Result, error) {
	t.Helper()
	out, runErr := cli(t, "status", id, "--follow", "--json")
	var res workflows.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res), "status output: %s (err %v)", out, runErr)
	return &res, runErr
}

func labWeights(t *testing.T) map[string]int64 {
	t.Helper()
	w, err := sharedLab.Router().Weights(context.Background())
	require.NoError(t, err)
	return w
}

// labShares is where DNS sends writes now, in percent by Region: the weights among the records
// whose health checks pass (the lab's lever, ARC routing controls, works through them).
func labShares(t *testing.T) map[string]int64 {
	t.Helper()
	s, err := sharedLab.Router().Shares(context.Background())
	require.NoError(t, err)
	return s
}

// setLabWeights moves writes without going through a runbook, to set up a test.
func setLabWeights(t *testing.T, weights map[string]int64) {
	t.Helper()
	twin := sharedLab.Twin()
	sets, err := twin.RecordSets(lab.HostedZoneID)
	require.NoError(t, err)
	for _, rs := range sets {
		if w, ok := weights[rs.SetIdentifier]; ok && rs.Weight != nil {
			rs.Weight = &w
			require.NoError(t, twin.UpsertRecordSet(lab.HostedZoneID, rs))
		}
	}
	require.Equal(t, weights, labWeights(t))
}

// resetLab heals every fault, sends writes to the primary and waits until both Regions are
// healthy again: pipelines ACTIVE, replicators RUNNING, no alarm firing.
func resetLab(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	// A run a failed test left behind would hold the environment's lock.
	id := workflows.OperationID("lab")
	if desc, err := shared.client.DescribeWorkflowExecution(ctx, id, ""); err == nil &&
		desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		err := shared.client.TerminateWorkflow(ctx, id, "", "test cleanup")
		var done *serviceerror.NotFound
		if !errors.As(err, &done) { // it may have ended since it was described
			require.NoError(t, err)
		}
	}
	_, err := sharedLab.HealAll(ctx)
	require.NoError(t, err)
	// A test that failed half-way may leave a pipeline stopped, a routing control Off or Route 53's
	// control plane out of us-east-1: later tests start from the lab as it starts.
	sharedLab.SetGlobalControlPlaneInHomeRegion(true)
	require.NoError(t, sharedLab.ResetRoutingControls())
	// The health_check_metric test puts CLOUDWATCH_METRIC checks on the records and takes
	// us-east-1 out with its metric: RECOVERY_CONTROL checks back, every Region taking traffic.
	require.NoError(t, sharedLab.SetRecordHealthChecks(lab.RecordChecksRecoveryControl))
	sharedLab.ResetTakesTraffic()
	// Failovers pre-scale the survivor; tests in other environment names on this lab leave it
	// raised outside the lab environment's record: capacity and its usage history as at start.
	sharedLab.ResetCapacity()
	for _, r := range []string{east, west} {
		if p := sharedLab.Pipeline(r); p.Status() == "STOPPED" {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := p.Start(sctx)
			cancel()
			require.NoError(t, err)
		}
	}
	setLabWeights(t, map[string]int64{east: 100, west: 0})
	waitLong(t, "the lab to be healthy", func() bool {
		for _, r := range []string{east, west} {
			if string(sharedLab.Pipeline(r).Status()) != "ACTIVE" || string(sharedLab.InboundReplicator(r).State()) != "RUNNING" {
				return false
			}
			for _, a := range sharedLab.Twin().Alarms(r) {
				if a.State == "ALARM" {
					return false
				}
			}
		}
		return true
	})
}

func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitLongSaying(t, what, cond, nil)
}

// waitLongSaying is waitLong that, when it times out, also says what describe reports (where a
// run stood), so a CI failure shows where it hung.
func waitLongSaying(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	// Generous: CI runs this package beside others on two cores.
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			if describe != nil {
				t.Fatalf("timed out waiting for %s; %s", what, describe())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFailoverGracefulMovesWritesAndProvesThem(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	before := sharedLab.Producer().Stats().Acked[west]

	res, err := runToEnd(t, "failover", "target="+west, "auto_approve=true", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	for _, s := range []string{"preflight/target_cluster", "preflight/target_pipeline", "preflight/target_collection",
		"preflight/target_alarms", "preflight/target_replicator", "healthy_target", "shift", "verify_writes", "drain"} {
		require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, s).Status, s)
	}
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "forced").Status)
	approve := stepOf(res.Progress, "approve")
	require.Equal(t, "policy", approve.Approval.Votes[0].By, "a green pre-flight with auto_approve is granted by policy")
	require.NotNil(t, res.Measures.RTOSeconds)
	require.Greater(t, *res.Measures.RTOSeconds, 0.0)
	waitLong(t, "writes acknowledged in "+west, func() bool { return sharedLab.Producer().Stats().Acked[west] > before })
	recordHistory(t, workflows.OperationID("lab"), "failover-graceful")

	// Idempotent: failing over to where writes already go changes no record.
	res, err = runToEnd(t, "failover", "target="+west, "auto_approve=true", "verify_window=30s")
	require.NoError(t, err)
	require.Equal(t, false, stepOf(res.Progress, "shift").Result["changed"])
}

func TestFailoverRefusesAnUnhealthyTarget(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	_, err := sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultImpairRegion, Region: west})
	require.NoError(t, err)

	res, err := runToEnd(t, "failover", "target="+west, "auto_approve=true")
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	gate := stepOf(res.Progress, "healthy_target")
	require.Equal(t, workflows.StatusFailed, gate.Status)
	require.Contains(t, gate.Error, "refusing to fail over into us-west-2")
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift").Status, "nothing after the refusal runs")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t), "traffic is untouched")
	recordHistory(t, workflows.OperationID("lab"), "failover-refused")
}

func TestUngracefulFailoverWithThePrimaryDown(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx := context.Background()
	_, err := sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
	calls := observeRegionCalls(t)

	res, err := runToEnd(t, "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
	calls.stop()
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "preflight/target_replicator").Status)
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "drain").Status)
	eastCalls, otherCalls := calls.counts()
	require.Zero(t, eastCalls, "an ungraceful failover calls nothing in the impaired Region")
	require.Positive(t, otherCalls)
	recordHistory(t, workflows.OperationID("lab"), "failover-ungraceful")
}

// regionCalls counts the lab's control-plane calls made into us-east-1 and into other Regions
// (a Route 53 call counts for us-east-1 while its control plane lives there).
type regionCalls struct {
	mu          sync.Mutex
	east, other int
	stop        func()
}

func observeRegionCalls(t *testing.T) *regionCalls {
	c := &regionCalls{}
	c.stop = sharedLab.ObserveControlPlane(func(fc awstwin.FaultContext, _ awstwin.Fault) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if fc.Region == east {
			c.east++
		} else {
			c.other++
		}
	})
	t.Cleanup(c.stop)
	return c
}

// counts returns the calls into us-east-1 and into other Regions so far.
func (c *regionCalls) counts() (east, other int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.east, c.other
}

func TestForcedFailoverPastAFailingPreflightIsRecorded(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx := context.Background()
	_, err := sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
	// The target's pipeline API answers 500: its pre-flight check fails after retries.
	_, err = sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultFail, Region: west, Service: "osis"})
	require.NoError(t, err)

	res, err := runToEnd(t, "failover", "target="+west, "ungraceful=true", "auto_approve=true")
	require.Error(t, err, "without force the failing pre-flight refuses")
	require.Contains(t, stepOf(res.Progress, "healthy_target").Error, "target_pipeline")

	// With force it proceeds, says so, and a person must approve: policy never approves a red
	// pre-flight.
	id := startRunbook(t, "failover", "target="+west, "ungraceful=true", "force=true", "auto_approve=true", "verify_window=30s")
	waitLong(t, "the approval", func() bool {
		return stepOf(progressOf(t, id), "approve").Status == workflows.StatusWaiting
	})
	_, err = cli(t, "approve", id, "--step", "approve", "--as", "bob", "--comment", "primary is gone, secondary pipeline API flaky")
	require.NoError(t, err)
	res, err = followToEnd(t, id)
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.StatusFailed, stepOf(res.Progress, "preflight/target_pipeline").Status)
	forced := stepOf(res.Progress, "forced")
	require.Equal(t, workflows.StatusSucceeded, forced.Status)
	require.Contains(t, forced.Summary, "FORCED")
	require.Equal(t, "bob", stepOf(res.Progress, "approve").Approval.Votes[0].By)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	recordHistory(t, workflows.OperationID("lab"), "failover-forced")

	report, err := cli(t, "report", workflows.OperationID("lab"))
	require.NoError(t, err)
	require.Contains(t, report, "FORCED")
}

func TestFailbackProvesBackfillThenShiftsGradually(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	setLabWeights(t, map[string]int64{east: 0, west: 100})
	waitLong(t, "writes in "+west, func() bool { return sharedLab.Producer().Stats().Acked[west] > 50 })

	res, err := runToEnd(t, "failback", "target="+east, "auto_approve=true", "soak=1s", "lookback=1h", "settle=2s", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	require.NotNil(t, res.Measures.MissingDocs)
	require.Zero(t, *res.Measures.MissingDocs)
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "start_pipeline").Status, "the pipeline was ACTIVE")
	var order []string
	for _, s := range res.Steps {
		if strings.HasPrefix(s.Path, "shift_") || strings.HasPrefix(s.Path, "soak_") {
			order = append(order, s.Path)
		}
	}
	require.Equal(t, []string{"shift_10", "soak_10", "shift_50", "soak_50", "shift_100"}, order)
	// Each weight step is checked in the DNS answers the lab's server gives (traffic.resolver).
	for _, s := range []string{"dns_10", "dns_50", "dns_100"} {
		require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, s).Status, s)
	}
	require.Contains(t, stepOf(res.Progress, "dns_100").Summary, "200 answers {us-east-1=200}")
	recordHistory(t, workflows.OperationID("lab"), "failback-succeeded")
}

// A recovered Region whose pipeline was stopped with records waiting has its not-ingesting alarm
// firing. The failback must still get to start that pipeline (the pre-flight's alarm check used to
// refuse it first, which made start_pipeline unreachable), then wait for the alarms to clear before
// anything moves.
func TestFailbackStartsAStoppedPipelineWhoseAlarmFires(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx := context.Background()
	setLabWeights(t, map[string]int64{east: 0, west: 100})
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := sharedLab.Pipeline(east).Stop(stopCtx)
	require.NoError(t, err)
	notIngesting := "lab-" + east + "-pipeline-not-ingesting"
	waitLong(t, notIngesting+" in ALARM", func() bool {
		for _, a := range sharedLab.Twin().Alarms(east) {
			if a.Name == notIngesting {
				return a.State == "ALARM"
			}
		}
		return false
	})

	res, err := runToEnd(t, "failback", "target="+east, "auto_approve=true", "soak=1s", "lookback=1h", "settle=2s", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepOf(res.Progress, "preflight/target_alarms").Status, "the alarm fired before the run")
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "start_pipeline").Status)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "alarms_quiet").Status)
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
}

func TestFailbackRolledBackByAnAlarmDuringTheSoak(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	setLabWeights(t, map[string]int64{east: 0, west: 100})

	out, err := cli(t, "run", "failback", "--env", "lab", "--as", "tester", "--json", "--param", "target="+east,
		"--param", "auto_approve=true", "--param", "soak=30s", "--param", "lookback=1h", "--param", "settle=2s")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	waitLong(t, "the 50 % soak", func() bool {
		return stepOf(progressOf(t, started.WorkflowID), "soak_50").Status == workflows.StatusRunning
	})
	require.Equal(t, map[string]int64{east: 50, west: 50}, labShares(t))
	// The recovered Region's collection becomes unreachable: its alarm fires during the soak.
	_, err = sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)

	res, err := followToEnd(t, started.WorkflowID)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeRolledBack, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepOf(res.Progress, "soak_50").Status)
	// The impaired Region's alarms fire, or its monitoring cannot even be read: either ends the
	// soak and rolls back.
	require.Regexp(t, `alarm fired|cannot read the alarms`, stepOf(res.Progress, "soak_50").Error)
	// The lab's lever is ARC: taking the recovered Region out again is the rollback, through the
	// data plane; the weights (Route 53's control plane, in the us-east-1 that just failed) are
	// left alone.
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "compensate/admit/take_out").Status)
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "compensate/shift_10/restore_weights").Status)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t), "writes are back where they were")
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift_100").Status)
	recordHistory(t, started.WorkflowID, "failback-rolled-back")
}

// An interlock: without the backfill proof a failback never moves writes. Half of what the
// recovered Region's pipeline indexes lands in its dead-letter bucket instead, so the proof stays
// open (and says why), no approval is asked, and the weights stay where they are. Those
// documents are gone from the collection for good, which would keep every later proof of the
// shared lab open: this test has a lab of its own.
func TestFailbackWithoutBackfillProofDoesNotMoveWrites(t *testing.T) {
	ctx := context.Background()
	// A low rate: the proof's lag gates open at a moment of zero lag, which a loaded CI machine
	// reaches sooner when fewer records arrive; the dead-letter objects keep it closed all the same.
	p, err := startPrivateLab(ctx, lab.Options{ProducerRate: 10, WithEventIDs: true, TestID: "interlock",
		Route53ChangeDelay: 200 * time.Millisecond, MetricsInterval: 250 * time.Millisecond, AlarmWindow: 2 * time.Second},
		"../runbooks", nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(p.close)
	at := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		args = append(args, "--address", p.dev.server.FrontendHostPort())
		err := run(ctx, args, func(k string) string { return map[string]string{"SWITCHYARD_RUNBOOKS": p.dir}[k] }, &out, &errOut)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, errOut.String())
		}
		return out.String(), err
	}
	progress := func(id string) workflows.Progress {
		out, err := at("status", id, "--json")
		require.NoError(t, err)
		var pr workflows.Progress
		require.NoError(t, json.Unmarshal([]byte(out), &pr))
		return pr
	}
	weights := func() map[string]int64 {
		w, err := p.lab.Router().Weights(ctx)
		require.NoError(t, err)
		return w
	}
	twin := p.lab.Twin()
	sets, err := twin.RecordSets(lab.HostedZoneID)
	require.NoError(t, err)
	for _, rs := range sets {
		if rs.Weight != nil {
			w := map[string]int64{east: 0, west: 100}[rs.SetIdentifier]
			rs.Weight = &w
			require.NoError(t, twin.UpsertRecordSet(lab.HostedZoneID, rs))
		}
	}
	require.Equal(t, map[string]int64{east: 0, west: 100}, weights())
	_, err = p.lab.Inject(ctx, lab.Fault{Kind: lab.FaultDLQShare, Region: east, Share: 0.5})
	require.NoError(t, err)
	// The proof must meet dead-letter objects: wait until the pipeline wrote some (and us-west-2
	// has documents of its own to compare), or a proof that runs first finds nothing to refuse.
	waitLong(t, "dead-letter objects in us-east-1", func() bool {
		return p.lab.Pipeline(east).Metrics().DLQS3RecordsSuccess > 0 && p.lab.Pipeline(west).Metrics().DocumentsSuccess > 0
	})
	out, err := at("run", "failback", "--env", "lab", "--as", "tester", "--json", "--param", "target="+east,
		"--param", "auto_approve=true", "--param", "soak=1s", "--param", "lookback=1h", "--param", "settle=2s")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	id := started.WorkflowID

	var status string
	stood := func() string {
		var steps []string
		for _, st := range progress(id).Steps {
			steps = append(steps, st.Path+"="+string(st.Status)+" "+st.Summary+st.Error)
		}
		return "the failback's steps: " + strings.Join(steps, "; ") + "; the proof: " + status
	}
	waitLongSaying(t, "the backfill proof to refuse, saying why", func() bool {
		child := stepOf(progress(id), "backfill").ChildID
		if child == "" {
			return false
		}
		// The operator sees the reason in the status of the proof.
		status, err = at("status", child)
		require.NoError(t, err)
		return strings.Contains(status, "dead-letter")
	}, stood)
	// The proof is BackfillVerificationWorkflow (the backfill step's child): no pass ran, and its
	// gates say why.
	require.Regexp(t, `passes 0; gates: (.+; )?\d+ dead-letter objects`, status)
	pr := progress(id)
	require.Equal(t, workflows.StatusRunning, stepOf(pr, "backfill").Status)
	require.Equal(t, workflows.StatusPending, stepOf(pr, "approve").Status, "no approval is asked without the proof")
	require.Equal(t, map[string]int64{east: 0, west: 100}, weights())

	_, err = at("cancel", id)
	require.NoError(t, err)
	out, err = at("status", id, "--follow", "--json")
	require.Error(t, err)
	var res workflows.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, workflows.OutcomeCanceled, res.Outcome)
	require.Equal(t, workflows.StatusCanceled, stepOf(res.Progress, "backfill").Status)
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift_10").Status)
	require.Equal(t, map[string]int64{east: 0, west: 100}, weights(), "writes stay in the Region that has them")
}

func TestDrillFailsOverAndBack(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	res, err := runToEnd(t, "drill", "target="+west, "auto_approve=true", "pause=1s", "soak=1s", "lookback=1h", "settle=2s", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	require.NotNil(t, res.Measures.RTOSeconds)
	require.NotNil(t, res.Measures.MissingDocs)
	require.Zero(t, *res.Measures.MissingDocs)
	recordHistory(t, workflows.OperationID("lab"), "drill-succeeded")

	// A drill into an unhealthy Region stops at the failover's refusal, before any change.
	_, err = sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultImpairRegion, Region: west})
	require.NoError(t, err)
	res, err = runToEnd(t, "drill", "target="+west, "auto_approve=true", "pause=1s", "soak=1s")
	require.Error(t, err)
	require.Equal(t, workflows.StatusFailed, stepOf(res.Progress, "failover").Status)
	require.Contains(t, res.Error, "refusing to fail over")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	recordHistory(t, workflows.OperationID("lab"), "drill-refused")
}

func TestVerifyBackfillRunbook(t *testing.T) {
	resetLab(t)
	// The window ends settle (2 s) before now: let documents older than that exist, however
	// early in the package this test runs.
	waitLong(t, "writes in "+east, func() bool { return sharedLab.Producer().Stats().Acked[east] > 0 })
	written := time.Now()
	waitLong(t, "the first writes to be older than the settle delay", func() bool { return time.Since(written) > 3*time.Second })
	id := startRunbook(t, "verify-backfill", "source="+east, "target="+west, "lookback=1h", "settle=2s")
	require.True(t, strings.HasPrefix(id, "switchyard/lab/verify-backfill/"), "a read-only runbook takes no lock: %s", id)
	res, err := followToEnd(t, id)
	require.NoError(t, err, "%+v", res.Error)
	converged := stepOf(res.Progress, "converged")
	require.Equal(t, workflows.StatusSucceeded, converged.Status)
	require.EqualValues(t, 0, converged.Result["missing"])
	require.Positive(t, converged.Result["source_docs"])
	recordHistory(t, id, "verify-backfill-converged")

	// The source unreachable: the check reports why and the run fails, never "converged".
	_, err = sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
	t.Cleanup(func() { resetLab(t) })
	id = startRunbook(t, "verify-backfill", "source="+east, "target="+west, "lookback=1h", "settle=2s")
	waitLong(t, "a pass against the unreachable Region", func() bool {
		return stepOf(progressOf(t, id), "converged").Status == workflows.StatusRunning
	})
	_, err = cli(t, "cancel", id)
	require.NoError(t, err)
	res, err = followToEnd(t, id)
	require.Error(t, err)
	require.NotEqual(t, workflows.StatusSucceeded, stepOf(res.Progress, "converged").Status)
	recordHistory(t, id, "verify-backfill-unreachable")
}

func zoneState(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, z := range sharedLab.Zonal().ZoneStats() {
		w, err := strconv.ParseFloat(z.Weight, 64)
		require.NoError(t, err, "zone %s weight %q", z.Zone, z.Weight)
		state := "w=" + strconv.FormatFloat(w, 'g', -1, 64)
		if z.Decommissioned {
			state += ",decommissioned"
		}
		out[z.Zone] = state
	}
	return out
}

func TestZonalFailoverAndRecover(t *testing.T) {
	resetLab(t)
	// Read failover: the impaired zone gets weight 0, the others 1; searches keep being served.
	res, err := runToEnd(t, "zonal-failover", "zone=us-east-1a", "auto_approve=true")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, map[string]string{"us-east-1a": "w=0", "us-east-1b": "w=1", "us-east-1c": "w=1"}, zoneState(t))
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "decommission").Status)
	recordHistory(t, workflows.OperationID("lab"), "zonal-failover-reads")

	// Write failover only after an explicit confirmation.
	id := startRunbook(t, "zonal-failover", "zone=us-east-1a", "decommission=true", "auto_approve=true")
	waitLong(t, "the decommission confirmation", func() bool {
		return stepOf(progressOf(t, id), "confirm_decommission").Status == workflows.StatusWaiting
	})
	require.Equal(t, "w=0", zoneState(t)["us-east-1a"], "nothing is decommissioned before the confirmation")
	_, err = cli(t, "approve", id, "--step", "confirm_decommission", "--as", "bob", "--comment", "zone a is gone")
	require.NoError(t, err)
	res, err = followToEnd(t, id)
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, "w=0,decommissioned", zoneState(t)["us-east-1a"])

	// Recover, keeping us-east-1c as the standby zone (Multi-AZ with standby).
	res, err = runToEnd(t, "zonal-recover", "standby=us-east-1c", "auto_approve=true")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, map[string]string{"us-east-1a": "w=1", "us-east-1b": "w=1", "us-east-1c": "w=0"}, zoneState(t))
	recordHistory(t, workflows.OperationID("lab"), "zonal-recover-standby")

	// Bad input fails at once with a readable reason and changes nothing.
	res, err = runToEnd(t, "zonal-failover", "zone=us-east-1z", "auto_approve=true")
	require.Error(t, err)
	require.Contains(t, stepOf(res.Progress, "known_zone").Error, "us-east-1z is not a zone of the zonal cluster")
	recordHistory(t, workflows.OperationID("lab"), "zonal-failover-unknown-zone")
	res, err = runToEnd(t, "zonal-recover", "standby=nope", "auto_approve=true")
	require.Error(t, err)
	require.Contains(t, stepOf(res.Progress, "known_standby").Error, "nope is not a zone")
	require.Equal(t, map[string]string{"us-east-1a": "w=1", "us-east-1b": "w=1", "us-east-1c": "w=0"}, zoneState(t))
	recordHistory(t, workflows.OperationID("lab"), "zonal-recover-unknown-standby")

	// Amazon OpenSearch Service moves a managed domain's zones itself: for an environment whose
	// zonal cluster is the lab's managed domain, the runbook is refused when it loads, each
	// zone-moving step named at its path:line:col, and nothing is touched.
	domainBefore := sharedLab.Domain().ZoneStats()
	managed, err := yaml.Marshal(sharedLab.ManagedDomainEnvironment("lab-managed"))
	require.NoError(t, err)
	envPath := filepath.Join(sharedRunbooks, "environments", "lab-managed.yaml")
	require.NoError(t, os.WriteFile(envPath, managed, 0o644))
	t.Cleanup(func() { _ = os.Remove(envPath) })
	out, err := cli(t, "run", "zonal-failover", "--env", "lab-managed", "--param", "zone=us-east-1a", "--param", "auto_approve=true", "--as", "tester", "--json")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	res, err = followToEnd(t, started.WorkflowID)
	require.Error(t, err)
	require.Regexp(t, `zonal-failover\.yaml:[0-9]+:[0-9]+: step weigh_away: opensearch\.set_zone_weights needs a self_managed zonal cluster, but environment "lab-managed" has zonal\.kind managed \(\S+lab-managed\.yaml:[0-9]+:[0-9]+\)`, res.Error)
	require.Contains(t, res.Error, "Amazon OpenSearch Service runs Multi-AZ with Standby itself")
	require.Equal(t, map[string]string{"us-east-1a": "w=1", "us-east-1b": "w=1", "us-east-1c": "w=0"}, zoneState(t))
	require.Equal(t, domainBefore, sharedLab.Domain().ZoneStats(), "nothing reached the managed domain")
}

func TestDemoDrillEndsWithNoMissingDocument(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, []string{"demo", "--json", "--runbooks", "../runbooks", "--pause", "3s", "--soak", "1s"},
		func(string) string { return "" }, &out, &errOut)
	require.NoError(t, err, "stderr: %s", errOut.String())
	var rep DemoReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	require.True(t, rep.Passed, "%+v", rep.Notes)
	require.Equal(t, workflows.OutcomeSucceeded, rep.Outcome)
	require.NotNil(t, rep.RTOSeconds)
	require.Positive(t, *rep.RTOSeconds)
	require.NotNil(t, rep.MissingDocs)
	require.Zero(t, *rep.MissingDocs)
	require.NotNil(t, rep.DuplicateDocs)
	require.Positive(t, rep.Produced["us-west-2"], "writes continued in the secondary during the impairment")
	require.Contains(t, errOut.String(), "IMPAIRING us-east-1", "the timeline goes to stderr with --json")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &raw))
	for _, k := range []string{"outcome", "rto_seconds", "missing_docs", "duplicate_docs", "steps"} {
		require.Contains(t, raw, k)
	}
}

// countFaults counts the control-plane calls the lab faulted, and the calls of op.
func countFaults(t *testing.T, op string) (faulted, calls func() int) {
	t.Helper()
	var mu sync.Mutex
	var nf, nc int
	t.Cleanup(sharedLab.ObserveControlPlane(func(fc awstwin.FaultContext, f awstwin.Fault) {
		mu.Lock()
		defer mu.Unlock()
		if f.Kind != awstwin.NoFault && f.Kind != awstwin.FaultLatency {
			nf++
		}
		if fc.Operation == op {
			nc++
		}
	}))
	get := func(n *int) func() int { return func() int { mu.Lock(); defer mu.Unlock(); return *n } }
	return get(&nf), get(&nc)
}

// TestRunbooksSurviveAFlakyControlPlane runs a failover and a failback while the control plane
// refuses calls at random and, worse, loses the answers of the calls that change things: every
// Route 53 change batch and the pipeline start are applied and then answered with HTTP 500, a
// 504 after a delay, or a dropped connection — the ambiguous failure where the client cannot tell
// whether its request was carried out (AWS Builders' Library, "Making retries safe with
// idempotent APIs"). The lab's change logs must show each change exactly once: one Route 53
// batch per weight step and one StartPipeline.
func TestRunbooksSurviveAFlakyControlPlane(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx := context.Background()
	faulted, _ := countFaults(t, "")
	var mu sync.Mutex
	lost := map[string]int{}
	t.Cleanup(sharedLab.ObserveControlPlane(func(fc awstwin.FaultContext, f awstwin.Fault) {
		if f.AfterCommit {
			mu.Lock()
			lost[fc.Operation]++
			mu.Unlock()
		}
	}))
	// 30 % of every control-plane call in both Regions fails, half throttled, half HTTP 500, and
	// 5 % more hang for half a second, then time out with HTTP 504.
	for _, kind := range []lab.FaultKind{lab.FaultThrottle, lab.FaultFail} {
		_, err := sharedLab.Inject(ctx, lab.Fault{Kind: kind, Share: 0.15})
		require.NoError(t, err)
	}
	_, err := sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultTimeout, Share: 0.05, Delay: lab.Duration(500 * time.Millisecond)})
	require.NoError(t, err)
	// Every change that gets through is made and its answer lost: the failback's batches (sent
	// through us-east-1) as a 504 after 300 ms, the pipeline start as a dropped connection. The
	// failover moves traffic with the lab's ARC routing controls, which these faults leave alone
	// (arc_e2e_test.go fails ARC's endpoints).
	for _, f := range []lab.Fault{
		{Region: east, Service: "route53", Operation: "ChangeResourceRecordSets", LostAs: lab.LostAs504, Delay: lab.Duration(300 * time.Millisecond)},
		{Region: east, Service: "osis", Operation: "StartPipeline", LostAs: lab.LostAsDrop},
	} {
		f.Kind = lab.FaultLostAnswer
		_, err := sharedLab.Inject(ctx, f)
		require.NoError(t, err)
	}
	mark := markTraffic(sharedLab)
	startsFrom := len(sharedLab.Twin().PipelineRequests(east))

	res, err := runToEnd(t, "failover", "target="+west, "auto_approve=true", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	// The recovered Region's pipeline is stopped meanwhile, so the failback must start it (its
	// not-ingesting alarm may fire while records wait: the failback starts it all the same and
	// waits for the alarms to clear, TestFailbackStartsAStoppedPipelineWhoseAlarmFires).
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = sharedLab.Pipeline(east).Stop(stopCtx)
	require.NoError(t, err)
	waitLong(t, "the us-east-1 pipeline to stop", func() bool { return sharedLab.Pipeline(east).Status() == "STOPPED" })
	id := startRunbook(t, "failback", "target="+east, "auto_approve=true", "soak=1s", "lookback=1h", "settle=2s", "verify_window=30s")
	res, err = followToEnd(t, id)
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "start_pipeline").Status)

	require.Equal(t, wantDrillChanges, trafficChanges(sharedLab, mark), "one routing-control update each way and one Route 53 batch per weight step")
	var starts []string
	for _, r := range sharedLab.Twin().PipelineRequests(east)[startsFrom:] {
		starts = append(starts, r.Operation+" -> "+cmp.Or(r.Status, r.Error))
	}
	require.Equal(t, []string{"StartPipeline -> STARTING"}, starts, "one pipeline start")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"ChangeResourceRecordSets": route53Batches(wantDrillChanges), "StartPipeline": 1}, lost,
		"every change's answer was lost, and each change was made once")
	require.Positive(t, faulted(), "the lab really failed calls")
}

func TestAccessDeniedFailsTheStepAtOnce(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	_, calls := countFaults(t, "DescribeReplicator")
	_, err := sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultDeny, Region: west, Service: "kafka", Operation: "DescribeReplicator"})
	require.NoError(t, err)
	res, err := runToEnd(t, "failover", "target="+west, "auto_approve=true")
	require.Error(t, err)
	st := stepOf(res.Progress, "preflight/target_replicator")
	require.Equal(t, workflows.StatusFailed, st.Status)
	require.Contains(t, st.Error, "AccessDenied")
	require.Contains(t, st.Error, west, "the message names the Region")
	require.Equal(t, 1, calls(), "no retry: the one denied call is all")
	require.Contains(t, res.Error, "refusing to fail over into us-west-2")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
}
