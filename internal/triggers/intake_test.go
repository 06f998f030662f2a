package triggers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-dr/switchyard/workflows"
)

func newTestIntake(t *testing.T, tc *fakeTemporal, clock *fakeClock, notifier NotifierFunc) *Intake {
	t.Helper()
	in, err := New(Options{Rules: labSet(t), Temporal: tc, Notifier: notifier, Logger: quietLogger(), Now: clock.Now})
	require.NoError(t, err)
	return in
}

func TestIntakeStartsAttachesAndCoolsDown(t *testing.T) {
	tc := newFakeTemporal()
	clock := &fakeClock{t: changeAt.Add(time.Second)}
	in := newTestIntake(t, tc, clock, nil)
	ctx := context.Background()
	handle := func(body []byte) Decision {
		t.Helper()
		ds, err := in.HandleMessage(ctx, body)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		return ds[0]
	}

	// First alarm: a run is started under the lock id with the rule's params and the trigger.
	d := handle(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
	require.Equal(t, ActionStart, d.Action, d.Reason)
	require.Equal(t, "switchyard/lab", d.WorkflowID)
	require.Equal(t, "run-1", d.RunID)
	require.Len(t, tc.starts, 1)
	in1 := tc.starts[0]
	require.Equal(t, map[string]any{"target": "us-west-2", "ungraceful": false, "force": false, "auto_approve": true}, in1.Params)
	require.Equal(t, workflows.Trigger{Kind: "alarm", Alarm: "lab-us-east-1-pipeline-not-ingesting", Policy: "auto",
		Detail: "lab-us-east-1-pipeline-not-ingesting is ALARM in us-east-1 (rule pipeline-not-ingesting): Threshold Crossed", At: &changeAt}, in1.Trigger)
	opts := tc.opts[0]
	require.Equal(t, workflows.TaskQueue, opts.TaskQueue)
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, opts.WorkflowIDReusePolicy)
	require.Equal(t, 3, opts.TypedSearchAttributes.Size())
	v, _ := opts.TypedSearchAttributes.GetKeyword(workflows.SATrigger)
	require.Equal(t, "alarm", v)

	// The same change again (the copy from the other Region's queue): dropped before Temporal.
	d = handle(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
	require.Equal(t, ActionIgnore, d.Action)
	require.Contains(t, d.Reason, "duplicate")
	require.Len(t, tc.signals, 1)

	// Another alarm while the run goes: attached to it, nothing started.
	d = handle([]byte(snsPayload))
	require.Equal(t, ActionAttach, d.Action, d.Reason)
	require.Equal(t, "run-1", d.RunID)
	require.Contains(t, d.Reason, "attached to the running operation switchyard/lab (failover, run run-1)")
	require.Len(t, tc.starts, 1)
	require.Len(t, tc.signals, 2)
	require.Equal(t, "lab-us-west-2-collection-unreachable", tc.signals[1].Alarm)

	// The run ends; within the cooldown (10m in lab.yaml) a new alarm starts nothing.
	tc.end("switchyard/lab", clock.Now(), workflows.OutcomeSucceeded)
	clock.Advance(9 * time.Minute)
	d = handle(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt.Add(9*time.Minute)))
	require.Equal(t, ActionIgnore, d.Action)
	require.Equal(t, "rule pipeline-not-ingesting (auto): alarm lab-us-east-1-pipeline-not-ingesting is ALARM; cooldown: the last operation on lab "+
		"(failover, succeeded) ended at 2026-11-22T10:04:41Z; automatic starts resume at 2026-11-22T10:14:41Z (cooldown 10m0s)", d.Reason)
	require.Len(t, tc.starts, 1)

	// After the cooldown the next alarm starts a new run.
	clock.Advance(2 * time.Minute)
	d = handle(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt.Add(11*time.Minute)))
	require.Equal(t, ActionStart, d.Action, d.Reason)
	require.Equal(t, "run-2", d.RunID)

	require.Equal(t, Stats{Received: 5, Started: 2, Attached: 1, Ignored: 2, Deduped: 1}, in.Stats())
	require.Len(t, in.Recent(), 4) // duplicates are counted, not kept
}

func TestIntakeDistinctAlarmsOfOneEnvironmentStartOneRun(t *testing.T) {
	tc := newFakeTemporal()
	clock := &fakeClock{t: changeAt}
	in := newTestIntake(t, tc, clock, nil)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			region := []string{"us-east-1", "us-west-2"}[i%2]
			_, err := in.HandleMessage(context.Background(), labEvent(region, "lab-"+region+"-collection-unreachable", "ALARM", changeAt.Add(time.Duration(i)*time.Millisecond)))
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, 1, tc.startCount())
	require.Len(t, tc.signals, 200) // every alarm reached the one run
	st := in.Stats()
	require.Equal(t, int64(1), st.Started)
	require.Equal(t, int64(199), st.Attached)
}

func TestIntakeTemporalDownLeavesTheEventForRetry(t *testing.T) {
	tc := newFakeTemporal()
	clock := &fakeClock{t: changeAt}
	in := newTestIntake(t, tc, clock, nil)
	body := labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt)

	tc.setErr(errors.New("connection refused"))
	_, err := in.HandleMessage(context.Background(), body)
	require.ErrorContains(t, err, "environment lab: describe switchyard/lab: connection refused")
	require.False(t, errors.Is(err, ErrMalformed))

	// The redelivery is not taken for a duplicate: it starts the run.
	tc.setErr(nil)
	ds, err := in.HandleMessage(context.Background(), body)
	require.NoError(t, err)
	require.Equal(t, ActionStart, ds[0].Action)
	require.Equal(t, Stats{Received: 2, Started: 1, Failed: 1}, in.Stats())
}

func TestIntakeNotifyStartsNothing(t *testing.T) {
	tc := newFakeTemporal()
	var got []Decision
	notifier := func(_ context.Context, d Decision) error {
		got = append(got, d)
		return errors.New("slack is down") // logged, not retried
	}
	in := newTestIntake(t, tc, &fakeClock{t: changeAt}, notifier)
	ds, err := in.HandleMessage(context.Background(), labEvent("us-west-2", "lab-us-west-2-collection-unreachable", "OK", changeAt))
	require.NoError(t, err)
	require.Equal(t, ActionNotify, ds[0].Action)
	require.Len(t, got, 1)
	require.Equal(t, "starter run failback --env lab --param target=us-west-2", got[0].Suggestion())
	require.Empty(t, tc.signals)
	require.Equal(t, Stats{Received: 1, Notified: 1}, in.Stats())
}

func TestIntakeCountsMalformedAndForeignMessages(t *testing.T) {
	in := newTestIntake(t, newFakeTemporal(), &fakeClock{t: changeAt}, nil)
	_, err := in.HandleMessage(context.Background(), []byte("{not json"))
	require.ErrorIs(t, err, ErrMalformed)
	ds, err := in.HandleMessage(context.Background(), []byte(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`))
	require.NoError(t, err)
	require.Empty(t, ds)
	require.Equal(t, Stats{Received: 2, Invalid: 1, Ignored: 1}, in.Stats())
}

func TestNewRefusesStartingRulesWithoutTemporal(t *testing.T) {
	_, err := New(Options{Rules: labSet(t)})
	require.ErrorContains(t, err, "starts runs but no Temporal client was given")
}

func TestDedupeForgetsOldEventsAndStaysBounded(t *testing.T) {
	d := newDedupe(time.Hour, 3)
	t0 := changeAt
	require.True(t, d.claim("a", t0))
	require.False(t, d.claim("a", t0.Add(time.Minute)))
	require.True(t, d.claim("a", t0.Add(time.Hour))) // remembered for the window only
	for i := range 10 {
		require.True(t, d.claim(fmt.Sprint(i), t0.Add(time.Hour)))
	}
	require.LessOrEqual(t, len(d.seen), 3)
}
