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
