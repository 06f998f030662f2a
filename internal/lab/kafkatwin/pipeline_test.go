package kafkatwin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// memDLQ records the objects a pipeline dead-letters, as the S3 twin would.
type memDLQ struct {
	mu      sync.Mutex
	objects map[string][]byte
	buckets map[string]string
}

func newMemDLQ() *memDLQ { return &memDLQ{objects: map[string][]byte{}, buckets: map[string]string{}} }

func (d *memDLQ) PutObject(_ context.Context, bucket, key string, body []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.objects[key] = append([]byte(nil), body...)
	d.buckets[key] = bucket
	return nil
}

func (d *memDLQ) snapshot() map[string][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string][]byte, len(d.objects))
	for k, v := range d.objects {
		out[k] = v
	}
	return out
}

// collection starts a serverless TIMESERIES collection twin, like the sample's.
func collection(t *testing.T) (*opensearchtwin.Cluster, string) {
	t.Helper()
	c := opensearchtwin.New(opensearchtwin.Options{Name: "lab-opensearch-primary", Mode: opensearchtwin.ModeServerless, Logger: testLogger()})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func newTestPipeline(t *testing.T, c *Cluster, url string, opts PipelineOptions) *Pipeline {
	t.Helper()
	opts.Name, opts.Cluster, opts.OpenSearchURL = "lab-osi-primary", c, url
	if opts.GroupID == "" {
		opts.GroupID = "osi-consumer-group-primary"
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 20 * time.Millisecond
	}
	p, err := NewPipeline(opts)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// produceAt writes one event per timestamp and returns their messages.
func produceAt(t *testing.T, c *Cluster, prefix string, at []time.Time) []string {
	t.Helper()
	cl, err := kgo.NewClient(clientOpts(c.Bootstrap(), kgo.DefaultProduceTopic(DefaultTopic))...)
	require.NoError(t, err)
	defer cl.Close()
	msgs := make([]string, len(at))
	recs := make([]*kgo.Record, len(at))
	for i, ts := range at {
		msgs[i] = fmt.Sprintf("%s-%d", prefix, i)
		recs[i] = &kgo.Record{Key: []byte(msgs[i]), Value: eventValue(t, ts, msgs[i], c.Region())}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
	return msgs
}

func groupLag(t *testing.T, c *Cluster, group string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lag, err := GroupLag(ctx, c.Bootstrap(), group, DefaultTopic)
	require.NoError(t, err)
	return lag
}

func waitStatus(t *testing.T, p *Pipeline, want PipelineStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, p.WaitForStatus(ctx, want))
}

func TestPipelineIndexesEventsIntoTheirDailyIndexAndCommits(t *testing.T) {
	c := newTestCluster(t, "us-east-1", "lab-msk-primary")
	coll, url := collection(t)
	p := newTestPipeline(t, c, url, PipelineOptions{})
	waitStatus(t, p, PipelineActive)

	day1 := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	day2 := time.Date(2026, 11, 22, 0, 1, 0, 0, time.UTC)
	var at []time.Time
	for i := range 30 {
		if i%3 == 0 {
			at = append(at, day1.Add(time.Duration(i)*time.Millisecond))
		} else {
			at = append(at, day2.Add(time.Duration(i)*time.Millisecond))
		}
	}
	msgs := produceAt(t, c, "daily", at)

	eventually(t, 20*time.Second, func() (bool, string) {
		n := coll.DocCount("application-logs-*")
		return n == int64(len(msgs)), fmt.Sprintf("%d of %d documents indexed", n, len(msgs))
	})
	require.Equal(t, int64(10), coll.DocCount("application-logs-2026.11.21"), "the event time picks the daily index")
	require.Equal(t, int64(20), coll.DocCount("application-logs-2026.11.22"))
	eventually(t, 10*time.Second, func() (bool, string) {
		lag := groupLag(t, c, "osi-consumer-group-primary")
		return lag == 0, fmt.Sprintf("group lag %d after indexing", lag)
	})
	m := p.Metrics()
	require.Equal(t, int64(len(msgs)), m.DocumentsSuccess)
	require.Zero(t, m.DocumentErrors)
	cw := m.CloudWatch("")
	require.Equal(t, float64(len(msgs)), cw["kafka-pipeline.opensearch.documentsSuccess.count"])
	require.Equal(t, "arn:aws:osis:us-east-1:123456789012:pipeline/lab-osi-primary", p.ARN())
}

func TestPipelineCommitsOnlyAfterTheBulkSucceeds(t *testing.T) {
	c := newTestCluster(t, "us-east-1", "lab-msk-primary")
	coll, url := collection(t)
	p := newTestPipeline(t, c, url, PipelineOptions{})
	waitStatus(t, p, PipelineActive)

	coll.SetAvailable(false) // every _bulk is answered 503
	now := time.Now()
	msgs := produceAt(t, c, "held", []time.Time{now, now, now, now, now})
	eventually(t, 20*time.Second, func() (bool, string) {
		m := p.Metrics()
		return m.RecordsIn >= int64(len(msgs)) && m.BulkRequestErrors >= 2,
			fmt.Sprintf("records in %d, bulk errors %d", m.RecordsIn, m.BulkRequestErrors)
	})
	// The records were read and their bulk failed twice over, yet none is committed: a crash
	// now would redeliver them all.
	require.Equal(t, int64(len(msgs)), groupLag(t, c, "osi-consumer-group-primary"))
	require.Zero(t, p.Metrics().DocumentsSuccess)

	coll.SetAvailable(true)
	eventually(t, 20*time.Second, func() (bool, string) {
		n := coll.DocCount("application-logs-*")
		return n == int64(len(msgs)), fmt.Sprintf("%d of %d documents indexed after recovery", n, len(msgs))
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		lag := groupLag(t, c, "osi-consumer-group-primary")
		return lag == 0, fmt.Sprintf("group lag %d after recovery", lag)
	})
}

func TestPipelineDLQShareWritesDataPrepperObjects(t *testing.T) {
	c := newTestCluster(t, "us-east-1", "lab-msk-primary")
	coll, url := collection(t)
	dlq := newMemDLQ()
	p := newTestPipeline(t, c, url, PipelineOptions{DLQ: dlq, DLQBucket: "lab-opensearch-dlq-us-east-1"})
	p.SetDLQShare(0.5)
	waitStatus(t, p, PipelineActive)

	at := make([]time.Time, 200)
	for i := range at {
		at[i] = time.Date(2026, 11, 22, 10, 0, i%60, 0, time.UTC)
	}
	msgs := produceAt(t, c, "dlq", at)
	eventually(t, 20*time.Second, func() (bool, string) {
		m := p.Metrics()
		return m.DocumentsSuccess+m.DLQS3RecordsSuccess == int64(len(msgs)),
			fmt.Sprintf("indexed %d + dead-lettered %d of %d", m.DocumentsSuccess, m.DLQS3RecordsSuccess, len(msgs))
	})
	m := p.Metrics()
	require.Positive(t, m.DocumentsSuccess, "a share of 0.5 indexes some documents")
	require.Positive(t, m.DLQS3RecordsSuccess, "and dead-letters others")
	require.Equal(t, m.DocumentErrors, m.DLQS3RecordsSuccess)
	require.Equal(t, m.DocumentsSuccess, coll.DocCount("application-logs-*"))

	seen := map[string]bool{}
	var dead int64
	for key, body := range dlq.snapshot() {
		require.True(t, strings.HasPrefix(key, "dlq-v2-kafka-pipeline-opensearch-"), key)
		require.True(t, strings.HasSuffix(key, ".json"), key)
		require.Equal(t, "lab-opensearch-dlq-us-east-1", dlq.buckets[key])
		var f DLQFile
		require.NoError(t, json.Unmarshal(body, &f))
		for _, o := range f.DLQObjects {
			require.Equal(t, "kafka-pipeline", o.PipelineName)
			require.Equal(t, "application-logs-2026.11.22", o.FailedData.Index)
			require.Equal(t, 400, o.FailedData.Status)
			var ev event
			require.NoError(t, json.Unmarshal(o.FailedData.Document, &ev))
			require.False(t, seen[ev.Message], "document %s dead-lettered twice", ev.Message)
			seen[ev.Message] = true
			dead++
		}
	}
	require.Equal(t, m.DLQS3RecordsSuccess, dead, "every dead-lettered document is in exactly one object")
	// None of the dead-lettered documents was also indexed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var checkedDead, checkedLive bool
	for _, msg := range msgs {
		switch {
		case seen[msg] && !checkedDead:
			require.Zero(t, searchCount(ctx, t, url, msg), "dead-lettered %s must not be indexed", msg)
			checkedDead = true
		case !seen[msg] && !checkedLive:
			require.Equal(t, int64(1), searchCount(ctx, t, url, msg), "%s was not dead-lettered, so it is indexed once", msg)
			checkedLive = true
		}
	}
}

// searchCount counts the documents whose message matches msg, through the HTTP API.
func searchCount(ctx context.Context, t *testing.T, url, msg string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"query":{"term":{"message.keyword":%q}}}`, msg)
	req, err := httpRequest(ctx, url+"/application-logs-*/_count", body)
	require.NoError(t, err)
	var out struct {
		Count int64 `json:"count"`
	}
	require.NoError(t, json.Unmarshal(req, &out), string(req))
	return out.Count
}

func TestPipelineStartStopStatusMachine(t *testing.T) {
	c := newTestCluster(t, "us-east-1", "lab-msk-primary")
	coll, url := collection(t)
	p := newTestPipeline(t, c, url, PipelineOptions{StartDelay: 50 * time.Millisecond, StopDelay: 50 * time.Millisecond})
	waitStatus(t, p, PipelineActive)
	ctx := context.Background()

	st, err := p.Start(ctx)
	require.NoError(t, err, "starting an ACTIVE pipeline is a no-op")
	require.Equal(t, PipelineActive, st)

	st, err = p.Stop(ctx)
	require.NoError(t, err)
	require.Equal(t, PipelineStopping, st)
	waitStatus(t, p, PipelineStopped)
	st, err = p.Stop(ctx)
	require.NoError(t, err, "stopping a STOPPED pipeline is a no-op")
	require.Equal(t, PipelineStopped, st)

	// A stopped pipeline leaves the group: records wait in Kafka, uncommitted.
	now := time.Now()
	msgs := produceAt(t, c, "while-stopped", []time.Time{now, now, now})
	require.Equal(t, int64(len(msgs)), groupLag(t, c, "osi-consumer-group-primary"))
	require.Zero(t, coll.DocCount("application-logs-*"))

	st, err = p.Start(ctx)
	require.NoError(t, err)
	require.Equal(t, PipelineStarting, st)
	_, err = p.Stop(ctx)
	require.ErrorIs(t, err, ErrValidation, "OSI refuses to stop a pipeline that is STARTING")
	waitStatus(t, p, PipelineActive)
	eventually(t, 20*time.Second, func() (bool, string) {
		n := coll.DocCount("application-logs-*")
		return n == int64(len(msgs)), fmt.Sprintf("%d of %d documents indexed after the restart", n, len(msgs))
	})

	slow := newTestPipeline(t, c, url, PipelineOptions{GroupID: "slow-group", CreateDelay: time.Hour})
	require.Equal(t, PipelineCreating, slow.Status())
	_, err = slow.Start(ctx)
	var te *TransitionError
	require.True(t, errors.As(err, &te), "start while CREATING: %v", err)
	require.Equal(t, PipelineCreating, te.Status)
	_, err = slow.Stop(ctx)
	require.ErrorIs(t, err, ErrValidation)
}

func httpRequest(ctx context.Context, url, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
