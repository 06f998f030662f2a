package workflows

import "go.temporal.io/sdk/workflow"

// WorkflowRegistry is the part of worker.Worker that registers workflows.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every workflow under its stable type name.
func Register(w WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(RunbookWorkflow, workflow.RegisterOptions{Name: RunbookWorkflowType})
	w.RegisterWorkflowWithOptions(BackfillVerificationWorkflow, workflow.RegisterOptions{Name: BackfillVerificationType})
	w.RegisterWorkflowWithOptions(ScheduledRunWorkflow, workflow.RegisterOptions{Name: ScheduledRunWorkflowType})
	w.RegisterWorkflowWithOptions(ReadinessWorkflow, workflow.RegisterOptions{Name: ReadinessWorkflowType})
}
