package triggers

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// countingSQS counts deleted messages, to tell a handled message from one left for
// redelivery, and the batch calls that deleted them.
type countingSQS struct {
	SQSAPI
	deletes  atomic.Int64 // entries SQS reported deleted
	failed   atomic.Int64 // entries SQS reported failed
	calls    atomic.Int64
	maxBatch atomic.Int64
}

func (c *countingSQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	c.calls.Add(1)
	for n := int64(len(in.Entries)); ; {
		m := c.maxBatch.Load()
		if n <= m || c.maxBatch.CompareAndSwap(m, n) {
			break
		}
	}
	out, err := c.SQSAPI.DeleteMessageBatch(ctx, in, optFns...)
	if err == nil {
		c.deletes.Add(int64(len(out.Successful)))
		c.failed.Add(int64(len(out.Failed)))
	}
	return out, err
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startAlarmQueue serves a lab twin holding the alarm queue, created with the given visibility
// timeout (seconds) through an SDK client from the factory, as the engine builds it.
func startAlarmQueue(t *testing.T, visibility string) (*awstwin.Twin, Queue, *sqs.Client) {
	t.Helper()
	twin := awstwin.New(awstwin.Options{Logger: quietLogger()})
	srv := httptest.NewServer(twin.Handler("us-east-1"))
	t.Cleanup(srv.Close)
	t.Cleanup(twin.Close)

	q, err := ParseQueue("us-east-1=" + srv.URL + "/" + awstwin.DefaultAccountID + "/switchyard-alarms")
	require.NoError(t, err)
	ctx := context.Background()
	client, err := q.Client(ctx, awsclients.New(awsclients.Options{Logger: quietLogger()}))
	require.NoError(t, err)
	_, err = client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("switchyard-alarms"), Attributes: map[string]string{"VisibilityTimeout": visibility}})
	require.NoError(t, err)
	return twin, q, client
}

func TestPollerDeletesOnlyHandledMessages(t *testing.T) {
	// A one-second visibility timeout brings a kept message back quickly.
	_, q, client := startAlarmQueue(t, "1")
	ctx := context.Background()

	tc := newFakeTemporal()
	tc.setErr(errors.New("temporal unavailable"))
	in := newTestIntake(t, tc, &fakeClock{t: changeAt}, nil)
	counting := &countingSQS{SQSAPI: client}
	p, err := NewPoller(PollerOptions{Client: counting, QueueURL: q.URL, Intake: in, Logger: quietLogger(), WaitTime: time.Second})
	require.NoError(t, err)

	for _, body := range []string{"{oops", string(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))} {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)})
		require.NoError(t, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()

	// The malformed message is deleted and counted; the alarm, which Temporal could not take, stays.
	eventually(t, "both messages to be received", func() bool { st := in.Stats(); return st.Invalid == 1 && st.Failed >= 1 })
	// The delete follows the handling in a batch: wait for it rather than read it at once (go
	// test -race once read 0). An alarm deleted by mistake would make it 2 and time this out.
	eventually(t, "the malformed message to be deleted", func() bool { return counting.deletes.Load() == 1 })
	require.Equal(t, 0, tc.startCount())

	// Temporal is back: the redelivered alarm starts the run and only then is deleted.
	tc.setErr(nil)
	eventually(t, "the redelivered alarm to start a run", func() bool { return tc.startCount() == 1 })
	eventually(t, "the alarm message to be deleted", func() bool { return counting.deletes.Load() == 2 })
	require.Equal(t, "us-west-2", tc.starts[0].Params["target"])

	cancel()
	require.NoError(t, <-done)
}

func TestParseQueue(t *testing.T) {
	cases := []struct {
		spec    string
		want    Queue
		wantErr string
	}{
		{spec: "https://sqs.us-west-2.amazonaws.com/111122223333/dr-alarms", want: Queue{Region: "us-west-2", URL: "https://sqs.us-west-2.amazonaws.com/111122223333/dr-alarms"}},
		{spec: "us-east-1=http://127.0.0.1:4510/000000000000/switchyard-alarms",
			want: Queue{Region: "us-east-1", URL: "http://127.0.0.1:4510/000000000000/switchyard-alarms", Endpoint: "http://127.0.0.1:4510"}},
		{spec: "http://127.0.0.1:4510/000000000000/switchyard-alarms", wantErr: "name its Region as REGION=URL"},
		{spec: "switchyard-alarms", wantErr: "want a queue URL or REGION=URL"},
	}
	for _, tc := range cases {
		got, err := ParseQueue(tc.spec)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

// TestPollerDeletesInBatches sends a burst larger than one receive: every handled message,
// malformed ones included, is deleted, by DeleteMessageBatch calls of at most ten entries that
// each carry a receive's worth of messages rather than one.
func TestPollerDeletesInBatches(t *testing.T) {
	// A visibility timeout longer than the test: no message is received twice.
	twin, q, client := startAlarmQueue(t, "300")
	ctx := context.Background()
	tc := newFakeTemporal()
	in := newTestIntake(t, tc, &fakeClock{t: changeAt}, nil)
	counting := &countingSQS{SQSAPI: client}
	p, err := NewPoller(PollerOptions{Client: counting, QueueURL: q.URL, Intake: in, Logger: quietLogger(), WaitTime: time.Second})
	require.NoError(t, err)

	const alarms, malformed = 22, 3
	for i := range alarms + malformed {
		body := string(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
		if i < malformed {
			body = "{oops"
		}
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)})
		require.NoError(t, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()

	eventually(t, "every message to be deleted", func() bool { return twin.DeletedMessages("us-east-1", "switchyard-alarms") == alarms+malformed })
	cancel()
	require.NoError(t, <-done)

	require.Equal(t, int64(alarms+malformed), counting.deletes.Load())
	require.Zero(t, counting.failed.Load())
	require.LessOrEqual(t, counting.maxBatch.Load(), int64(10))
	require.Greater(t, counting.maxBatch.Load(), int64(1))
	require.Less(t, counting.calls.Load(), int64(alarms+malformed))
	st := in.Stats()
	require.Equal(t, int64(alarms+malformed), st.Received)
	require.Equal(t, int64(malformed), st.Invalid)
	require.Equal(t, 1, tc.startCount())
}
