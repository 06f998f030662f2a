package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/triggers"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The alarm intake and the schedules against the shared embedded server and worker. The rules
// start the demo runbook (it waits for an approval, so the operation stays running) under the
// lab's lock id switchyard/lab; every test leaves that id closed.

const labOperation = "switchyard/lab"

const pipelineAlarm = "lab-us-east-1-pipeline-not-ingesting"

func testRules(cooldown string) string {
	return `schema: switchyard/v1
environment: lab
cooldown: ` + cooldown + `
rules:
  - name: pipeline
    alarm: lab-*-pipeline-not-ingesting
    runbook: demo
    params:
      target: ${peer}
      require_approval: true
    policy: approve
`
}

// triggerDir is a runbook folder for the shared lab with the given rules for environment lab.
func triggerDir(t *testing.T, rules string) string {
	t.Helper()
	dir, err := labRunbookDir("../runbooks", sharedLab)
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, triggers.Dir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, triggers.Dir, "lab.yaml"), []byte(rules), 0o644))
	return dir
}

// alarmIntake builds an intake over the lab environment of the shared lab with the given rules.
func alarmIntake(t *testing.T, rules string) *triggers.Intake {
	t.Helper()
	set, err := triggers.LoadDir(triggerDir(t, rules))
	require.NoError(t, err)
	in, err := triggers.New(triggers.Options{Rules: set, Temporal: shared.client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return in
}

// alarmEvent is the lab's EventBridge event for an alarm going to ALARM at at.
func alarmEvent(name, region string, at time.Time) []byte {
	return lab.NewAlarmEvent(fmt.Sprintf("ev-%d", at.UnixNano()), lab.AccountID, region, name, "AWS/OSIS", "recordsProcessed.count",
		map[string]string{"PipelineName": "lab-osi-primary"}, "OK", "ALARM", "Threshold Crossed: no document indexed", at).JSON()
}

func describeOperation(t *testing.T) (running bool, runID string) {
	t.Helper()
	d, err := shared.client.DescribeWorkflowExecution(context.Background(), labOperation, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, ""
	}
	require.NoError(t, err)
	info := d.GetWorkflowExecutionInfo()
	return info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, info.GetExecution().GetRunId()
}

// noOperation waits until no DR operation runs on the lab (another test's may be finishing).
func noOperation(t *testing.T) {
	t.Helper()
	waitFor(t, "no operation on "+labOperation, func() bool { running, _ := describeOperation(t); return !running })
}

// endOperation cancels the running operation and waits until it is closed.
func endOperation(t *testing.T) {
	t.Helper()
	if running, runID := describeOperation(t); running {
		require.NoError(t, shared.client.CancelWorkflow(context.Background(), labOperation, runID))
	}
	noOperation(t)
}

func alarmsOf(p workflows.Progress, name string) workflows.AttachedAlarm {
	for _, a := range p.Alarms {
		if a.Alarm == name {
			return a
		}
	}
	return workflows.AttachedAlarm{}
}

func TestAlarmStormStartsOneRun(t *testing.T) {
	noOperation(t)
	t.Cleanup(func() { endOperation(t) })
	in := alarmIntake(t, testRules("0s"))
	at := time.Now().UTC().Truncate(time.Millisecond)
	body := alarmEvent(pipelineAlarm, "us-east-1", at)

	// 10,000 copies of one state change, from 100 concurrent deliveries.
	start := time.Now()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, err := in.HandleMessage(context.Background(), body)
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	t.Logf("10,000 identical events handled in %s", time.Since(start))
	st := in.Stats()
	require.Equal(t, triggers.Stats{Received: 10000, Started: 1, Ignored: 9999, Deduped: 9999}, st)
	var started triggers.Decision
	for _, d := range in.Recent() {
		if d.Action == triggers.ActionStart {
			started = d
		}
	}
	require.Equal(t, labOperation, started.WorkflowID)
	running, runID := describeOperation(t)
	require.True(t, running)
	require.Equal(t, started.RunID, runID)

	// 20 distinct state changes of the alarm while the run goes: all attach to it.
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := in.HandleMessage(context.Background(), alarmEvent(pipelineAlarm, "us-east-1", at.Add(time.Duration(i)*time.Millisecond)))
			require.NoError(t, err)
			require.Equal(t, triggers.ActionAttach, ds[0].Action, ds[0].Reason)
			require.Equal(t, runID, ds[0].RunID)
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), in.Stats().Started)
	require.Equal(t, int64(20), in.Stats().Attached)

	waitFor(t, "the run to count 21 alarms", func() bool { return alarmsOf(progressOf(t, labOperation), pipelineAlarm).Count == 21 })
	p := progressOf(t, labOperation)
	require.Equal(t, "alarm", p.Trigger.Kind)
	require.Equal(t, pipelineAlarm, p.Trigger.Alarm)
	require.Equal(t, "approve", p.Trigger.Policy)
	require.Equal(t, at, *p.Trigger.At)
	require.Equal(t, at, alarmsOf(p, pipelineAlarm).First)
	// target=${peer} of the alarm's Region us-east-1.
	require.Equal(t, "would move traffic from us-east-1 to us-west-2", stepOf(p, "plan").Summary)

	// The history holds the 21 alarm signals, all in this one run: still running, so no other
	// run of switchyard/lab can have been started meanwhile.
	signals := 0
	iter := shared.client.GetWorkflowHistory(context.Background(), labOperation, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.AlarmSignal {
			signals++
		}
	}
	require.Equal(t, 21, signals)
	running, again := describeOperation(t)
	require.True(t, running)
	require.Equal(t, runID, again)
}

func TestAlarmAttachesToARunningOperationAndTheCooldownHolds(t *testing.T) {
	noOperation(t)
	t.Cleanup(func() { endOperation(t) })
	id := startJSON(t, "run", "demo", "--env", "lab", "--id", labOperation, "--param", "require_approval=true", "--as", "alice")
	require.Equal(t, labOperation, id)
	_, cliRun := describeOperation(t)

	in := alarmIntake(t, testRules("1h"))
	at := time.Now().UTC().Truncate(time.Millisecond)
	ds, err := in.HandleMessage(context.Background(), alarmEvent(pipelineAlarm, "us-east-1", at))
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, triggers.ActionAttach, ds[0].Action, ds[0].Reason)
	require.Equal(t, cliRun, ds[0].RunID)
	waitFor(t, "the alarm to be attached", func() bool { return alarmsOf(progressOf(t, labOperation), pipelineAlarm).Count == 1 })
	p := progressOf(t, labOperation)
	require.Equal(t, "cli", p.Trigger.Kind) // the operator's run, not replaced
	require.Equal(t, "alice", p.RequestedBy)

	// The operation ends; within the cooldown the next alarm starts nothing, and says why.
	endOperation(t)
	ds, err = in.HandleMessage(context.Background(), alarmEvent(pipelineAlarm, "us-east-1", at.Add(time.Second)))
	require.NoError(t, err)
	require.Equal(t, triggers.ActionIgnore, ds[0].Action)
	require.Contains(t, ds[0].Reason, "cooldown: the last operation on lab (demo, ")
	require.Contains(t, ds[0].Reason, "(cooldown 1h0m0s)")
	running, _ := describeOperation(t)
	require.False(t, running)

	// Without a cooldown the same alarm starts a new run.
	ds, err = alarmIntake(t, testRules("0s")).HandleMessage(context.Background(), alarmEvent(pipelineAlarm, "us-east-1", at.Add(time.Second)))
	require.NoError(t, err)
	require.Equal(t, triggers.ActionStart, ds[0].Action, ds[0].Reason)
	require.NotEqual(t, cliRun, ds[0].RunID)
}

func TestLabAlarmThroughSQSStartsARun(t *testing.T) {
	noOperation(t)
	t.Cleanup(func() { endOperation(t) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	twin := awstwin.New(awstwin.Options{Logger: quiet})
	srv := httptest.NewServer(twin.Handler("us-west-2"))
	t.Cleanup(srv.Close)
	t.Cleanup(twin.Close)
	require.NoError(t, twin.CreateQueue("us-west-2", lab.AlarmQueue))

	// The intake as `starter serve` runs it: rules from the folder, a poller per queue.
	svc, err := triggers.NewService(context.Background(), triggers.ServiceOptions{RunbookDir: triggerDir(t, testRules("0s")), Temporal: shared.client,
		Queues: []string{"us-west-2=" + srv.URL + "/" + awstwin.DefaultAccountID + "/" + lab.AlarmQueue},
		AWS:    awsclients.New(awsclients.Options{Logger: quiet}), Logger: quiet})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// The lab's event for the secondary's pipeline, as it sends it to the queue.
	at := time.Now().UTC().Truncate(time.Millisecond)
	_, err = twin.SendMessage("us-west-2", lab.AlarmQueue, string(alarmEvent("lab-us-west-2-pipeline-not-ingesting", "us-west-2", at)))
	require.NoError(t, err)
	_, err = twin.SendMessage("us-west-2", lab.AlarmQueue, "not an event")
	require.NoError(t, err)

	waitFor(t, "the alarm to start a run", func() bool { running, _ := describeOperation(t); return running })
	waitFor(t, "the run's plan step", func() bool { return stepOf(progressOf(t, labOperation), "plan").Summary != "" })
	pr := progressOf(t, labOperation)
	require.Equal(t, "alarm", pr.Trigger.Kind)
	require.Equal(t, "lab-us-west-2-pipeline-not-ingesting", pr.Trigger.Alarm)
	require.Equal(t, "alarm:lab-us-west-2-pipeline-not-ingesting", pr.RequestedBy)
	require.Equal(t, "would move traffic from us-west-2 to us-east-1", stepOf(pr, "plan").Summary)

	// The status handler reports the counters and the decision.
	waitFor(t, "the bad message to be counted", func() bool { return svc.Intake().Stats().Invalid == 1 })
	rec := httptest.NewRecorder()
	svc.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/alarms/status", nil))
	var status struct {
		Stats  triggers.Stats
		Recent []triggers.Decision
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &status))
	require.Equal(t, triggers.Stats{Received: 2, Invalid: 1, Started: 1}, status.Stats)
	require.Equal(t, triggers.ActionStart, status.Recent[0].Action)
	require.Equal(t, labOperation, status.Recent[0].WorkflowID)
}

// scheduleCmd runs `starter schedule ...` in-process against the shared server.
func scheduleCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"SWITCHYARD_RUNBOOKS": "../runbooks"}
	cio := cmdIO{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := runSchedule(ctx, append(args, "--address", shared.server.FrontendHostPort()), cio)
	if err != nil && errOut.Len() > 0 {
		err = fmt.Errorf("%w\nstderr: %s", err, errOut.String())
	}
	return out.String(), err
}

func listedSchedules(t *testing.T) []scheduleRow {
	t.Helper()
	out, err := scheduleCmd(t, "list", "--json")
	require.NoError(t, err)
	var rows []scheduleRow
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	return rows
}

func scheduleListed(t *testing.T, id string) bool {
	return slices.ContainsFunc(listedSchedules(t), func(r scheduleRow) bool { return r.ID == id })
}

// scheduleRuns returns the workflows a schedule started, oldest first. Two actions in one second
// share a workflow id (the schedule appends the time in seconds), so runs are told by run id.
func scheduleRuns(t *testing.T, id string) []client.ScheduleWorkflowExecution {
	t.Helper()
	d, err := shared.client.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	require.NoError(t, err)
	var runs []client.ScheduleWorkflowExecution
	for _, a := range d.Info.RecentActions {
		runs = append(runs, *a.StartWorkflowResult)
	}
	return runs
}

func TestDrillScheduleStartsTheRunbookUnderTheLock(t *testing.T) {
	noOperation(t)
	t.Cleanup(func() { endOperation(t) })
	id := fmt.Sprintf("switchyard/lab/drill/demo-test-%d", time.Now().UnixNano())
	out, err := scheduleCmd(t, "create", "drill", "--env", "lab", "--runbook", "demo", "--every", "24h",
		"--param", "require_approval=true", "--id", id)
	require.NoError(t, err)
	require.Contains(t, out, "created schedule "+id+": drill demo on lab, every 24h0m0s, next ")
	t.Cleanup(func() { _, _ = scheduleCmd(t, "delete", id) })

	_, err = scheduleCmd(t, "trigger", id)
	require.NoError(t, err)
	waitFor(t, "the drill to run under the lock", func() bool { running, _ := describeOperation(t); return running })
	waitFor(t, "the drill's progress", func() bool { return progressOf(t, labOperation).Trigger.Kind == "schedule" })
	p := progressOf(t, labOperation)
	require.Equal(t, "demo", p.Runbook)
	require.Equal(t, id, p.Trigger.Detail)
	require.Equal(t, "schedule:"+id, p.RequestedBy)

	// Fired again while the drill runs: the launcher skips, it does not queue or fail.
	_, err = scheduleCmd(t, "trigger", id)
	require.NoError(t, err)
	waitFor(t, "the second launch", func() bool { return len(scheduleRuns(t, id)) == 2 })
	launches := scheduleRuns(t, id)
	require.True(t, strings.HasPrefix(launches[0].WorkflowID, "switchyard/lab/scheduled/demo-"), launches[0].WorkflowID)
	var first, second workflows.ScheduledRunResult
	require.NoError(t, shared.client.GetWorkflow(context.Background(), launches[0].WorkflowID, launches[0].FirstExecutionRunID).Get(context.Background(), &first))
	require.NoError(t, shared.client.GetWorkflow(context.Background(), launches[1].WorkflowID, launches[1].FirstExecutionRunID).Get(context.Background(), &second))
	_, runID := describeOperation(t)
	require.Equal(t, workflows.ScheduledRunResult{WorkflowID: labOperation, RunID: runID}, first)
	require.Equal(t, "skipped: a DR operation is already running on lab (switchyard/lab)", second.Skipped)

	waitFor(t, "the schedule to be listed", func() bool { return scheduleListed(t, id) })
	_, err = scheduleCmd(t, "delete", id)
	require.NoError(t, err)
	waitFor(t, "the schedule to be gone from the list", func() bool { return !scheduleListed(t, id) })
}

func TestPlanScheduleEvaluatesARunbookBesideTheLock(t *testing.T) {
	// Every DR runbook by default: their required params must be given, per runbook.
	_, err := scheduleCmd(t, "create", "plan", "--env", "lab", "--every", "1h")
	require.ErrorContains(t, err, `runbook failover: missing required param "target" (region) (give it with --param failover:KEY=VALUE)`)
	require.ErrorContains(t, err, `runbook zonal-failover: missing required param "zone" (string)`)

	id := fmt.Sprintf("switchyard/lab/plan/demo-test-%d", time.Now().UnixNano())
	_, err = scheduleCmd(t, "create", "plan", "--env", "lab", "--runbook", "demo", "--cron", "0 3 * * *", "--param", "demo:target=us-west-2", "--id", id)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = scheduleCmd(t, "delete", id) })
	h := shared.client.ScheduleClient().GetHandle(context.Background(), id)
	require.NoError(t, h.Trigger(context.Background(), client.ScheduleTriggerOptions{}))
	waitFor(t, "the plan to start", func() bool { return len(scheduleRuns(t, id)) == 1 })
	run := scheduleRuns(t, id)[0]
	require.True(t, strings.HasPrefix(run.WorkflowID, "switchyard/lab/plan/demo-"), run.WorkflowID)
	var res workflows.Result
	require.NoError(t, shared.client.GetWorkflow(context.Background(), run.WorkflowID, run.FirstExecutionRunID).Get(context.Background(), &res))
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	require.Equal(t, workflows.ModePlan, res.Mode)
	require.Equal(t, "schedule", res.Trigger.Kind)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "preflight/target_known").Status)
}
