package kafkatwin

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// clientOpts are the franz-go options every twin client uses. The library defaults suit a
// production cluster that stays put; a lab cluster disappears and returns within seconds, so
// metadata may be refreshed more often and retries back off for less long, otherwise a restored
// cluster would sit unused for the default five-second metadata floor.
func clientOpts(brokers []string, extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.DialTimeout(2 * time.Second),
		kgo.RetryBackoffFn(func(tries int) time.Duration {
			d := time.Duration(tries) * 100 * time.Millisecond
			return min(d, time.Second)
		}),
	}
	return append(opts, extra...)
}

// groupOpts shortens group liveness to kfake's minimum session timeout: a twin that lost its
// connection mid-drill should be declared gone quickly, so that the group turns idle (which
// offset sync waits for) and a successor can join without waiting out the 45 s default.
func groupOpts(group string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.SessionTimeout(6 * time.Second),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.HeartbeatInterval(time.Second),
	}
}
