package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names of the intake (`starter serve`). They are part of dashboards and alerts: add new
// names rather than renaming these.
const (
	// MetricSlackAccepted counts Slack requests that passed verification and were parsed, by kind
	// (interaction, command) and transport (http, socket).
	MetricSlackAccepted = "switchyard_slack_requests_accepted_total"
	// MetricSlackRefused counts Slack requests turned away before any effect, by reason
	// (bad_signature, bad_payload, too_large, method_not_allowed, not_found) and transport.
	MetricSlackRefused = "switchyard_slack_requests_refused_total"
	// MetricAlarmReceived counts alarm messages and events handed to the alarm intake.
	MetricAlarmReceived = "switchyard_alarm_events_received_total"
	// MetricAlarmResults counts what the alarm intake did, by result: started, attached, notified
	// (one per environment a rule matched), ignored (no rule, other state, cooldown, not an alarm,
	// duplicate, stale), deduped and stale (the duplicates and the events older than the intake's
	// max age, among ignored), invalid, failed (retried) and rate_limited (SNS requests refused
	// with 429, not received).
	MetricAlarmResults = "switchyard_alarm_events_total"
)

// AlarmCounts are the alarm intake's counters since it started (triggers.Stats, without importing
// the intake here).
type AlarmCounts struct {
	Received, Invalid, Started, Attached, Notified, Ignored, Deduped, Failed, Stale, RateLimited int64
}

// Intake holds the intake's counters. A nil *Intake counts nothing, so the intake code needs no
// "is telemetry on" branches.
type Intake struct {
	meter         metric.Meter
	slackAccepted metric.Int64Counter
	slackRefused  metric.Int64Counter
}

func newIntake(meter metric.Meter) (*Intake, error) {
	in := &Intake{meter: meter}
	var err error
	if in.slackAccepted, err = meter.Int64Counter(MetricSlackAccepted, metric.WithDescription("Slack requests accepted, by kind and transport.")); err != nil {
		return nil, fmt.Errorf("telemetry: %s: %w", MetricSlackAccepted, err)
	}
	if in.slackRefused, err = meter.Int64Counter(MetricSlackRefused, metric.WithDescription("Slack requests refused before any effect, by reason and transport.")); err != nil {
		return nil, fmt.Errorf("telemetry: %s: %w", MetricSlackRefused, err)
	}
	return in, nil
}

// SlackAccepted counts a verified, parsed Slack request of kind (interaction, command) that came
// over transport (http, socket).
func (in *Intake) SlackAccepted(kind, transport string) {
	if in == nil {
		return
	}
	in.slackAccepted.Add(context.Background(), 1, attrs(attribute.String("kind", kind), attribute.String("transport", transport)))
}

// SlackRefused counts a Slack request refused for reason.
func (in *Intake) SlackRefused(reason, transport string) {
	if in == nil {
		return
	}
	in.slackRefused.Add(context.Background(), 1, attrs(attribute.String("reason", reason), attribute.String("transport", transport)))
}

// ObserveAlarms exports the alarm intake's counters, read from counts at each scrape. The intake
// keeps its own counters (its status page shows them too); observing them, rather than counting a
// second time, keeps /metrics and the status page from ever disagreeing.
func (in *Intake) ObserveAlarms(counts func() AlarmCounts) error {
	if in == nil {
		return nil
	}
	received, err := in.meter.Int64ObservableCounter(MetricAlarmReceived, metric.WithDescription("Alarm messages and events received by the alarm intake."))
	if err != nil {
		return fmt.Errorf("telemetry: %s: %w", MetricAlarmReceived, err)
	}
	results, err := in.meter.Int64ObservableCounter(MetricAlarmResults, metric.WithDescription("What the alarm intake did with the alarms it received, by result."))
	if err != nil {
		return fmt.Errorf("telemetry: %s: %w", MetricAlarmResults, err)
	}
	_, err = in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c := counts()
		o.ObserveInt64(received, c.Received)
		for _, r := range []struct {
			result string
			n      int64
		}{
			{"started", c.Started}, {"attached", c.Attached}, {"notified", c.Notified}, {"ignored", c.Ignored},
			{"deduped", c.Deduped}, {"invalid", c.Invalid}, {"failed", c.Failed}, {"stale", c.Stale}, {"rate_limited", c.RateLimited},
		} {
			o.ObserveInt64(results, r.n, attrs(attribute.String("result", r.result)))
		}
		return nil
	}, received, results)
	if err != nil {
		return fmt.Errorf("telemetry: observe alarm counters: %w", err)
	}
	return nil
}
