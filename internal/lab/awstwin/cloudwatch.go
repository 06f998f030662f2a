package awstwin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// CloudWatch is served in the three protocols its clients use: Smithy RPCv2 CBOR (aws-sdk-go-v2
// since cloudwatch v1.45, POST /service/GraniteServiceVersion20100801/operation/<Op>), awsQuery
// (the AWS CLI and boto3 before their CBOR support: form-encoded Action=..., XML responses) and
// awsJson1_0 (X-Amz-Target GraniteServiceVersion20100801.<Op>). The service is
// awsQueryCompatible, so JSON and CBOR errors also carry the awsQuery code in
// X-Amzn-Query-Error, which is what the SDK reports as the error code.

const cloudwatchNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"

func cloudwatchService() *service {
	s := &service{
		name:            ServiceCloudWatch,
		namespace:       "com.amazonaws.cloudwatch",
		xmlns:           cloudwatchNS,
		target:          "GraniteServiceVersion20100801",
		queryCompatible: true,
		defaultProto:    protoQuery,
		ops: map[string]func(*call) error{
			"GetMetricData":  cwGetMetricData,
			"ListMetrics":    cwListMetrics,
			"DescribeAlarms": cwDescribeAlarms,
			"PutMetricData":  cwPutMetricData,
			"PutMetricAlarm": cwPutMetricAlarm,
			"SetAlarmState":  cwSetAlarmState,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalServiceFault", Query: "InternalServiceError", Receiver: true},
	}
	s.resolve = func(c *call) *apiError { return resolveRPC(c, protoCBOR, protoQuery, protoJSON10) }
	return s
}

// Alarm is a CloudWatch metric alarm: its definition, set with [Twin.PutAlarm] or
// PutMetricAlarm, and its state. With [Options.EvaluateAlarms] the twin evaluates it against the
// metric PutMetricData writes, as CloudWatch does (cloudwatch_eval.go), unless it is Driven;
// otherwise only [Twin.SetAlarmState] changes its state, which tests that script alarm states
// rely on.
type Alarm struct {
	Name               string
	Description        string
	Namespace          string
	MetricName         string
	Dimensions         map[string]string
	Statistic          string // Sum, Average, Maximum, Minimum, SampleCount
	Period             int    // seconds
	EvaluationPeriods  int
	DatapointsToAlarm  int
	Threshold          float64
	ComparisonOperator string // e.g. GreaterThanThreshold
	TreatMissingData   string
	ActionsEnabled     bool
	AlarmActions       []string
	OKActions          []string
	InsufficientData   []string
	// Driven alarms are never evaluated by the twin: only SetAlarmState moves them. The lab's
	// monitor drives its alarms so, because their conditions are not one metric against a
	// threshold (an idle pipeline with no backlog is healthy; a MessageLag that cannot be read
	// is breaching) and drills need them to fire after the lab's short alarm window. AWS has no
	// such flag; DescribeAlarms does not show it.
	Driven bool

	// Read-only: maintained by the twin.

	ARN                  string
	State                string // OK, ALARM or INSUFFICIENT_DATA
	StateReason          string
	StateReasonData      string
	StateUpdated         time.Time
	StateTransitioned    time.Time
	ConfigurationUpdated time.Time

	// evaluated is the last evaluation instant (its creation or redefinition before the first).
	evaluated time.Time
}

// AlarmStateChange describes a state change made by [Twin.SetAlarmState], with what the lab
// needs to build the EventBridge "CloudWatch Alarm State Change" event.
type AlarmStateChange struct {
	Alarm           Alarm // after the change
	PreviousState   string
	PreviousReason  string
	PreviousUpdated time.Time
}

type cloudwatchState struct {
	mu     sync.Mutex
	series map[string]*metricSeries
	alarms map[string]*Alarm
}

type metricSeries struct {
	namespace, name string
	dims            []dimension // sorted by name
	points          []datapoint
	last            time.Time
}

type dimension struct{ Name, Value string }

type datapoint struct {
	t time.Time
	v float64
}

func newCloudWatchState() *cloudwatchState {
	return &cloudwatchState{series: map[string]*metricSeries{}, alarms: map[string]*Alarm{}}
}

func seriesKey(namespace, name string, dims []dimension) string {
	var b strings.Builder
	b.WriteString(namespace + "\x00" + name)
	for _, d := range dims {
		b.WriteString("\x00" + d.Name + "=" + d.Value)
	}
	return b.String()
}

func sortedDims(m map[string]string) []dimension {
	out := make([]dimension, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, dimension{k, m[k]})
	}
	return out
}

// PutMetric records one datapoint. Points may arrive out of order; GetMetricData aggregates
// whatever falls in each period.
func (t *Twin) PutMetric(region, namespace, name string, dims map[string]string, at time.Time, v float64) {
	t.region(region).cw.put(namespace, name, sortedDims(dims), at, v)
}

// PutMetricValues records several samples of one metric taken at the same moment, as one
// PutMetricData request with Values does, and atomically: a GetMetricData never sees some of
// them and not the others. Each value is its own sample, so SampleCount counts them and Sum,
// Minimum, Maximum and Average are computed over them — this is how a metric with a raw
// granularity finer than its dimensions (MSK Replicator's MessageLag: one sample per
// partition under the ReplicatorName dimension) reaches CloudWatch
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html:
// Values lists the values seen in the period and Counts how often each occurred; every
// occurrence is a sample).
func (t *Twin) PutMetricValues(region, namespace, name string, dims map[string]string, at time.Time, values []float64) {
	t.region(region).cw.put(namespace, name, sortedDims(dims), at, values...)
}

func (s *cloudwatchState) put(namespace, name string, dims []dimension, at time.Time, values ...float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := seriesKey(namespace, name, dims)
	ms := s.series[k]
	if ms == nil {
		ms = &metricSeries{namespace: namespace, name: name, dims: dims}
		s.series[k] = ms
	}
	for _, v := range values {
		ms.points = append(ms.points, datapoint{at, v})
	}
	if at.After(ms.last) {
		ms.last = at
	}
}

// PutAlarm creates or redefines an alarm. A new alarm starts in INSUFFICIENT_DATA, as
// PutMetricAlarm leaves it; redefining keeps the current state.
func (t *Twin) PutAlarm(region string, a Alarm) error {
	if a.Name == "" {
		return fmt.Errorf("put alarm in %s: name is required: %w", region, ErrInvalidInput)
	}
	cw := t.region(region).cw
	now := t.now()
	cw.mu.Lock()
	defer cw.mu.Unlock()
	a.ARN = t.arn("cloudwatch", region, "alarm:"+a.Name)
	a.ConfigurationUpdated = now
	a.evaluated = now
	if prev, ok := cw.alarms[a.Name]; ok {
		a.State, a.StateReason, a.StateReasonData = prev.State, prev.StateReason, prev.StateReasonData
		a.StateUpdated, a.StateTransitioned = prev.StateUpdated, prev.StateTransitioned
	} else {
		a.State, a.StateReason = "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"
		a.StateUpdated, a.StateTransitioned = now, now
	}
	cw.alarms[a.Name] = &a
	return nil
}

// SetAlarmState sets an alarm's state as the SetAlarmState API does; StateTransitioned moves
// only when the value changes.
func (t *Twin) SetAlarmState(region, name, state, reason string) (AlarmStateChange, error) {
	ch, err := t.region(region).cw.setState(t.now(), name, state, reason, "")
	if err == nil {
		t.observeAlarm(region, ch.Alarm) // Route 53 health checkers watching it
	}
	return ch, err
}

func (s *cloudwatchState) setState(now time.Time, name, state, reason, reasonData string) (AlarmStateChange, error) {
	if state != "OK" && state != "ALARM" && state != "INSUFFICIENT_DATA" {
		return AlarmStateChange{}, fmt.Errorf("alarm state %q is not OK, ALARM or INSUFFICIENT_DATA: %w", state, ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alarms[name]
	if !ok {
		return AlarmStateChange{}, fmt.Errorf("alarm %s: %w", name, ErrNotFound)
	}
	ch := AlarmStateChange{PreviousState: a.State, PreviousReason: a.StateReason, PreviousUpdated: a.StateUpdated}
	if a.State != state {
		a.StateTransitioned = now
	}
	a.State, a.StateReason, a.StateReasonData, a.StateUpdated = state, reason, reasonData, now
	ch.Alarm = *a
	return ch, nil
}

// Alarms returns a Region's alarms sorted by name, evaluated up to now.
func (t *Twin) Alarms(region string) []Alarm {
	t.EvaluateAlarms(region)
	cw := t.region(region).cw
	cw.mu.Lock()
	defer cw.mu.Unlock()
	out := make([]Alarm, 0, len(cw.alarms))
	for _, a := range cw.alarms {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ---- wire shapes ----

type cwDimension struct{ Name, Value string }

type cwMetric struct {
	Namespace  string
	MetricName string
	Dimensions []cwDimension
}

type cwMetricStat struct {
	Metric cwMetric
	Period int64
	Stat   string
	Unit   string
}

type cwQuery struct {
	ID         string `aws:"Id"`
	Label      string
	Expression string
	MetricStat *cwMetricStat
	Period     int64
	ReturnData *bool
}

func cwInvalid(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Query: "InvalidParameterValue", Message: msg}
}

func cwMissing(param string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MissingRequiredParameterException", Query: "MissingParameter",
		Message: fmt.Sprintf("The parameter %s is required.", param)}
}

func cwDims(ds []dimension) list {
	l := list{items: []any{}}
	for _, d := range ds {
		l.items = append(l.items, obj("Name", d.Name, "Value", d.Value))
	}
	return l
}

var metricIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

var statistics = map[string]func([]float64) float64{
	"Sum": func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	},
	"Average": func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	},
	"Maximum": func(v []float64) float64 {
		m := math.Inf(-1)
		for _, x := range v {
			m = math.Max(m, x)
		}
		return m
	},
	"Minimum": func(v []float64) float64 {
		m := math.Inf(1)
		for _, x := range v {
			m = math.Min(m, x)
		}
		return m
	},
	"SampleCount": func(v []float64) float64 { return float64(len(v)) },
}

func validPeriod(p int64) bool {
	return p == 1 || p == 5 || p == 10 || p == 20 || p == 30 || (p >= 60 && p%60 == 0)
}

func cwGetMetricData(c *call) error {
	var in struct {
		MetricDataQueries []cwQuery
		StartTime         time.Time
		EndTime           time.Time
		ScanBy            string
		NextToken         string
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	switch {
	case in.StartTime.IsZero():
		return cwMissing("StartTime")
	case in.EndTime.IsZero():
		return cwMissing("EndTime")
	case len(in.MetricDataQueries) == 0:
		return cwMissing("MetricDataQueries")
	case !in.StartTime.Before(in.EndTime):
		return cwInvalid("The parameter StartTime must be less than the parameter EndTime.")
	case len(in.MetricDataQueries) > 500:
		return cwInvalid("The collection MetricDataQueries must not have a size greater than 500.")
	case in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending":
		return cwInvalid("The parameter ScanBy must be TimestampDescending or TimestampAscending.")
	}
	seen := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		if !metricIDPattern.MatchString(q.ID) {
			return cwInvalid(fmt.Sprintf("The value %s for parameter MetricDataQueries.member.%d.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.", q.ID, i+1))
		}
		if seen[q.ID] {
			return cwInvalid(fmt.Sprintf("The values for parameter id in MetricDataQueries are not unique: %s", q.ID))
		}
		seen[q.ID] = true
		if (q.MetricStat == nil) == (q.Expression == "") {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterCombinationException", Query: "InvalidParameterCombination",
				Message: fmt.Sprintf("Exactly one element of the metrics list should have exactly one of MetricStat or Expression: %s", q.ID)}
		}
		if ms := q.MetricStat; ms != nil {
			if statistics[ms.Stat] == nil {
				return cwInvalid(fmt.Sprintf("The value %s for parameter MetricDataQueries.member.%d.MetricStat.Stat is not supported by the lab twin (Sum, Average, Maximum, Minimum, SampleCount).", ms.Stat, i+1))
			}
			if !validPeriod(ms.Period) {
				return cwInvalid(fmt.Sprintf("The parameter MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60.", i+1))
			}
		}
	}

	results := list{items: []any{}}
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		if q.MetricStat == nil {
			results.items = append(results.items, obj("Id", q.ID, "Label", optional(q.Label), "StatusCode", "InternalError",
				"Timestamps", list{items: []any{}}, "Values", list{items: []any{}},
				"Messages", list{items: []any{obj("Code", "Unsupported", "Value", "the lab twin does not evaluate metric math expressions")}}))
			continue
		}
		ts, vals := c.rs.cw.aggregate(*q.MetricStat, in.StartTime, in.EndTime, in.ScanBy == "TimestampAscending")
		label := q.Label
		if label == "" {
			label = q.MetricStat.Metric.MetricName
		}
		tl, vl := list{items: []any{}}, list{items: []any{}}
		for i := range ts {
			tl.items = append(tl.items, timestamp(ts[i]))
			vl.items = append(vl.items, vals[i])
		}
		results.items = append(results.items, obj("Id", q.ID, "Label", label, "StatusCode", "Complete", "Timestamps", tl, "Values", vl))
	}
	return c.reply(obj("MetricDataResults", results, "Messages", list{items: []any{}}))
}

// aggregate buckets a metric's points into periods aligned to multiples of the period since
// the epoch (CloudWatch's alignment for aligned start times) and applies the statistic.
func (s *cloudwatchState) aggregate(ms cwMetricStat, start, end time.Time, ascending bool) ([]time.Time, []float64) {
	dims := make([]dimension, 0, len(ms.Metric.Dimensions))
	for _, d := range ms.Metric.Dimensions {
		dims = append(dims, dimension(d))
	}
	sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
	period := time.Duration(ms.Period) * time.Second

	s.mu.Lock()
	var points []datapoint
	if series := s.series[seriesKey(ms.Metric.Namespace, ms.Metric.MetricName, dims)]; series != nil {
		points = slices.Clone(series.points)
	}
	s.mu.Unlock()

	buckets := map[int64][]float64{}
	for _, p := range points {
		if p.t.Before(start) || !p.t.Before(end) {
			continue
		}
		b := p.t.Truncate(period).Unix()
		buckets[b] = append(buckets[b], p.v)
	}
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !ascending {
		slices.Reverse(keys)
	}
	stat := statistics[ms.Stat]
	ts := make([]time.Time, 0, len(keys))
	vals := make([]float64, 0, len(keys))
	for _, k := range keys {
		ts = append(ts, time.Unix(k, 0).UTC())
		vals = append(vals, stat(buckets[k]))
	}
	return ts, vals
}

func cwListMetrics(c *call) error {
	var in struct {
		Namespace      string
		MetricName     string
		Dimensions     []cwDimension
		NextToken      string
		RecentlyActive string
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	if in.RecentlyActive != "" && in.RecentlyActive != "PT3H" {
		return cwInvalid("The parameter RecentlyActive must be PT3H.")
	}
	cutoff := c.t.now().Add(-3 * time.Hour)
	cw := c.rs.cw
	cw.mu.Lock()
	var match []*metricSeries
	for _, ms := range cw.series {
		if (in.Namespace != "" && ms.namespace != in.Namespace) || (in.MetricName != "" && ms.name != in.MetricName) {
			continue
		}
		if in.RecentlyActive != "" && ms.last.Before(cutoff) {
			continue
		}
		if !hasDims(ms.dims, in.Dimensions) {
			continue
		}
		match = append(match, ms)
	}
	cw.mu.Unlock()
	sort.Slice(match, func(i, j int) bool {
		return seriesKey(match[i].namespace, match[i].name, match[i].dims) < seriesKey(match[j].namespace, match[j].name, match[j].dims)
	})
	page, next, err := paginateN(match, in.NextToken, 500)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidNextToken", Message: err.Error()}
	}
	metrics := list{items: []any{}}
	for _, ms := range page {
		metrics.items = append(metrics.items, obj("Namespace", ms.namespace, "MetricName", ms.name, "Dimensions", cwDims(ms.dims)))
	}
	return c.reply(obj("Metrics", metrics, "NextToken", optional(next)))
}

// hasDims applies ListMetrics' dimension filters: each named dimension must be present and,
// when a value is given, equal.
func hasDims(have []dimension, filters []cwDimension) bool {
	for _, f := range filters {
		i := slices.IndexFunc(have, func(d dimension) bool { return d.Name == f.Name })
		if i < 0 || (f.Value != "" && have[i].Value != f.Value) {
			return false
		}
	}
	return true
}

func cwAlarm(a Alarm) object {
	strs := func(l []string) list {
		out := list{items: []any{}}
		for _, s := range l {
			out.items = append(out.items, s)
		}
		return out
	}
	var dtoa any
	if a.DatapointsToAlarm > 0 {
		dtoa = a.DatapointsToAlarm
	}
	return obj(
		"AlarmName", a.Name,
		"AlarmArn", a.ARN,
		"AlarmDescription", optional(a.Description),
		"AlarmConfigurationUpdatedTimestamp", timestamp(a.ConfigurationUpdated),
		"ActionsEnabled", a.ActionsEnabled,
		"OKActions", strs(a.OKActions),
		"AlarmActions", strs(a.AlarmActions),
		"InsufficientDataActions", strs(a.InsufficientData),
		"StateValue", a.State,
		"StateReason", a.StateReason,
		"StateReasonData", optional(a.StateReasonData),
		"StateUpdatedTimestamp", timestamp(a.StateUpdated),
		"MetricName", optional(a.MetricName),
		"Namespace", optional(a.Namespace),
		"Statistic", optional(a.Statistic),
		"Dimensions", cwDims(sortedDims(a.Dimensions)),
		"Period", optional(a.Period),
		"EvaluationPeriods", a.EvaluationPeriods,
		"DatapointsToAlarm", dtoa,
		"Threshold", a.Threshold,
		"ComparisonOperator", optional(a.ComparisonOperator),
		"TreatMissingData", optional(a.TreatMissingData),
		"StateTransitionedTimestamp", timestamp(a.StateTransitioned),
	)
}

func cwDescribeAlarms(c *call) error {
	var in struct {
		AlarmNames      []string
		AlarmNamePrefix string
		AlarmTypes      []string
		ActionPrefix    string
		StateValue      string
		MaxRecords      int
		NextToken       string
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != "" {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterCombinationException", Query: "InvalidParameterCombination",
			Message: "AlarmNames and AlarmNamePrefix cannot be specified together."}
	}
	if in.StateValue != "" && in.StateValue != "OK" && in.StateValue != "ALARM" && in.StateValue != "INSUFFICIENT_DATA" {
		return cwInvalid(fmt.Sprintf("The value %s for parameter StateValue is not valid.", in.StateValue))
	}
	if in.MaxRecords == 0 {
		in.MaxRecords = 50
	}
	if in.MaxRecords < 1 || in.MaxRecords > 100 {
		return cwInvalid("The parameter MaxRecords must be between 1 and 100.")
	}
	wantMetric := len(in.AlarmTypes) == 0 || slices.Contains(in.AlarmTypes, "MetricAlarm")
	var match []Alarm
	if wantMetric {
		for _, a := range c.t.Alarms(c.rs.name) {
			if len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, a.Name) {
				continue
			}
			if in.AlarmNamePrefix != "" && !strings.HasPrefix(a.Name, in.AlarmNamePrefix) {
				continue
			}
			if in.StateValue != "" && a.State != in.StateValue {
				continue
			}
			if in.ActionPrefix != "" && !slices.ContainsFunc(slices.Concat(a.AlarmActions, a.OKActions, a.InsufficientData),
				func(s string) bool { return strings.HasPrefix(s, in.ActionPrefix) }) {
				continue
			}
			match = append(match, a)
		}
	}
	page, next, err := paginateN(match, in.NextToken, in.MaxRecords)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidNextToken", Message: err.Error()}
	}
	alarms := list{items: []any{}}
	for _, a := range page {
		alarms.items = append(alarms.items, cwAlarm(a))
	}
	return c.reply(obj("MetricAlarms", alarms, "CompositeAlarms", list{items: []any{}}, "NextToken", optional(next)))
}

func cwPutMetricData(c *call) error {
	var in struct {
		Namespace  string
		MetricData []struct {
			MetricName string
			Dimensions []cwDimension
			Timestamp  time.Time
			Value      *float64
			Values     []float64
			Counts     []float64
		}
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	if in.Namespace == "" {
		return cwMissing("Namespace")
	}
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return cwInvalid("The value AWS/ for parameter Namespace is invalid.")
	}
	now := c.t.now()
	for _, md := range in.MetricData {
		at := md.Timestamp
		if at.IsZero() {
			at = now
		}
		dims := make(map[string]string, len(md.Dimensions))
		for _, d := range md.Dimensions {
			dims[d.Name] = d.Value
		}
		if md.Value != nil {
			c.rs.cw.put(in.Namespace, md.MetricName, sortedDims(dims), at, *md.Value)
		}
		for i, v := range md.Values {
			n := 1
			if i < len(md.Counts) {
				n = int(md.Counts[i])
			}
			for range n {
				c.rs.cw.put(in.Namespace, md.MetricName, sortedDims(dims), at, v)
			}
		}
	}
	return c.reply(obj())
}

func cwSetAlarmState(c *call) error {
	var in struct {
		AlarmName, StateValue, StateReason, StateReasonData string
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	if in.AlarmName == "" {
		return cwMissing("AlarmName")
	}
	ch, err := c.rs.cw.setState(c.t.now(), in.AlarmName, in.StateValue, in.StateReason, in.StateReasonData)
	switch {
	case err == nil:
		c.t.observeAlarm(c.rs.name, ch.Alarm) // Route 53 health checkers watching it
		return c.reply(obj())
	case errors.Is(err, ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: fmt.Sprintf("Alarm %s not found", in.AlarmName)}
	default:
		return cwInvalid(err.Error())
	}
}

// DeleteMetric forgets every datapoint of a metric (all its dimension sets) in region, as a
// fresh account has none. Lab resets use it; CloudWatch itself has no API for it.
func (t *Twin) DeleteMetric(region, namespace, name string) {
	s := t.region(region).cw
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ms := range s.series {
		if ms.namespace == namespace && ms.name == name {
			delete(s.series, k)
		}
	}
}
