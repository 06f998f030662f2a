package lab

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/arc"
)

// countFrom counts a collection's documents produced in a Region, through the HTTP API.
func countFrom(t testing.TB, url, sourceRegion string) int64 {
	t.Helper()
	out := search(t, url, "/"+IndexPattern+"/_count", map[string]any{
		"query": map[string]any{"term": map[string]any{"source_region.keyword": sourceRegion}}})
	return int64(out["count"].(float64))
}

// TestFailoverAndFailbackEndToEnd is the drill the lab exists for: writes follow DNS out of
// an impaired Region, and after healing the replicator backfills it until both collections hold
// the same events, minute by minute.
func TestFailoverAndFailbackEndToEnd(t *testing.T) {
	l := startTestLab(t, func(o *Options) { o.ProducerRate = 200; o.WithEventIDs = true })
	ctx := context.Background()
	ep := l.Endpoints()
	eastURL, westURL := ep.Regions[east].OpenSearchURL, ep.Regions[west].OpenSearchURL
	p := l.Producer()

	// 1. The producer writes to us-east-1 (weight 100/0); both collections receive the events.
	eventually(t, 30*time.Second, func() (bool, string) {
		e, w := countFrom(t, eastURL, east), countFrom(t, westURL, east)
		return e >= 200 && w >= 200, fmt.Sprintf("us-east-1 events: %d in us-east-1, %d in us-west-2", e, w)
	})
	require.Zero(t, p.Stats().Acked[west], "nothing was routed to us-west-2 yet")

	// 2. us-east-1 goes dark, Route 53's control plane with it (it lives there); the operator
	// turns us-east-1's routing control Off through an ARC endpoint in a Region that is still up,
	// its record's RECOVERY_CONTROL health check fails, and writes land in us-west-2 once the
	// producers' cached answers expire.
	_, err := l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	_, err = route53.NewFromConfig(sdkConfig(l, west)).ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("fail over to us-west-2"), Changes: []r53types.Change{shift(east, 0), shift(west, 100)}}})
	require.Error(t, err, "Route 53's control plane is in us-east-1")
	controls := l.RoutingControls()
	client, err := arc.New(arc.Options{Endpoints: l.ARC().Endpoints(), Config: labARCConfig})
	require.NoError(t, err)
	_, err = client.Set(ctx, map[string]string{controls[east]: "Off", controls[west]: "On"}, nil)
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() (bool, string) {
		r := p.Stats().Routing
		return r[east] == 0 && r[west] > 0, fmt.Sprint(r)
	})
	eventually(t, 30*time.Second, func() (bool, string) {
		acked, indexed := p.Stats().Acked[west], countFrom(t, westURL, west)
		return acked >= 300 && indexed >= 300, fmt.Sprintf("us-west-2 acked %d, indexed %d of its own events", acked, indexed)
	})

	// 3. us-east-1 recovers. Stop producing so the ground truth is fixed, then wait for the
	// replicators to backfill: both collections converge minute by minute.
	_, err = l.Heal(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	p.Close()
	stats := p.Stats()
	var acked int64
	for _, n := range stats.Acked {
		acked += n
	}
	var eastDistinct, westDistinct, eastDocs, westDocs map[string]int64
	eventually(t, 60*time.Second, func() (bool, string) {
		eastDistinct, eastDocs = perMinute(t, eastURL)
		westDistinct, westDocs = perMinute(t, westURL)
		return maps.Equal(eastDistinct, westDistinct) && sum(eastDistinct) >= acked,
			fmt.Sprintf("distinct events per minute: us-east-1 %v (%d), us-west-2 %v (%d); acked %d",
				eastDistinct, sum(eastDistinct), westDistinct, sum(westDistinct), acked)
	})
	// The backfill really happened: us-east-1 now holds the events written to us-west-2 while it
	// was down, all of them.
	require.Equal(t, countDistinct(t, westURL, west), countDistinct(t, eastURL, west))
	require.GreaterOrEqual(t, countDistinct(t, eastURL, west), stats.Acked[west])
	t.Logf("acked %v, failed %v; per collection: %d distinct events, %d / %d documents (duplicates are at-least-once redeliveries)",
		stats.Acked, stats.Failed, sum(eastDistinct), sum(eastDocs), sum(westDocs))
}

// countDistinct counts the distinct event ids a collection holds from a source Region.
func countDistinct(t testing.TB, url, sourceRegion string) int64 {
	t.Helper()
	out := search(t, url, "/"+IndexPattern+"/_search", map[string]any{
		"size":  0,
		"query": map[string]any{"term": map[string]any{"source_region.keyword": sourceRegion}},
		"aggs":  map[string]any{"ids": map[string]any{"cardinality": map[string]any{"field": "event_id.keyword"}}},
	})
	return int64(out["aggregations"].(map[string]any)["ids"].(map[string]any)["value"].(float64))
}
