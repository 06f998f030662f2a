package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Every name in this file is persisted: in workflow histories, schedules, Slack buttons and
// operators' muscle memory. Renaming one breaks running workflows and replay; add a new name and
// keep the old one instead.

// TaskQueue is the task queue the worker polls and every start targets.
const TaskQueue = "switchyard"

// Workflow types.
const (
	RunbookWorkflowType      = "RunbookWorkflow"
	BackfillVerificationType = "BackfillVerificationWorkflow"
	// ScheduledRunWorkflowType is what drill schedules start (persisted in schedules).
	ScheduledRunWorkflowType = "ScheduledRunWorkflow"
	// ReadinessWorkflowType evaluates an environment's readiness (readiness.go).
	ReadinessWorkflowType = "ReadinessWorkflow"
)

// Activity names of the interpreter's own activities, defined in wire because the activities
// register under them. Catalog actions and checks are registered under their catalog names
// (msk.replicator_running, ...).
const (
	LoadRunbookActivity = wire.LoadRunbookActivity
	WaitUntilActivity   = wire.WaitUntilActivity
	NotifyActivity      = wire.NotifyActivity

	// Backfill verification's activities.
	BackfillEnvironmentActivity = wire.BackfillEnvironmentActivity
	BackfillGatesActivity       = wire.BackfillGatesActivity
	BackfillCompareActivity     = wire.BackfillCompareActivity
)

// Change ids of workflow.GetVersion: code paths that differ from what older histories recorded.
const (
	// ChangeInlineLogNotifications: when the worker has no Slack, the run writes its
	// notifications to the workflow log itself (replay-safe) instead of a local activity each.
	ChangeInlineLogNotifications = "inline-log-notifications"
	// ChangeApprovalExpired: a run whose approval timed out with nobody deciding ends expired,
	// not failed.
	ChangeApprovalExpired = "approval-expired"
	// ChangeApprovalPlan: an approval reads the state its next steps set (traffic, pipelines)
	// just before asking, with catalog reads, and shows the plan with it.
	ChangeApprovalPlan = "approval-plan"
	// ChangeReprotectedOutcome: a failed step marked milestone: reprotected ends the run
	// succeeded_unprotected instead of applying its on_failure (workflows/protect.go).
	ChangeReprotectedOutcome = "reprotected-outcome"
)

// Update, signal and query names.
const (
	// ApproveUpdate decides an approval step; its validator rejects unauthorised or late decisions
	// without writing history.
	ApproveUpdate = "approve"
	// ApproveSignal carries the same decision for callers that cannot send updates (the Temporal
	// UI's "Send a Signal" form); invalid decisions are recorded and ignored.
	ApproveSignal = "approve"
	// AlarmSignal attaches an alarm (a Trigger) to a running DR operation: the intake signals it,
	// with start, to switchyard/<environment>, so an alarm storm starts one run and the others
	// show up in its history and thread instead of starting more.
	AlarmSignal = "alarm"
	// ProgressQuery returns the run's Progress.
	ProgressQuery = "progress"
	// ControlUpdate carries an operator's Control of a running run (pause, resume, retry, skip,
	// abort, ungraceful); its validator refuses unauthorised, commentless, late or interlocked
	// controls without writing history.
	ControlUpdate = "control"
	// ControlSignal carries the same Control for callers that cannot send updates (the Temporal
	// UI's "Send a Signal" form); refused controls are recorded in Progress.Ignored.
	ControlSignal = "control"
)

// Control actions of ControlUpdate / ControlSignal (Control.Action). Persisted in histories and
// Slack buttons.
const (
	ControlPause      = "pause"      // pause between steps: no new step starts until resume
	ControlResume     = "resume"     // end a pause
	ControlRetry      = "retry"      // run a failed (paused) step again now, or cut a retry backoff short
	ControlSkip       = "skip"       // mark a failed (paused) step skipped; its result is null
	ControlAbort      = "abort"      // fail the run, with or without rollback (Control.Rollback)
	ControlUngraceful = "ungraceful" // from now on skip steps that call the source Region
)

// Search attribute keys, registered on the namespace (the dev server does it at start).
var (
	SARunbook      = temporal.NewSearchAttributeKeyKeyword("Runbook")
	SAEnvironment  = temporal.NewSearchAttributeKeyKeyword("Environment")
	SATrigger      = temporal.NewSearchAttributeKeyKeyword("Trigger")
	SATargetRegion = temporal.NewSearchAttributeKeyKeyword("TargetRegion")
	SAOutcome      = temporal.NewSearchAttributeKeyKeyword("Outcome")
	// SAReadiness is a readiness evaluation's state: passed, actionRequired or unknown.
	SAReadiness = temporal.NewSearchAttributeKeyKeyword("Readiness")
)

// SearchAttributeNames lists the custom search attributes, all of type Keyword.
func SearchAttributeNames() []string {
	return []string{SARunbook.GetName(), SAEnvironment.GetName(), SATrigger.GetName(), SATargetRegion.GetName(), SAOutcome.GetName(),
		SAReadiness.GetName()}
}

// Outcome values of the Outcome search attribute and of Result.Outcome.
const (
	OutcomeRunning    = "running"
	OutcomeSucceeded  = "succeeded"
	OutcomeFailed     = "failed"
	OutcomeRolledBack = "rolled_back"
	OutcomeCanceled   = "canceled"
	OutcomePlanned    = "planned"
	// OutcomeExpired: an approval step timed out with nobody deciding (distinct from rejected).
	OutcomeExpired = "expired"
	// OutcomeSucceededUnprotected: a failback that moved traffic back but whose re-protection
	// (replication both ways RUNNING, lag 0, readiness passing) did not hold at its end.
	OutcomeSucceededUnprotected = "succeeded_unprotected"
)

// Metric names of the interpreter, recorded through workflow.GetMetricsHandler, which drops them
// while a history is replayed, so a run is counted once however often it is replayed. Dashboards
// and alerts use them. The SDK adds namespace, task_queue and workflow_type labels.
const (
	// MetricRunbookRuns counts ended runs by runbook, environment, mode and outcome.
	MetricRunbookRuns = "switchyard_runbook_runs_total"
	// MetricRunbookRunDuration is the time from a run's start to its end (histogram, same labels).
	MetricRunbookRunDuration = "switchyard_runbook_run_duration_seconds"
	// MetricStepDuration is the time a step took, by runbook, kind and final status (succeeded,
	// failed, skipped, planned, canceled); a step waiting for approval includes the wait.
	MetricStepDuration = "switchyard_step_duration_seconds"
	// MetricApprovalLatency is the time from an approval step asking to its decision, by
	// runbook, step and decision (approved, rejected, expired: nobody decided in time). Policy
	// approvals are not counted.
	MetricApprovalLatency = "switchyard_approval_latency_seconds"
	// MetricReadinessState is 1 for an environment's current readiness state and 0 for the
	// others (labels environment, state); MetricReadinessCheck is each check's state (1 passed,
	// 0 actionRequired, -1 unknown; labels environment, check, region); MetricCanaryLatency is the
	// readiness canary's end-to-end latency in seconds (labels environment, region).
	MetricReadinessState = "switchyard_readiness_state"
	MetricReadinessCheck = "switchyard_readiness_check"
	MetricCanaryLatency  = "switchyard_readiness_canary_latency_seconds"
)

// Error types of non-retryable application errors, defined in wire because activities produce
// them too; callers match on them exactly.
const (
	ErrInvalidInput     = wire.ErrInvalidInput
	ErrInvalidRunbook   = wire.ErrInvalidRunbook
	ErrWrongWorkflow    = wire.ErrWrongWorkflow
	ErrStepFailed       = wire.ErrStepFailed
	ErrCheckFailed      = wire.ErrCheckFailed
	ErrApprovalRejected = wire.ErrApprovalRejected
	ErrApprovalTimeout  = wire.ErrApprovalTimeout
)

// Workflow id formats.
const (
	// OperationIDPrefix + environment is the id of every DR operation on that environment, so the
	// server itself refuses a second concurrent one.
	OperationIDPrefix = "switchyard/"
)

// OperationID is the workflow id of the DR operation lock of an environment.
func OperationID(environment string) string { return OperationIDPrefix + environment }

// ReadOnlyRunID is the workflow id of a run that takes no lock (plan mode, lock: none runbooks);
// unique is any caller-chosen unique suffix such as a timestamp or request id.
func ReadOnlyRunID(environment, runbook, unique string) string {
	return fmt.Sprintf("%s%s/%s/%s", OperationIDPrefix, environment, runbook, unique)
}

// ChildID is the workflow id of a nested runbook started by step stepID of parent.
func ChildID(parent, stepID string) string { return parent + "/" + stepID }

// EnvironmentFromID returns the environment of an operation id, or "" if id is not one.
func EnvironmentFromID(id string) string {
	rest, ok := strings.CutPrefix(id, OperationIDPrefix)
	if !ok || strings.Contains(rest, "/") {
		return ""
	}
	return rest
}
