package lab

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
)

// Event is one log record as the seed sample's producer writes it, plus an optional unique
// event_id (see [labevent.Event]).
type Event = labevent.Event

// NewEvent builds the n-th event of a producer; see [labevent.New].
func NewEvent(n uint64, at time.Time, region, testID string, withID bool) Event {
	return labevent.New(n, at, region, testID, withID)
}

func mix(x uint64) uint64 { return labevent.Mix(x) }

// AlarmEvent is an EventBridge "CloudWatch Alarm State Change" event, the body the lab sends to
// its SQS queue and the shape the starter's intake parses.
type AlarmEvent struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     AlarmDetail `json:"detail"`
}

// AlarmDetail is the detail of an alarm state change event.
type AlarmDetail struct {
	AlarmName     string             `json:"alarmName"`
	State         AlarmState         `json:"state"`
	PreviousState AlarmState         `json:"previousState"`
	Configuration AlarmConfiguration `json:"configuration"`
}

// AlarmState is a state of an alarm in an event.
type AlarmState struct {
	Value     string `json:"value"`
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// AlarmConfiguration is the part of an alarm's configuration an event carries.
type AlarmConfiguration struct {
	Description string        `json:"description,omitempty"`
	Metrics     []AlarmMetric `json:"metrics"`
}

// AlarmMetric is one metric of an alarm in an event; dimensions are an object, as EventBridge
// sends them, not a list.
type AlarmMetric struct {
	ID         string `json:"id"`
	ReturnData bool   `json:"returnData"`
	MetricStat struct {
		Metric struct {
			Dimensions map[string]string `json:"dimensions"`
			Name       string            `json:"name"`
			Namespace  string            `json:"namespace"`
		} `json:"metric"`
		Period int    `json:"period"`
		Stat   string `json:"stat"`
	} `json:"metricStat"`
}

// alarmTimeLayout is CloudWatch's state timestamp format: not RFC 3339 (no colon in the offset).
const alarmTimeLayout = "2006-01-02T15:04:05.000-0700"

// NewAlarmEvent builds the event for an alarm's transition from previous to state.
func NewAlarmEvent(id, account, region, name, namespace, metric string, dims map[string]string, previous, state, reason string, at time.Time) AlarmEvent {
	ev := AlarmEvent{
		Version: "0", ID: id, DetailType: "CloudWatch Alarm State Change", Source: "aws.cloudwatch",
		Account: account, Time: at.UTC().Format(time.RFC3339), Region: region,
		Resources: []string{fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, name)},
	}
	ev.Detail.AlarmName = name
	ev.Detail.State = AlarmState{Value: state, Reason: reason, Timestamp: at.UTC().Format(alarmTimeLayout)}
	ev.Detail.PreviousState = AlarmState{Value: previous, Reason: "previous state", Timestamp: at.UTC().Format(alarmTimeLayout)}
	m := AlarmMetric{ID: "m1", ReturnData: true}
	m.MetricStat.Metric.Dimensions = dims
	m.MetricStat.Metric.Name = metric
	m.MetricStat.Metric.Namespace = namespace
	m.MetricStat.Period = 60
	m.MetricStat.Stat = "Sum"
	ev.Detail.Configuration.Metrics = []AlarmMetric{m}
	return ev
}

// JSON returns the event's JSON body.
func (e AlarmEvent) JSON() []byte {
	b, _ := json.Marshal(e) // plain structs of strings and maps: cannot fail
	return b
}
