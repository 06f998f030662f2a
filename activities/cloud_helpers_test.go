package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

const (
	labEast         = "us-east-1"
	labWest         = "us-west-2"
	labEnv          = "test"
	labHostedZoneID = "ZLAB0000000001"
	labHostedZone   = "lab.switchyard.internal"
	labRecordName   = "ingest.lab.switchyard.internal"
	labIndexPattern = "application-logs-*"
)

const (
	// labZonalEnv is labEnv with a self-managed zonal cluster (selfZonal) instead of the managed
	// domain: the environment the zone moves run in.
	labZonalEnv = "test-zonal"
	// labZonalPassword is selfZonal's password, kept in the AWS twin's SSM as the environment's
	// secret reference says.
	labZonalPassword = "zonal-secret"
)

var labRegions = []string{labEast, labWest}

// labRegionNames are the per-Region names the environment file gives.
type labRegionNames struct {
	role, cluster, replicator, replicatorARN, group, pipeline, collection, bucket string
	alarms                                                                        []string
}

func labNames(region string) labRegionNames {
	if region == labEast {
		return labRegionNames{role: "primary", cluster: "lab-msk-primary", replicator: "lab-secondary-to-primary",
			replicatorARN: "arn:aws:kafka:us-east-1:123456789012:replicator/lab-secondary-to-primary/11", group: "osi-consumer-group-primary",
			pipeline: "lab-osi-primary", collection: "lab-opensearch-primary", bucket: "lab-opensearch-dlq-us-east-1",
			alarms: []string{"lab-us-east-1-pipeline-not-ingesting", "lab-us-east-1-collection-unreachable"}}
	}
	return labRegionNames{role: "secondary", cluster: "lab-msk-secondary", replicator: "lab-primary-to-secondary",
		replicatorARN: "arn:aws:kafka:us-west-2:123456789012:replicator/lab-primary-to-secondary/12", group: "osi-consumer-group-secondary",
		pipeline: "lab-osi-secondary", collection: "lab-opensearch-secondary", bucket: "lab-opensearch-dlq-us-west-2",
		alarms: []string{"lab-us-west-2-pipeline-not-ingesting", "lab-us-west-2-collection-unreachable"}}
}

// countingOSIS fronts a kafkatwin pipeline (the lab's OSI twin) as the AWS twin's OSI backend,
// counting the start and stop requests that reach it.
type countingOSIS struct {
	p             *kafkatwin.Pipeline
	starts, stops atomic.Int64
	// reported, when set, is the status GetPipeline reports instead of the twin's (UPDATING).
	reported atomic.Pointer[string]
}

func (o *countingOSIS) Pipelines(context.Context) ([]awstwin.Pipeline, error) {
	status := string(o.p.Status())
	if r := o.reported.Load(); r != nil {
		status = *r
	}
	return []awstwin.Pipeline{{Name: o.p.Name(), ARN: o.p.ARN(), Status: status}}, nil
}

func (o *countingOSIS) transition(ctx context.Context, name string, start bool) (awstwin.Pipeline, error) {
	if name != o.p.Name() {
		return awstwin.Pipeline{}, fmt.Errorf("pipeline %s: %w", name, awstwin.ErrNotFound)
	}
	var st kafkatwin.PipelineStatus
	var err error
	if start {
		o.starts.Add(1)
		st, err = o.p.Start(ctx)
	} else {
		o.stops.Add(1)
		st, err = o.p.Stop(ctx)
	}
	if errors.Is(err, kafkatwin.ErrValidation) {
		return awstwin.Pipeline{}, fmt.Errorf("%v: %w", err, awstwin.ErrInvalidState)
	}
	return awstwin.Pipeline{Name: name, ARN: o.p.ARN(), Status: string(st)}, err
}

func (o *countingOSIS) StartPipeline(ctx context.Context, name string) (awstwin.Pipeline, error) {
	return o.transition(ctx, name, true)
}

func (o *countingOSIS) StopPipeline(ctx context.Context, name string) (awstwin.Pipeline, error) {
	return o.transition(ctx, name, false)
}

// cloudLab is the lab assembled from its parts in-process: the AWS twin served per Region, a
// Kafka cluster, an OSI pipeline twin and an OpenSearch Serverless twin per Region, a three-zone
// managed OpenSearch twin, and an environment file naming them all.
type cloudLab struct {
	twin      *awstwin.Twin
	awsURL    map[string]string
	msk       map[string]*awstwin.InMemoryMSK
	aoss      map[string]*awstwin.InMemoryAOSS
	domains   *awstwin.InMemoryOpenSearch
	osis      map[string]*countingOSIS
	kafka     map[string]*kafkatwin.Cluster
	search    map[string]*opensearchtwin.Cluster
	zonal     *opensearchtwin.Cluster // labEnv's zonal cluster: a managed domain
	selfZonal *opensearchtwin.Cluster // labZonalEnv's: self-managed, basic auth
	dir       string
	cloud     *Cloud
	mu        sync.Mutex
	calls     []string // "region/service/operation" of every AWS request
	impaired  map[string]awstwin.FaultKind
	faultOnly string // when set, the fault applies only to this operation
	// clock, when set, is the twin's clock (e.g. a test workflow environment's); else the wall's.
	clock atomic.Pointer[func() time.Time]
}

// twinNow is the AWS twin's clock.
func (l *cloudLab) twinNow() time.Time {
	if f := l.clock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

func newCloudLab(t *testing.T) *cloudLab {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	l := &cloudLab{awsURL: map[string]string{}, msk: map[string]*awstwin.InMemoryMSK{}, aoss: map[string]*awstwin.InMemoryAOSS{},
		domains: awstwin.NewInMemoryOpenSearch(), osis: map[string]*countingOSIS{}, kafka: map[string]*kafkatwin.Cluster{},
		search: map[string]*opensearchtwin.Cluster{}, impaired: map[string]awstwin.FaultKind{}, dir: t.TempDir()}
	backends := map[string]awstwin.Backends{}
	searchURL := map[string]string{}
	for _, r := range labRegions {
		n := labNames(r)
		kc, err := kafkatwin.NewCluster(kafkatwin.ClusterOptions{Region: r, Name: n.cluster, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(kc.Close)
		l.kafka[r] = kc
		sc := opensearchtwin.New(opensearchtwin.Options{Name: n.collection, Mode: opensearchtwin.ModeServerless, Logger: quiet})
		ss := httptest.NewServer(sc.Handler())
		t.Cleanup(ss.Close)
		l.search[r], searchURL[r] = sc, ss.URL
		// Stopping lasts a moment, as OSI's STOPPING does: a wait for STOPPED then polls (and
		// heartbeats) at least once, however fast the consumer leaves its group.
		p, err := kafkatwin.NewPipeline(kafkatwin.PipelineOptions{Name: n.pipeline, Cluster: kc, GroupID: n.group, OpenSearchURL: ss.URL, Logger: quiet,
			StopDelay: 300 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		l.osis[r] = &countingOSIS{p: p}
		l.msk[r] = awstwin.NewInMemoryMSK(awstwin.InMemoryMSKOptions{})
		l.msk[r].PutCluster(awstwin.Cluster{ARN: kc.ARN(), Name: n.cluster, State: "ACTIVE"})
		l.msk[r].PutReplicator(labReplicator(r, "IDENTICAL", "ENHANCED"))
		l.aoss[r] = awstwin.NewInMemoryAOSS()
		l.aoss[r].PutCollection(awstwin.Collection{ID: "id-" + n.collection, Name: n.collection, Status: "ACTIVE", Type: "TIMESERIES", CollectionEndpoint: ss.URL})
		backends[r] = awstwin.Backends{MSK: l.msk[r], OSIS: l.osis[r], AOSS: l.aoss[r]}
	}
	east := backends[labEast]
	east.OpenSearch = l.domains
	backends[labEast] = east
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	l.zonal = opensearchtwin.New(opensearchtwin.Options{Name: "lab-multiaz", Zones: zones, StandbyZone: "us-east-1c",
		DecommissionDuration: 300 * time.Millisecond, Logger: quiet})
	zs := httptest.NewServer(l.zonal.Handler())
	t.Cleanup(zs.Close)
	l.selfZonal = opensearchtwin.New(opensearchtwin.Options{Name: "lab-zonal", Mode: opensearchtwin.ModeSelfManaged, Zones: zones, StandbyZone: "us-east-1c",
		DecommissionDuration: 300 * time.Millisecond, Logger: quiet, Auth: &opensearchtwin.Auth{Users: map[string]string{"switchyard": labZonalPassword}}})
	sz := httptest.NewServer(l.selfZonal.Handler())
	t.Cleanup(sz.Close)
	l.domains.PutDomain(awstwin.Domain{Name: "lab-multiaz", MultiAZWithStandby: true, AvailabilityZoneCount: 3, InstanceCount: 6,
		Health: awstwin.DomainHealth{DomainState: "Active", ClusterHealth: "Green", MasterNode: "Available", DataNodeCount: 6,
			Zones: []awstwin.ZoneHealth{{Name: zones[0], Status: "Active", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2},
				{Name: zones[1], Status: "Active", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2},
				{Name: zones[2], Status: "StandBy", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2}}},
		Nodes: labDomainNodes(zones)})

	l.twin = awstwin.New(awstwin.Options{Logger: quiet, Regions: backends, Route53ChangeDelay: 300 * time.Millisecond, Now: l.twinNow})
	l.twin.SetFaultHook(l.fault)
	for _, r := range labRegions {
		srv := httptest.NewServer(l.twin.Handler(r))
		t.Cleanup(srv.Close)
		l.awsURL[r] = srv.URL
		n := labNames(r)
		require.NoError(t, l.twin.CreateBucket(r, n.bucket))
		for _, a := range n.alarms {
			require.NoError(t, l.twin.PutAlarm(r, awstwin.Alarm{Name: a, Namespace: "AWS/OSIS", MetricName: "x", Statistic: "Sum", Period: 60,
				EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "LessThanThreshold"}))
			_, err := l.twin.SetAlarmState(r, a, "OK", "healthy")
			require.NoError(t, err)
		}
	}
	t.Cleanup(l.twin.Close) // registered last: runs before the servers close
	require.NoError(t, l.twin.PutHostedZone(labHostedZoneID, labHostedZone, false))
	for r, w := range map[string]int64{labEast: 100, labWest: 0} {
		require.NoError(t, l.twin.UpsertRecordSet(labHostedZoneID, awstwin.RecordSet{Name: labRecordName, Type: "CNAME", SetIdentifier: r,
			Weight: aws.Int64(w), TTL: aws.Int64(5), Values: []string{"ingest." + r + ".lab.switchyard.internal"}}))
	}

	_, err := l.twin.PutParameter(labEast, "/switchyard/test/zonal-password", labZonalPassword, "SecureString")
	require.NoError(t, err)
	l.writeEnv(t, searchURL, zs.URL, sz.URL)
	f := awsclients.New(awsclients.Options{Logger: quiet, LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", "")),
		// One attempt, so a throttled call surfaces at once and the activity's classification
		// (not the SDK's retries) is what the tests see.
		config.WithRetryMaxAttempts(1),
	}})
	l.cloud = NewCloud(CloudOptions{RunbookDir: l.dir, AWS: f, Logger: quiet, PollInterval: 50 * time.Millisecond})
	return l
}

// labDomainNodes are DescribeDomainNodes' view of the managed domain: two data nodes per zone,
// the last zone's on standby.
func labDomainNodes(zones []string) []awstwin.DomainNode {
	var out []awstwin.DomainNode
	for i, z := range zones {
		status := "Active"
		if i == len(zones)-1 {
			status = "StandBy"
		}
		for n := 1; n <= 2; n++ {
			out = append(out, awstwin.DomainNode{ID: fmt.Sprintf("%c-%d", z[len(z)-1], n), Type: "Data", AvailabilityZone: z,
				InstanceType: "r6g.large.search", Status: status, StorageType: "ebs", StorageSize: "100", VolumeType: "gp3"})
		}
	}
	return out
}

func (l *cloudLab) writeEnv(t *testing.T, searchURL map[string]string, zonalURL, selfZonalURL string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "schema: switchyard/v1\nname: %s\nprimary: %s\nsecondary: %s\ntopic: %s\nindex_pattern: %s\ntimestamp_field: timestamp\nid_field: event_id\nregions:\n",
		"NAME", labEast, labWest, kafkatwin.DefaultTopic, labIndexPattern)
	for _, r := range labRegions {
		n := labNames(r)
		alarms, _ := json.Marshal(n.alarms)
		boot, _ := json.Marshal(l.kafka[r].Bootstrap())
		fmt.Fprintf(&b, `  %s:
    role: %s
    aws_endpoint: %s
    msk_cluster_arn: %s
    kafka_bootstrap: %s
    kafka_auth: none
    inbound_replicator_arn: %s
    consumer_group: %s
    pipeline: %s
    sub_pipeline: kafka-pipeline
    opensearch:
      kind: serverless
      collection: %s
      endpoint: %s
    dlq_bucket: %s
    alarms: %s
`, r, n.role, l.awsURL[r], l.kafka[r].ARN(), boot, n.replicatorARN, n.group, n.pipeline, n.collection, searchURL[r], n.bucket, alarms)
	}
	fmt.Fprintf(&b, `traffic:
  hosted_zone_id: %s
  record_name: %s
  record_type: CNAME
  ttl: 5
  set_identifiers: {%s: %s, %s: %s}
  values: {%s: ingest.%s.lab.switchyard.internal, %s: ingest.%s.lab.switchyard.internal}
`, labHostedZoneID, labRecordName, labEast, labEast, labWest, labWest, labEast, labEast, labWest, labWest)
	common := b.String()
	managed := fmt.Sprintf(`zonal:
  endpoint: %s
  region: %s
  kind: managed
  domain: lab-multiaz
  attribute: zone
  zones: [us-east-1a, us-east-1b, us-east-1c]
`, zonalURL, labEast)
	self := fmt.Sprintf(`zonal:
  endpoint: %s
  region: %s
  kind: self_managed
  attribute: zone
  zones: [us-east-1a, us-east-1b, us-east-1c]
  auth:
    basic: {username: switchyard, password: "ssm:/switchyard/test/zonal-password"}
`, selfZonalURL, labEast)
	require.NoError(t, os.MkdirAll(filepath.Join(l.dir, "environments"), 0o755))
	for name, zonal := range map[string]string{labEnv: managed, labZonalEnv: self} {
		src := strings.Replace(common, "name: NAME\n", "name: "+name+"\n", 1) + zonal
		require.NoError(t, os.WriteFile(filepath.Join(l.dir, "environments", name+".yaml"), []byte(src), 0o644))
	}
}

// fault is the twin's fault hook: it records every request and applies the configured faults.
func (l *cloudLab) fault(fc awstwin.FaultContext) awstwin.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fc.Region+"/"+fc.Service+"/"+fc.Operation)
	if k, ok := l.impaired[fc.Region]; ok && (l.faultOnly == "" || l.faultOnly == fc.Operation) {
		return awstwin.Fault{Kind: k}
	}
	return awstwin.Fault{}
}

func (l *cloudLab) setFault(region string, k awstwin.FaultKind, onlyOp string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.impaired, l.faultOnly = map[string]awstwin.FaultKind{}, onlyOp
	if k != awstwin.NoFault {
		l.impaired[region] = k
	}
}

func (l *cloudLab) takeCalls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// produce writes n events to the Region's topic, as the lab's producer does.
func (l *cloudLab) produce(t *testing.T, region string, n int, at time.Time) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.kafka[region].Bootstrap()...))
	require.NoError(t, err)
	defer cl.Close()
	for i := range n {
		b, err := json.Marshal(map[string]any{"timestamp": at.UTC().Format(time.RFC3339Nano), "level": "INFO", "message": "request completed",
			"source_region": region, "event_id": fmt.Sprintf("%s-%s-%06d", t.Name(), region, i)})
		require.NoError(t, err)
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: kafkatwin.DefaultTopic, Value: b}).FirstErr())
	}
}

// eventually polls cond until it holds or ten seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireNonRetryable asserts err is a non-retryable application error of type typ whose message
// names every one of names.
func requireNonRetryable(t *testing.T, err error, typ string, names ...string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.True(t, appErr.NonRetryable(), "want non-retryable: %v", err)
	require.Equal(t, typ, appErr.Type(), "%v", err)
	for _, n := range names {
		require.Contains(t, err.Error(), n)
	}
}

// requireRetryable asserts err is an error Temporal retries.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.False(t, appErr.NonRetryable(), "want retryable: %v", err)
	}
}
