package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// outbox posts a run's notifications in order, from one goroutine, without making steps wait:
// a Slack outage or a slow API must never delay a failover. Messages go in the thread of the
// run's first message; approval updates edit the request message in place.
type outbox struct {
	r       *run
	ch      workflow.Channel
	pending int
	thread  string
	// threadChannel is the channel id the run's first message landed in; replies must name the
	// id, not the "#name" the environment gives.
	threadChannel string
	// approvalTS maps an approval step to its request message, for edits.
	approvalTS map[string]string
	// pausedTS maps a step paused on its failure to its paused message, for the edit that says
	// which control ended the pause (no stale buttons).
	pausedTS map[string]string
	// stepUpdates posts each step's start and end (only when Slack is configured, to keep
	// histories of unconfigured runs small).
	stepUpdates bool
	failures    int
	// inline and inlineAsked cache the ChangeInlineLogNotifications version check.
	inline, inlineAsked bool
}

// inlineLog tells whether log-only notifications are written inline; histories recorded before
// that change ran them as local activities and replay the same way.
func (o *outbox) inlineLog(ctx workflow.Context) bool {
	if !o.inlineAsked {
		o.inlineAsked = true
		o.inline = workflow.GetVersion(ctx, ChangeInlineLogNotifications, workflow.DefaultVersion, 1) == 1
	}
	return o.inline
}

// notifyTimeout bounds how long one message may keep retrying; after it the message is dropped
// and counted, so that the run can still finish while Slack is down.
const notifyTimeout = 30 * time.Minute

func startOutbox(ctx workflow.Context, r *run) *outbox {
	o := &outbox{r: r, ch: workflow.NewBufferedChannel(ctx, 100000), approvalTS: map[string]string{}, pausedTS: map[string]string{}}
	workflow.Go(ctx, func(ctx workflow.Context) {
		// A disconnected context: the messages of a canceled run (its summary above all) still go out.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			var n Notification
			o.ch.Receive(ctx, &n)
			o.send(ctx, n)
			o.pending--
		}
	})
	return o
}

func (o *outbox) send(ctx workflow.Context, n Notification) {
	r := o.r
	n.Environment, n.WorkflowID, n.RunID, n.Runbook = r.in.Environment, r.info.WorkflowExecution.ID, r.info.WorkflowExecution.RunID, r.in.Runbook
	n.RequestedBy, n.Trigger, n.Mode = r.in.RequestedBy, r.in.Trigger.Kind, r.in.Mode
	// A notify step that names its own channel posts a top-level message there; everything else
	// belongs in the run's thread.
	inThread := n.Channel == "" && n.Kind != NotifyRunStarted
	if n.Channel == "" && r.loaded != nil && r.loaded.Environment.Slack != nil {
		n.Channel = r.loaded.Environment.Slack.Channel
	}
	if inThread {
		n.ThreadTS = o.thread
		if o.threadChannel != "" {
			n.Channel = o.threadChannel
		}
	}
	if n.Kind == NotifyApprovalUpdate {
		n.MessageTS = o.approvalTS[n.Step]
	}
	if n.Kind == NotifyPauseUpdate {
		n.MessageTS = o.pausedTS[n.Step]
	}
	var res NotifyResult
	var err error
	if r.loaded != nil && r.loaded.LogOnlyNotifications && o.inlineLog(ctx) {
		// The workflow logger is the worker's log and stays silent on replay: the same effect as
		// the log notifier, without a local activity per message at the end of every run.
		r.logger.Info("notify", "kind", n.Kind, "environment", n.Environment, "runbook", n.Runbook,
			"step", n.Step, "text", n.Text, "warnings", n.Warnings)
	} else if r.loaded != nil && r.loaded.LogOnlyNotifications {
		// Only the worker's log receives it: a local activity is enough and keeps the summary
		// from adding a scheduled task's latency to the end of every run.
		err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 10 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
			Summary:             "notify " + n.Kind,
		}), NotifyActivity, n).Get(ctx, &res)
	} else {
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: notifyTimeout,
			RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
			Summary:                "notify " + n.Kind,
		}), NotifyActivity, n).Get(ctx, &res)
	}
	if err != nil {
		o.failures++
		r.logger.Warn("notification dropped", "kind", n.Kind, "step", n.Step, "err", err)
		return
	}
	switch n.Kind {
	case NotifyRunStarted:
		o.thread, o.threadChannel = res.TS, res.Channel
	case NotifyApprovalRequest:
		o.approvalTS[n.Step] = res.TS
	case NotifyPaused:
		o.pausedTS[n.Step] = res.TS
	}
}

// post queues n; it never blocks the caller.
func (o *outbox) post(n Notification) {
	o.pending++
	o.ch.SendAsync(n)
}

// step posts a step's transition when step updates are on.
func (o *outbox) step(st *StepState) {
	if !o.stepUpdates || st.Kind == "" {
		return
	}
	text := fmt.Sprintf("%s %s", st.Path, st.Status)
	if st.Error != "" {
		text += ": " + st.Error
	} else if st.Summary != "" && st.Status != StatusRunning {
		text += ": " + st.Summary
	}
	n := Notification{Kind: NotifyStep, Step: st.Path, Status: st.Status, Text: text}
	if st.Status != StatusRunning {
		n.Warnings = st.Warnings
	}
	o.post(n)
}

// drain waits for queued notifications, at most notifyTimeout, so the summary is posted before
// the run closes but a Slack outage cannot hold the run open forever.
func (o *outbox) drain(ctx workflow.Context) {
	_, _ = workflow.AwaitWithTimeout(ctx, notifyTimeout, func() bool { return o.pending == 0 })
}
