package triggers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Alarm states as CloudWatch names them.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Alarm is one alarm state change, whatever path it came by.
type Alarm struct {
	Name string `json:"name"`
	ARN  string `json:"arn,omitempty"`
	// State is the new state (ALARM, OK, INSUFFICIENT_DATA); PreviousState the one it left.
	State         string `json:"state"`
	PreviousState string `json:"previous_state,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Account       string `json:"account,omitempty"`
	// Region is the alarm's Region, from its ARN (or the event's region field).
	Region string `json:"region,omitempty"`
	// At is when the alarm changed state; RTO is measured from it.
	At time.Time `json:"at"`
	// Dimensions are the dimensions of the alarm's metrics, merged.
	Dimensions map[string]string `json:"dimensions,omitempty"`
	// Source is eventbridge or sns; EventID the event's or message's id.
	Source  string `json:"source"`
	EventID string `json:"event_id,omitempty"`
}

// Sources of alarms.
const (
	SourceEventBridge = "eventbridge"
	SourceSNS         = "sns"
)

var (
	// ErrMalformed marks a body that is not what any alarm path sends (bad JSON, missing fields).
	// No retry can fix it: the SQS poller deletes it and the SNS endpoint answers 400.
	ErrMalformed = errors.New("malformed alarm message")
	// ErrNotAlarm marks a well-formed message that is not an alarm state change (another
	// EventBridge detail-type, an SNS message from another service). It is acknowledged and ignored.
	ErrNotAlarm = errors.New("not an alarm state change")
)

// eventBridgeDetailType is the detail-type of alarm state changes.
const eventBridgeDetailType = "CloudWatch Alarm State Change"

// alarmTimeLayout is CloudWatch's state timestamp format: not RFC 3339 (no colon in the offset).
const alarmTimeLayout = "2006-01-02T15:04:05.000-0700"

type eventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type ebDetail struct {
	AlarmName     string  `json:"alarmName"`
	State         ebState `json:"state"`
	PreviousState ebState `json:"previousState"`
	Configuration struct {
		Metrics []struct {
			MetricStat *struct {
				Metric struct {
					Dimensions map[string]string `json:"dimensions"`
				} `json:"metric"`
			} `json:"metricStat"`
		} `json:"metrics"`
	} `json:"configuration"`
}

type ebState struct {
	Value     string `json:"value"`
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// ParseEventBridge parses an EventBridge event. Events of other detail-types are ErrNotAlarm;
// bodies that are not an event, or alarm events without a name, state or time, are ErrMalformed.
func ParseEventBridge(body []byte) (Alarm, error) {
	var ev eventBridgeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return Alarm{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if ev.DetailType == "" || ev.Source == "" {
		return Alarm{}, fmt.Errorf("%w: no detail-type or source: not an EventBridge event", ErrMalformed)
	}
	if ev.DetailType != eventBridgeDetailType || ev.Source != "aws.cloudwatch" {
		return Alarm{}, fmt.Errorf("%w: EventBridge %q from %s", ErrNotAlarm, ev.DetailType, ev.Source)
	}
	var d ebDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return Alarm{}, fmt.Errorf("%w: detail: %v", ErrMalformed, err)
	}
	a := Alarm{
		Name: d.AlarmName, State: d.State.Value, PreviousState: d.PreviousState.Value, Reason: d.State.Reason,
		Account: ev.Account, Region: ev.Region, Source: SourceEventBridge, EventID: ev.ID,
	}
	for _, r := range ev.Resources {
		if strings.HasPrefix(r, "arn:") && strings.Contains(r, ":alarm:") {
			a.ARN = r
			break
		}
	}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat != nil && len(m.MetricStat.Metric.Dimensions) > 0 {
			if a.Dimensions == nil {
				a.Dimensions = map[string]string{}
			}
			maps.Copy(a.Dimensions, m.MetricStat.Metric.Dimensions)
		}
	}
	at, err := parseAlarmTime(d.State.Timestamp)
	if err != nil {
		// The event's own time is the next best thing: EventBridge stamps it at the change.
		if at, err = parseAlarmTime(ev.Time); err != nil {
			return Alarm{}, fmt.Errorf("%w: alarm %q has no state timestamp or event time", ErrMalformed, d.AlarmName)
		}
	}
	a.At = at
	return finish(a)
}

// snsAlarmPayload is the JSON string CloudWatch puts in an SNS notification's Message.
type snsAlarmPayload struct {
	AlarmName       string `json:"AlarmName"`
	AWSAccountID    string `json:"AWSAccountId"`
	NewStateValue   string `json:"NewStateValue"`
	NewStateReason  string `json:"NewStateReason"`
	OldStateValue   string `json:"OldStateValue"`
	StateChangeTime string `json:"StateChangeTime"`
	AlarmArn        string `json:"AlarmArn"`
	Trigger         struct {
		Dimensions []snsDimension `json:"Dimensions"`
		Metrics    []struct {
			MetricStat *struct {
				Metric struct {
					Dimensions []snsDimension `json:"Dimensions"`
				} `json:"Metric"`
			} `json:"MetricStat"`
		} `json:"Metrics"`
	} `json:"Trigger"`
}

// snsDimension is a dimension in the SNS payload: a list of lower-case name/value objects,
// unlike EventBridge's object.
type snsDimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParseSNSAlarm parses the Message of an SNS notification sent by a CloudWatch alarm. An
// EventBridge alarm event published to SNS (an EventBridge rule with an SNS target) is accepted
// too. Other JSON is ErrNotAlarm; non-JSON is ErrMalformed.
func ParseSNSAlarm(message []byte) (Alarm, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(message, &probe); err != nil {
		return Alarm{}, fmt.Errorf("%w: SNS message is not a JSON object: %v", ErrMalformed, err)
	}
	if _, ok := probe["detail-type"]; ok {
		return ParseEventBridge(message)
	}
	if _, ok := probe["AlarmName"]; !ok {
		return Alarm{}, fmt.Errorf("%w: SNS message has no AlarmName", ErrNotAlarm)
	}
	var p snsAlarmPayload
	if err := json.Unmarshal(message, &p); err != nil {
		return Alarm{}, fmt.Errorf("%w: CloudWatch SNS payload: %v", ErrMalformed, err)
	}
	a := Alarm{
		Name: p.AlarmName, ARN: p.AlarmArn, State: p.NewStateValue, PreviousState: p.OldStateValue,
		Reason: p.NewStateReason, Account: p.AWSAccountID, Source: SourceSNS,
	}
	dims := p.Trigger.Dimensions
	for _, m := range p.Trigger.Metrics {
		if m.MetricStat != nil {
			dims = append(dims, m.MetricStat.Metric.Dimensions...)
		}
	}
	for _, d := range dims {
		if a.Dimensions == nil {
			a.Dimensions = map[string]string{}
		}
		a.Dimensions[d.Name] = d.Value
	}
	at, err := parseAlarmTime(p.StateChangeTime)
	if err != nil {
		return Alarm{}, fmt.Errorf("%w: alarm %q: StateChangeTime %q", ErrMalformed, p.AlarmName, p.StateChangeTime)
	}
	a.At = at
	return finish(a)
}

// ParseMessage parses an SQS message body: an EventBridge event (the recommended path), an SNS
// envelope (an SNS topic subscribed by the queue), or a raw CloudWatch SNS payload (raw message
// delivery). SNS envelopes read from a queue are not signature-checked: the queue's access policy,
// not a signature, is what authenticates its messages.
func ParseMessage(body []byte) (Alarm, error) {
	body = bytes.TrimSpace(body)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return Alarm{}, fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	if _, ok := probe["detail-type"]; ok {
		return ParseEventBridge(body)
	}
	if _, ok := probe["AlarmName"]; ok {
		return ParseSNSAlarm(body)
	}
	if t, ok := probe["Type"]; ok {
		var env SNSMessage
		if err := json.Unmarshal(body, &env); err != nil {
			return Alarm{}, fmt.Errorf("%w: SNS envelope: %v", ErrMalformed, err)
		}
		if env.Type != snsNotification {
			return Alarm{}, fmt.Errorf("%w: SNS %s", ErrNotAlarm, string(t))
		}
		a, err := ParseSNSAlarm([]byte(env.Message))
		if err == nil && a.EventID == "" {
			a.EventID = env.MessageID
		}
		return a, err
	}
	return Alarm{}, fmt.Errorf("%w: neither an EventBridge event nor an SNS message", ErrMalformed)
}

// finish checks the fields every alarm needs and fills the Region from the ARN.
func finish(a Alarm) (Alarm, error) {
	if a.Name == "" {
		return Alarm{}, fmt.Errorf("%w: no alarm name", ErrMalformed)
	}
	if a.State == "" {
		return Alarm{}, fmt.Errorf("%w: alarm %q has no state", ErrMalformed, a.Name)
	}
	if r := arnRegion(a.ARN); r != "" {
		a.Region = r
	}
	if acct := arnAccount(a.ARN); acct != "" && a.Account == "" {
		a.Account = acct
	}
	return a, nil
}

func parseAlarmTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	for _, layout := range []string{alarmTimeLayout, time.RFC3339Nano, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time format %q", s)
}

// arnRegion returns the Region field of an ARN (arn:partition:service:region:account:resource).
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// Key identifies one state change of one alarm: the same change delivered twice (two queues,
// SNS and EventBridge, a redelivery) has the same key.
func (a Alarm) Key() string {
	id := a.ARN
	if id == "" {
		id = a.Name
	}
	return id + "|" + a.State + "|" + a.At.UTC().Format(time.RFC3339Nano)
}
