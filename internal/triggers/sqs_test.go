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

// countingSQS counts deletes, to tell a handled message from one left for redelivery.
type countingSQS struct {
	SQSAPI
	deletes atomic.Int64
}

func (c *countingSQS) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	out, err := c.SQSAPI.DeleteMessage(ctx, in, optFns...)
	if err == nil {
		c.deletes.Add(1)
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

func TestPollerDeletesOnlyHandledMessages(t *testing.T) {
	twin := awstwin.New(awstwin.Options{Logger: quietLogger()})
	srv := httptest.NewServer(twin.Handler("us-east-1"))
	t.Cleanup(srv.Close)
	t.Cleanup(twin.Close)

	q, err := ParseQueue("us-east-1=" + srv.URL + "/" + awstwin.DefaultAccountID + "/switchyard-alarms")
	require.NoError(t, err)
	ctx := context.Background()
	client, err := q.Client(ctx, awsclients.New(awsclients.Options{Logger: quietLogger()}))
	require.NoError(t, err)
	// A one-second visibility timeout brings a kept message back quickly.
	_, err = client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("switchyard-alarms"), Attributes: map[string]string{"VisibilityTimeout": "1"}})
	require.NoError(t, err)

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
	require.Equal(t, int64(1), counting.deletes.Load())
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
