package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
)

func TestMaybeApplied(t *testing.T) {
	status := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("answer")}}
	}
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"HTTP 500":           {status(500), true},
		"HTTP 504":           {status(504), true},
		"connection dropped": {fmt.Errorf("request send failed: %w", errors.New("EOF")), true},
		"read timeout":       {&net.OpError{Op: "read", Err: errors.New("i/o timeout")}, true},
		"throttled (400)":    {status(400), false},
		"throttled (429)":    {status(429), false},
		"conflict (409)":     {status(409), false},
		"never connected":    {&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		"canceled":           {context.Canceled, false},
		"no error":           {nil, false},
	} {
		require.Equal(t, c.want, maybeApplied(c.err), name)
	}
}

// A change whose answer is lost after the service made it is not resent by the SDK (three
// attempts, as configured by default): the step fails retryably, and its retry reads, finds the
// change made and asks for nothing. Route 53 logs one batch, OSI one StartPipeline.
func TestAmbiguousFailuresAreNotResent(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	f := awsclients.New(awsclients.Options{Logger: quiet, LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", "")),
		config.WithRetryMaxAttempts(3)}})
	c := NewCloud(CloudOptions{RunbookDir: l.dir, AWS: f, Logger: quiet, PollInterval: 50 * time.Millisecond})
	lose := func(op string, kind awstwin.FaultKind) {
		l.twin.SetFaultHook(func(fc awstwin.FaultContext) awstwin.Fault {
			l.fault(fc) // keeps the call log
			if fc.Operation == op {
				return awstwin.Fault{Kind: kind, AfterCommit: true, Delay: 20 * time.Millisecond}
			}
			return awstwin.Fault{}
		})
	}

	for i, kind := range []awstwin.FaultKind{awstwin.FaultInternalError, awstwin.FaultTimeout, awstwin.FaultDropConnection} {
		lose("ChangeResourceRecordSets", kind)
		before := len(l.twin.Route53ChangeLog(labHostedZoneID))
		want := map[string]int64{labEast: int64(10 * i), labWest: 100}
		args := SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: want, Comment: fmt.Sprintf("lost %s", kind)}
		_, err := c.SetRoute53Weights(ctx, args)
		require.Error(t, err, kind.String())
		requireRetryable(t, err)
		require.Len(t, l.twin.Route53ChangeLog(labHostedZoneID), before+1, "%s: one batch, not resent", kind)

		res, err := c.SetRoute53Weights(ctx, args) // the activity's retry
		require.NoError(t, err)
		require.False(t, res.Changed, "%s: the retry finds the weights set", kind)
		require.Len(t, l.twin.Route53ChangeLog(labHostedZoneID), before+1)
		cur, err := c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labWest})
		require.NoError(t, err)
		require.Equal(t, want, cur.Weights)
	}

	p := l.osis[labWest]
	eventually(t, "the pipeline to be ACTIVE", func() bool { return p.p.Status() == kafkatwin.PipelineActive })
	_, err := p.p.Stop(ctx)
	require.NoError(t, err)
	eventually(t, "the pipeline to stop", func() bool { return p.p.Status() == kafkatwin.PipelineStopped })
	lose("StartPipeline", awstwin.FaultDropConnection)
	args := PipelineChangeArgs{Environment: labEnv, Region: labWest}
	_, err = c.StartPipeline(ctx, args)
	require.Error(t, err)
	requireRetryable(t, err)
	require.Equal(t, int64(1), p.starts.Load(), "StartPipeline was asked once")
	res, err := c.StartPipeline(ctx, args) // the activity's retry
	require.NoError(t, err)
	require.False(t, res.Changed, "the retry finds the pipeline %s", res.Status)
	require.Contains(t, []string{"STARTING", "ACTIVE"}, res.Status)
	require.Equal(t, int64(1), p.starts.Load())
}
