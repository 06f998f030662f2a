package runbook

import (
	"slices"
	"strings"
	"time"
)

// Replication says how a Region's inbound MSK Replicator must be configured, and how its
// metrics are read. msk.replicator_running (pre-flight, and plan mode) fails when the replicator
// that DescribeReplicator reports differs, naming the replicator, the Region and the setting.
type Replication struct {
	// TopicNameConfiguration is IDENTICAL (copies land in a topic of the same name, as the
	// sample's replicators do) or PREFIXED_WITH_SOURCE_CLUSTER_ALIAS (in
	// <sourceKafkaClusterAlias>.<topic>, MSK's default). Empty: whatever the replicator has; the
	// lag checks read the topic that really receives the copies either way.
	TopicNameConfiguration string `yaml:"topic_name_configuration,omitempty" json:"topic_name_configuration,omitempty"`
	// ConsumerGroupOffsetSyncMode is ENHANCED (the default: translates offsets in both
	// directions, which failback needs) or LEGACY (one-way replication only: offsets are never
	// translated back).
	ConsumerGroupOffsetSyncMode string `yaml:"consumer_group_offset_sync_mode,omitempty" json:"consumer_group_offset_sync_mode,omitempty"`
	// MetricsPeriod is the period at which MessageLag is read; empty means 1m, the resolution
	// MSK publishes replicator metrics at. The lab publishes them every second and says 1s.
	MetricsPeriod Duration `yaml:"metrics_period,omitempty" json:"metrics_period,omitempty"`
}

// The replication settings' values, as the MSK API spells them.
const (
	TopicNameIdentical   = "IDENTICAL"
	TopicNamePrefixed    = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"
	OffsetSyncEnhanced   = "ENHANCED"
	OffsetSyncLegacy     = "LEGACY"
	DefaultMetricsPeriod = Duration(time.Minute)
)

// WantOffsetSyncMode is the ConsumerGroupOffsetSyncMode the inbound replicator must have.
func (r *Replication) WantOffsetSyncMode() string {
	if r == nil || r.ConsumerGroupOffsetSyncMode == "" {
		return OffsetSyncEnhanced
	}
	return r.ConsumerGroupOffsetSyncMode
}

// WantTopicNameConfiguration is the TopicNameConfiguration the inbound replicator must have,
// "" when any will do.
func (r *Replication) WantTopicNameConfiguration() string {
	if r == nil {
		return ""
	}
	return r.TopicNameConfiguration
}

// Period is the period MessageLag is read at.
func (r *Replication) Period() time.Duration {
	if r == nil || r.MetricsPeriod <= 0 {
		return DefaultMetricsPeriod.D()
	}
	return r.MetricsPeriod.D()
}

// MarshalYAML writes a Duration the way the loader reads it back, as a Go duration string
// ("1s"): environments are also written from code (the lab's, for a lab on ports of its own).
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// checkReplication validates a Region's replication block: the settings take the MSK API's
// values, and the period is one CloudWatch accepts
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html: 1, 5,
// 10, 20, 30 or a multiple of 60 seconds).
func checkReplication(r *Replication, where string, pos posTable, errs *ErrorList) {
	if r == nil {
		return
	}
	naming := []string{TopicNameIdentical, TopicNamePrefixed}
	if r.TopicNameConfiguration != "" && !slices.Contains(naming, r.TopicNameConfiguration) {
		errs.add(pos.val(r, "topic_name_configuration"), "%s.replication.topic_name_configuration must be %s, got %q%s", where,
			strings.Join(naming, " or "), r.TopicNameConfiguration, didYouMean(r.TopicNameConfiguration, naming))
	}
	modes := []string{OffsetSyncEnhanced, OffsetSyncLegacy}
	if r.ConsumerGroupOffsetSyncMode != "" && !slices.Contains(modes, r.ConsumerGroupOffsetSyncMode) {
		errs.add(pos.val(r, "consumer_group_offset_sync_mode"), "%s.replication.consumer_group_offset_sync_mode must be %s, got %q%s", where,
			strings.Join(modes, " or "), r.ConsumerGroupOffsetSyncMode, didYouMean(r.ConsumerGroupOffsetSyncMode, modes))
	}
	if r.TopicNameConfiguration == TopicNamePrefixed && r.WantOffsetSyncMode() == OffsetSyncEnhanced {
		// ENHANCED sync is the bidirectional setup, which keeps topic names identical; AWS
		// documents LEGACY for both namings
		// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-bidirectional-offset-sync.html).
		at := pos.val(r, "consumer_group_offset_sync_mode")
		if !pos.has(r, "consumer_group_offset_sync_mode") {
			at = pos.val(r, "topic_name_configuration")
		}
		errs.add(at, "%s.replication: consumer_group_offset_sync_mode ENHANCED (the default) needs topic_name_configuration %s; "+
			"a %s replicator syncs offsets in LEGACY mode, which never translates them back on failback: say consumer_group_offset_sync_mode: LEGACY to accept that",
			where, TopicNameIdentical, TopicNamePrefixed)
	}
	if p := r.MetricsPeriod.D(); pos.has(r, "metrics_period") && !validMetricsPeriod(p) {
		errs.add(pos.val(r, "metrics_period"), "%s.replication.metrics_period must be 1s, 5s, 10s, 20s, 30s or a multiple of 1m (CloudWatch's periods), got %s", where, p)
	}
}

func validMetricsPeriod(d time.Duration) bool {
	switch d {
	case time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second:
		return true
	}
	return d > 0 && d%time.Minute == 0
}
