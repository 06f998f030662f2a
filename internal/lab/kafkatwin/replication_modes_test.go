package kafkatwin

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
)

// endOffsets sums a topic's end offsets; -1 while the topic cannot be read.
func endOffsets(t testing.TB, c *Cluster, topic string) int64 {
	t.Helper()
	adm, done := newAdmin(t, c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		return -1
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// groupCommits returns a group's committed offsets on one topic by partition.
func groupCommits(t testing.TB, c *Cluster, group, topic string) map[int32]int64 {
	t.Helper()
	adm, done := newAdmin(t, c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[int32]int64{}
	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return out
	}
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

func commitOffsets(t testing.TB, c *Cluster, group, topic string, at map[int32]int64) {
	t.Helper()
	adm, done := newAdmin(t, c)
	defer done()
	offsets := make(kadm.Offsets)
	for p, o := range at {
		offsets.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(context.Background(), group, offsets)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
}

// With PREFIXED_WITH_SOURCE_CLUSTER_ALIAS names the copies land in <sourceAlias>.<topic>, nothing
// is filtered (each copy has a topic of its own, so two-way replication cannot loop), and offset
// sync positions groups on the prefixed topic.
func TestPrefixedReplicatorCopiesIntoTheAliasedTopic(t *testing.T) {
	a, b := newPair(t)
	ab := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, TopicNameConfiguration: TopicNamePrefixed})
	ba := newTestReplicator(t, ReplicatorOptions{Name: "lab-secondary-to-primary", Source: b, Target: a, TopicNameConfiguration: TopicNamePrefixed})
	intoB, intoA := "lab-msk-primary."+DefaultTopic, "lab-msk-secondary."+DefaultTopic
	require.Equal(t, intoB, ab.CopyTopic(DefaultTopic))

	produce(t, a, "a", 120)
	produce(t, b, "b", 40)
	eventually(t, 30*time.Second, func() (bool, string) {
		nb, na := endOffsets(t, b, intoB), endOffsets(t, a, intoA)
		return nb == 120 && na == 40 && ab.MessageLag() == 0 && ba.MessageLag() == 0,
			fmt.Sprintf("%s holds %d of 120, %s %d of 40", intoB, nb, intoA, na)
	})
	require.EqualValues(t, 120, endOffsets(t, a, DefaultTopic), "nothing looped back into the primary's own topic")
	require.EqualValues(t, 40, endOffsets(t, b, DefaultTopic))
	require.Zero(t, ab.Metrics().RecordsFiltered)
	require.Zero(t, ba.Metrics().RecordsFiltered)
	d := ab.Describe().ReplicationInfoList[0]
	require.Equal(t, TopicNamePrefixed, d.TopicReplication.TopicNameConfiguration)
	require.Equal(t, OffsetSyncLegacy, d.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode, "MSK's default")

	// A group that read everything on the primary is positioned at the end of the copies.
	adm, done := newAdmin(t, a)
	ends, err := adm.ListEndOffsets(context.Background(), DefaultTopic)
	done()
	require.NoError(t, err)
	all := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { all[o.Partition] = o.Offset })
	commitOffsets(t, a, "app", DefaultTopic, all)
	eventually(t, 20*time.Second, func() (bool, string) {
		got := groupCommits(t, b, "app", intoB)
		var sum int64
		for _, o := range got {
			sum += o
		}
		return sum == 120, fmt.Sprintf("app on %s: %v", intoB, got)
	})
	require.Empty(t, groupCommits(t, b, "app", DefaultTopic), "nothing is committed on the plain topic")
}

// Two-way replication with identical names, as the seed runs it. A group read part of the
// primary's records on the secondary (copies there); the secondary-to-primary replicator then
// translates its position back to the primary. Those records came from its target, so only
// ENHANCED, with the other replicator's map, knows where they are; LEGACY falls back to before
// them (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-bidirectional-offset-sync.html:
// LEGACY does not translate offsets back from the target to the source).
func TestEnhancedOffsetSyncTranslatesBackAcrossRecordsFromTheTarget(t *testing.T) {
	for _, mode := range []string{OffsetSyncEnhanced, OffsetSyncLegacy} {
		t.Run(mode, func(t *testing.T) {
			a, b := newPair(t)
			ab := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, ConsumerGroupOffsetSyncMode: mode})
			ba := newTestReplicator(t, ReplicatorOptions{Name: "lab-secondary-to-primary", Source: b, Target: a, ConsumerGroupOffsetSyncMode: mode})
			ab.SetReverse(ba)
			ba.SetReverse(ab)
			require.Equal(t, mode, ba.Describe().ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupOffsetSyncMode)

			// The secondary's own records first, then the primary's: on the primary the copies
			// of the secondary's records come before the primary's own.
			produce(t, b, "b", 30)
			eventually(t, 20*time.Second, func() (bool, string) {
				n := endOffsetSum(t, a)
				return n == 30, fmt.Sprintf("primary holds %d of 30", n)
			})
			produce(t, a, "a", 90)
			eventually(t, 30*time.Second, func() (bool, string) {
				la, lb := ab.MessageLag(), ba.MessageLag()
				return la == 0 && lb == 0 && endOffsetSum(t, b) == 120, fmt.Sprintf("lags %d %d", la, lb)
			})

			// On the secondary, commit half-way through each partition's copies of the
			// primary's records; compute where that is on the primary, and where LEGACY puts it.
			offsetOn := map[string]int64{}
			firstOwn := map[int32]int64{} // the primary's first own record by partition
			for _, rec := range topicRecords(t, a, DefaultTopic) {
				offsetOn[string(rec.Value)] = rec.Offset
				if _, copied := headerValue(rec, OriginHeader); !copied {
					if o, ok := firstOwn[rec.Partition]; !ok || rec.Offset < o {
						firstOwn[rec.Partition] = rec.Offset
					}
				}
			}
			fromA := map[int32][]int64{}
			valueAt := map[int32]map[int64]string{}
			for _, rec := range topicRecords(t, b, DefaultTopic) {
				if valueAt[rec.Partition] == nil {
					valueAt[rec.Partition] = map[int64]string{}
				}
				valueAt[rec.Partition][rec.Offset] = string(rec.Value)
				if origin, _ := headerValue(rec, OriginHeader); origin == a.Name() {
					fromA[rec.Partition] = append(fromA[rec.Partition], rec.Offset)
				}
			}
			commit, enhanced, legacy := map[int32]int64{}, map[int32]int64{}, map[int32]int64{}
			for p, offs := range fromA {
				if len(offs) < 2 {
					continue
				}
				slices.Sort(offs)
				mid := offs[len(offs)/2]
				commit[p] = mid
				enhanced[p] = offsetOn[valueAt[p][mid]]
				legacy[p] = firstOwn[p]
				require.NotEqual(t, legacy[p], enhanced[p], "the test needs LEGACY and ENHANCED to differ")
			}
			require.NotEmpty(t, commit)
			commitOffsets(t, b, "app", DefaultTopic, commit)

			want := enhanced
			if mode == OffsetSyncLegacy {
				want = legacy
			}
			eventually(t, 20*time.Second, func() (bool, string) {
				got := groupCommits(t, a, "app", DefaultTopic)
				for p, w := range want {
					if got[p] != w {
						return false, fmt.Sprintf("app on the primary %v, want %v (committed %v on the secondary)", got, want, commit)
					}
				}
				return true, ""
			})
		})
	}
}
