package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

type fakeBackfillReplicator struct {
	state kafkatypes.ReplicatorState
	err   error
}

func (f fakeBackfillReplicator) DescribeReplicator(_ context.Context, in *kafka.DescribeReplicatorInput, _ ...func(*kafka.Options)) (*kafka.DescribeReplicatorOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &kafka.DescribeReplicatorOutput{ReplicatorArn: in.ReplicatorArn, ReplicatorName: aws.String("lab-primary-to-secondary"), ReplicatorState: f.state}, nil
}

type fakeBackfillMetrics struct {
	lag  []float64
	seen *cloudwatch.GetMetricDataInput
}

func (f *fakeBackfillMetrics) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.seen = in
	return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{{Id: aws.String("lag"), Values: f.lag}}}, nil
}

type fakeBackfillObjects struct{ objs []s3types.Object }

func (f fakeBackfillObjects) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return &s3.ListObjectsV2Output{Contents: f.objs, IsTruncated: aws.Bool(false)}, nil
}

var backfillSince = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func backfillGateRequest() wire.GateRequest {
	return wire.GateRequest{Environment: "lab", Target: "us-west-2", Topic: "opensearch-data", Since: backfillSince,
		TargetRegion: runbook.RegionConfig{InboundReplicatorARN: "arn:aws:kafka:us-west-2:0:replicator/lab-primary-to-secondary/1",
			ConsumerGroup: "osi-consumer-group-secondary", DLQBucket: "lab-dlq"}}
}

func newGateBackfill(rep fakeBackfillReplicator, m *fakeBackfillMetrics, lag int64, objs ...s3types.Object) *Backfill {
	return NewBackfill(BackfillOptions{
		Replicators: func(context.Context, awsclients.Region) (BackfillReplicators, error) { return rep, nil },
		Metrics:     func(context.Context, awsclients.Region) (BackfillMetrics, error) { return m, nil },
		Objects: func(context.Context, awsclients.Region) (BackfillObjects, error) {
			return fakeBackfillObjects{objs}, nil
		},
		Lag: func(_ context.Context, region string, _ runbook.RegionConfig, group, topic string) (int64, error) {
			if group != "osi-consumer-group-secondary" || topic != "opensearch-data" || region != "us-west-2" {
				return 0, fmt.Errorf("unexpected lag query %s %s %s", region, group, topic)
			}
			return lag, nil
		},
	})
}

func TestGatesOpenWhenPipelineDrained(t *testing.T) {
	m := &fakeBackfillMetrics{lag: []float64{0, 12}}
	old := s3types.Object{Key: aws.String("dlq-v2-old.json"), LastModified: aws.Time(backfillSince.Add(-time.Hour)), Size: aws.Int64(10)}
	b := newGateBackfill(fakeBackfillReplicator{state: kafkatypes.ReplicatorStateRunning}, m, 0, old)
	g, err := b.Gates(context.Background(), backfillGateRequest())
	require.NoError(t, err)
	require.True(t, g.OK, g.Reason)
	require.Equal(t, 0.0, *g.Replicator.MessageLag, "the newest datapoint counts")
	require.Zero(t, g.DLQ.Objects, "objects older than the window are not this impairment's")
	q := m.seen.MetricDataQueries[0].MetricStat.Metric
	require.Equal(t, "AWS/Kafka", aws.ToString(q.Namespace))
	require.Equal(t, "MessageLag", aws.ToString(q.MetricName))
	require.Equal(t, "ReplicatorName", aws.ToString(q.Dimensions[0].Name))
	require.Equal(t, "lab-primary-to-secondary", aws.ToString(q.Dimensions[0].Value))
}

func TestGatesClosedWithReasons(t *testing.T) {
	dlq := []s3types.Object{
		{Key: aws.String("dlq-v2-a.json"), LastModified: aws.Time(backfillSince.Add(time.Minute)), Size: aws.Int64(100)},
		{Key: aws.String("dlq-v2-b.json"), LastModified: aws.Time(backfillSince.Add(2 * time.Minute)), Size: aws.Int64(50)},
	}
	b := newGateBackfill(fakeBackfillReplicator{state: kafkatypes.ReplicatorStateRunning}, &fakeBackfillMetrics{lag: []float64{42}}, 7, dlq...)
	g, err := b.Gates(context.Background(), backfillGateRequest())
	require.NoError(t, err)
	require.False(t, g.OK)
	require.False(t, g.Replicator.OK)
	require.Contains(t, g.Reason, "MessageLag 42")
	require.Equal(t, int64(7), g.ConsumerLag.Lag)
	require.Contains(t, g.Reason, "7 messages behind")
	require.Equal(t, int64(2), g.DLQ.Objects)
	require.Equal(t, int64(150), g.DLQ.Bytes)
	require.Contains(t, g.Reason, "2 dead-letter objects")

	req := backfillGateRequest()
	req.AcceptDLQ = true
	b = newGateBackfill(fakeBackfillReplicator{state: kafkatypes.ReplicatorStateRunning}, &fakeBackfillMetrics{lag: []float64{0}}, 0, dlq...)
	g, err = b.Gates(context.Background(), req)
	require.NoError(t, err)
	require.True(t, g.OK, "accepted dead letters pass: %s", g.Reason)
	require.Equal(t, int64(2), g.DLQ.Objects, "and are still reported")

	b = newGateBackfill(fakeBackfillReplicator{state: kafkatypes.ReplicatorStateFailed}, &fakeBackfillMetrics{lag: []float64{0}}, 0)
	g, err = b.Gates(context.Background(), backfillGateRequest())
	require.NoError(t, err)
	require.False(t, g.OK)
	require.Contains(t, g.Reason, "FAILED, not RUNNING")

	b = newGateBackfill(fakeBackfillReplicator{state: kafkatypes.ReplicatorStateRunning}, &fakeBackfillMetrics{}, 0)
	g, err = b.Gates(context.Background(), backfillGateRequest())
	require.NoError(t, err)
	require.False(t, g.OK, "no datapoints is not proof of zero lag")
}

func TestGatesAccessDeniedIsPermanent(t *testing.T) {
	denied := respErr(403, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"})
	b := newGateBackfill(fakeBackfillReplicator{err: denied}, &fakeBackfillMetrics{}, 0)
	_, err := b.Gates(context.Background(), backfillGateRequest())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "arn:aws:kafka:us-west-2:0:replicator/lab-primary-to-secondary/1")
	require.Contains(t, err.Error(), "us-west-2")
}

// The consumer gate reads lag from real Kafka brokers (franz-go's kfake), as in the lab.
func TestKafkaLagAtTheBrokers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "opensearch-data"))
	require.NoError(t, err)
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	ctx := context.Background()
	for i := range 10 {
		r := &kgo.Record{Topic: "opensearch-data", Partition: int32(i % 2), Value: []byte("x")}
		require.NoError(t, cl.ProduceSync(ctx, r).FirstErr())
	}
	rc := runbook.RegionConfig{KafkaBootstrap: c.ListenAddrs(), KafkaAuth: "none"}
	b := NewBackfill(BackfillOptions{})
	_, err = b.kafkaLag(ctx, "us-west-2", rc, "osi-consumer-group-secondary", "opensearch-data")
	var notReady backfillLagNotReady
	require.True(t, errors.As(err, &notReady), "a group with no commits is not ready: %v", err)

	adm := kadm.NewClient(cl)
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "opensearch-data", Partition: 0, At: 4})
	offsets.Add(kadm.Offset{Topic: "opensearch-data", Partition: 1, At: 3})
	_, err = adm.CommitOffsets(ctx, "osi-consumer-group-secondary", offsets)
	require.NoError(t, err)
	lag, err := b.kafkaLag(ctx, "us-west-2", rc, "osi-consumer-group-secondary", "opensearch-data")
	require.NoError(t, err)
	require.Equal(t, int64(3), lag, "5+5 produced, 4+3 committed")

	offsets = kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "opensearch-data", Partition: 0, At: 5})
	offsets.Add(kadm.Offset{Topic: "opensearch-data", Partition: 1, At: 5})
	_, err = adm.CommitOffsets(ctx, "osi-consumer-group-secondary", offsets)
	require.NoError(t, err)
	lag, err = b.kafkaLag(ctx, "us-west-2", rc, "osi-consumer-group-secondary", "opensearch-data")
	require.NoError(t, err)
	require.Zero(t, lag)

	_, err = b.kafkaLag(ctx, "us-west-2", runbook.RegionConfig{KafkaBootstrap: []string{"127.0.0.1:1"}, KafkaAuth: "none"}, "g", "t")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, wire.ErrRegionUnreachable, appErr.Type())
	require.False(t, appErr.NonRetryable())
	_, err = b.kafkaLag(ctx, "us-west-2", runbook.RegionConfig{KafkaBootstrap: []string{"x:1"}, KafkaAuth: "scram"}, "g", "t")
	require.ErrorContains(t, err, "kafka_auth")
}

// backfillMemSides serves a Region's documents from memory.
func backfillMemSides(sides map[string]*backfill.MemSide) BackfillSideFunc {
	return func(_ context.Context, region string, _ runbook.RegionConfig) (backfill.Side, error) {
		s, ok := sides[region]
		if !ok {
			return nil, fmt.Errorf("no side %s", region)
		}
		return s, nil
	}
}

func backfillDocs(n int, skip map[int]bool) []backfill.MemDoc {
	var out []backfill.MemDoc
	for i := range n {
		if !skip[i] {
			out = append(out, backfill.MemDoc{Index: "application-logs-2026.11.20", ID: fmt.Sprintf("ev-%06d", i), TS: backfillSince.UnixMilli() + int64(i)*97})
		}
	}
	return out
}

func backfillCompareRequest() wire.CompareRequest {
	return wire.CompareRequest{Environment: "lab", Source: "us-east-1", Target: "us-west-2",
		Scope: backfill.Scope{Pattern: "application-logs-*", TimeField: "timestamp", IDField: "event_id"},
		From:  backfillSince, To: backfillSince.Add(2 * time.Hour)}
}

func TestCompareActivity(t *testing.T) {
	src := backfill.NewMemSide("us-east-1", backfillDocs(50_000, nil))
	dst := backfill.NewMemSide("us-west-2", backfillDocs(50_000, map[int]bool{17: true, 31_000: true}))
	b := NewBackfill(BackfillOptions{Sides: backfillMemSides(map[string]*backfill.MemSide{"us-east-1": src, "us-west-2": dst})})
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(b.Compare)
	v, err := aenv.ExecuteActivity(b.Compare, backfillCompareRequest())
	require.NoError(t, err)
	var res wire.CompareResult
	require.NoError(t, v.Get(&res))
	require.False(t, res.Converged)
	require.Equal(t, int64(2), res.Report.Missing.Total)
	require.Equal(t, "ev-000017", res.Report.Missing.Sample[0].ID)

	req := backfillCompareRequest()
	req.Tolerance = 2
	res, err = b.Compare(context.Background(), req)
	require.NoError(t, err)
	require.True(t, res.Converged)
}

func TestCompareActivityResumesFromHeartbeat(t *testing.T) {
	skip := map[int]bool{}
	for i := 0; i < 50_000; i += 7 {
		skip[i] = true
	}
	src := backfill.NewMemSide("us-east-1", backfillDocs(50_000, nil))
	dst := backfill.NewMemSide("us-west-2", backfillDocs(50_000, skip))
	b := NewBackfill(BackfillOptions{Sides: backfillMemSides(map[string]*backfill.MemSide{"us-east-1": src, "us-west-2": dst}),
		Engine: backfill.Options{PageSize: 1000}})
	req := backfillCompareRequest()
	var cks []backfill.Checkpoint
	full, err := backfill.Compare(context.Background(), src, dst, backfill.Options{Scope: req.Scope, From: req.From, To: req.To, PageSize: 1000,
		Checkpoint: func(c backfill.Checkpoint) { cks = append(cks, c) }})
	require.NoError(t, err)
	require.Greater(t, len(cks), 3)
	ck := cks[len(cks)/2]

	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(b.Compare)
	aenv.SetHeartbeatDetails(compareHeartbeat{Checkpoint: &ck, From: req.From, To: req.To})
	before := src.Requests() + dst.Requests()
	v, err := aenv.ExecuteActivity(b.Compare, req)
	require.NoError(t, err)
	var res wire.CompareResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, full.Missing.Total, res.Report.Missing.Total)
	require.Equal(t, int64(len(skip)), res.Report.Missing.Total)
	require.Less(t, src.Requests()+dst.Requests()-before, full.Requests.Total(), "the retried attempt continued where the last one stopped")
}

func TestCompareActivityUnreachableRegion(t *testing.T) {
	src := backfill.NewMemSide("us-east-1", backfillDocs(1000, nil))
	dst := backfill.NewMemSide("us-west-2", nil)
	dst.Fail = &backfill.Error{Side: "us-west-2 (http://127.0.0.1:9201)", Op: "count", Reason: "connection refused", Transient: true, Unreachable: true}
	b := NewBackfill(BackfillOptions{Sides: backfillMemSides(map[string]*backfill.MemSide{"us-east-1": src, "us-west-2": dst})})
	_, err := b.Compare(context.Background(), backfillCompareRequest())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, wire.ErrRegionUnreachable, appErr.Type())
	require.False(t, appErr.NonRetryable(), "the activity retries an unreachable Region a few times")
	require.Contains(t, err.Error(), "us-west-2")

	dst.Fail = &backfill.Error{Side: "us-west-2", Op: "count", Status: 403, Reason: "access denied: security_exception"}
	_, err = b.Compare(context.Background(), backfillCompareRequest())
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "access denied")
}

func TestBackfillEnvironment(t *testing.T) {
	b := NewBackfill(BackfillOptions{RunbookDir: "../runbooks"})
	env, err := b.Environment(context.Background(), "lab")
	require.NoError(t, err)
	require.Equal(t, "event_id", env.IDField)
	require.Equal(t, "osi-consumer-group-secondary", env.Regions["us-west-2"].ConsumerGroup)
	for _, name := range []string{"nope", "../lab", ""} {
		_, err = b.Environment(context.Background(), name)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), name)
		require.True(t, appErr.NonRetryable(), name)
	}
}

func TestVerifyCheck(t *testing.T) {
	now := time.Now().UTC()
	mk := func(n int, skip int) []backfill.MemDoc {
		var out []backfill.MemDoc
		for i := range n {
			if i != skip {
				out = append(out, backfill.MemDoc{Index: "application-logs-x", ID: fmt.Sprintf("ev-%05d", i), TS: now.Add(-time.Hour).UnixMilli() + int64(i)*300})
			}
		}
		return out
	}
	src := backfill.NewMemSide("us-east-1", mk(5000, -1))
	dst := backfill.NewMemSide("us-west-2", mk(5000, 99))
	b := NewBackfill(BackfillOptions{RunbookDir: "../runbooks",
		Sides: backfillMemSides(map[string]*backfill.MemSide{"us-east-1": src, "us-west-2": dst}),
		Replicators: func(context.Context, awsclients.Region) (BackfillReplicators, error) {
			return fakeBackfillReplicator{state: kafkatypes.ReplicatorStateRunning}, nil
		},
		Metrics: func(context.Context, awsclients.Region) (BackfillMetrics, error) {
			return &fakeBackfillMetrics{lag: []float64{0}}, nil
		},
		Objects: func(context.Context, awsclients.Region) (BackfillObjects, error) { return fakeBackfillObjects{}, nil },
		Lag:     func(context.Context, string, runbook.RegionConfig, string, string) (int64, error) { return 0, nil },
	})
	r := NewRegistry()
	RegisterBackfillChecks(r, b)
	spec, ok := r.Catalog().Lookup("backfill.verify")
	require.True(t, ok)
	require.True(t, spec.ReadOnly)
	f, _ := r.Func("backfill.verify")
	args := map[string]any{"environment": "lab", "source": "us-east-1", "target": "us-west-2", "since": now.Add(-2 * time.Hour).Format(time.RFC3339)}
	out, err := f(context.Background(), args)
	require.NoError(t, err)
	require.Equal(t, false, out["ok"])
	require.EqualValues(t, 1, out["missing"])
	require.Equal(t, []any{"ev-00099"}, out["missing_sample"])

	dst.Add(backfill.MemDoc{Index: "application-logs-x", ID: "ev-00099", TS: now.Add(-time.Hour).UnixMilli() + 99*300})
	out, err = f(context.Background(), args)
	require.NoError(t, err)
	require.Equal(t, true, out["ok"], out["reason"])

	dst.Fail = &backfill.Error{Side: "us-west-2", Op: "count", Reason: "connection refused", Transient: true, Unreachable: true}
	out, err = f(context.Background(), args)
	require.NoError(t, err, "an unreachable Region is a not-ok check, not an error")
	require.Equal(t, false, out["ok"])
	require.Contains(t, out["reason"], "unreachable")

	_, err = f(context.Background(), map[string]any{"environment": "lab", "source": "us-east-1", "target": "us-east-1"})
	require.Error(t, err)
}

// The gates read real wire protocols: the lab's AWS twin (MSK restJson1, CloudWatch CBOR, S3
// restXml) through the per-Region client factory, and Kafka lag from kfake brokers.
func TestGatesAgainstTheAWSTwin(t *testing.T) {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	arn := "arn:aws:kafka:us-east-1:123456789012:replicator/lab-secondary-to-primary/1"
	msk := awstwin.NewInMemoryMSK(awstwin.InMemoryMSKOptions{Now: clock})
	msk.PutReplicator(awstwin.Replicator{ARN: arn, Name: "lab-secondary-to-primary", State: "RUNNING"})
	tw := awstwin.New(awstwin.Options{Now: clock, Logger: slog.New(slog.DiscardHandler),
		Regions: map[string]awstwin.Backends{"us-east-1": {MSK: msk}}})
	defer tw.Close()
	srv := httptest.NewServer(tw.Handler("us-east-1"))
	defer srv.Close()
	dims := map[string]string{"ReplicatorName": "lab-secondary-to-primary"}
	tw.PutMetric("us-east-1", "AWS/Kafka", "MessageLag", dims, now.Add(-3*time.Minute), 12)
	require.NoError(t, tw.CreateBucket("us-east-1", "lab-dlq"))

	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "opensearch-data"))
	require.NoError(t, err)
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	ctx := context.Background()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "opensearch-data", Value: []byte("x")}).FirstErr())
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "opensearch-data", Partition: 0, At: 1})
	_, err = kadm.NewClient(cl).CommitOffsets(ctx, "osi-consumer-group-primary", offsets)
	require.NoError(t, err)

	b := NewBackfill(BackfillOptions{AWS: awsclients.New(awsclients.Options{LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "secret", "")),
	}})})
	req := wire.GateRequest{Environment: "lab", Target: "us-east-1", Topic: "opensearch-data", Since: now.Add(-time.Hour),
		TargetRegion: runbook.RegionConfig{AWSEndpoint: srv.URL, InboundReplicatorARN: arn, KafkaBootstrap: kc.ListenAddrs(),
			KafkaAuth: "none", ConsumerGroup: "osi-consumer-group-primary", DLQBucket: "lab-dlq"}}
	g, err := b.Gates(ctx, req)
	require.NoError(t, err)
	require.False(t, g.OK)
	require.Equal(t, "RUNNING", g.Replicator.State)
	require.Equal(t, 12.0, *g.Replicator.MessageLag)
	require.True(t, g.ConsumerLag.OK, g.ConsumerLag.Reason)
	require.True(t, g.DLQ.OK, g.DLQ.Reason)

	tw.PutMetric("us-east-1", "AWS/Kafka", "MessageLag", dims, now.Add(-time.Minute), 0)
	g, err = b.Gates(ctx, req)
	require.NoError(t, err)
	require.True(t, g.OK, g.Reason)

	require.NoError(t, tw.PutObject("us-east-1", "lab-dlq", "dlq-v2-lab-osi-primary-opensearch-1.json", []byte(`{"dlqObjects":[]}`)))
	g, err = b.Gates(ctx, req)
	require.NoError(t, err)
	require.False(t, g.OK)
	require.Equal(t, int64(1), g.DLQ.Objects)
	require.Equal(t, []string{"dlq-v2-lab-osi-primary-opensearch-1.json"}, g.DLQ.Sample)
}
