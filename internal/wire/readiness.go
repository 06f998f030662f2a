package wire

import (
	"fmt"
	"sort"
	"time"
)

// Readiness evaluation (issue 18): what ReadinessWorkflow and its activities exchange, and what
// `starter readiness`, the status page and Slack read. The vocabulary is AWS ARC Region
// switch's plan evaluation: a check passed, needs action, or could not be read.

// Activity names of the readiness evaluation.
const (
	// ReadinessPlanActivity resolves the environment: its Regions, its Slack channel and the
	// groups of checks that apply to it.
	ReadinessPlanActivity = "switchyard.ReadinessPlan"
	// ReadinessCheckActivity evaluates one group of checks (ReadinessCheckRequest).
	ReadinessCheckActivity = "switchyard.ReadinessCheck"
)

// States of one readiness check, and of an evaluation as a whole (its worst check).
const (
	ReadinessPassed         = "passed"
	ReadinessActionRequired = "actionRequired"
	ReadinessUnknown        = "unknown"
)

// Groups of readiness checks; each is one activity, so one slow or failing source leaves the
// others' answers intact.
const (
	ReadinessGroupReplication = "replication"
	ReadinessGroupPipelines   = "pipelines"
	ReadinessGroupCollections = "collections"
	ReadinessGroupAlarms      = "alarms"
	ReadinessGroupTraffic     = "traffic"
	ReadinessGroupIAM         = "iam"
	ReadinessGroupCapacity    = "capacity"
	ReadinessGroupQuotas      = "quotas"
	ReadinessGroupCanary      = "canary"
)

// ReadinessGroups lists every group in evaluation order.
var ReadinessGroups = []string{ReadinessGroupReplication, ReadinessGroupPipelines, ReadinessGroupCollections,
	ReadinessGroupAlarms, ReadinessGroupTraffic, ReadinessGroupIAM, ReadinessGroupCapacity, ReadinessGroupQuotas,
	ReadinessGroupCanary}

// ReadinessPlan is what ReadinessPlanActivity returns.
type ReadinessPlan struct {
	Environment string   `json:"environment"`
	Regions     []string `json:"regions"`
	Groups      []string `json:"groups"`
	// SlackChannel is the environment's channel ("" when it has none): state changes post there.
	SlackChannel string `json:"slack_channel,omitempty"`
}

// ReadinessCheckRequest asks ReadinessCheckActivity for one group of one environment.
type ReadinessCheckRequest struct {
	Environment string `json:"environment"`
	Group       string `json:"group"`
}

// ReadinessCheck is one check of one Region (Region "" for a check of the environment).
type ReadinessCheck struct {
	// Name is stable (replicator.running, pipeline.dlq, ...): changes are tracked by Name+Region.
	Name   string `json:"name"`
	Group  string `json:"group"`
	Region string `json:"region,omitempty"`
	State  string `json:"state"`
	// Detail says what was read; Action, for actionRequired, what to do; Reason, for unknown,
	// why it could not be read.
	Detail string `json:"detail,omitempty"`
	Action string `json:"action,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Source names the API the check read (kafka:DescribeReplicator, ...).
	Source string `json:"source,omitempty"`
	// Value is the check's measurement when it has one (canary latency in seconds, lag, units).
	Value *float64 `json:"value,omitempty"`
}

// Key identifies a check across evaluations.
func (c ReadinessCheck) Key() string {
	if c.Region == "" {
		return c.Name
	}
	return c.Name + "@" + c.Region
}

// ReadinessChange is a check whose state differs from the previous evaluation's.
type ReadinessChange struct {
	Key  string `json:"key"`
	From string `json:"from"`
	To   string `json:"to"`
}

// ReadinessResult is one evaluation of an environment.
type ReadinessResult struct {
	Environment string           `json:"environment"`
	EvaluatedAt time.Time        `json:"evaluated_at"`
	State       string           `json:"state"`
	Checks      []ReadinessCheck `json:"checks"`
	// Changes since the previous evaluation (posted to Slack once, by this evaluation).
	Changes []ReadinessChange `json:"changes,omitempty"`
	// Notified says whether the changes were posted.
	Notified bool `json:"notified,omitempty"`
}

// OverallReadiness is the state of an evaluation: actionRequired if any check needs action,
// else unknown if any could not be read, else passed. One function, so the workflow, the CLI
// and the status page agree.
func OverallReadiness(checks []ReadinessCheck) string {
	state := ReadinessPassed
	for _, c := range checks {
		switch c.State {
		case ReadinessActionRequired:
			return ReadinessActionRequired
		case ReadinessUnknown:
			state = ReadinessUnknown
		}
	}
	return state
}

// ReadinessChanges compares an evaluation with the previous one. A check seen for the first
// time counts as a change only when it did not pass, so the first evaluation of a healthy
// environment posts nothing; a check that disappeared is not reported.
func ReadinessChanges(prev *ReadinessResult, checks []ReadinessCheck) []ReadinessChange {
	before := map[string]string{}
	if prev != nil {
		for _, c := range prev.Checks {
			before[c.Key()] = c.State
		}
	}
	var out []ReadinessChange
	for _, c := range checks {
		from, seen := before[c.Key()]
		if !seen {
			if c.State == ReadinessPassed {
				continue
			}
			from = "new"
		}
		if from != c.State {
			out = append(out, ReadinessChange{Key: c.Key(), From: from, To: c.State})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ReadinessMessage is the Slack text of an evaluation's changes. It builds the text with
// Sprintf and concatenation only, as workflow code must (workflowcheck counts writers as I/O).
func ReadinessMessage(r ReadinessResult) string {
	plural := "s"
	if len(r.Changes) == 1 {
		plural = ""
	}
	text := fmt.Sprintf("Readiness of %s: %s (%d change%s)", r.Environment, r.State, len(r.Changes), plural)
	byKey := map[string]ReadinessCheck{}
	for _, c := range r.Checks {
		byKey[c.Key()] = c
	}
	for _, ch := range r.Changes {
		c := byKey[ch.Key]
		text += fmt.Sprintf("\n• %s: %s → %s", ch.Key, ch.From, ch.To)
		switch {
		case c.State == ReadinessActionRequired:
			text += " — " + c.Action
		case c.State == ReadinessUnknown:
			text += " — " + c.Reason
		case c.Detail != "":
			text += " — " + c.Detail
		}
	}
	return text
}
