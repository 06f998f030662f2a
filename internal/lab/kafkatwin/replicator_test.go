package kafkatwin

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestReplicatorCopiesEveryRecordToTheSameTopicAndPartition(t *testing.T) {
	a, b := newPair(t)
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b})

	const n = 500
	sent := produce(t, a, "a", n)
	eventually(t, 20*time.Second, func() (bool, string) {
		got := endOffsetSum(t, b)
		return got == n, fmt.Sprintf("secondary holds %d of %d records", got, n)
	})

	srcPart := make(map[string]int32)
	for _, rec := range topicRecords(t, a, DefaultTopic) {
		srcPart[string(rec.Key)] = rec.Partition
	}
	copies := topicRecords(t, b, DefaultTopic)
	require.Len(t, copies, n)
	got := messages(t, copies)
	for _, m := range sent {
		require.Equal(t, 1, got[m], "message %s", m)
	}
	for _, rec := range copies {
		require.Equal(t, DefaultTopic, rec.Topic)
		require.Equal(t, srcPart[string(rec.Key)], rec.Partition, "record %s changed partition", rec.Key)
		origin, ok := headerValue(rec, OriginHeader)
		require.True(t, ok)
		require.Equal(t, a.Name(), origin)
	}

	eventually(t, 10*time.Second, func() (bool, string) {
		lag := r.MessageLag()
		return lag == 0, fmt.Sprintf("MessageLag %d", lag)
	})
	m := r.Metrics()
	require.EqualValues(t, n, m.RecordsReplicated)
	require.Zero(t, m.RecordsFiltered)
	require.Positive(t, m.ReplicatorThroughput)
	last, maxLat := r.ReplicationLatencyMillis()
	require.GreaterOrEqual(t, maxLat, last)
	eventually(t, 5*time.Second, func() (bool, string) {
		ping := r.Metrics().KafkaClusterPingSuccessCount
		return ping[a.Name()] == 1 && ping[b.Name()] == 1, fmt.Sprintf("pings %v", ping)
	})
}

func TestActiveActiveReplicationDoesNotLoop(t *testing.T) {
	a, b := newPair(t)
	ab := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b})
	ba := newTestReplicator(t, ReplicatorOptions{Name: "lab-secondary-to-primary", Source: b, Target: a})

	const na, nb = 300, 200
	done := make(chan []string)
	go func() { done <- produce(t, b, "b", nb) }()
	sentA := produce(t, a, "a", na)
	sentB := <-done

	settled := func() (bool, string) {
		la, lb := ab.MessageLag(), ba.MessageLag()
		ca, cb := endOffsetSum(t, a), endOffsetSum(t, b)
		return la == 0 && lb == 0 && ca == na+nb && cb == na+nb,
			fmt.Sprintf("lag a->b %d, b->a %d; primary holds %d, secondary %d, want %d each", la, lb, ca, cb, na+nb)
	}
	eventually(t, 30*time.Second, settled)

	// Each replicator has read every copy the other one wrote and dropped it; a loop would
	// have shown up as extra records before both lags reached 0.
	require.EqualValues(t, nb, ab.Metrics().RecordsFiltered)
	require.EqualValues(t, na, ba.Metrics().RecordsFiltered)
	ok, msg := settled()
	require.True(t, ok, msg)

	for _, c := range []*Cluster{a, b} {
		got := messages(t, topicRecords(t, c, DefaultTopic))
		require.Len(t, got, na+nb, "distinct messages in %s", c.Name())
		for _, m := range append(append([]string{}, sentA...), sentB...) {
			require.Equal(t, 1, got[m], "message %s in %s", m, c.Name())
		}
	}
}

func TestOffsetSyncTranslatesOnlyWhileTargetGroupIsIdle(t *testing.T) {
	a, b := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	// The secondary's own traffic comes first, so the copies sit at different offsets there
	// than the originals do on the primary: translation has real work to do.
	produce(t, b, "b-own", 60)
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b})
	produce(t, a, "a", 240)
	eventually(t, 20*time.Second, func() (bool, string) {
		lag := r.MessageLag()
		return lag == 0, fmt.Sprintf("MessageLag %d", lag)
	})

	const group = "osi-consumer-group-primary"
	// An active member of the group on the secondary, which never commits.
	member, err := kgo.NewClient(clientOpts(b.Bootstrap(), append(groupOpts(group),
		kgo.ConsumeTopics(DefaultTopic), kgo.DisableAutoCommit())...)...)
	require.NoError(t, err)
	memberClosed := false
	defer func() {
		if !memberClosed {
			member.Close()
		}
	}()
	go func() {
		for !member.PollFetches(ctx).IsClientClosed() && ctx.Err() == nil {
		}
	}()
	admB, closeB := newAdmin(t, b)
	defer closeB()
	eventually(t, 20*time.Second, func() (bool, string) {
		d, err := admB.DescribeGroups(ctx, group)
		if err != nil {
			return false, err.Error()
		}
		return d[group].State == "Stable" && len(d[group].Members) == 1, fmt.Sprintf("group state %q", d[group].State)
	})

	// Commit half-way positions for the group on the primary.
	admA, closeA := newAdmin(t, a)
	defer closeA()
	ends, err := admA.ListEndOffsets(ctx, DefaultTopic)
	require.NoError(t, err)
	commit := make(kadm.Offsets)
	ends.Each(func(o kadm.ListedOffset) {
		commit.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset / 2, LeaderEpoch: -1})
	})
	resp, err := admA.CommitOffsets(ctx, group, commit)
	require.NoError(t, err)
	require.NoError(t, resp.Error())

	// Several sync passes see the group but must leave it alone while the member is there.
	skipped := r.Metrics().OffsetSyncSkippedActive
	eventually(t, 10*time.Second, func() (bool, string) {
		s := r.Metrics().OffsetSyncSkippedActive
		return s >= skipped+3, fmt.Sprintf("%d passes skipped the active group", s-skipped)
	})
	fetched, err := admB.FetchOffsets(ctx, group)
	require.NoError(t, err)
	fetched.Each(func(o kadm.OffsetResponse) {
		require.Negative(t, o.At, "partition %d got offset %d while the group was active", o.Partition, o.At)
	})

	// The member leaves; the group is idle and receives the translated positions.
	member.Close()
	memberClosed = true

	// Equivalent position: the copy on the secondary of the record the primary group will
	// read next.
	valueAt := make(map[int32]map[int64]string)
	for _, rec := range topicRecords(t, a, DefaultTopic) {
		if valueAt[rec.Partition] == nil {
			valueAt[rec.Partition] = make(map[int64]string)
		}
		valueAt[rec.Partition][rec.Offset] = string(rec.Value)
	}
	copyAt := make(map[string]int64)
	for _, rec := range topicRecords(t, b, DefaultTopic) {
		copyAt[string(rec.Value)] = rec.Offset
	}
	want := make(map[int32]int64)
	commit.Each(func(o kadm.Offset) {
		v, ok := valueAt[o.Partition][o.At]
		require.True(t, ok, "no record at %d/%d", o.Partition, o.At)
		want[o.Partition] = copyAt[v]
		require.NotEqual(t, o.At, want[o.Partition], "test needs differing offsets")
	})
	eventually(t, 10*time.Second, func() (bool, string) {
		fetched, err := admB.FetchOffsets(ctx, group)
		if err != nil {
			return false, err.Error()
		}
		got := make(map[int32]int64)
		fetched.Each(func(o kadm.OffsetResponse) { got[o.Partition] = o.At })
		for p, w := range want {
			if got[p] != w {
				return false, fmt.Sprintf("secondary offsets %v, want %v", got, want)
			}
		}
		return true, ""
	})
	require.Zero(t, r.Metrics().ConsumerGroupOffsetSyncFailure)
	require.GreaterOrEqual(t, r.Metrics().ConsumerGroupCount, int64(1))
}

func TestStopResumeAndSlowReplicatorMakeLagGrowThenDrain(t *testing.T) {
	a, b := newPair(t)
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, MaxBatchRecords: 20})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	produce(t, a, "before", 100)
	eventually(t, 20*time.Second, func() (bool, string) { lag := r.MessageLag(); return lag == 0, fmt.Sprintf("lag %d", lag) })

	require.NoError(t, r.Stop(ctx))
	produce(t, a, "during", 200)
	// Stopped: the lag is exactly what was produced since, and nothing reaches the target.
	lag, err := r.MessageLagContext(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 200, lag)
	require.EqualValues(t, 100, endOffsetSum(t, b))

	r.Resume()
	eventually(t, 20*time.Second, func() (bool, string) { lag := r.MessageLag(); return lag == 0, fmt.Sprintf("lag %d", lag) })
	got := messages(t, topicRecords(t, b, DefaultTopic))
	require.Len(t, got, 300, "no record lost across Stop/Resume")

	r.SetSlow(250 * time.Millisecond)
	produce(t, a, "slow", 200)
	eventually(t, 10*time.Second, func() (bool, string) { lag := r.MessageLag(); return lag > 0, fmt.Sprintf("lag %d", lag) })
	r.SetSlow(0)
	eventually(t, 20*time.Second, func() (bool, string) { lag := r.MessageLag(); return lag == 0, fmt.Sprintf("lag %d", lag) })
	require.Len(t, messages(t, topicRecords(t, b, DefaultTopic)), 500)
}

func TestReplicatorFailsWhileClusterUnreachableAndLosesNothing(t *testing.T) {
	a, b := newPair(t)
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, FailAfter: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	require.NoError(t, b.SetReachable(false))
	produce(t, a, "outage", 150)
	require.NoError(t, r.WaitForState(ctx, ReplicatorFailed))
	d := r.Describe()
	require.Equal(t, ReplicatorFailed, d.ReplicatorState)
	require.NotNil(t, d.StateInfo)
	require.Contains(t, d.StateInfo.Message, b.Name())
	require.EqualValues(t, 0, r.Metrics().KafkaClusterPingSuccessCount[b.Name()])
	require.EqualValues(t, 150, r.MessageLag())

	require.NoError(t, b.SetReachable(true))
	require.NoError(t, r.WaitForState(ctx, ReplicatorRunning))
	eventually(t, 30*time.Second, func() (bool, string) { lag := r.MessageLag(); return lag == 0, fmt.Sprintf("lag %d", lag) })
	require.Len(t, messages(t, topicRecords(t, b, DefaultTopic)), 150)
}

func TestReplicatorUpdateChecksVersionAndPassesThroughUpdating(t *testing.T) {
	a, b := newPair(t)
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, UpdateDelay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	v1 := r.CurrentVersion()
	groups := &ConsumerGroupReplicationUpdate{
		ConsumerGroupsToReplicate:       []string{"osi-.*"},
		ConsumerGroupsToExclude:         []string{},
		DetectAndCopyNewConsumerGroups:  true,
		SynchroniseConsumerGroupOffsets: true,
	}
	_, err := r.Update(UpdateReplicationInfoInput{CurrentVersion: "stale", ConsumerGroupReplication: groups})
	require.ErrorIs(t, err, ErrStaleVersion)
	_, err = r.Update(UpdateReplicationInfoInput{CurrentVersion: v1, ConsumerGroupReplication: &ConsumerGroupReplicationUpdate{ConsumerGroupsToReplicate: []string{"("}}})
	require.ErrorIs(t, err, ErrInvalidUpdate)

	st, err := r.Update(UpdateReplicationInfoInput{CurrentVersion: v1, ConsumerGroupReplication: groups})
	require.NoError(t, err)
	require.Equal(t, ReplicatorUpdating, st)
	require.NotEqual(t, v1, r.CurrentVersion())
	_, err = r.Update(UpdateReplicationInfoInput{CurrentVersion: r.CurrentVersion(), ConsumerGroupReplication: groups})
	require.True(t, errors.Is(err, ErrReplicatorNotRunning), "second update during UPDATING: %v", err)

	require.NoError(t, r.WaitForState(ctx, ReplicatorRunning))
	d := r.Describe()
	require.Equal(t, []string{"osi-.*"}, d.ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupsToReplicate)
	require.Equal(t, "IDENTICAL", d.ReplicationInfoList[0].TopicReplication.TopicNameConfiguration)
	require.Equal(t, []string{DefaultTopic}, d.ReplicationInfoList[0].TopicReplication.TopicsToReplicate)
	require.Equal(t, a.ARN(), d.KafkaClusters[0].MskClusterArn)
	require.Contains(t, d.ReplicatorArn, ":us-west-2:")

	// Replication carries on after the update.
	produce(t, a, "after-update", 50)
	eventually(t, 20*time.Second, func() (bool, string) { n := endOffsetSum(t, b); return n == 50, fmt.Sprintf("%d copied", n) })
}

func TestOffsetMapTranslate(t *testing.T) {
	var m offsetMap
	for i := int64(0); i < 5; i++ {
		m.add(i, 10+i) // run 1: source 0-4 -> target 10-14
	}
	// Source 5-9 were filtered (they came from the target); target's own records interleave.
	for i := int64(10); i < 13; i++ {
		m.add(i, 20+i) // run 2: source 10-12 -> target 30-32
	}
	m.add(3, 99) // a replay of an already mapped record changes nothing
	cases := []struct {
		committed int64
		want      int64
		ok        bool
	}{
		{0, 10, true},  // nothing read yet: the copy of record 0
		{3, 13, true},  // exact: copy of record 3
		{5, 15, true},  // after run 1, before anything else was copied
		{9, 15, true},  // filtered records in between add nothing
		{10, 30, true}, // start of run 2
		{13, 33, true}, // past everything copied
		{50, 33, true}, // replicator behind the group: conservative
	}
	for _, c := range cases {
		got, ok := m.translate(c.committed)
		require.Equal(t, c.ok, ok, "committed %d", c.committed)
		require.Equal(t, c.want, got, "committed %d", c.committed)
	}
	var empty offsetMap
	_, ok := empty.translate(4)
	require.False(t, ok)
}

// ENHANCED translation walks the target partition through both replicators' maps. Here the
// target's own records 0-4 reached the source late (at 10-14, by the reverse replicator), after
// the source's records 0-4 had been copied to target 5-9.
func TestOffsetMapTranslateEnhanced(t *testing.T) {
	var fwd, rev offsetMap
	for i := range int64(5) {
		fwd.add(i, 5+i)  // source 0-4 -> target 5-9
		rev.add(i, 10+i) // target 0-4 -> source 10-14
	}
	cases := []struct {
		committed      int64
		legacy, enh    int64
		legacyOK, enOK bool
	}{
		// The group read the source's own records 0-4 and none of the target's: LEGACY moves it
		// past target 0-4, which it never read; ENHANCED keeps it at target 0.
		{5, 10, 0, true, true},
		{3, 8, 0, true, true},
		// It also read the copies of the target's records: everything up to target 10.
		{15, 10, 10, true, true},
		// Part of them.
		{12, 10, 2, true, true},
	}
	for _, c := range cases {
		got, ok := fwd.translate(c.committed)
		require.Equal(t, c.legacyOK, ok, "legacy %d", c.committed)
		require.Equal(t, c.legacy, got, "legacy %d", c.committed)
		got, ok = translateEnhanced(&fwd, &rev, c.committed)
		require.Equal(t, c.enOK, ok, "enhanced %d", c.committed)
		require.Equal(t, c.enh, got, "enhanced %d", c.committed)
	}
	// Without a reverse map ENHANCED is LEGACY.
	got, ok := translateEnhanced(&fwd, nil, 5)
	require.True(t, ok)
	require.Equal(t, int64(10), got)
	var empty offsetMap
	_, ok = translateEnhanced(&empty, &empty, 4)
	require.False(t, ok)
}
