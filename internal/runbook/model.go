// Package runbook defines Switchyard's runbook and environment language: the Go model of the YAML
// files in runbooks/, their strict loader and validator, and the expression language that steps use
// to reference params, topology and earlier results.
//
// The model is also the wire format between the loader activity and the interpreter workflow: the
// worker loads and validates a file once, returns the parsed Runbook as JSON, and the workflow runs
// that value. Replays therefore never re-read files, and the history holds exactly what ran.
package runbook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// SchemaV1 is the schema identifier every runbook and environment file must declare. A new value
// will only be introduced for incompatible changes, so old files keep loading.
const SchemaV1 = "switchyard/v1"

// Runbook is one YAML file under runbooks/.
type Runbook struct {
	Schema      string `yaml:"schema" json:"schema"`
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Lock says which lock a run takes. "environment" (the default) makes the run a DR operation:
	// it must run under the workflow id switchyard/<environment>, so two never overlap.
	// "none" is for read-only runbooks (verification, evaluation) that may run beside one.
	Lock string `yaml:"lock,omitempty" json:"lock,omitempty"`
	// TargetRegion is an expression naming the Region the run moves traffic to; it becomes the
	// TargetRegion search attribute so operators can filter runs in the Temporal UI.
	TargetRegion string  `yaml:"target_region,omitempty" json:"target_region,omitempty"`
	Params       []Param `yaml:"params,omitempty" json:"params,omitempty"`
	Steps        []Step  `yaml:"steps" json:"steps"`

	// Pos is where the runbook was declared; set by the loader, never serialized.
	Pos Pos `yaml:"-" json:"-"`
}

// Lock values.
const (
	LockEnvironment = "environment"
	LockNone        = "none"
)

// Exclusive reports whether runs of this runbook take the per-environment DR lock.
func (r *Runbook) Exclusive() bool { return r.Lock == "" || r.Lock == LockEnvironment }

// ParamType is the declared type of a runbook parameter.
type ParamType string

// Parameter types.
const (
	TypeString   ParamType = "string"
	TypeRegion   ParamType = "region"
	TypeDuration ParamType = "duration"
	TypeInt      ParamType = "int"
	TypeBool     ParamType = "bool"
)

// Param declares one typed input of a runbook.
type Param struct {
	Name        string    `yaml:"name" json:"name"`
	Type        ParamType `yaml:"type" json:"type"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
	Required    bool      `yaml:"required,omitempty" json:"required,omitempty"`
	// Default is the value used when the caller gives none; it must have the param's type.
	Default any `yaml:"default,omitempty" json:"default,omitempty"`
	// Enum, when set, restricts a string or region param to these values.
	Enum []string `yaml:"enum,omitempty" json:"enum,omitempty"`

	Pos Pos `yaml:"-" json:"-"`
}

// FailurePolicy says what a step's failure does to the run.
type FailurePolicy string

// Failure policies. Abort is the default: stop, run nothing else, report failure.
const (
	OnFailureAbort    FailurePolicy = "abort"
	OnFailureContinue FailurePolicy = "continue"
	OnFailureRollback FailurePolicy = "rollback"
	// OnFailurePause waits for an operator's decision instead of stopping: retry the step (with
	// changed with: values if need be), skip it (its result null), or abort the run with or
	// without rollback (the workflow's control update; starter retry|skip|abort).
	OnFailurePause FailurePolicy = "pause"
)

// Milestone names a moment of a DR operation that reports measure.
type Milestone string

// Milestones.
const (
	// MilestoneTrafficShifted: writes were redirected (DNS or configuration changed).
	MilestoneTrafficShifted Milestone = "traffic_shifted"
	// MilestoneTrafficVerified: writes are proven to land in the target Region; RTO ends here.
	MilestoneTrafficVerified Milestone = "traffic_verified"
	// MilestoneBackfillVerified: the recovered Region is proven to hold every document.
	MilestoneBackfillVerified Milestone = "backfill_verified"
	// MilestoneReprotected: replication runs both ways again and the environment is ready for
	// the next failover. Traffic has already moved when this step runs, so its failure does not
	// fail the run: it ends succeeded_unprotected, saying what is missing.
	MilestoneReprotected Milestone = "reprotected"
)

// Step is one entry of a runbook's ordered steps. Exactly one of the kind fields (Action, Check,
// WaitUntil, Approval, Parallel, Steps, Runbook, Notify, Workflow) is set.
type Step struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// If is an expression; when it evaluates to false the step is skipped.
	If        string        `yaml:"if,omitempty" json:"if,omitempty"`
	Timeout   Duration      `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Retry     *Retry        `yaml:"retry,omitempty" json:"retry,omitempty"`
	OnFailure FailurePolicy `yaml:"on_failure,omitempty" json:"on_failure,omitempty"`
	// Skippable false marks an interlock: an operator's skip control is refused for it (retry
	// and abort stay possible). Unset means skippable; read it with CanSkip.
	Skippable *bool `yaml:"skippable,omitempty" json:"skippable,omitempty"`
	// Compensate runs during rollback, newest completed step first, to undo this step.
	Compensate []Step `yaml:"compensate,omitempty" json:"compensate,omitempty"`
	// Milestone marks the step whose success is a moment the run report measures: RTO runs from
	// the trigger to the end of the traffic_verified step. Naming it in the runbook, not guessing
	// it from step ids, keeps the measurement honest when runbooks are edited.
	Milestone Milestone `yaml:"milestone,omitempty" json:"milestone,omitempty"`

	// Action names a catalog action; With holds its arguments.
	Action string `yaml:"action,omitempty" json:"action,omitempty"`
	// Check names a catalog check: an action that reports ok and a reason; not ok fails the step.
	Check string `yaml:"check,omitempty" json:"check,omitempty"`
	// With holds the arguments of Action, Check or the params of a nested Runbook. String values
	// may contain ${{ expression }}.
	With      map[string]any `yaml:"with,omitempty" json:"with,omitempty"`
	WaitUntil *WaitUntil     `yaml:"wait_until,omitempty" json:"wait_until,omitempty"`
	Approval  *Approval      `yaml:"approval,omitempty" json:"approval,omitempty"`
	// Parallel runs each listed step as a concurrent branch; the step fails if any branch fails.
	Parallel []Step `yaml:"parallel,omitempty" json:"parallel,omitempty"`
	// Steps groups steps to run in order, so that a parallel branch can be a sequence.
	Steps []Step `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Runbook names a nested runbook, run as a child workflow with With as its params.
	Runbook string  `yaml:"runbook,omitempty" json:"runbook,omitempty"`
	Notify  *Notify `yaml:"notify,omitempty" json:"notify,omitempty"`
	// Workflow names a Go workflow (ChildWorkflows) run as a child workflow with With as its
	// input; plan mode runs its read-only plan check once instead.
	Workflow string `yaml:"workflow,omitempty" json:"workflow,omitempty"`

	// Local runs an action or check as a local activity (in the worker that runs the workflow,
	// ~1 ms overhead) or, when false, as a scheduled activity (~10-100 ms, any worker, visible
	// while pending). Unset means the catalog's choice: short single calls run locally. On a
	// wait_until step it makes the first check a local activity, and only a condition that is not
	// yet met pays for the heartbeating wait.
	Local *bool `yaml:"local,omitempty" json:"local,omitempty"`
	// RunLocal is the loader's decision from Local and the catalog.
	RunLocal bool `yaml:"-" json:"run_local,omitempty"`

	// ReadOnly is filled in by the loader from the catalog: true for checks, waits and read-only
	// actions. Plan mode runs only read-only steps.
	ReadOnly bool `yaml:"-" json:"read_only,omitempty"`
	// Bounds are the arguments that bound the run time of the step's action or check, filled in
	// by the loader from the catalog: a step without a timeout gets at least the bound plus
	// catalog.BoundMargin, from its rendered arguments.
	Bounds []catalog.Bound `yaml:"-" json:"bounds,omitempty"`
	// ArgTypes are the catalog's argument types of the step's action or check (of the waited-for
	// check for wait_until), filled in by the loader, so an operator's retry with changed with:
	// values is checked against the catalog inside the workflow, which has no catalog.
	ArgTypes map[string]catalog.Type `yaml:"-" json:"arg_types,omitempty"`

	Pos Pos `yaml:"-" json:"-"`
}

// Step kinds, as reported by Kind.
const (
	KindAction    = "action"
	KindCheck     = "check"
	KindWaitUntil = "wait_until"
	KindApproval  = "approval"
	KindParallel  = "parallel"
	KindSequence  = "steps"
	KindRunbook   = "runbook"
	KindNotify    = "notify"
	KindWorkflow  = "workflow"
)

// Kind returns the kind of the step, or "" when none or several kind fields are set.
func (s *Step) Kind() string {
	var kinds []string
	if s.Action != "" {
		kinds = append(kinds, KindAction)
	}
	if s.Check != "" {
		kinds = append(kinds, KindCheck)
	}
	if s.WaitUntil != nil {
		kinds = append(kinds, KindWaitUntil)
	}
	if s.Approval != nil {
		kinds = append(kinds, KindApproval)
	}
	if s.Parallel != nil {
		kinds = append(kinds, KindParallel)
	}
	if s.Steps != nil {
		kinds = append(kinds, KindSequence)
	}
	if s.Runbook != "" {
		kinds = append(kinds, KindRunbook)
	}
	if s.Notify != nil {
		kinds = append(kinds, KindNotify)
	}
	if s.Workflow != "" {
		kinds = append(kinds, KindWorkflow)
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// Retry bounds how often a failing step is tried.
type Retry struct {
	// Attempts is the total number of tries, including the first; 1 means no retry.
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the wait before the second try; it doubles up to MaxBackoff.
	Backoff    Duration `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	MaxBackoff Duration `yaml:"max_backoff,omitempty" json:"max_backoff,omitempty"`
}

// WaitUntil polls a catalog check until it reports ok or the timeout passes.
type WaitUntil struct {
	Check    string         `yaml:"check" json:"check"`
	With     map[string]any `yaml:"with,omitempty" json:"with,omitempty"`
	Interval Duration       `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout  Duration       `yaml:"timeout" json:"timeout"`
}

// TimeoutAction is what an approval does when nobody decides in time.
type TimeoutAction string

// Approval timeout actions.
const (
	TimeoutAbort   TimeoutAction = "abort"
	TimeoutProceed TimeoutAction = "proceed"
)

// Approval waits for people to approve before the run goes on.
type Approval struct {
	Message string `yaml:"message" json:"message"`
	// Approvers are user or group ids allowed to decide; empty means the environment's approvers.
	Approvers []string `yaml:"approvers,omitempty" json:"approvers,omitempty"`
	// Quorum is how many distinct approvers must approve; default 1.
	Quorum int `yaml:"quorum,omitempty" json:"quorum,omitempty"`
	// AllowSelfApproval lets the person who requested the run count towards the quorum. It is
	// false by default when Quorum > 1 (two-person rule) and true otherwise.
	AllowSelfApproval *bool         `yaml:"allow_self_approval,omitempty" json:"allow_self_approval,omitempty"`
	Timeout           Duration      `yaml:"timeout" json:"timeout"`
	OnTimeout         TimeoutAction `yaml:"on_timeout,omitempty" json:"on_timeout,omitempty"`
	// AutoApproveIf is an expression; when true the approval is granted without waiting (for
	// example when an alarm policy allows automatic runs). The grant is recorded as "policy".
	AutoApproveIf string `yaml:"auto_approve_if,omitempty" json:"auto_approve_if,omitempty"`
}

// Notify posts a message to the run's thread (Slack when configured, the log otherwise).
type Notify struct {
	Message string `yaml:"message" json:"message"`
	Channel string `yaml:"channel,omitempty" json:"channel,omitempty"`
}

// Duration is a time.Duration written in YAML and JSON as a Go duration string ("90s", "5m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string so histories stay readable.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("invalid duration %s: want a string like \"5m\"", b)
	}
	*d = Duration(n)
	return nil
}

// Pos is a position in a source file; File may be empty for inline sources.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as path:line:col, the form editors and CI logs link.
func (p Pos) String() string {
	f := p.File
	if f == "" {
		f = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d", f, p.Line, p.Col)
}
