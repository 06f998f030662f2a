package kafkatwin

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// GroupLag returns how many records of topic the consumer group has not committed past: the sum
// over the topic's partitions of the end offset minus the group's committed offset. It is what
// MSK publishes as SumOffsetLag and what the engine's drain check reads with kadm.
//
// Unlike kadm's Client.Lag, which only counts partitions a group is assigned or has committed
// to, a partition the group never committed to counts in full (end minus log start): a pipeline
// that has not consumed anything yet is behind by the whole topic, not caught up.
func GroupLag(ctx context.Context, bootstrap []string, group, topic string) (int64, error) {
	r, err := NewLagReader(bootstrap)
	if err != nil {
		return 0, fmt.Errorf("group lag of %s on %s: %w", group, topic, err)
	}
	defer r.Close()
	return r.Lag(ctx, group, topic)
}

// LagReader computes [GroupLag] repeatedly over one connection, for a caller that polls (the
// lab's metric publisher): a client per call would cost a connection and a metadata round trip
// each time.
type LagReader struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// NewLagReader connects to a cluster; the connection is made lazily and re-made after the
// cluster comes back from an impairment.
func NewLagReader(bootstrap []string) (*LagReader, error) {
	cl, err := kgo.NewClient(clientOpts(bootstrap)...)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &LagReader{cl: cl, adm: kadm.NewClient(cl)}, nil
}

// Close releases the connection.
func (r *LagReader) Close() { r.cl.Close() }

// Lag is [GroupLag] over the reader's connection.
func (r *LagReader) Lag(ctx context.Context, group, topic string) (int64, error) {
	adm := r.adm
	commits, err := adm.FetchOffsetsForTopics(ctx, group, topic)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return 0, fmt.Errorf("group lag of %s on %s: fetch offsets: %w", group, topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("group lag of %s on %s: list end offsets: %w", group, topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("group lag of %s on %s: list start offsets: %w", group, topic, err)
	}
	var lag int64
	var perr error
	ends.Each(func(end kadm.ListedOffset) {
		from := int64(0)
		if s, ok := starts.Lookup(end.Topic, end.Partition); ok {
			from = s.Offset
		}
		if c, ok := commits.Lookup(end.Topic, end.Partition); ok {
			if c.Err != nil {
				perr = errors.Join(perr, fmt.Errorf("partition %d: %w", end.Partition, c.Err))
				return
			}
			if c.At >= 0 {
				from = c.At
			}
		}
		if end.Offset > from {
			lag += end.Offset - from
		}
	})
	if perr != nil {
		return 0, fmt.Errorf("group lag of %s on %s: %w", group, topic, perr)
	}
	return lag, nil
}
