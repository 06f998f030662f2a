package activities

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
)

// Route 53 can accept a change and lose it (a stranded change, after a control-plane failover).
// set_weights does not trust the change id: once the change is INSYNC or unknown it re-reads the
// records, fails the attempt retryably when they lack the weights, and the retry resubmits —
// once, because it reads first. Before, the step reported success with the old weights in DNS.
func TestSetWeightsResubmitsAStrandedChange(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	f := awsclients.New(awsclients.Options{Logger: quiet, LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", ""))}})
	c := NewCloud(CloudOptions{RunbookDir: l.dir, AWS: f, Logger: quiet, PollInterval: 50 * time.Millisecond})
	want := map[string]int64{labEast: 0, labWest: 100}
	args := SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: want, Wait: true, Comment: "stranded"}
	before := len(l.twin.Route53ChangeLog(labHostedZoneID))

	l.twin.StrandRoute53Changes(labHostedZoneID, 1)
	_, err := c.SetRoute53Weights(ctx, args)
	require.ErrorContains(t, err, "a stranded change")
	requireRetryable(t, err)
	log := l.twin.Route53ChangeLog(labHostedZoneID)[before:]
	require.Len(t, log, 1)
	require.True(t, log[0].Stranded)

	res, err := c.SetRoute53Weights(ctx, args) // the activity's retry
	require.NoError(t, err)
	require.True(t, res.Changed, "the retry resubmits what the records lack")
	log = l.twin.Route53ChangeLog(labHostedZoneID)[before:]
	require.Len(t, log, 2)
	require.False(t, log[1].Stranded)
	cur, err := c.Route53Weights(ctx, Route53WeightsArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Equal(t, want, cur.Weights)

	res, err = c.SetRoute53Weights(ctx, args) // and a later retry sends nothing
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Len(t, l.twin.Route53ChangeLog(labHostedZoneID)[before:], 2)
}
