package kafkatwin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// offsetSyncLoop periodically writes translated offsets of the source's consumer groups to the
// target (SynchroniseConsumerGroupOffsets). A stopped, creating or failed replicator does not
// sync: it would be translating against a map that is no longer growing.
func (r *Replicator) offsetSyncLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.OffsetSyncInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		cfg, st, paused := r.cfg, r.stateLocked(), r.paused
		r.mu.Unlock()
		if paused || (st != ReplicatorRunning && st != ReplicatorUpdating) || !cfg.syncOffsets {
			continue
		}
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		err := r.syncOffsets(ctx, cfg)
		cancel()
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.syncFailures.Add(1)
			r.log.Warn("consumer group offset sync failed", "err", err)
			continue
		}
		r.syncPasses.Add(1)
	}
}

// syncOffsets runs one pass. A group's offsets are written to the target only while the target
// group has no active members — as MSK Replicator does — because a live consumer there owns
// its position and a commit from outside would be rejected or, worse, rewind it. Offsets are
// also only ever moved forward, so a group that consumed on the target during a failover and
// then went idle is not dragged back to an older translated position.
func (r *Replicator) syncOffsets(ctx context.Context, cfg *replicationConfig) error {
	listed, err := r.srcAdm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups on %s: %w", r.opts.SourceAlias, err)
	}
	var groups []string
	r.mu.Lock()
	for _, g := range listed.Groups() {
		if !cfg.groupMatches(g) {
			continue
		}
		// With DetectAndCopyNewConsumerGroups off, only groups seen on the first pass count.
		if !cfg.detectNewGroups && r.syncPasses.Load() > 0 && !r.knownGroups[g] {
			continue
		}
		r.knownGroups[g] = true
		groups = append(groups, g)
	}
	r.mu.Unlock()
	r.groupCount.Store(int64(len(groups)))
	if len(groups) == 0 {
		return nil
	}

	described, err := r.tgtAdm.DescribeGroups(ctx, groups...)
	if err != nil {
		return fmt.Errorf("describe groups on %s: %w", r.opts.TargetAlias, err)
	}
	var errs []error
	for _, g := range groups {
		if d, ok := described[g]; ok && d.Err == nil && (len(d.Members) > 0 || (d.State != "Empty" && d.State != "Dead")) {
			r.syncSkippedActive.Add(1)
			continue
		} else if ok && d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
			errs = append(errs, fmt.Errorf("describe group %s on %s: %w", g, r.opts.TargetAlias, d.Err))
			continue
		}
		if err := r.syncGroup(ctx, cfg, g); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Replicator) syncGroup(ctx context.Context, cfg *replicationConfig, group string) error {
	srcCommits, err := r.srcAdm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetch offsets of %s on %s: %w", group, r.opts.SourceAlias, err)
	}
	tgtCommits, err := r.tgtAdm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("fetch offsets of %s on %s: %w", group, r.opts.TargetAlias, err)
	}
	out := make(kadm.Offsets)
	rev := r.reverse.Load()
	enhanced := r.opts.ConsumerGroupOffsetSyncMode == OffsetSyncEnhanced && rev != nil && r.opts.TopicNameConfiguration == TopicNameIdentical
	srcCommits.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At < 0 || !cfg.topicMatches(o.Topic) {
			return
		}
		m := r.offsetMapCopy(topicPartition{o.Topic, o.Partition})
		// Offsets only translate onto the same-numbered partition; a target with fewer
		// partitions mixes several sources into one and has no single equivalent position.
		if m != nil && m.targetPartition != o.Partition {
			return
		}
		var at int64
		var ok bool
		if enhanced {
			// The reverse replicator's map of the target partition, if it maps it onto
			// this same partition number.
			back := rev.offsetMapCopy(topicPartition{o.Topic, o.Partition})
			if back != nil && back.targetPartition != o.Partition {
				back = nil
			}
			at, ok = translateEnhanced(m, back, o.At)
		} else if m != nil {
			at, ok = m.translate(o.At)
		}
		if !ok {
			return
		}
		// The group reads the copies where they land.
		dst := r.CopyTopic(o.Topic)
		if cur, ok := tgtCommits.Lookup(dst, o.Partition); ok && cur.Err == nil && cur.At >= at {
			return
		}
		out.Add(kadm.Offset{Topic: dst, Partition: o.Partition, At: at, LeaderEpoch: -1})
	})
	if len(out) == 0 {
		return nil
	}
	resp, err := r.tgtAdm.CommitOffsets(ctx, group, out)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("commit translated offsets of %s on %s: %w", group, r.opts.TargetAlias, err)
	}
	r.groupsSynced.Add(1)
	r.log.Debug("synced consumer group offsets", "group", group, "partitions", len(out))
	return nil
}
