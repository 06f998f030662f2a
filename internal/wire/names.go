package wire

// Activity names of the interpreter's own activities: the workflows schedule them and the
// activities register under them. Catalog actions and checks are registered under their catalog
// names (msk.replicator_running, ...).
const (
	LoadRunbookActivity = "switchyard.LoadRunbook"
	WaitUntilActivity   = "switchyard.WaitUntil"
	NotifyActivity      = "switchyard.Notify"

	// Backfill verification's activities.
	BackfillEnvironmentActivity = "switchyard.BackfillEnvironment"
	BackfillGatesActivity       = "switchyard.BackfillGates"
	BackfillCompareActivity     = "switchyard.BackfillCompare"
)

// Error types of non-retryable application errors; callers match on them exactly (==), never by
// prefix. The values are recorded in histories and must not change.
const (
	ErrInvalidInput   = "InvalidInput"
	ErrInvalidRunbook = "InvalidRunbook"
	ErrWrongWorkflow  = "WrongWorkflowID"
	ErrStepFailed     = "StepFailed"
	ErrCheckFailed    = "CheckFailed"
	// ErrApprovalRejected: an approval step was rejected (its on_reject is abort).
	ErrApprovalRejected = "ApprovalRejected"
	// ErrApprovalTimeout: an approval step timed out (its on_timeout is abort).
	ErrApprovalTimeout = "ApprovalTimedOut"
)

// Error types of backfill verification failures.
const (
	// ErrBackfillNotConverged: the timeout passed with documents still missing or gates closed.
	ErrBackfillNotConverged = "BackfillNotConverged"
	// ErrRegionUnreachable: a Region's OpenSearch or Kafka did not answer, even after retries.
	ErrRegionUnreachable = "RegionUnreachable"
)

// Error types the activities give their failures. The interpreter records them (a step's error,
// the cause of a run's failure), the UI shows them, and callers match on them exactly. Every
// type but ErrBackfillTransient and ErrSlackRateLimited is non-retryable.
const (
	// ErrPermanent: a failure no retry can fix (activities.Permanent).
	ErrPermanent = "Permanent"
	// ErrBadArguments: a catalog call whose arguments do not fit its spec.
	ErrBadArguments = "BadArguments"
	// ErrAccessDenied, ErrNotFound, ErrValidation: AWS errors classified as permanent
	// (activities.Classify).
	ErrAccessDenied = "AccessDenied"
	ErrNotFound     = "NotFound"
	ErrValidation   = "Validation"
	// ErrControlPlaneUnavailable: a traffic lever whose control plane does not answer.
	ErrControlPlaneUnavailable = "ControlPlaneUnavailable"
	// ErrARCUnreachable: no endpoint of the ARC cluster answered at all.
	ErrARCUnreachable = "ARCClusterUnreachable"
	// ErrSafetyRule: ARC refused a routing-control change by a safety rule.
	ErrSafetyRule = "SafetyRuleViolation"
	// ErrEnvironmentChanged: the environment's file is not the one the run loaded.
	ErrEnvironmentChanged = "EnvironmentChanged"
	// ErrBackfillTransient: a retryable backfill failure (throttling, 5xx, timeouts).
	ErrBackfillTransient = "Transient"
	// ErrSlackRejected and ErrSlackRateLimited: the Notify activity's Slack refusals.
	ErrSlackRejected    = "SlackRejected"
	ErrSlackRateLimited = "SlackRateLimited"
)
