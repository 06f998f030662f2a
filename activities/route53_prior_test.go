package activities

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

const shiftRunbook = `schema: switchyard/v1
name: shift
steps:
  - id: shift
    action: route53.set_weights
    with:
      environment: ${{ run.environment }}
      region: us-west-2
      weights: {us-east-1: 0, us-west-2: 100}
`

// TestSetWeightsRetriesPriorRequestNotComplete runs route53.set_weights in the real interpreter
// against the Route 53 twin, through the real SDK (one attempt per call, so the step's retries
// are what is tested): while Route 53 still processes an earlier change for the zone it answers
// PriorRequestNotComplete, the step retries at increasing intervals, as the API reference
// recommends, and succeeds once the zone is free, with the weights set by one change batch.
func TestSetWeightsRetriesPriorRequestNotComplete(t *testing.T) {
	l := newCloudLab(t)
	require.NoError(t, os.WriteFile(filepath.Join(l.dir, "shift.yaml"), []byte(shiftRunbook), 0o644))

	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	reg := NewRegistry()
	RegisterCloud(reg, l.cloud)
	reg.RegisterActivities(env)
	(&Engine{RunbookDir: l.dir, Registry: reg}).Register(env)
	registerInterpreter(env, labEnv, "")
	// The twin's clock is the test environment's, which jumps over the retry backoffs.
	now := env.Now
	l.clock.Store(&now)

	// Route 53 takes 20 s to process each change request for the zone in this test.
	l.twin.SetRoute53ProcessingTime(20 * time.Second)
	var mu sync.Mutex
	var attempts []time.Time
	l.twin.SetFaultHook(func(fc awstwin.FaultContext) awstwin.Fault {
		if fc.Operation == "ChangeResourceRecordSets" {
			mu.Lock()
			attempts = append(attempts, l.twinNow())
			mu.Unlock()
		}
		return l.fault(fc)
	})
	// An earlier change to the zone (another operator, another tool) was just accepted.
	prior, err := l.cloud.SetRoute53Weights(t.Context(), SetRoute53WeightsArgs{Environment: labEnv, Region: labEast,
		Weights: map[string]int64{labEast: 50, labWest: 50}})
	require.NoError(t, err)
	require.True(t, prior.Changed)

	res := runRunbook(t, env, "shift", labEnv, "PriorRequestNotComplete is retried, not a failed step")
	require.Equal(t, runSucceeded, res.Outcome)

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(attempts), 4, "the prior change, refused attempts, and the accepted one")
	refusedUntil := attempts[0].Add(20 * time.Second)
	t.Logf("ChangeResourceRecordSets at %v", attempts)
	for i := 2; i < len(attempts); i++ {
		require.Greater(t, attempts[i].Sub(attempts[i-1]), attempts[i-1].Sub(attempts[i-2]),
			"the step waits longer before each retry: %v", attempts)
	}
	require.True(t, attempts[len(attempts)-2].Before(refusedUntil), "every attempt but the last came while the zone was busy")
	require.False(t, attempts[len(attempts)-1].Before(refusedUntil), "the last attempt came after the prior request was processed")

	log := l.twin.Route53ChangeLog(labHostedZoneID)
	require.Len(t, log, 2, "the prior change and the step's: refused attempts changed nothing")
	require.Equal(t, map[string]int64{labEast: 0, labWest: 100}, log[1].Weights())
	recs, err := l.twin.RecordSets(labHostedZoneID)
	require.NoError(t, err)
	for _, r := range recs {
		if r.SetIdentifier != "" {
			require.Equal(t, map[string]int64{labEast: 0, labWest: 100}[r.SetIdentifier], aws.ToInt64(r.Weight))
		}
	}
}
