package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Mode and StepStatus are named types defined in wire, because step notifications carry them to
// the Notify activity.
type (
	Mode       = wire.Mode
	StepStatus = wire.StepStatus
)

// Run modes.
const (
	ModeExecute = wire.ModeExecute
	ModePlan    = wire.ModePlan
)

// RunInput is the single JSON object that starts a RunbookWorkflow. It is one object, not several
// arguments, because the Temporal UI's "Start a Workflow" form sends exactly one payload.
type RunInput struct {
	Runbook     string         `json:"runbook"`
	Environment string         `json:"environment"`
	Params      map[string]any `json:"params,omitempty"`
	// Mode is "execute" (default) or "plan": a dry run that executes only read-only steps and
	// reports what the others would do.
	Mode        Mode    `json:"mode,omitempty"`
	RequestedBy string  `json:"requested_by,omitempty"`
	Trigger     Trigger `json:"trigger,omitempty"`
	// Parent is set by a parent run for a nested runbook; nested runs share the parent's lock.
	Parent string `json:"parent,omitempty"`
	// Ungraceful is set by a parent switched to ungraceful by an operator for a nested runbook
	// it passes ungraceful: the nested run starts switched too (Progress.Ungraceful).
	Ungraceful bool `json:"ungraceful,omitempty"`
}

// Trigger records what started a run.
type Trigger struct {
	// Kind is ui, cli, slack, alarm, schedule or runbook.
	Kind string `json:"kind,omitempty"`
	// Alarm is the CloudWatch alarm name or ARN for alarm triggers.
	Alarm string `json:"alarm,omitempty"`
	// Policy is the trigger rule's policy (auto, approve, notify) for alarm triggers.
	Policy string `json:"policy,omitempty"`
	Detail string `json:"detail,omitempty"`
	// At is when the trigger fired (the alarm's state change time); RTO is measured from it.
	At *time.Time `json:"at,omitempty"`
}

// UnmarshalJSON accepts a bare string ("ui") as well as an object, so a hand-typed UI payload
// can say "trigger": "ui".
func (t *Trigger) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Trigger{Kind: s}
		return nil
	}
	type plain Trigger
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("trigger: want a string or an object: %w", err)
	}
	*t = Trigger(p)
	return nil
}

// AttachedAlarm is an alarm that fired while the run was going; identical repeats are counted.
type AttachedAlarm struct {
	Alarm  string    `json:"alarm"`
	Detail string    `json:"detail,omitempty"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Count  int       `json:"count"`
}

// Step statuses.
const (
	StatusPending   = wire.StatusPending
	StatusRunning   = wire.StatusRunning
	StatusWaiting   = wire.StatusWaiting
	StatusSucceeded = wire.StatusSucceeded
	StatusFailed    = wire.StatusFailed
	StatusSkipped   = wire.StatusSkipped
	StatusPlanned   = wire.StatusPlanned
	StatusCanceled  = wire.StatusCanceled
	StatusPaused    = wire.StatusPaused
)

// StepState is one step's state as the progress query and the final result report it.
type StepState struct {
	// Path is the step id prefixed by its enclosing steps' ids ("preflight/target_pipeline");
	// compensation steps are under "compensate/<step>/".
	Path      string         `json:"path"`
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name,omitempty"`
	What      string         `json:"what,omitempty"` // the action, check or runbook name
	Status    StepStatus     `json:"status"`
	StartedAt *time.Time     `json:"started_at,omitempty"`
	EndedAt   *time.Time     `json:"ended_at,omitempty"`
	Attempts  int            `json:"attempts,omitempty"`
	Summary   string         `json:"summary,omitempty"`
	Args      map[string]any `json:"args,omitempty"`
	Result    map[string]any `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
	Approval  *ApprovalState `json:"approval,omitempty"`
	// Pause is set while the step is paused on its failure (StatusPaused) and keeps the control
	// that ended the pause: what failed, the controls possible, who may decide.
	Pause   *PauseState `json:"pause,omitempty"`
	ChildID string      `json:"child_id,omitempty"`
	// Milestone is the runbook's milestone mark on this step (traffic_verified ends RTO).
	Milestone string `json:"milestone,omitempty"`
	// Warnings are what the step's result said an operator should know although the step
	// passed (a cluster that serves while HEALING); the summary carries them too.
	Warnings []string `json:"warnings,omitempty"`
}

// Progress is what the progress query returns.
type Progress struct {
	Runbook     string      `json:"runbook"`
	Environment string      `json:"environment"`
	Mode        Mode        `json:"mode"`
	Outcome     string      `json:"outcome"`
	SHA256      string      `json:"sha256,omitempty"`
	RequestedBy string      `json:"requested_by,omitempty"`
	Trigger     Trigger     `json:"trigger"`
	StartedAt   time.Time   `json:"started_at"`
	EndedAt     *time.Time  `json:"ended_at,omitempty"`
	Current     []string    `json:"current,omitempty"`
	Steps       []StepState `json:"steps"`
	// Warnings are the load's warnings for this run's values (path:line:col: warning: ...), such
	// as a write check shorter than the DNS record's TTL allows.
	Warnings []string `json:"warnings,omitempty"`
	// Ignored lists decisions that arrived by signal and were refused, so they are visible.
	Ignored []string `json:"ignored,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Unprotected says what re-protection lacks when the run ends succeeded_unprotected (the
	// failed step marked milestone: reprotected, and why).
	Unprotected string `json:"unprotected,omitempty"`
	// Alarms are the alarms attached to the run by the alarm signal, one entry per alarm name.
	Alarms []AttachedAlarm `json:"alarms,omitempty"`
	// Measures are the run's RTO and RPO evidence, filled in when the run ends.
	Measures *Measures `json:"measures,omitempty"`
	// Hold is an operator's pause between steps while it lasts (steps paused on their failure
	// show as steps with status paused and their Pause).
	Hold *Hold `json:"hold,omitempty"`
	// Controls are the operators' controls applied to the run, in the order applied.
	Controls []AppliedControl `json:"controls,omitempty"`
	// Ungraceful: an operator switched the run to ungraceful; from then on steps that call
	// SourceRegion (the peer of the run's target Region) are skipped.
	Ungraceful   bool   `json:"ungraceful,omitempty"`
	SourceRegion string `json:"source_region,omitempty"`
}

// Result is a run's final report.
type Result struct {
	Progress
	// StepResults maps each step id to its result, for parents of nested runs.
	StepResults map[string]map[string]any `json:"step_results,omitempty"`
}

// Decision is an approver's answer to an approval step, sent as the approve update or signal.
type Decision struct {
	Step string `json:"step"`
	// Approve is true to approve, false to reject.
	Approve bool `json:"approve"`
	// By is the approver's id (a Slack user id, or a name for the CLI and UI).
	By string `json:"by"`
	// Groups are group ids the approver belongs to, resolved by the caller (Slack user groups).
	Groups  []string `json:"groups,omitempty"`
	Comment string   `json:"comment,omitempty"`
	// Source is slack, cli or ui.
	Source string `json:"source,omitempty"`
}

// Control is an operator's control of a running run (ControlUpdate / ControlSignal). Who may send
// it is decided as for approvals: the environment's approvers and groups.
type Control struct {
	// Action is one of ControlPause, ControlResume, ControlRetry, ControlSkip, ControlAbort,
	// ControlUngraceful.
	Action string `json:"action"`
	// Step is the step id the control is about (retry, skip; optional for the others).
	Step string `json:"step,omitempty"`
	// By is the operator's id (a Slack user id, or a name for the CLI and UI).
	By string `json:"by"`
	// Groups are group ids the operator belongs to, resolved by the caller (Slack user groups).
	Groups []string `json:"groups,omitempty"`
	// Comment is required: it is the audit trail of why a scripted procedure was overridden.
	Comment string `json:"comment"`
	// With replaces some of the step's with: values for a retry; validated against the catalog.
	With map[string]any `json:"with,omitempty"`
	// Rollback asks an abort to run the compensations of the steps done so far.
	Rollback bool `json:"rollback,omitempty"`
	// Source is slack, cli or ui.
	Source string `json:"source,omitempty"`
}

// AppliedControl is a Control the run applied, as Progress, the report and the control update's
// answer show it.
type AppliedControl struct {
	Control
	// Path is the step the control was about, resolved from Control.Step (retry, skip).
	Path string    `json:"path,omitempty"`
	At   time.Time `json:"at"`
	// Result says what the control did ("step verify_writes runs again", "run paused").
	Result string `json:"result"`
}

// Approval step statuses.
const (
	ApprovalWaiting  = wire.ApprovalWaiting
	ApprovalApproved = wire.ApprovalApproved
	ApprovalRejected = wire.ApprovalRejected
	ApprovalTimedOut = wire.ApprovalTimedOut
)

// What the interpreter exchanges with its own activities (load, wait, notify) is defined in
// wire; these aliases keep this package's callers unchanged.
type (
	LoadRequest   = wire.LoadRequest
	Loaded        = wire.Loaded
	WaitRequest   = wire.WaitRequest
	Notification  = wire.Notification
	NotifyResult  = wire.NotifyResult
	Vote          = wire.Vote
	ApprovalState = wire.ApprovalState
	PauseState    = wire.PauseState
	PlanStep      = wire.PlanStep
)

// Notification kinds.
const (
	NotifyRunStarted         = wire.NotifyRunStarted
	NotifyMessage            = wire.NotifyMessage
	NotifyStep               = wire.NotifyStep
	NotifyApprovalRequest    = wire.NotifyApprovalRequest
	NotifyApprovalEscalation = wire.NotifyApprovalEscalation
	NotifyApprovalUpdate     = wire.NotifyApprovalUpdate
	NotifySummary            = wire.NotifySummary
	NotifyPaused             = wire.NotifyPaused
	NotifyPauseUpdate        = wire.NotifyPauseUpdate
)
