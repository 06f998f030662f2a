package triggers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dr/switchyard/workflows"
)

// fakeTemporal keeps one workflow id's latest run, the way the server answers for it: a
// signal-with-start starts a run when none is running and otherwise signals the running one.
type fakeTemporal struct {
	mu      sync.Mutex
	runs    map[string]*fakeRun // workflow id -> latest run
	n       int
	err     error // returned by every call when set
	starts  []workflows.RunInput
	opts    []client.StartWorkflowOptions
	signals []workflows.Trigger // every alarm signal, with start or not
}

type fakeRun struct {
	runID   string
	runbook string
	running bool
	closed  time.Time
	outcome string
}

func newFakeTemporal() *fakeTemporal { return &fakeTemporal{runs: map[string]*fakeRun{}} }

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	r, ok := f.runs[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: r.runID},
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}},
	}
	rb, _ := converter.GetDefaultDataConverter().ToPayload(r.runbook)
	info.SearchAttributes.IndexedFields[workflows.SARunbook.GetName()] = rb
	if !r.running {
		info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		info.CloseTime = timestamppb.New(r.closed)
		o, _ := converter.GetDefaultDataConverter().ToPayload(r.outcome)
		info.SearchAttributes.IndexedFields[workflows.SAOutcome.GetName()] = o
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, runID, signal string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	r, ok := f.runs[id]
	if !ok || !r.running || (runID != "" && r.runID != runID) {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	if signal != workflows.AlarmSignal {
		return fmt.Errorf("unexpected signal %q", signal)
	}
	f.signals = append(f.signals, arg.(workflows.Trigger))
	return nil
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if wf != workflows.RunbookWorkflowType || signal != workflows.AlarmSignal || opts.ID != id {
		return nil, fmt.Errorf("unexpected signal-with-start %v %q %q", wf, signal, opts.ID)
	}
	f.signals = append(f.signals, arg.(workflows.Trigger))
	if r, ok := f.runs[id]; ok && r.running {
		return fakeWorkflowRun{id, r.runID}, nil
	}
	f.n++
	in := args[0].(workflows.RunInput)
	r := &fakeRun{runID: fmt.Sprintf("run-%d", f.n), runbook: in.Runbook, running: true}
	f.runs[id] = r
	f.starts = append(f.starts, in)
	f.opts = append(f.opts, opts)
	return fakeWorkflowRun{id, r.runID}, nil
}

// end closes the latest run of id at t.
func (f *fakeTemporal) end(id string, t time.Time, outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[id].running = false
	f.runs[id].closed = t
	f.runs[id].outcome = outcome
}

func (f *fakeTemporal) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeTemporal) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts)
}

type fakeWorkflowRun struct{ id, runID string }

func (r fakeWorkflowRun) GetID() string                  { return r.id }
func (r fakeWorkflowRun) GetRunID() string               { return r.runID }
func (r fakeWorkflowRun) Get(context.Context, any) error { return nil }
func (r fakeWorkflowRun) GetWithOptions(context.Context, any, client.WorkflowRunGetOptions) error {
	return nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
