package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Run modes.
const (
	ModeExecute = "execute"
	ModePlan    = "plan"
)

// RunInput is the single JSON object that starts a RunbookWorkflow. It is one object, not several
// arguments, because the Temporal UI's "Start a Workflow" form sends exactly one payload.
type RunInput struct {
	Runbook     string         `json:"runbook"`
	Environment string         `json:"environment"`
	Params      map[string]any `json:"params,omitempty"`
	// Mode is "execute" (default) or "plan": a dry run that executes only read-only steps and
	// reports what the others would do.
	Mode        string  `json:"mode,omitempty"`
	RequestedBy string  `json:"requested_by,omitempty"`
	Trigger     Trigger `json:"trigger,omitempty"`
	// Parent is set by a parent run for a nested runbook; nested runs share the parent's lock.
	Parent string `json:"parent,omitempty"`
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
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusWaiting   = "waiting_approval"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	StatusPlanned   = "planned"
	StatusCanceled  = "canceled"
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
	Status    string         `json:"status"`
	StartedAt *time.Time     `json:"started_at,omitempty"`
	EndedAt   *time.Time     `json:"ended_at,omitempty"`
	Attempts  int            `json:"attempts,omitempty"`
	Summary   string         `json:"summary,omitempty"`
	Args      map[string]any `json:"args,omitempty"`
	Result    map[string]any `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
	Approval  *ApprovalState `json:"approval,omitempty"`
	ChildID   string         `json:"child_id,omitempty"`
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
	Mode        string      `json:"mode"`
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
	// Alarms are the alarms attached to the run by the alarm signal, one entry per alarm name.
	Alarms []AttachedAlarm `json:"alarms,omitempty"`
	// Measures are the run's RTO and RPO evidence, filled in when the run ends.
	Measures *Measures `json:"measures,omitempty"`
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

// Approval step statuses.
const (
	ApprovalWaiting  = "waiting"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalTimedOut = "timed_out"
)

// Vote is one recorded approval decision.
type Vote struct {
	By      string    `json:"by"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	Source  string    `json:"source,omitempty"`
	At      time.Time `json:"at"`
}

// ApprovalState is an approval step's state; the approve update returns it.
type ApprovalState struct {
	Step      string   `json:"step"`
	Status    string   `json:"status"`
	Message   string   `json:"message"`
	Approvers []string `json:"approvers,omitempty"`
	Quorum    int      `json:"quorum"`
	SelfOK    bool     `json:"self_approval_allowed"`
	Votes     []Vote   `json:"votes,omitempty"`
	// Deadline is when the approval times out and OnTimeout applies.
	Deadline  time.Time `json:"deadline"`
	OnTimeout string    `json:"on_timeout"`
}

// LoadRequest asks the worker to load and validate a runbook and its environment.
type LoadRequest struct {
	Runbook     string         `json:"runbook"`
	Environment string         `json:"environment"`
	Params      map[string]any `json:"params,omitempty"`
}

// Loaded is a validated runbook with its environment and bound params. The exact source text and
// its sha256 are kept so the history proves what ran.
type Loaded struct {
	Runbook     runbook.Runbook     `json:"runbook"`
	Environment runbook.Environment `json:"environment"`
	Params      map[string]any      `json:"params"`
	Source      string              `json:"source"`
	SHA256      string              `json:"sha256"`
	EnvSHA256   string              `json:"env_sha256"`
	// LogOnlyNotifications says the worker's notifier only writes its log (no Slack): the run
	// then posts through local activities, which cost ~1 ms instead of a scheduled task each.
	// Recorded with the load, so replays take the same path whatever the worker has now.
	LogOnlyNotifications bool `json:"log_only_notifications,omitempty"`
	// Warnings are the load's warnings for this run's values (path:line:col: warning: ...), such
	// as a write check shorter than the DNS record's TTL allows; the run reports them at start.
	Warnings []string `json:"warnings,omitempty"`
}

// WaitRequest is the input of the WaitUntil activity: poll a check until ok or timeout.
type WaitRequest struct {
	Check    string           `json:"check"`
	Args     map[string]any   `json:"args"`
	Interval runbook.Duration `json:"interval"`
	Timeout  runbook.Duration `json:"timeout"`
}

// Notification is the input of the Notify activity.
type Notification struct {
	Environment string `json:"environment"`
	Channel     string `json:"channel,omitempty"`
	WorkflowID  string `json:"workflow_id"`
	RunID       string `json:"run_id"`
	Runbook     string `json:"runbook"`
	// Kind is one of the Notify* constants.
	Kind string `json:"kind"`
	Step string `json:"step,omitempty"`
	// Status is the step's status for NotifyStep.
	Status      string         `json:"status,omitempty"`
	Text        string         `json:"text"`
	Approval    *ApprovalState `json:"approval,omitempty"`
	RequestedBy string         `json:"requested_by,omitempty"`
	Trigger     string         `json:"trigger,omitempty"`
	Mode        string         `json:"mode,omitempty"`
	// ThreadTS is the run's first message: every later message of the run goes in its thread.
	ThreadTS string `json:"thread_ts,omitempty"`
	// MessageTS, for NotifyApprovalUpdate, is the approval request message to edit in place.
	MessageTS string `json:"message_ts,omitempty"`
	// Warnings, for NotifyStep, are the ended step's warnings (StepState.Warnings).
	Warnings []string `json:"warnings,omitempty"`
}

// Notification kinds.
const (
	NotifyRunStarted         = "run_started"
	NotifyMessage            = "message"
	NotifyStep               = "step"
	NotifyApprovalRequest    = "approval_request"
	NotifyApprovalEscalation = "approval_escalation"
	NotifyApprovalUpdate     = "approval_update"
	NotifySummary            = "summary"
)

// NotifyResult says where a notification landed, so later ones can thread under it or edit it.
type NotifyResult struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}
