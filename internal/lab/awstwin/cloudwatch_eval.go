package awstwin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Metric alarm evaluation, as CloudWatch documents it
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
// "Alarm evaluation" and "Configuring how CloudWatch alarms treat missing data"). With
// [Options.EvaluateAlarms], every alarm not marked [Alarm.Driven] takes the state its metric
// gives it, on the twin's clock:
//
//   - "Period is the length of time to use to evaluate the metric or expression to create each
//     individual data point for an alarm": a datapoint is the Statistic of the samples
//     PutMetricData wrote in one period, periods aligned as GetMetricData aligns them.
//   - "Evaluation Periods is the number of the most recent periods, or data points, to evaluate
//     when determining alarm state. Datapoints to Alarm is the number of data points within the
//     Evaluation Periods that must be breaching to cause the alarm to go to the ALARM state. The
//     breaching data points don't have to be consecutive" (M out of N; M defaults to N).
//   - "Whenever an alarm evaluates whether to change state, CloudWatch attempts to retrieve a
//     higher number of data points than the number specified as Evaluation Periods … the
//     evaluation range": the twin's range is N+2 periods (the documentation's example: 5 for 3).
//     When the range holds at least N real datapoints, the N most recent are evaluated and "the
//     value you set for how to treat missing data is not needed and is ignored". When it holds
//     fewer, "CloudWatch fills in the missing data points with the result you specified for how
//     to treat missing data": breaching counts them as breaching, notBreaching as not; with
//     missing and ignore only the real ones count, and the state moves only when they decide it
//     (M breaching: ALARM; more than N-M not breaching: OK), as the documentation's table shows
//     for a lone good datapoint (OK in every column). When every datapoint of the range is
//     missing: missing goes to INSUFFICIENT_DATA, ignore keeps the current state ("The current
//     alarm state is maintained"), breaching goes to ALARM and notBreaching to OK.
//   - Only complete periods are evaluated: the period being written is not a datapoint yet.
//   - Alarms on high-resolution periods (10 s, 30 s) are evaluated every 10 seconds, others every
//     minute ("If you set an alarm on a high-resolution metric, you can specify a high-resolution
//     alarm with a period of 10 seconds or 30 seconds … evaluated every 10 seconds" —
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#high-resolution-alarms).
//     The twin also accepts the periods 1, 5 and 20 s that GetMetricData accepts, evaluated every
//     period, so that drills and tests need not wait minutes (AWS refuses them for alarms).
//
// The twin evaluates lazily, like Route 53's INSYNC: whenever an alarm's state is read
// (DescribeAlarms, [Twin.Alarms], Route 53's health checkers, [Twin.EvaluateAlarms]) it replays
// every evaluation instant since the last one, so a state that depends on history (ignore) comes
// out as CloudWatch's periodic evaluations would have left it, whoever asked in between.

// evaluationRangeExtra is how many periods beyond Evaluation Periods the evaluation range holds.
const evaluationRangeExtra = 2

// maxReplay bounds the evaluation instants replayed at once; older ones are skipped (an alarm
// nobody read for that long is evaluated from the most recent instants only).
const maxReplay = 512

// Comparison operators the twin evaluates (PutMetricAlarm's ComparisonOperator, the static
// threshold ones; the anomaly-detection band operators need a model the twin does not have).
var comparisons = map[string]func(v, threshold float64) bool{
	"GreaterThanOrEqualToThreshold": func(v, th float64) bool { return v >= th },
	"GreaterThanThreshold":          func(v, th float64) bool { return v > th },
	"LessThanThreshold":             func(v, th float64) bool { return v < th },
	"LessThanOrEqualToThreshold":    func(v, th float64) bool { return v <= th },
}

var comparisonWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// TreatMissingData values.
const (
	MissingBreaching    = "breaching"
	MissingNotBreaching = "notBreaching"
	MissingIgnore       = "ignore"
	MissingMissing      = "missing"
)

// evaluationInterval is how often CloudWatch evaluates an alarm of this period.
func evaluationInterval(period time.Duration) time.Duration {
	switch {
	case period < 10*time.Second:
		return period // the twin's short periods
	case period < time.Minute:
		return 10 * time.Second
	}
	return time.Minute
}

// evaluable reports whether the twin evaluates the alarm: evaluation is on, the lab does not
// drive it, and its definition is complete enough to evaluate.
func (t *Twin) evaluable(a *Alarm) bool {
	return t.opts.EvaluateAlarms && !a.Driven && a.Period > 0 && a.EvaluationPeriods > 0 &&
		comparisons[a.ComparisonOperator] != nil && statistics[a.Statistic] != nil
}

// EvaluateAlarms brings a Region's alarms up to date with their metrics now (see the package's
// evaluation notes) and returns the state changes, oldest first. Route 53's health checkers see
// each change as it happens. With [Options.EvaluateAlarms] off it does nothing.
func (t *Twin) EvaluateAlarms(region string) []AlarmStateChange {
	if !t.opts.EvaluateAlarms {
		return nil
	}
	cw := t.region(region).cw
	cw.mu.Lock()
	changes := t.evaluateLocked(cw, t.now())
	cw.mu.Unlock()
	for _, ch := range changes {
		t.observeAlarm(region, ch.Alarm)
	}
	return changes
}

// evaluateLocked replays every evaluation instant of every evaluable alarm up to now; cw.mu is
// held.
func (t *Twin) evaluateLocked(cw *cloudwatchState, now time.Time) []AlarmStateChange {
	var changes []AlarmStateChange
	names := make([]string, 0, len(cw.alarms))
	for n := range cw.alarms {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := cw.alarms[n]
		if !t.evaluable(a) {
			continue
		}
		every := evaluationInterval(time.Duration(a.Period) * time.Second)
		first := a.evaluated.Truncate(every).Add(every)
		last := now.Truncate(every)
		if last.Sub(first) > maxReplay*every {
			first = last.Add(-maxReplay * every)
		}
		for at := first; !at.After(last); at = at.Add(every) {
			state, reason, data := cw.evaluateAt(a, at)
			a.evaluated = at
			if state == "" || (state == a.State && a.StateReason == reason) {
				continue
			}
			ch := AlarmStateChange{PreviousState: a.State, PreviousReason: a.StateReason, PreviousUpdated: a.StateUpdated}
			if a.State != state {
				a.StateTransitioned = at
			}
			a.State, a.StateReason, a.StateReasonData, a.StateUpdated = state, reason, data, at
			ch.Alarm = *a
			if ch.PreviousState != state {
				changes = append(changes, ch)
			}
		}
	}
	return changes
}

// evaluateAt is one evaluation of the alarm at the instant at: the state it computes ("" when
// the state is kept), the reason and the reason data. cw.mu is held.
func (s *cloudwatchState) evaluateAt(a *Alarm, at time.Time) (state, reason, data string) {
	period := time.Duration(a.Period) * time.Second
	n := a.EvaluationPeriods
	m := a.DatapointsToAlarm
	if m <= 0 || m > n {
		m = n
	}
	// The datapoints of the evaluation range, most recent first; NaN-free: missing ones are
	// simply absent from vals.
	type point struct {
		t time.Time
		v float64
	}
	end := at.Truncate(period) // the first period not complete at this instant
	start := end.Add(-time.Duration(n+evaluationRangeExtra) * period)
	buckets := map[int64][]float64{}
	if ms := s.series[seriesKey(a.Namespace, a.MetricName, sortedDims(a.Dimensions))]; ms != nil {
		for _, p := range ms.points {
			if p.t.Before(start) || !p.t.Before(end) {
				continue
			}
			b := p.t.Truncate(period).Unix()
			buckets[b] = append(buckets[b], p.v)
		}
	}
	var real []point
	for b := end.Add(-period); !b.Before(start); b = b.Add(-period) {
		if vs, ok := buckets[b.Unix()]; ok {
			real = append(real, point{b, statistics[a.Statistic](vs)})
		}
	}
	cmp := comparisons[a.ComparisonOperator]
	treat := a.TreatMissingData
	if treat == "" {
		treat = MissingMissing // "If this parameter is omitted, the default behavior of missing is used."
	}

	if len(real) == 0 {
		switch treat {
		case MissingBreaching:
			return "ALARM", fmt.Sprintf("Threshold Crossed: no datapoints were received for %d periods and %d missing datapoints were treated as [Breaching].", n, n), ""
		case MissingNotBreaching:
			return "OK", fmt.Sprintf("Threshold Crossed: no datapoints were received for %d periods and %d missing datapoints were treated as [NonBreaching].", n, n), ""
		case MissingIgnore:
			return "", "", ""
		default:
			return "INSUFFICIENT_DATA", fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n), ""
		}
	}
	if len(real) > n {
		real = real[:n]
	}
	breaching, fine := 0, 0
	var shown []string
	for _, p := range real {
		if cmp(p.v, a.Threshold) {
			breaching++
		} else {
			fine++
		}
		shown = append(shown, fmt.Sprintf("%s (%s)", formatDatapoint(p.v), p.t.UTC().Format("02/01/06 15:04:05")))
	}
	missing := n - len(real)
	switch treat {
	case MissingBreaching:
		breaching += missing
	case MissingNotBreaching:
		fine += missing
	}
	words := comparisonWords[a.ComparisonOperator]
	was := "were"
	if len(real) == 1 {
		was = "was"
	}
	detail := fmt.Sprintf("%d out of the last %d datapoints [%s] %s %s the threshold (%s)", breaching, n, strings.Join(shown, ", "), was, words, formatDatapoint(a.Threshold))
	if missing > 0 && (treat == MissingBreaching || treat == MissingNotBreaching) {
		detail += fmt.Sprintf(" and %d missing datapoints were treated as [%s]", missing, map[string]string{MissingBreaching: "Breaching", MissingNotBreaching: "NonBreaching"}[treat])
	}
	switch {
	case breaching >= m:
		return "ALARM", fmt.Sprintf("Threshold Crossed: %s (minimum %d datapoint for OK -> ALARM transition).", detail, m), ""
	case fine > n-m:
		return "OK", fmt.Sprintf("Threshold Crossed: %s (minimum %d datapoint for ALARM -> OK transition).", detail, n-m+1), ""
	}
	return "", "", "" // the real datapoints decide nothing yet: the state is kept
}

func formatDatapoint(v float64) string {
	s := fmt.Sprintf("%g", v)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// alarmState is an alarm's state as Route 53's checkers read it: evaluated up to now first.
// ok is false when the alarm does not exist.
func (t *Twin) alarmState(region, name string) (state string, ok bool) {
	t.EvaluateAlarms(region)
	cw := t.region(region).cw
	cw.mu.Lock()
	defer cw.mu.Unlock()
	a, found := cw.alarms[name]
	if !found {
		return "", false
	}
	return a.State, true
}

// ---- PutMetricAlarm ----

var treatMissing = []string{MissingBreaching, MissingNotBreaching, MissingIgnore, MissingMissing}

// cwPutMetricAlarm creates or updates a metric alarm on one metric with a static threshold
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
// Metric math (Metrics), extended statistics, anomaly-detection thresholds and tags are refused
// rather than silently ignored. "When this operation creates an alarm, the alarm state is
// immediately set to INSUFFICIENT_DATA. The alarm is then evaluated and its state is set
// appropriately"; an update keeps the state.
func cwPutMetricAlarm(c *call) error {
	var in struct {
		AlarmName, AlarmDescription, Namespace, MetricName, Statistic, ExtendedStatistic string
		ComparisonOperator, TreatMissingData, ThresholdMetricId, Unit                    string
		Dimensions                                                                       []cwDimension
		Period, EvaluationPeriods, DatapointsToAlarm                                     int
		Threshold                                                                        *float64
		ActionsEnabled                                                                   *bool
		AlarmActions, OKActions, InsufficientDataActions                                 []string
		Metrics                                                                          []any
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	switch {
	case in.AlarmName == "":
		return cwMissing("AlarmName")
	case in.EvaluationPeriods == 0:
		return cwMissing("EvaluationPeriods")
	case in.ComparisonOperator == "":
		return cwMissing("ComparisonOperator")
	case len(in.Metrics) > 0 || in.ThresholdMetricId != "" || in.ExtendedStatistic != "":
		return cwInvalid("The lab twin evaluates alarms on one metric with a Statistic and a static Threshold (no Metrics, ThresholdMetricId or ExtendedStatistic).")
	case in.MetricName == "" || in.Namespace == "":
		return cwMissing("MetricName")
	case in.Statistic == "":
		return cwMissing("Statistic")
	case statistics[in.Statistic] == nil:
		return cwInvalid(fmt.Sprintf("The value %s for parameter Statistic is not supported by the lab twin (Sum, Average, Maximum, Minimum, SampleCount).", in.Statistic))
	case !validPeriod(int64(in.Period)):
		return cwInvalid("The parameter Period must be 10, 30 or a multiple of 60 (the lab twin also accepts 1, 5 and 20).")
	case in.EvaluationPeriods < 1:
		return cwInvalid("The parameter EvaluationPeriods must be greater than or equal to 1.")
	case in.DatapointsToAlarm < 0 || in.DatapointsToAlarm > in.EvaluationPeriods:
		return cwInvalid("DatapointsToAlarm must be between 1 and EvaluationPeriods.")
	case comparisons[in.ComparisonOperator] == nil:
		return cwInvalid(fmt.Sprintf("The value %s for parameter ComparisonOperator is not supported by the lab twin (GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold).", in.ComparisonOperator))
	case in.Threshold == nil:
		return cwMissing("Threshold")
	case in.TreatMissingData != "" && !slices.Contains(treatMissing, in.TreatMissingData):
		return cwInvalid(fmt.Sprintf("The value %s for parameter TreatMissingData is not valid (breaching, notBreaching, ignore, missing).", in.TreatMissingData))
	}
	dims := map[string]string{}
	for _, d := range in.Dimensions {
		dims[d.Name] = d.Value
	}
	err := c.t.PutAlarm(c.rs.name, Alarm{Name: in.AlarmName, Description: in.AlarmDescription, Namespace: in.Namespace, MetricName: in.MetricName,
		Dimensions: dims, Statistic: in.Statistic, Period: in.Period, EvaluationPeriods: in.EvaluationPeriods, DatapointsToAlarm: in.DatapointsToAlarm,
		Threshold: *in.Threshold, ComparisonOperator: in.ComparisonOperator, TreatMissingData: in.TreatMissingData,
		ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled, AlarmActions: in.AlarmActions, OKActions: in.OKActions,
		InsufficientData: in.InsufficientDataActions})
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Query: "InvalidParameterValue", Message: err.Error()}
	}
	return c.reply(obj())
}
