package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// readinessRunbook uses one action and one check, so the IAM check simulates their actions.
const readinessRunbook = `schema: switchyard/v1
name: ready-probe
description: Uses osi.start_pipeline and msk.replicator_running.
params:
  - name: target
    type: region
    required: true
    description: A Region.
steps:
  - id: running
    name: Replicator running
    check: msk.replicator_running
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
  - id: start
    name: Start the pipeline
    action: osi.start_pipeline
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
`

const readinessTriggers = `schema: switchyard/v1
environment: lab
description: The rule whose alarm readiness requires.
rules:
  - name: pipeline-not-ingesting
    description: Fail over when a pipeline stops ingesting.
    alarm: lab-*-pipeline-not-ingesting
    state: ALARM
    runbook: ready-probe
    params:
      target: ${peer}
    policy: notify
`

func startReadiness(t *testing.T) (*lab.Lab, *Readiness) {
	t.Helper()
	l, c, _ := startLabCloud(t, lab.Options{ProducerRate: 40, WithEventIDs: true, ReplicatorFailAfter: time.Second})
	dir := c.opts.RunbookDir
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ready-probe.yaml"), []byte(readinessRunbook), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, runbook.TriggersDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, runbook.TriggersDir, "lab.yaml"), []byte(readinessTriggers), 0o644))
	reg := NewCatalogRegistry(Options{RunbookDir: dir})
	r := NewReadiness(c, reg, runbook.NewStore(dir))
	r.MaxMessageLag = 20
	r.CanaryTimeout = 12 * time.Second
	r.CanaryMaxLatency = 2 * time.Second
	return l, r
}

// check evaluates one group and returns the check named name in region.
func readinessCheck(t *testing.T, r *Readiness, group, name, region string) wire.ReadinessCheck {
	t.Helper()
	got, err := r.Check(context.Background(), wire.ReadinessCheckRequest{Environment: "lab", Group: group})
	require.NoError(t, err)
	for _, c := range got {
		if c.Name == name && c.Region == region {
			return c
		}
	}
	t.Fatalf("no check %s in %s among %+v", name, region, got)
	return wire.ReadinessCheck{}
}

// awaitReadiness polls a check until it is in state (metrics and replicators move on their own
// schedule), failing with the last check seen.
func awaitReadiness(t *testing.T, r *Readiness, group, name, region, state string, within time.Duration) wire.ReadinessCheck {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c := readinessCheck(t, r, group, name, region)
		if c.State == state {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s@%s is %s, not %s, after %s: %+v", name, region, c.State, state, within, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestReadinessChecksFollowLabFaults: on a healthy lab every check passes; each lab fault turns
// the check it targets actionRequired, saying what to do, and healing turns it back to passed.
func TestReadinessChecksFollowLabFaults(t *testing.T) {
	l, r := startReadiness(t)
	ctx := context.Background()
	const east, west = "us-east-1", "us-west-2"

	// Baseline: every group passes in both Regions (replicator lag needs a round of metrics).
	for _, g := range wire.ReadinessGroups {
		for _, region := range []string{east, west} {
			deadline := time.Now().Add(30 * time.Second)
			for {
				got, err := r.Check(ctx, wire.ReadinessCheckRequest{Environment: "lab", Group: g})
				require.NoError(t, err)
				bad := ""
				for _, c := range got {
					if c.Region == region && c.State != wire.ReadinessPassed {
						bad += fmt.Sprintf("%s: %s %s%s; ", c.Name, c.State, c.Reason, c.Action)
					}
				}
				if bad == "" {
					break
				}
				require.True(t, time.Now().Before(deadline), "group %s in %s does not pass: %s", g, region, bad)
				time.Sleep(300 * time.Millisecond)
			}
		}
	}
	canary := readinessCheck(t, r, wire.ReadinessGroupCanary, "canary.end_to_end", east)
	require.NotNil(t, canary.Value, "the canary's latency is kept")
	t.Logf("canary latency from %s: %.2fs", east, *canary.Value)

	cases := []struct {
		fault        lab.Fault
		group, check string
		region       string
		action       string // a piece of what actionRequired says to do
		within       time.Duration
	}{
		{lab.Fault{Kind: lab.FaultPartition}, wire.ReadinessGroupReplication, "replicator.running", west, "RUNNING", 20 * time.Second},
		{lab.Fault{Kind: lab.FaultStopReplicator, Region: west}, wire.ReadinessGroupReplication, "replicator.lag", west, "behind", 20 * time.Second},
		{lab.Fault{Kind: lab.FaultNoDLQ, Region: west}, wire.ReadinessGroupPipelines, "pipeline.dlq", west, "add a dlq", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultNoPersistentBuffer, Region: east}, wire.ReadinessGroupPipelines, "pipeline.buffer", east, "enable persistent buffering", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultDeleteAlarm, Region: west}, wire.ReadinessGroupAlarms, "alarms.exist", west, "lab-us-west-2-pipeline-not-ingesting", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultTrafficDrift}, wire.ReadinessGroupTraffic, "traffic.lever", east, "lets no Region in", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultIAMDeny, Region: west, Operation: "osis:StartPipeline"}, wire.ReadinessGroupIAM, "iam.runbook_actions", west, "osis:StartPipeline (explicitDeny; needed by ready-probe)", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultCapPipeline, Region: east}, wire.ReadinessGroupCapacity, "capacity.pipeline", east, "MaxUnits to at least 2", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultCapCollection, Region: west}, wire.ReadinessGroupCapacity, "capacity.collection", west, "at least 4 indexing", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultLowQuota, Region: west}, wire.ReadinessGroupQuotas, "quotas.prescale", west, "Maximum Ingestion OCUs per pipeline is 1, the pre-scale needs 3", 5 * time.Second},
		{lab.Fault{Kind: lab.FaultDLQShare, Region: east}, wire.ReadinessGroupCanary, "canary.end_to_end", east, "do not reach every Region", 30 * time.Second},
		{lab.Fault{Kind: lab.FaultSlowReplicator, Region: west, Delay: lab.Duration(2500 * time.Millisecond)}, wire.ReadinessGroupCanary, "canary.end_to_end", east, "more than 2s", 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(string(tc.fault.Kind), func(t *testing.T) {
			_, err := l.Inject(ctx, tc.fault)
			require.NoError(t, err)
			c := awaitReadiness(t, r, tc.group, tc.check, tc.region, wire.ReadinessActionRequired, tc.within)
			require.Contains(t, c.Action, tc.action)
			_, err = l.Heal(ctx, tc.fault)
			require.NoError(t, err)
			awaitReadiness(t, r, tc.group, tc.check, tc.region, wire.ReadinessPassed, 30*time.Second)
		})
	}

	// A collection that does not serve.
	require.NoError(t, l.SetReportedState(west, lab.StateCollection, "FAILED"))
	c := awaitReadiness(t, r, wire.ReadinessGroupCollections, "opensearch.serving", west, wire.ReadinessActionRequired, 5*time.Second)
	require.True(t, strings.Contains(c.Action, "does not serve"), c.Action)
	require.NoError(t, l.SetReportedState(west, lab.StateCollection, ""))
	awaitReadiness(t, r, wire.ReadinessGroupCollections, "opensearch.serving", west, wire.ReadinessPassed, 5*time.Second)

	// IAM's control plane is in us-east-1: with us-east-1 impaired, us-west-2's IAM check is
	// unknown with that reason, not failed.
	_, err := l.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
	c = awaitReadiness(t, r, wire.ReadinessGroupIAM, "iam.runbook_actions", west, wire.ReadinessUnknown, 90*time.Second)
	require.Contains(t, c.Reason, "us-east-1")
	_, err = l.Heal(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)
}
