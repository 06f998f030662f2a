package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

// readinessScript answers the readiness activities with scripted checks and records posts.
type readinessScript struct {
	mu     sync.Mutex
	checks map[string][]wire.ReadinessCheck // by group
	failed map[string]bool
	posts  []wire.Notification
}

func (s *readinessScript) plan(_ context.Context, env string) (wire.ReadinessPlan, error) {
	return wire.ReadinessPlan{Environment: env, Regions: []string{"us-east-1", "us-west-2"}, Groups: []string{"pipelines", "iam"}, SlackChannel: "#dr"}, nil
}

func (s *readinessScript) check(_ context.Context, req wire.ReadinessCheckRequest) ([]wire.ReadinessCheck, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed[req.Group] {
		return nil, errors.New("IAM endpoint timed out")
	}
	return s.checks[req.Group], nil
}

func (s *readinessScript) notify(_ context.Context, n wire.Notification) (wire.NotifyResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, n)
	return wire.NotifyResult{TS: "1"}, nil
}

func (s *readinessScript) run(t *testing.T, prev *wire.ReadinessResult) wire.ReadinessResult {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.ReadinessWorkflow, workflow.RegisterOptions{Name: workflows.ReadinessWorkflowType})
	env.RegisterActivityWithOptions(s.plan, activity.RegisterOptions{Name: wire.ReadinessPlanActivity})
	env.RegisterActivityWithOptions(s.check, activity.RegisterOptions{Name: wire.ReadinessCheckActivity})
	env.RegisterActivityWithOptions(s.notify, activity.RegisterOptions{Name: workflows.NotifyActivity})
	env.ExecuteWorkflow(workflows.ReadinessWorkflowType, workflows.ReadinessInput{Environment: "lab", Previous: prev})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res wire.ReadinessResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func pipelineChecks(buffer string) []wire.ReadinessCheck {
	return []wire.ReadinessCheck{
		{Name: "pipeline.active", Region: "us-east-1", State: wire.ReadinessPassed},
		{Name: "pipeline.buffer", Region: "us-west-2", State: buffer, Action: "enable persistent buffering"},
	}
}

// TestReadinessPostsEachChangeOnce: a healthy first evaluation posts nothing; a check turning
// actionRequired posts once, with what to do; the same state again posts nothing; healing posts
// once more; a group whose activity fails is unknown with the reason, not a failed evaluation.
func TestReadinessPostsEachChangeOnce(t *testing.T) {
	s := &readinessScript{checks: map[string][]wire.ReadinessCheck{
		"pipelines": pipelineChecks(wire.ReadinessPassed),
		"iam":       {{Name: "iam.runbook_actions", Region: "us-west-2", State: wire.ReadinessPassed}},
	}, failed: map[string]bool{}}

	first := s.run(t, nil)
	require.Equal(t, wire.ReadinessPassed, first.State)
	require.Empty(t, first.Changes)
	require.Empty(t, s.posts, "a healthy first evaluation posts nothing")

	s.checks["pipelines"] = pipelineChecks(wire.ReadinessActionRequired)
	broken := s.run(t, &first)
	require.Equal(t, wire.ReadinessActionRequired, broken.State)
	require.Equal(t, []wire.ReadinessChange{{Key: "pipeline.buffer@us-west-2", From: "passed", To: "actionRequired"}}, broken.Changes)
	require.Len(t, s.posts, 1)
	require.Equal(t, "#dr", s.posts[0].Channel)
	require.Contains(t, s.posts[0].Text, "pipeline.buffer@us-west-2: passed → actionRequired — enable persistent buffering")
	require.True(t, broken.Notified)

	again := s.run(t, &broken)
	require.Empty(t, again.Changes)
	require.Len(t, s.posts, 1, "an unchanged state is not posted again")

	s.checks["pipelines"] = pipelineChecks(wire.ReadinessPassed)
	healed := s.run(t, &again)
	require.Equal(t, wire.ReadinessPassed, healed.State)
	require.Len(t, s.posts, 2)
	require.Contains(t, s.posts[1].Text, "actionRequired → passed")

	s.failed["iam"] = true
	unread := s.run(t, &healed)
	require.Equal(t, wire.ReadinessUnknown, unread.State)
	var iam wire.ReadinessCheck
	for _, c := range unread.Checks {
		if c.Group == "iam" {
			iam = c
		}
	}
	require.Equal(t, wire.ReadinessUnknown, iam.State)
	require.Contains(t, iam.Reason, "IAM endpoint timed out")
}

// TestReadinessComparesWithTheSchedulesLastResult: a scheduled run compares with the last
// completion result the schedule hands it (not with nothing), so a state already posted by the
// previous run is not posted again; an older in.Previous does not override it.
func TestReadinessComparesWithTheSchedulesLastResult(t *testing.T) {
	s := &readinessScript{checks: map[string][]wire.ReadinessCheck{
		"pipelines": pipelineChecks(wire.ReadinessActionRequired),
		"iam":       {{Name: "iam.runbook_actions", Region: "us-west-2", State: wire.ReadinessPassed}},
	}, failed: map[string]bool{}}
	last := wire.ReadinessResult{Environment: "lab", EvaluatedAt: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC), State: wire.ReadinessActionRequired,
		Checks: append(pipelineChecks(wire.ReadinessActionRequired), wire.ReadinessCheck{Name: "iam.runbook_actions", Region: "us-west-2", State: wire.ReadinessPassed})}
	older := wire.ReadinessResult{Environment: "lab", EvaluatedAt: last.EvaluatedAt.Add(-time.Hour), State: wire.ReadinessPassed,
		Checks: pipelineChecks(wire.ReadinessPassed)}

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.ReadinessWorkflow, workflow.RegisterOptions{Name: workflows.ReadinessWorkflowType})
	env.RegisterActivityWithOptions(s.plan, activity.RegisterOptions{Name: wire.ReadinessPlanActivity})
	env.RegisterActivityWithOptions(s.check, activity.RegisterOptions{Name: wire.ReadinessCheckActivity})
	env.RegisterActivityWithOptions(s.notify, activity.RegisterOptions{Name: workflows.NotifyActivity})
	env.SetLastCompletionResult(last)
	env.ExecuteWorkflow(workflows.ReadinessWorkflowType, workflows.ReadinessInput{Environment: "lab", Previous: &older})
	require.NoError(t, env.GetWorkflowError())
	var res wire.ReadinessResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, wire.ReadinessActionRequired, res.State)
	require.Empty(t, res.Changes, "the schedule's last result already had this state")
	require.Empty(t, s.posts)
}
