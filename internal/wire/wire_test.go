package wire

import (
	"encoding/json"
	"testing"
)

// TestRecordedValues pins the values recorded histories, schedules and dashboards hold: a rename
// of a Go identifier is free, a change of one of these values breaks replay and every caller that
// matches on it (the approval error identifiers were renamed, their values kept).
func TestRecordedValues(t *testing.T) {
	for got, want := range map[string]string{
		ErrInvalidInput: "InvalidInput", ErrInvalidRunbook: "InvalidRunbook", ErrWrongWorkflow: "WrongWorkflowID",
		ErrStepFailed: "StepFailed", ErrCheckFailed: "CheckFailed",
		ErrApprovalRejected: "ApprovalRejected", ErrApprovalTimeout: "ApprovalTimedOut",
		ErrBackfillNotConverged: "BackfillNotConverged", ErrRegionUnreachable: "RegionUnreachable",
		LoadRunbookActivity: "switchyard.LoadRunbook", WaitUntilActivity: "switchyard.WaitUntil", NotifyActivity: "switchyard.Notify",
		BackfillEnvironmentActivity: "switchyard.BackfillEnvironment", BackfillGatesActivity: "switchyard.BackfillGates",
		BackfillCompareActivity: "switchyard.BackfillCompare",
		ErrPermanent:            "Permanent", ErrBadArguments: "BadArguments", ErrAccessDenied: "AccessDenied", ErrNotFound: "NotFound",
		ErrValidation: "Validation", ErrControlPlaneUnavailable: "ControlPlaneUnavailable", ErrARCUnreachable: "ARCClusterUnreachable",
		ErrSafetyRule: "SafetyRuleViolation", ErrEnvironmentChanged: "EnvironmentChanged", ErrBackfillTransient: "Transient",
		ErrSlackRejected: "SlackRejected", ErrSlackRateLimited: "SlackRateLimited",
		string(ModeExecute): "execute", string(ModePlan): "plan",
		string(StatusPending): "pending", string(StatusRunning): "running", string(StatusWaiting): "waiting_approval",
		string(StatusSucceeded): "succeeded", string(StatusFailed): "failed", string(StatusSkipped): "skipped",
		string(StatusPlanned): "planned", string(StatusCanceled): "canceled",
	} {
		if got != want {
			t.Errorf("recorded value changed: %q, want %q", got, want)
		}
	}
}

// TestNamedTypesKeepTheirJSON: StepStatus and Mode are named types in Go and plain strings on the
// wire, so a notification recorded before they were named decodes into the same values.
func TestNamedTypesKeepTheirJSON(t *testing.T) {
	n := Notification{Kind: NotifyStep, Status: StatusSucceeded, Mode: ModePlan}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["status"] != "succeeded" || raw["mode"] != "plan" {
		t.Errorf("notification JSON = %s, want plain strings status succeeded and mode plan", b)
	}
	var back Notification
	if err := json.Unmarshal([]byte(`{"kind":"step","status":"waiting_approval","mode":"execute"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != StatusWaiting || back.Mode != ModeExecute {
		t.Errorf("decoded %+v, want status %q and mode %q", back, StatusWaiting, ModeExecute)
	}
}
