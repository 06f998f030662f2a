package activities

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/report"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// labDomain is the cloud lab's managed domain in the state given, healthy otherwise.
func labDomain(mod func(*awstwin.Domain)) awstwin.Domain {
	d := awstwin.Domain{Name: "lab-multiaz", MultiAZWithStandby: true, AvailabilityZoneCount: 3, InstanceCount: 6,
		Health: awstwin.DomainHealth{DomainState: "Active", ClusterHealth: "Green", MasterNode: "Available", DataNodeCount: 6,
			Zones: []awstwin.ZoneHealth{{Name: "us-east-1a", Status: "Active", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2},
				{Name: "us-east-1b", Status: "Active", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2},
				{Name: "us-east-1c", Status: "StandBy", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2}}}}
	if mod != nil {
		mod(&d)
	}
	return d
}

// TestServingStatesPassWithAWarning puts each checked resource of the lab's AWS twin into the
// states AWS reports and reads them through the real SDK: a state in which the resource still
// serves passes with a warning, the others fail the check as before.
func TestServingStatesPassWithAWarning(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	type verdict struct {
		ok       bool
		reason   string
		warnings []string
	}
	requireServes := func(t *testing.T, v verdict, state string) {
		t.Helper()
		require.True(t, v.ok, v.reason)
		require.Len(t, v.warnings, 1)
		require.Contains(t, v.warnings[0], state)
		require.Contains(t, v.reason, state)
	}
	requireRefused := func(t *testing.T, v verdict, state string) {
		t.Helper()
		require.False(t, v.ok, v.reason)
		require.Empty(t, v.warnings)
		require.Contains(t, v.reason, state)
	}

	t.Run("msk.cluster_active", func(t *testing.T) {
		check := func(state string) verdict {
			l.msk[labEast].PutCluster(awstwin.Cluster{ARN: l.kafka[labEast].ARN(), Name: "lab-msk-primary", State: state})
			res, err := c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: labEast})
			require.NoError(t, err)
			require.Equal(t, state, res.State)
			return verdict{res.OK, res.Reason, res.Warnings}
		}
		v := check("ACTIVE")
		require.True(t, v.ok, v.reason)
		require.Empty(t, v.warnings)
		for _, s := range []string{"HEALING", "MAINTENANCE", "REBOOTING_BROKER", "UPDATING"} {
			requireServes(t, check(s), s)
		}
		require.Contains(t, check("HEALING").reason, "still produces and consumes")
		for _, s := range []string{"FAILED", "CREATING", "DELETING"} {
			requireRefused(t, check(s), s)
		}
	})

	t.Run("opensearch.collection_active", func(t *testing.T) {
		n := labNames(labWest)
		check := func(state string) verdict {
			l.aoss[labWest].PutCollection(awstwin.Collection{ID: "id-" + n.collection, Name: n.collection, Status: state, Type: "TIMESERIES"})
			res, err := c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labWest})
			require.NoError(t, err)
			return verdict{res.OK, res.Reason, res.Warnings}
		}
		requireServes(t, check("UPDATING"), "UPDATING")
		for _, s := range []string{"FAILED", "CREATING", "DELETING", "UPDATE_FAILED"} {
			requireRefused(t, check(s), s)
		}
	})

	t.Run("osi.pipeline_status", func(t *testing.T) {
		check := func(state, want string) verdict {
			l.osis[labEast].reported.Store(&state)
			res, err := c.PipelineStatus(ctx, PipelineArgs{Environment: labEnv, Region: labEast, Status: want})
			require.NoError(t, err)
			require.Equal(t, state, res.Status)
			return verdict{res.OK, res.Reason, res.Warnings}
		}
		requireServes(t, check("UPDATING", ""), "UPDATING")
		requireServes(t, check("UPDATING", "ACTIVE"), "UPDATING")
		requireRefused(t, check("UPDATING", "STOPPED"), "UPDATING")
		for _, s := range []string{"STOPPED", "STARTING", "CREATE_FAILED", "UPDATE_FAILED"} {
			requireRefused(t, check(s, ""), s)
		}
		v := check("STOPPED", "STOPPED")
		require.True(t, v.ok, v.reason)
		require.Empty(t, v.warnings, "a status asked for exactly passes without a warning")
	})

	t.Run("opensearch.domain_status", func(t *testing.T) {
		check := func(d awstwin.Domain) DomainResult {
			l.domains.PutDomain(d)
			res, err := c.DomainStatus(ctx, DomainArgs{Environment: labEnv, Zonal: true})
			require.NoError(t, err)
			return res
		}
		res := check(labDomain(nil))
		require.True(t, res.OK, res.Reason)
		require.Empty(t, res.Warnings)
		res = check(labDomain(func(d *awstwin.Domain) { d.Processing, d.Health.DomainState = true, "Processing" }))
		require.True(t, res.OK, res.Reason)
		require.True(t, res.Processing)
		require.Len(t, res.Warnings, 1)
		require.Contains(t, res.Warnings[0], "configuration change")
		res = check(labDomain(func(d *awstwin.Domain) {
			d.Processing, d.UpgradeProcessing, d.Health.DomainState = true, true, "Processing"
		}))
		require.True(t, res.OK, res.Reason)
		require.Contains(t, strings.Join(res.Warnings, " "), "engine version upgrade")
		res = check(labDomain(func(d *awstwin.Domain) { d.Processing, d.ProcessingStatus = true, "Deleting" }))
		require.False(t, res.OK, res.Reason)
		require.Contains(t, res.Reason, "Deleting")
		res = check(labDomain(func(d *awstwin.Domain) {
			d.Processing, d.ProcessingStatus, d.Health.DomainState = true, "Creating", "Processing"
		}))
		require.False(t, res.OK, res.Reason)
		res = check(labDomain(func(d *awstwin.Domain) { d.Health.DomainState, d.Health.ClusterHealth = "NotAvailable", "NotAvailable" }))
		require.False(t, res.OK, res.Reason)
		res = check(labDomain(func(d *awstwin.Domain) {
			d.Processing, d.Health.DomainState, d.Health.ClusterHealth = true, "Processing", "Red"
		}))
		require.False(t, res.OK, "a domain applying a change still needs a healthy cluster: %s", res.Reason)
		require.Empty(t, res.Warnings)
	})
}

const servingRunbook = `schema: switchyard/v1
name: serving
lock: none
steps:
  - id: preflight
    parallel:
      - id: msk
        check: msk.cluster_active
        with: {environment: "${{ run.environment }}", region: us-east-1}
      - id: collection
        check: opensearch.collection_active
        with: {environment: "${{ run.environment }}", region: us-west-2}
      - id: pipeline
        check: osi.pipeline_status
        with: {environment: "${{ run.environment }}", region: us-east-1}
      - id: domain
        check: opensearch.domain_status
        with: {environment: "${{ run.environment }}", zonal: true}
`

// noteCollector is a Notifier standing in for Slack: it keeps what the run posted.
type noteCollector struct {
	mu    sync.Mutex
	notes []wire.Notification
}

func (n *noteCollector) Notify(_ context.Context, note wire.Notification) (wire.NotifyResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, note)
	return wire.NotifyResult{Channel: "C1", TS: fmt.Sprintf("ts-%d", len(n.notes))}, nil
}

// TestServingStateWarningsReachSummarySlackAndReport runs a pre-flight in the interpreter while
// every checked resource is in a serving state other than its steady one: the run succeeds,
// and each warning is in the step's state and summary (what `starter status` and the progress
// query show), in the step notification the Slack thread gets, and in the report.
func TestServingStateWarningsReachSummarySlackAndReport(t *testing.T) {
	l := newCloudLab(t)
	require.NoError(t, os.WriteFile(filepath.Join(l.dir, "serving.yaml"), []byte(servingRunbook), 0o644))
	envFile := filepath.Join(l.dir, "environments", labEnv+".yaml")
	f, err := os.OpenFile(envFile, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("slack:\n  channel: \"#dr\"\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l.msk[labEast].PutCluster(awstwin.Cluster{ARN: l.kafka[labEast].ARN(), Name: "lab-msk-primary", State: "HEALING"})
	n := labNames(labWest)
	l.aoss[labWest].PutCollection(awstwin.Collection{ID: "id-" + n.collection, Name: n.collection, Status: "UPDATING", Type: "TIMESERIES"})
	updating := "UPDATING"
	l.osis[labEast].reported.Store(&updating)
	l.domains.PutDomain(labDomain(func(d *awstwin.Domain) { d.Processing, d.Health.DomainState = true, "Processing" }))

	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	reg := NewRegistry()
	RegisterCloud(reg, l.cloud)
	reg.RegisterActivities(env)
	notes := &noteCollector{}
	(&Engine{RunbookDir: l.dir, Registry: reg, Notifier: notes}).Register(env)
	registerInterpreter(env, labEnv, "serving-1")
	res := runRunbook(t, env, "serving", labEnv, "serving states do not fail the pre-flight")

	wants := map[string]string{"preflight/msk": "HEALING", "preflight/collection": "UPDATING", "preflight/pipeline": "UPDATING",
		"preflight/domain": "configuration change"}
	for _, st := range res.Steps {
		want, ok := wants[st.Path]
		if !ok {
			require.Empty(t, st.Warnings, st.Path)
			continue
		}
		require.Equal(t, wire.StatusSucceeded, st.Status, st.Path)
		require.Len(t, st.Warnings, 1, st.Path)
		require.Contains(t, st.Warnings[0], want, st.Path)
		require.Contains(t, st.Summary, st.Warnings[0], "%s: the summary carries the warning", st.Path)
		delete(wants, st.Path)
	}
	require.Empty(t, wants, "steps not found")

	notes.mu.Lock()
	warned := map[string][]string{}
	for _, n := range notes.notes {
		if n.Kind == wire.NotifyStep && n.Status == wire.StatusSucceeded && len(n.Warnings) > 0 {
			warned[n.Step] = n.Warnings
			require.Contains(t, n.Text, n.Warnings[0])
		}
	}
	notes.mu.Unlock()
	require.Len(t, warned, 4, "every warned step's end reaches the thread with its warnings: %v", warned)
	require.Contains(t, warned["preflight/msk"][0], "HEALING")

	rep := report.FromProgress("serving-1", &res.Progress)
	md := rep.Markdown()
	require.Contains(t, md, "## Warnings")
	require.Contains(t, md, "- `preflight/msk`: MSK cluster lab-msk-primary in us-east-1 is HEALING")
	require.Contains(t, md, "| preflight/msk | check `msk.cluster_active` | succeeded |")
	page, err := rep.HTML()
	require.NoError(t, err)
	require.Contains(t, string(page), "<h2>Warnings</h2>")
	require.Contains(t, string(page), "is HEALING")
	for _, st := range rep.Steps {
		if st.Path == "preflight/pipeline" {
			require.NotEmpty(t, st.Warnings, "the JSON report carries each step's warnings")
		}
	}
}
