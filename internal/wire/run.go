package wire

import (
	"time"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Mode is how a run treats its steps. The values are recorded in histories.
type Mode string

// Run modes.
const (
	// ModeExecute runs every step (the default).
	ModeExecute Mode = "execute"
	// ModePlan is a dry run: only read-only steps run; the others report what they would do.
	ModePlan Mode = "plan"
)

// StepStatus is a step's status in the progress query, the final result and step
// notifications. The values are recorded in histories and read by the Slack app and reports.
type StepStatus string

// Step statuses.
const (
	StatusPending   StepStatus = "pending"
	StatusRunning   StepStatus = "running"
	StatusWaiting   StepStatus = "waiting_approval"
	StatusSucceeded StepStatus = "succeeded"
	StatusFailed    StepStatus = "failed"
	StatusSkipped   StepStatus = "skipped"
	StatusPlanned   StepStatus = "planned"
	StatusCanceled  StepStatus = "canceled"
	// StatusPaused: the step failed and the run waits on it for an operator's control (retry,
	// skip, abort) because its on_failure is pause.
	StatusPaused StepStatus = "paused"
)

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
	Status      StepStatus     `json:"status,omitempty"`
	Text        string         `json:"text"`
	Approval    *ApprovalState `json:"approval,omitempty"`
	RequestedBy string         `json:"requested_by,omitempty"`
	Trigger     string         `json:"trigger,omitempty"`
	Mode        Mode           `json:"mode,omitempty"`
	// ThreadTS is the run's first message: every later message of the run goes in its thread.
	ThreadTS string `json:"thread_ts,omitempty"`
	// MessageTS, for NotifyApprovalUpdate, is the approval request message to edit in place.
	MessageTS string `json:"message_ts,omitempty"`
	// Warnings, for NotifyStep, are the ended step's warnings (StepState.Warnings).
	Warnings []string `json:"warnings,omitempty"`
	// Pause, for NotifyPaused and NotifyPauseUpdate, is the paused step (MessageTS: the paused
	// message to edit, for NotifyPauseUpdate).
	Pause *PauseState `json:"pause,omitempty"`
}

// PauseState is a step the run paused on after it failed (on_failure: pause): what failed, and
// which controls may decide it. The paused notifications carry it, so that Slack can offer exactly
// the controls the run accepts (no Skip button on a step marked skippable: false).
type PauseState struct {
	// Step is the step id a control names; Path is where it sits (preflight/target_pipeline).
	Step string `json:"step"`
	Path string `json:"path,omitempty"`
	// Error is why the step failed.
	Error string `json:"error,omitempty"`
	// Controls are the control actions possible now ("retry", "skip", "abort").
	Controls []string `json:"controls,omitempty"`
	// Approvers may decide (the environment's approvers: user ids and group ids); empty: anyone.
	Approvers []string `json:"approvers,omitempty"`
	// Action, By, Comment, Rollback and At say, for NotifyPauseUpdate, which control ended the
	// pause.
	Action   string     `json:"action,omitempty"`
	By       string     `json:"by,omitempty"`
	Comment  string     `json:"comment,omitempty"`
	Rollback bool       `json:"rollback,omitempty"`
	Source   string     `json:"source,omitempty"`
	At       *time.Time `json:"at,omitempty"`
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
	// NotifyPaused: a step failed and the run paused on it (on_failure: pause); Slack posts it
	// with Retry / Skip / Abort buttons (Notification.Pause).
	NotifyPaused = "paused"
	// NotifyPauseUpdate: a control ended the pause (Notification.Pause says which); it edits the
	// paused message (MessageTS) in place, so no stale button is left to click.
	NotifyPauseUpdate = "pause_update"
)

// NotifyResult says where a notification landed, so later ones can thread under it or edit it.
type NotifyResult struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
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

// ApprovalState is an approval step's state; the approve update returns it, and approval
// notifications carry it.
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
	// Plan is what approving lets happen: the steps up to the next approval, each with what it
	// would do and, for the state it sets (traffic per Region, a pipeline's state), that state now
	// (read at PlanReadAt, just before asking) and as the step leaves it.
	Plan       []PlanStep `json:"plan,omitempty"`
	PlanReadAt *time.Time `json:"plan_read_at,omitempty"`
}

// PlanStep is one step an approval lets run, as the approver sees it before deciding.
type PlanStep struct {
	// Step is the step's path; What its action, check or runbook.
	Step string `json:"step"`
	What string `json:"what,omitempty"`
	// Summary is what the step would do ("would run traffic.shift with region=us-west-2 ...").
	Summary string `json:"summary"`
	// Current is the state the step sets, read just before asking ("us-east-1 in, us-west-2
	// out"), or why it could not be read; Desired is that state as the step leaves it.
	Current string `json:"current,omitempty"`
	Desired string `json:"desired,omitempty"`
}
