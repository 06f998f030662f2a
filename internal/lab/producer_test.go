package lab

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// fakeResolver answers with a fixed Region and TTL and counts the queries.
type fakeResolver struct {
	mu      sync.Mutex
	region  string
	ttl     time.Duration
	queries int
}

func (f *fakeResolver) Resolve(context.Context) (Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	return Answer{Region: f.region, TTL: f.ttl, Weights: map[string]int64{f.region: 100}}, nil
}

func (f *fakeResolver) set(region string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.region = region
}

// The producer's clients keep a DNS answer for the record's TTL: after the records change,
// writes keep going to the old Region until the answers expire, then all follow.
func TestProducerKeepsDNSAnswersForTheirTTL(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	res := &fakeResolver{region: east, ttl: 5 * time.Second}
	p, err := NewProducer(ProducerOptions{Bootstrap: map[string][]string{east: {"127.0.0.1:1"}, west: {"127.0.0.1:2"}},
		Topic: "t", Resolver: res, Clients: 4, Now: func() time.Time { return now }, Logger: testLogger()})
	require.NoError(t, err)
	defer p.Close()
	ctx := context.Background()

	routeAll := func() map[string]int {
		out := map[string]int{}
		for range 8 {
			out[p.route(ctx, p.seq.Add(1))]++
		}
		return out
	}
	require.Equal(t, map[string]int{east: 8}, routeAll())
	require.Equal(t, 4, res.queries, "each client resolves once, then answers from its cache")

	res.set(west) // the change is INSYNC: Route 53 now answers us-west-2
	now = now.Add(4 * time.Second)
	require.Equal(t, map[string]int{east: 8}, routeAll(), "within the TTL every client still holds the old answer")
	require.Equal(t, 4, res.queries)
	require.Equal(t, map[string]int{east: 4}, p.Stats().Routing)

	now = now.Add(time.Second)
	require.Equal(t, map[string]int{west: 8}, routeAll(), "at the TTL every client resolves again")
	require.Equal(t, 8, res.queries)
	require.Equal(t, map[string]int{west: 4}, p.Stats().Routing)
}

// The lab's Route 53 data plane answers one record per query, in proportion to the weights; a
// record of weight 0 is never the answer unless every weight is 0, and then each is equally
// likely (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html).
func TestRoute53DataPlaneAnswersByWeight(t *testing.T) {
	twin := awstwin.New(awstwin.Options{Logger: testLogger()})
	defer twin.Close()
	require.NoError(t, twin.PutHostedZone(HostedZoneID, HostedZone, true))
	ttl := int64(5)
	set := func(weights map[string]int64) {
		for _, r := range []string{east, west} {
			w := weights[r]
			require.NoError(t, twin.UpsertRecordSet(HostedZoneID, awstwin.RecordSet{Name: RecordName, Type: "CNAME", SetIdentifier: r,
				Weight: &w, TTL: &ttl, Values: []string{ingestHost(r)}}))
		}
	}
	router := &Route53Router{Twin: twin, ZoneID: HostedZoneID, Name: RecordName, Type: "CNAME",
		SetIdentifiers: map[string]string{east: east, west: west}}
	answers := func() map[string]int {
		out := map[string]int{}
		for range 1000 {
			a, err := router.Resolve(context.Background())
			require.NoError(t, err)
			require.Equal(t, 5*time.Second, a.TTL, "the answer carries the record's TTL")
			require.Equal(t, ingestHost(a.Region), a.Value)
			out[a.Region]++
		}
		return out
	}

	set(map[string]int64{east: 100, west: 0})
	require.Equal(t, map[string]int{east: 1000}, answers(), "weight 0 disables a record")

	set(map[string]int64{east: 10, west: 90})
	got := answers()
	require.InDelta(t, 100, got[east], 40, "10 %% of the answers: %v", got)
	require.InDelta(t, 900, got[west], 40, "90 %% of the answers: %v", got)

	set(map[string]int64{east: 0, west: 0})
	got = answers()
	require.InDelta(t, 500, got[east], 60, "all 0: equal probability, not no answer: %v", got)
	require.InDelta(t, 500, got[west], 60, "all 0: equal probability, not no answer: %v", got)
}
