package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// activityEnv runs activities the way a worker does, counting their heartbeats.
func activityEnv(t *testing.T, fns ...any) (*testsuite.TestActivityEnvironment, *atomic.Int64) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	for _, f := range fns {
		env.RegisterActivity(f)
	}
	var beats atomic.Int64
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	return env, &beats
}

func TestMSKChecks(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud

	cl, err := c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.True(t, cl.OK, cl.Reason)
	require.Equal(t, "lab-msk-primary", cl.Name)
	l.msk[labEast].PutCluster(awstwin.Cluster{ARN: l.kafka[labEast].ARN(), Name: "lab-msk-primary", State: "FAILED"})
	cl, err = c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.False(t, cl.OK)
	require.Contains(t, cl.Reason, "FAILED, not ACTIVE")

	rep, err := c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Reason)
	require.Equal(t, "lab-primary-to-secondary", rep.Name, "the Region's inbound replicator")
	l.msk[labWest].PutReplicator(awstwin.Replicator{ARN: labNames(labWest).replicatorARN, Name: "lab-primary-to-secondary", State: "FAILED",
		StateInfoCode: "ClusterUnreachable", StateInfoMessage: "source cluster unreachable"})
	rep, err = c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, rep.Reason, "FAILED, not RUNNING")

	// Replicator metrics live in the target Region, under ReplicatorName.
	lagArgs := ReplicatorLagArgs{Environment: labEnv, Region: labWest}
	lag, err := c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.False(t, lag.OK, "no datapoints proves nothing")
	require.Nil(t, lag.MessageLag)
	dims := map[string]string{"ReplicatorName": "lab-primary-to-secondary"}
	// Whole minutes in the past: CloudWatch buckets by epoch minute and the request's end is now.
	minute := time.Now().Truncate(time.Minute)
	l.twin.PutMetric(labWest, "AWS/Kafka", "MessageLag", dims, minute.Add(-3*time.Minute), 42)
	l.twin.PutMetric(labWest, "AWS/Kafka", "ReplicationLatency", dims, minute.Add(-3*time.Minute), 850)
	lag, err = c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.False(t, lag.OK)
	require.Equal(t, 42.0, *lag.MessageLag)
	require.Contains(t, lag.Reason, "MessageLag 42")
	l.twin.PutMetric(labWest, "AWS/Kafka", "MessageLag", dims, minute.Add(-2*time.Minute), 0)
	lag, err = c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.True(t, lag.OK, lag.Reason)
	require.Equal(t, 0.0, *lag.MessageLag, "the newest datapoint counts")
	// MessageLag is published per partition: a round where one partition is caught up and two lag
	// is 12 behind (its Sum), although its Minimum is 0.
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, minute.Add(-time.Minute), []float64{0, 9, 3})
	lag, err = c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.False(t, lag.OK, "one partition at 0 is not the replicator at 0")
	require.Equal(t, 12.0, *lag.MessageLag)
	require.Equal(t, 3, lag.Samples)
	require.Contains(t, lag.Reason, "MessageLag 12 > 0")
	// The next round has every partition at its end.
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, minute, []float64{0, 0, 0})
	lag, err = c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.True(t, lag.OK, lag.Reason)
	require.Equal(t, 850.0, *lag.ReplicationLatencyMS)
	lagArgs.MaxLatency = runbook.Duration(500 * time.Millisecond)
	lag, err = c.ReplicatorLag(ctx, lagArgs)
	require.NoError(t, err)
	require.False(t, lag.OK)
	require.Contains(t, lag.Reason, "ReplicationLatency 850 ms")
	// The same replicator read in the other Region has no metrics: the call went where it was told.
	lag, err = c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: labEnv, Region: labEast, ReplicatorName: "lab-primary-to-secondary"})
	require.NoError(t, err)
	require.False(t, lag.OK)
}

func TestErrorsAreClassified(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	missing := "arn:aws:kafka:us-west-2:123456789012:replicator/nope/1"
	_, err := c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: labEnv, Region: labWest, ReplicatorARN: missing})
	requireNonRetryable(t, err, ErrNotFound, missing, labWest)

	_, err = c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labEast, Collection: "nope"})
	requireNonRetryable(t, err, ErrNotFound, "nope", labEast)

	_, err = c.PipelineStatus(ctx, PipelineArgs{Environment: labEnv, Region: labEast, Pipeline: "nope"})
	requireNonRetryable(t, err, ErrNotFound, "nope", labEast)

	// OpenSearch refuses the request (no such API): a 4xx fails at once.
	_, err = c.Count(ctx, CountArgs{Environment: labEnv, Region: labEast, Index: "_bad"})
	requireNonRetryable(t, err, ErrValidation, "collection lab-opensearch-primary", labEast)

	for _, k := range []awstwin.FaultKind{awstwin.FaultThrottle, awstwin.FaultInternalError, awstwin.FaultRegionImpaired} {
		l.setFault(labWest, k, "")
		_, err = c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: labEnv, Region: labWest})
		requireRetryable(t, err)
		require.Contains(t, err.Error(), labWest, k.String())
		_, err = c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labWest})
		requireRetryable(t, err) // aoss throttles with HTTP 400 ThrottlingException
		_, err = c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labWest})
		requireRetryable(t, err)
	}
	l.setFault("", awstwin.NoFault, "")

	l.search[labWest].SetAvailable(false)
	_, err = c.Count(ctx, CountArgs{Environment: labEnv, Region: labWest})
	requireRetryable(t, err)
	require.Contains(t, err.Error(), "collection lab-opensearch-secondary")

	_, err = c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: "eu-west-1"})
	requireNonRetryable(t, err, ErrBadArguments, "eu-west-1")
	_, err = c.ClusterActive(ctx, MSKClusterArgs{Environment: "missing", Region: labEast})
	requireNonRetryable(t, err, wire.ErrInvalidInput, "missing")
}

// In ungraceful mode the runbook names the healthy Region in every step; nothing then reaches
// the impaired one.
func TestUngracefulCallsOnlyTheNamedRegion(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	l.setFault(labEast, awstwin.FaultRegionImpaired, "")
	l.search[labEast].SetAvailable(false)
	require.NoError(t, l.kafka[labEast].SetReachable(false))
	l.takeCalls()

	steps := map[string]func() error{
		"cluster": func() error {
			_, err := c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"replicator": func() error {
			_, err := c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"lag": func() error {
			_, err := c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"pipeline": func() error {
			_, err := c.PipelineStatus(ctx, PipelineArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"collection": func() error {
			_, err := c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"count": func() error { _, err := c.Count(ctx, CountArgs{Environment: labEnv, Region: labWest}); return err },
		"alarms": func() error {
			_, err := c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labWest})
			return err
		},
		"dlq": func() error {
			_, err := c.DLQObjects(ctx, DLQObjectsArgs{Environment: labEnv, Region: labWest, Since: time.Now().Add(-time.Hour)})
			return err
		},
		"traffic": func() error {
			_, err := c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 0, labWest: 100}})
			return err
		},
	}
	for name, step := range steps {
		require.NoError(t, step(), name)
	}
	calls := l.takeCalls()
	require.NotEmpty(t, calls)
	for _, call := range calls {
		require.True(t, strings.HasPrefix(call, labWest+"/"), "a step called %s", call)
	}
	_, err := c.ClusterActive(ctx, MSKClusterArgs{Environment: labEnv, Region: labEast})
	requireRetryable(t, err)
}

func TestPipelineAndKafkaLagThroughTheLab(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	osis := l.osis[labWest]
	eventually(t, "the pipeline to be ACTIVE", func() bool { return osis.p.Status() == kafkatwin.PipelineActive })
	st, err := c.PipelineStatus(ctx, PipelineArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, st.OK, st.Reason)

	// Start on ACTIVE is a no-op that never asks OSI.
	res, err := c.StartPipeline(ctx, PipelineChangeArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, "ACTIVE", res.Status)
	require.Zero(t, osis.starts.Load())

	l.produce(t, labWest, 20, time.Now())
	eventually(t, "the pipeline to drain the topic", func() bool {
		r, err := c.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest})
		return err == nil && r.OK && r.Lag == 0
	})
	eventually(t, "the group to have a member", func() bool {
		r, err := c.GroupIdle(ctx, GroupIdleArgs{Environment: labEnv, Region: labWest})
		return err == nil && !r.OK && r.Members > 0
	})
	cnt, err := c.Count(ctx, CountArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Equal(t, int64(20), cnt.Count, "every event reached the collection")

	env, beats := activityEnv(t, c.StopPipeline, c.StartPipeline)
	args := PipelineChangeArgs{Environment: labEnv, Region: labWest, Wait: true, Interval: runbook.Duration(20 * time.Millisecond)}
	v, err := env.ExecuteActivity(c.StopPipeline, args)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.True(t, res.Changed)
	require.Equal(t, "STOPPED", res.Status)
	require.Equal(t, int64(1), osis.stops.Load())
	require.Positive(t, beats.Load(), "the wait heartbeats")
	res, err = c.StopPipeline(ctx, args)
	require.NoError(t, err)
	require.False(t, res.Changed, "stop on STOPPED is a no-op")
	require.Equal(t, int64(1), osis.stops.Load())

	eventually(t, "the group to be idle", func() bool {
		r, err := c.GroupIdle(ctx, GroupIdleArgs{Environment: labEnv, Region: labWest})
		return err == nil && r.OK && r.Members == 0
	})
	l.produce(t, labWest, 5, time.Now())
	lag, err := c.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, lag.OK)
	require.Equal(t, int64(5), lag.Lag)
	require.Contains(t, lag.Reason, "5 messages behind")
	lag, err = c.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest, MaxLag: 5})
	require.NoError(t, err)
	require.True(t, lag.OK, "within max_lag")
	st, err = c.PipelineStatus(ctx, PipelineArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, st.OK)
	require.Contains(t, st.Reason, "STOPPED, not ACTIVE")

	v, err = env.ExecuteActivity(c.StartPipeline, args)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.True(t, res.Changed)
	require.Equal(t, "ACTIVE", res.Status)
	require.Equal(t, int64(1), osis.starts.Load())
	eventually(t, "the restarted pipeline to drain the backlog", func() bool {
		r, err := c.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest})
		return err == nil && r.OK
	})
	res, err = c.StartPipeline(ctx, args)
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, int64(1), osis.starts.Load(), "start on ACTIVE asks nothing")

	lag, err = c.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest, Group: "nobody"})
	require.NoError(t, err)
	require.False(t, lag.OK, "a group with nothing committed proves nothing")
	require.Contains(t, lag.Reason, "nobody")
}

func TestPipelineMetrics(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	dims := map[string]string{"PipelineName": "lab-osi-primary"}
	now := time.Now()
	put := func(metric string, ago time.Duration, v float64) {
		l.twin.PutMetric(labEast, "AWS/OSIS", "kafka-pipeline.opensearch."+metric, dims, now.Add(-ago), v)
	}
	put("documentsSuccess.count", 3*time.Minute, 10)
	put("documentsSuccess.count", 2*time.Minute, 15)
	put("documentErrors.count", 2*time.Minute, 0)
	args := PipelineMetricsArgs{Environment: labEnv, Region: labEast, MinDocumentsSuccess: 20}
	m, err := c.PipelineMetrics(ctx, args)
	require.NoError(t, err)
	require.True(t, m.OK, m.Reason)
	require.Equal(t, 25.0, m.DocumentsSuccess)
	args.MinDocumentsSuccess = 30
	m, err = c.PipelineMetrics(ctx, args)
	require.NoError(t, err)
	require.False(t, m.OK)
	require.Contains(t, m.Reason, "want at least 30")

	put("s3.dlqS3RecordsSuccess.count", time.Minute, 3)
	put("documentErrors.count", time.Minute, 3)
	m, err = c.PipelineMetrics(ctx, PipelineMetricsArgs{Environment: labEnv, Region: labEast, MaxDocumentErrors: 5})
	require.NoError(t, err)
	require.False(t, m.OK)
	require.Equal(t, 3.0, m.DLQRecords)
	require.Contains(t, m.Reason, "dead-letter")

	m, err = c.PipelineMetrics(ctx, PipelineMetricsArgs{Environment: labEnv, Region: labEast, Since: now.Add(-30 * time.Second)})
	require.NoError(t, err)
	require.Zero(t, m.DocumentsSuccess, "datapoints before the window do not count")
}

func TestOpenSearchCountAndIngesting(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var docs [][]byte
	for i := range 100 {
		docs = append(docs, fmt.Appendf(nil, `{"timestamp":%q,"event_id":"ev-%03d","message":"m"}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i))
	}
	for _, err := range l.search[labEast].IndexDocs("application-logs-2026.11.20", docs) {
		require.NoError(t, err)
	}
	n, err := c.Count(ctx, CountArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.Equal(t, int64(100), n.Count)
	n, err = c.Count(ctx, CountArgs{Environment: labEnv, Region: labEast, From: base.Add(10 * time.Second), To: base.Add(20 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, int64(10), n.Count, "[from, to) on the timestamp field")
	n, err = c.Count(ctx, CountArgs{Environment: labEnv, Region: labEast, Index: "nomatch-*"})
	require.NoError(t, err)
	require.Zero(t, n.Count)
	n, err = c.Count(ctx, CountArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Zero(t, n.Count, "the other Region's collection")

	env, beats := activityEnv(t, c.Ingesting)
	args := IngestingArgs{Environment: labEnv, Region: labEast, Window: runbook.Duration(300 * time.Millisecond), Interval: runbook.Duration(50 * time.Millisecond)}
	v, err := env.ExecuteActivity(c.Ingesting, args)
	require.NoError(t, err)
	var ing IngestingResult
	require.NoError(t, v.Get(&ing))
	require.False(t, ing.OK, "nothing arrives")
	require.Equal(t, int64(100), ing.Last)
	require.Contains(t, ing.Reason, "stayed at 100")
	require.Positive(t, beats.Load())

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			l.search[labEast].IndexDocs("application-logs-2026.11.20", [][]byte{fmt.Appendf(nil, `{"timestamp":%q,"event_id":"new-%d"}`, base.Format(time.RFC3339), i)})
		}
	}()
	args.Window = runbook.Duration(10 * time.Second)
	ing, err = c.Ingesting(ctx, args)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.True(t, ing.OK, ing.Reason)
	require.Greater(t, ing.Last, ing.First)
}

func TestOpenSearchHealthAndCollection(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud

	col, err := c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, col.OK, col.Reason)
	require.Equal(t, "id-lab-opensearch-secondary", col.ID)
	l.aoss[labWest].PutCollection(awstwin.Collection{ID: "id-lab-opensearch-secondary", Name: "lab-opensearch-secondary", Status: "FAILED"})
	col, err = c.CollectionActive(ctx, CollectionArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, col.OK)
	require.Contains(t, col.Reason, "FAILED, not ACTIVE")

	_, err = c.ClusterHealth(ctx, ClusterHealthArgs{Environment: labEnv, Region: labEast})
	requireNonRetryable(t, err, ErrBadArguments, "Serverless")
	for _, e := range l.zonal.IndexDocs("application-logs-x", [][]byte{[]byte(`{"timestamp":"2026-11-20T10:00:00Z"}`)}) {
		require.NoError(t, e)
	}
	h, err := c.ClusterHealth(ctx, ClusterHealthArgs{Environment: labEnv, Zonal: true})
	require.NoError(t, err)
	require.True(t, h.OK, h.Reason)
	require.Equal(t, "green", h.Status)
	require.NoError(t, l.zonal.SetZoneAvailable("us-east-1b", false))
	h, err = c.ClusterHealth(ctx, ClusterHealthArgs{Environment: labEnv, Zonal: true})
	require.NoError(t, err)
	require.False(t, h.OK)
	require.Equal(t, "yellow", h.Status)
	h, err = c.ClusterHealth(ctx, ClusterHealthArgs{Environment: labEnv, Zonal: true, Want: "yellow"})
	require.NoError(t, err)
	require.True(t, h.OK, h.Reason)
	_, err = c.ClusterHealth(ctx, ClusterHealthArgs{Environment: labEnv, Zonal: true, Region: labWest})
	requireNonRetryable(t, err, ErrBadArguments, labEast)

	d, err := c.DomainStatus(ctx, DomainArgs{Environment: labEnv, Zonal: true})
	require.NoError(t, err)
	require.True(t, d.OK, d.Reason)
	require.True(t, d.MultiAZ)
	require.Equal(t, 2, d.ActiveZones)
	require.Equal(t, 1, d.StandbyZones)
	require.Len(t, d.Zones, 3)
	require.Equal(t, ZoneHealth{Zone: "us-east-1c", Status: "StandBy", AvailableDataNodes: 2, ConfiguredNodes: 2,
		Nodes: []DomainNode{{ID: "c-1", Type: "Data", Status: "StandBy", InstanceType: "r6g.large.search"},
			{ID: "c-2", Type: "Data", Status: "StandBy", InstanceType: "r6g.large.search"}}}, d.Zones[2])
	_, err = c.DomainStatus(ctx, DomainArgs{Environment: labEnv, Zonal: true, Domain: "nope"})
	requireNonRetryable(t, err, ErrNotFound, "nope", labEast)
	l.domains.PutDomain(awstwin.Domain{Name: "lab-multiaz", Health: awstwin.DomainHealth{DomainState: "Active", ClusterHealth: "Red",
		Zones: []awstwin.ZoneHealth{{Name: "us-east-1a", Status: "NotAvailable"}}}})
	d, err = c.DomainStatus(ctx, DomainArgs{Environment: labEnv, Zonal: true})
	require.NoError(t, err)
	require.False(t, d.OK)
	require.Contains(t, d.Reason, "zone status of us-east-1a not retrievable (NotAvailable: AWS could not retrieve it; it does not mean the zone is down)")
}

// The zone moves run against a self-managed cluster, logged in with the password the environment
// keeps in SSM.
func TestZoneWeightsAndDecommission(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	w, err := c.ZoneWeights(ctx, ZoneWeightsArgs{Environment: labZonalEnv})
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 0}, w.Weights, "Multi-AZ with standby")
	require.Equal(t, int64(0), w.Version)

	same, err := c.SetZoneWeights(ctx, SetZoneWeightsArgs{Environment: labZonalEnv, Weights: w.Weights})
	require.NoError(t, err)
	require.False(t, same.Changed)
	require.Equal(t, int64(0), same.Version)

	away := map[string]float64{"us-east-1a": 0, "us-east-1b": 1, "us-east-1c": 1}
	set, err := c.SetZoneWeights(ctx, SetZoneWeightsArgs{Environment: labZonalEnv, Weights: away})
	require.NoError(t, err)
	require.True(t, set.Changed)
	require.Equal(t, w.Weights, set.Previous)
	require.Equal(t, int64(1), set.Version)
	again, err := c.SetZoneWeights(ctx, SetZoneWeightsArgs{Environment: labZonalEnv, Weights: away})
	require.NoError(t, err)
	require.False(t, again.Changed, "setting the same weights twice changes nothing the second time")
	require.Equal(t, int64(1), again.Version)
	_, err = c.SetZoneWeights(ctx, SetZoneWeightsArgs{Environment: labZonalEnv, Weights: map[string]float64{"us-east-1a": 1}})
	requireNonRetryable(t, err, ErrBadArguments, "every zone")

	env, beats := activityEnv(t, c.DecommissionZone)
	dargs := DecommissionArgs{Environment: labZonalEnv, Zone: "us-east-1a", Wait: true, Interval: runbook.Duration(20 * time.Millisecond)}
	v, err := env.ExecuteActivity(c.DecommissionZone, dargs)
	require.NoError(t, err)
	var dec DecommissionResult
	require.NoError(t, v.Get(&dec))
	require.True(t, dec.Changed)
	require.Equal(t, "SUCCESSFUL", dec.Status)
	require.Positive(t, beats.Load())
	dec, err = c.DecommissionZone(ctx, dargs)
	require.NoError(t, err)
	require.False(t, dec.Changed, "already decommissioned")
	st, err := c.DecommissionStatus(ctx, DecommissionStatusArgs{Environment: labZonalEnv})
	require.NoError(t, err)
	require.True(t, st.OK, st.Reason)
	require.Equal(t, "us-east-1a", st.Zone)
	_, err = c.DecommissionZone(ctx, DecommissionArgs{Environment: labZonalEnv, Zone: "us-east-1b"})
	requireNonRetryable(t, err, ErrPermanent, "us-east-1a", "recommission")

	rec, err := c.RecommissionZone(ctx, RecommissionArgs{Environment: labZonalEnv})
	require.NoError(t, err)
	require.True(t, rec.Changed)
	require.Equal(t, "us-east-1a", rec.Zone)
	rec, err = c.RecommissionZone(ctx, RecommissionArgs{Environment: labZonalEnv})
	require.NoError(t, err)
	require.False(t, rec.Changed)
	st, err = c.DecommissionStatus(ctx, DecommissionStatusArgs{Environment: labZonalEnv, Want: "NONE"})
	require.NoError(t, err)
	require.True(t, st.OK, st.Reason)

	// A zone with weight > 0 cannot be decommissioned: OpenSearch refuses, and no retry helps.
	_, err = c.DecommissionZone(ctx, DecommissionArgs{Environment: labZonalEnv, Zone: "us-east-1b"})
	requireNonRetryable(t, err, ErrValidation, "self-managed cluster", labEast)

	// On a managed domain the same calls meet AWS's refusal, explained.
	_, err = c.ZoneWeights(ctx, ZoneWeightsArgs{Environment: labEnv})
	requireNonRetryable(t, err, ErrAccessDenied, "Your request: '/_cluster/routing/awareness/zone/weights' is not allowed.", "needs zonal.kind self_managed")
}

func TestRoute53Weights(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	cur, err := c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{labEast: 100, labWest: 0}, cur.Weights)

	env, beats := activityEnv(t, c.SetRoute53Weights)
	want := map[string]int64{labEast: 0, labWest: 100}
	args := SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: want, Wait: true, Interval: runbook.Duration(20 * time.Millisecond)}
	v, err := env.ExecuteActivity(c.SetRoute53Weights, args)
	require.NoError(t, err)
	var res SetRoute53WeightsResult
	require.NoError(t, v.Get(&res))
	require.True(t, res.Changed)
	require.NotEmpty(t, res.ChangeID)
	require.Equal(t, "INSYNC", res.Status)
	require.Equal(t, cur.Weights, res.Previous)
	require.Positive(t, beats.Load(), "waiting for INSYNC heartbeats")

	recs, err := l.twin.RecordSets(labHostedZoneID)
	require.NoError(t, err)
	var weighted int
	for _, r := range recs {
		if r.SetIdentifier == "" {
			continue
		}
		weighted++
		require.Equal(t, want[r.SetIdentifier], aws.ToInt64(r.Weight))
		require.Equal(t, []string{"ingest." + r.SetIdentifier + ".lab.switchyard.internal"}, r.Values, "the record's value is kept")
		require.Equal(t, int64(5), aws.ToInt64(r.TTL))
	}
	require.Equal(t, 2, weighted)

	l.takeCalls()
	res, err = c.SetRoute53Weights(ctx, args)
	require.NoError(t, err)
	require.False(t, res.Changed, "setting the same weights twice changes nothing the second time")
	require.Empty(t, res.ChangeID)
	for _, call := range l.takeCalls() {
		require.NotContains(t, call, "ChangeResourceRecordSets")
	}
	wait, err := c.WaitRoute53Change(ctx, Route53ChangeArgs{Environment: labEnv, Region: labWest, ChangeID: res.ChangeID})
	require.NoError(t, err)
	require.Equal(t, "INSYNC", wait.Status, "no change: nothing to wait for")

	// A worker died while the first attempt waited for its change: the retry finds the weights
	// set, submits nothing, and still waits for the change its predecessor heartbeated.
	res, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 20, labWest: 100}})
	require.NoError(t, err)
	require.Equal(t, "PENDING", res.Status)
	retry, _ := activityEnv(t, c.SetRoute53Weights)
	retry.SetHeartbeatDetails(route53ChangeHeartbeat{ChangeID: res.ChangeID, Status: res.Status})
	l.takeCalls()
	v, err = retry.ExecuteActivity(c.SetRoute53Weights, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest,
		Weights: map[string]int64{labEast: 20, labWest: 100}, Wait: true, Interval: runbook.Duration(20 * time.Millisecond)})
	require.NoError(t, err)
	var again SetRoute53WeightsResult
	require.NoError(t, v.Get(&again))
	require.False(t, again.Changed)
	require.Equal(t, res.ChangeID, again.ChangeID, "the retry waited for the earlier change")
	require.Equal(t, "INSYNC", again.Status)
	calls := strings.Join(l.takeCalls(), " ")
	require.NotContains(t, calls, "ChangeResourceRecordSets")
	require.Contains(t, calls, "GetChange")

	// A partial change: only the record whose weight differs is upserted.
	res, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 10, labWest: 100}})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, "PENDING", res.Status)
	wait, err = c.WaitRoute53Change(ctx, Route53ChangeArgs{Environment: labEnv, Region: labWest, ChangeID: res.ChangeID, Interval: runbook.Duration(20 * time.Millisecond)})
	require.NoError(t, err)
	require.Equal(t, "INSYNC", wait.Status)
	cur, err = c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{labEast: 10, labWest: 100}, cur.Weights)

	_, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{"eu-west-1": 1}})
	requireNonRetryable(t, err, ErrBadArguments, "eu-west-1")
	_, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 256}})
	requireNonRetryable(t, err, ErrBadArguments, "255")
	_, err = c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labWest, HostedZoneID: "ZNOPE"})
	requireNonRetryable(t, err, ErrNotFound, "ZNOPE", labWest)
}

func TestSSMParameters(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	name := "/switchyard/test/active-region"
	_, err := c.GetParameter(ctx, SSMGetArgs{Environment: labEnv, Region: labWest, Name: name})
	requireNonRetryable(t, err, ErrNotFound, name, labWest)

	put, err := c.PutParameter(ctx, SSMPutArgs{Environment: labEnv, Region: labWest, Name: name, Value: labWest})
	require.NoError(t, err)
	require.True(t, put.Changed)
	require.Equal(t, int64(1), put.Version)
	put, err = c.PutParameter(ctx, SSMPutArgs{Environment: labEnv, Region: labWest, Name: name, Value: labWest})
	require.NoError(t, err)
	require.False(t, put.Changed, "putting the same value twice writes nothing the second time")
	require.Equal(t, int64(1), put.Version)
	put, err = c.PutParameter(ctx, SSMPutArgs{Environment: labEnv, Region: labWest, Name: name, Value: labEast})
	require.NoError(t, err)
	require.True(t, put.Changed)
	require.Equal(t, labWest, put.Previous)
	require.Equal(t, int64(2), put.Version)
	got, err := c.GetParameter(ctx, SSMGetArgs{Environment: labEnv, Region: labWest, Name: name})
	require.NoError(t, err)
	require.Equal(t, SSMGetResult{Value: labEast, Type: "String", Version: 2}, got)
	p, err := l.twin.GetParameter(labWest, name)
	require.NoError(t, err)
	require.Equal(t, labEast, p.Value, "stored in the Region named")
	_, err = l.twin.GetParameter(labEast, name)
	require.Error(t, err, "and only there")
}

func TestAlarmStateAndDLQObjects(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	a, err := c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.True(t, a.OK, a.Reason)
	require.Equal(t, 2, a.Checked)
	_, err = l.twin.SetAlarmState(labEast, "lab-us-east-1-collection-unreachable", "ALARM", "probe failed")
	require.NoError(t, err)
	a, err = c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labEast})
	require.NoError(t, err)
	require.False(t, a.OK)
	require.Equal(t, []string{"lab-us-east-1-collection-unreachable"}, a.Firing)
	require.Equal(t, "ALARM", a.States["lab-us-east-1-collection-unreachable"])
	a, err = c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, a.OK, "the other Region's alarms")
	_, err = l.twin.SetAlarmState(labWest, "lab-us-west-2-pipeline-not-ingesting", "INSUFFICIENT_DATA", "no data")
	require.NoError(t, err)
	a, err = c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, a.OK, "INSUFFICIENT_DATA is not ALARM by default")
	a, err = c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labWest, InsufficientDataFails: true})
	require.NoError(t, err)
	require.False(t, a.OK)
	_, err = c.AlarmState(ctx, AlarmStateArgs{Environment: labEnv, Region: labWest, Alarms: []string{"typo-alarm"}})
	requireNonRetryable(t, err, ErrNotFound, "typo-alarm", labWest)

	since := time.Now().Add(-time.Minute)
	d, err := c.DLQObjects(ctx, DLQObjectsArgs{Environment: labEnv, Region: labWest, Since: since})
	require.NoError(t, err)
	require.True(t, d.OK, d.Reason)
	require.Zero(t, d.Objects)
	key := "dlq-v2-kafka-pipeline-opensearch-2026-11-20T10:00:00Z-1.json"
	require.NoError(t, l.twin.PutObject(labWest, "lab-opensearch-dlq-us-west-2", key, []byte(`{"dlqObjects":[]}`)))
	d, err = c.DLQObjects(ctx, DLQObjectsArgs{Environment: labEnv, Region: labWest, Since: since})
	require.NoError(t, err)
	require.False(t, d.OK)
	require.Equal(t, int64(1), d.Objects)
	require.Equal(t, []string{key}, d.Sample)
	d, err = c.DLQObjects(ctx, DLQObjectsArgs{Environment: labEnv, Region: labWest, Since: time.Now().Add(time.Minute)})
	require.NoError(t, err)
	require.True(t, d.OK, "objects before since do not count")
	_, err = c.DLQObjects(ctx, DLQObjectsArgs{Environment: labEnv, Region: labWest, Since: since, Bucket: "no-such-bucket"})
	requireNonRetryable(t, err, ErrNotFound, "no-such-bucket", labWest)
}

func TestOpenSearchErrorsAreClassified(t *testing.T) {
	o := osTarget{t: target{region: labWest}, endpoint: "https://search.example", kind: "serverless", collection: "logs"}
	for _, tc := range []struct {
		err       error
		retryable bool
		typ       string
	}{
		{&osHTTPError{Status: 429, Reason: "too many requests"}, true, ""},
		{&osHTTPError{Status: 503, Type: "cluster_block_exception"}, true, ""},
		{&osHTTPError{Status: 500}, true, ""},
		{&osUnreachable{err: errors.New("connection refused")}, true, wire.ErrRegionUnreachable},
		{&osHTTPError{Status: 403, Type: "security_exception"}, false, ErrAccessDenied},
		{&osHTTPError{Status: 401}, false, ErrAccessDenied},
		{&osHTTPError{Status: 404, Type: "index_not_found_exception"}, false, ErrNotFound},
		{&osHTTPError{Status: 400, Type: "parsing_exception"}, false, ErrValidation},
		{&osHTTPError{Status: 409, Type: "version_conflict"}, false, ErrValidation},
	} {
		err := osWrap(tc.err, "count", o)
		require.Contains(t, err.Error(), "collection logs", tc.err.Error())
		require.Contains(t, err.Error(), labWest, tc.err.Error())
		var appErr *temporal.ApplicationError
		isApp := errors.As(err, &appErr)
		if tc.retryable {
			require.False(t, isApp && appErr.NonRetryable(), tc.err.Error())
		} else {
			require.True(t, isApp && appErr.NonRetryable(), tc.err.Error())
		}
		if tc.typ != "" {
			require.Equal(t, tc.typ, appErr.Type(), tc.err.Error())
		}
	}
	require.ErrorIs(t, osWrap(context.Canceled, "count", o), context.Canceled)
}

func TestPollHonoursContextAndTimesOutRetryably(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	reads := 0
	err := poll(ctx, pollOptions{interval: time.Millisecond, timeout: time.Hour, what: "x"}, func(context.Context) (bool, string, error) {
		reads++
		if reads == 3 {
			cancel()
		}
		return false, "not yet", nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 3, reads)

	err = poll(context.Background(), pollOptions{interval: time.Millisecond, timeout: 5 * time.Millisecond, what: "the thing"}, func(context.Context) (bool, string, error) {
		return false, "still 7", nil
	})
	var pt *pollTimeout
	require.True(t, errors.As(err, &pt), "%v", err)
	require.Contains(t, err.Error(), "the thing: still 7")
	requireRetryable(t, err)
}

type authRecorder struct {
	mu    sync.Mutex
	auths []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	a.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// OpenSearch requests are signed with SigV4 for the endpoint's service: aoss for a collection, es
// for a managed domain, scoped to the Region.
func TestOpenSearchRequestsAreSigned(t *testing.T) {
	l := newCloudLab(t)
	rec := &authRecorder{}
	c := NewCloud(CloudOptions{RunbookDir: l.dir, AWS: l.cloud.opts.AWS, OpenSearchTransport: rec})
	_, err := c.Count(context.Background(), CountArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	_, err = c.ClusterHealth(context.Background(), ClusterHealthArgs{Environment: labEnv, Zonal: true})
	require.NoError(t, err)
	_, err = c.ZoneWeights(context.Background(), ZoneWeightsArgs{Environment: labZonalEnv})
	require.NoError(t, err)
	require.Len(t, rec.auths, 3)
	require.Contains(t, rec.auths[0], "/us-west-2/aoss/aws4_request")
	require.Contains(t, rec.auths[1], "/us-east-1/es/aws4_request")
	require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("switchyard:"+labZonalPassword)), rec.auths[2],
		"a self-managed cluster gets basic auth with the password read from SSM, and no SigV4")
}

// A change an activity makes is logged with the run it was made for, under the SDK's keys.
func TestChangesAreLoggedWithTheirRun(t *testing.T) {
	l := newCloudLab(t)
	var buf bytes.Buffer
	c := NewCloud(CloudOptions{RunbookDir: l.dir, AWS: l.cloud.opts.AWS, Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		PollInterval: 50 * time.Millisecond})
	env, _ := activityEnv(t, c.SetRoute53Weights)
	_, err := env.ExecuteActivity(c.SetRoute53Weights, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest,
		Weights: map[string]int64{labEast: 0, labWest: 100}})
	require.NoError(t, err)
	var line map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		if m["msg"] == "route 53 weights changed" {
			line = m
		}
	}
	require.NotNil(t, line, buf.String())
	require.NotEmpty(t, line["WorkflowID"])
	require.NotEmpty(t, line["RunID"])
	require.Equal(t, "SetRoute53Weights", line["ActivityType"])
}
