package triggers

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab"
)

var changeAt = time.Date(2026, 11, 22, 10, 4, 40, 989_000_000, time.UTC)

// labEvent is the lab's own alarm event, as it sends it to its queue.
func labEvent(region, name, state string, at time.Time) []byte {
	prev := map[string]string{"ALARM": "OK", "OK": "ALARM"}[state]
	return lab.NewAlarmEvent("c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", lab.AccountID, region, name, "AWS/OSIS", "recordsProcessed.count",
		map[string]string{"PipelineName": "lab-osi-primary"}, prev, state, "Threshold Crossed", at).JSON()
}

// awsDocEvent is the EventBridge example of the CloudWatch documentation (metric-math metrics
// included, state.reasonData present).
const awsDocEvent = `{"version":"0","id":"c4c1c1c9-6542-e61b-6ef0-8c4d36933a92","detail-type":"CloudWatch Alarm State Change",
"source":"aws.cloudwatch","account":"123456789012","time":"2019-10-02T17:04:40Z","region":"us-east-1",
"resources":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"],
"detail":{"alarmName":"ServerCpuTooHigh","configuration":{"description":"Goes into alarm when server CPU utilization is too high!",
"metrics":[{"id":"30b6c6b2-a864-43a2-4877-c09a1afc3b87","metricStat":{"metric":{"dimensions":{"InstanceId":"i-12345678901234567"},
"name":"CPUUtilization","namespace":"AWS/EC2"},"period":300,"stat":"Average"},"returnData":true},{"expression":"m1*2","id":"e1","label":"double","returnData":false}]},
"previousState":{"reason":"...","reasonData":"{}","timestamp":"2019-10-01T13:56:40.987+0000","value":"OK"},
"state":{"reason":"Threshold Crossed: 1 out of the last 1 datapoints [99.50 (02/10/19 16:59:00)] was greater than the threshold (50.0)","reasonData":"{}","timestamp":"2019-10-02T17:04:40.989+0000","value":"ALARM"}}}`

// snsPayload is a CloudWatch alarm notification's Message (lower-case dimension keys, as AWS sends).
const snsPayload = `{"AlarmName":"lab-us-west-2-collection-unreachable","AlarmDescription":null,"AWSAccountId":"000000000000",
"NewStateValue":"ALARM","NewStateReason":"Threshold Crossed","StateChangeTime":"2026-11-22T10:04:40.989+0000","Region":"US West (Oregon)",
"AlarmArn":"arn:aws:cloudwatch:us-west-2:000000000000:alarm:lab-us-west-2-collection-unreachable","OldStateValue":"OK",
"Trigger":{"MetricName":"CollectionReachable","Namespace":"Switchyard/Lab","StatisticType":"Statistic","Statistic":"MINIMUM","Unit":null,
"Dimensions":[{"value":"lab-opensearch-secondary","name":"CollectionName"}],"Period":60,"EvaluationPeriods":1,"ComparisonOperator":"LessThanThreshold","Threshold":1.0}}`

func snsEnvelope(t *testing.T, message string) []byte {
	t.Helper()
	b, err := json.Marshal(SNSMessage{Type: "Notification", MessageID: "m-1", TopicArn: "arn:aws:sns:us-west-2:000000000000:alarms",
		Message: message, Timestamp: "2026-11-22T10:04:41.000Z", SignatureVersion: "2", Signature: "x", SigningCertURL: "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-1.pem"})
	require.NoError(t, err)
	return b
}

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name    string
		body    []byte
		want    Alarm
		wantErr error
	}{
		{
			name: "lab EventBridge event",
			body: labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt),
			want: Alarm{Name: "lab-us-east-1-pipeline-not-ingesting", ARN: "arn:aws:cloudwatch:us-east-1:000000000000:alarm:lab-us-east-1-pipeline-not-ingesting",
				State: "ALARM", PreviousState: "OK", Reason: "Threshold Crossed", Account: "000000000000", Region: "us-east-1", At: changeAt,
				Dimensions: map[string]string{"PipelineName": "lab-osi-primary"}, Source: SourceEventBridge, EventID: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"},
		},
		{
			name: "AWS documentation EventBridge example",
			body: []byte(awsDocEvent),
			want: Alarm{Name: "ServerCpuTooHigh", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh", State: "ALARM", PreviousState: "OK",
				Reason:  "Threshold Crossed: 1 out of the last 1 datapoints [99.50 (02/10/19 16:59:00)] was greater than the threshold (50.0)",
				Account: "123456789012", Region: "us-east-1", At: time.Date(2019, 10, 2, 17, 4, 40, 989_000_000, time.UTC),
				Dimensions: map[string]string{"InstanceId": "i-12345678901234567"}, Source: SourceEventBridge, EventID: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"},
		},
		{
			name: "raw CloudWatch SNS payload (raw message delivery)",
			body: []byte(snsPayload),
			want: Alarm{Name: "lab-us-west-2-collection-unreachable", ARN: "arn:aws:cloudwatch:us-west-2:000000000000:alarm:lab-us-west-2-collection-unreachable",
				State: "ALARM", PreviousState: "OK", Reason: "Threshold Crossed", Account: "000000000000", Region: "us-west-2", At: changeAt,
				Dimensions: map[string]string{"CollectionName": "lab-opensearch-secondary"}, Source: SourceSNS},
		},
		{
			name: "SNS envelope read from a queue",
			body: snsEnvelope(t, snsPayload),
			want: Alarm{Name: "lab-us-west-2-collection-unreachable", ARN: "arn:aws:cloudwatch:us-west-2:000000000000:alarm:lab-us-west-2-collection-unreachable",
				State: "ALARM", PreviousState: "OK", Reason: "Threshold Crossed", Account: "000000000000", Region: "us-west-2", At: changeAt,
				Dimensions: map[string]string{"CollectionName": "lab-opensearch-secondary"}, Source: SourceSNS, EventID: "m-1"},
		},
		{name: "other EventBridge detail-type", body: []byte(`{"detail-type":"CloudWatch Alarm Configuration Change","source":"aws.cloudwatch","detail":{}}`), wantErr: ErrNotAlarm},
		{name: "EC2 event", body: []byte(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`), wantErr: ErrNotAlarm},
		{name: "SNS message from another service", body: snsEnvelope(t, `{"notificationType":"Bounce"}`), wantErr: ErrNotAlarm},
		{name: "SNS subscription confirmation in a queue", body: []byte(`{"Type":"SubscriptionConfirmation","Message":"x"}`), wantErr: ErrNotAlarm},
		{name: "not JSON", body: []byte(`alarm!`), wantErr: ErrMalformed},
		{name: "JSON array", body: []byte(`[1]`), wantErr: ErrMalformed},
		{name: "unknown object", body: []byte(`{"hello":"world"}`), wantErr: ErrMalformed},
		{name: "alarm event without a name", body: []byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","time":"2026-11-22T10:04:40Z","detail":{"state":{"value":"ALARM"}}}`), wantErr: ErrMalformed},
		{name: "alarm event without any time", body: []byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","detail":{"alarmName":"a","state":{"value":"ALARM"}}}`), wantErr: ErrMalformed},
		{name: "alarm event with a bad detail", body: []byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","detail":"x"}`), wantErr: ErrMalformed},
		{name: "SNS envelope whose message is not JSON", body: snsEnvelope(t, "CPU high"), wantErr: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMessage(tc.body)
			if tc.wantErr != nil {
				require.True(t, errors.Is(err, tc.wantErr), "want %v, got %v", tc.wantErr, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEventTimeIsTheFallbackForAMissingStateTimestamp(t *testing.T) {
	a, err := ParseEventBridge([]byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","time":"2026-11-22T10:04:40Z","detail":{"alarmName":"a","state":{"value":"ALARM"}}}`))
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 22, 10, 4, 40, 0, time.UTC), a.At)
}

func TestSameChangeByTwoPathsHasOneKey(t *testing.T) {
	eb, err := ParseMessage(labEvent("us-west-2", "lab-us-west-2-collection-unreachable", "ALARM", changeAt))
	require.NoError(t, err)
	sns, err := ParseMessage([]byte(snsPayload))
	require.NoError(t, err)
	require.Equal(t, eb.Key(), sns.Key())
	later, err := ParseMessage(labEvent("us-west-2", "lab-us-west-2-collection-unreachable", "ALARM", changeAt.Add(time.Minute)))
	require.NoError(t, err)
	require.NotEqual(t, eb.Key(), later.Key())
}

func labSet(t *testing.T) *Set {
	t.Helper()
	set, err := LoadDir(runbookDir)
	require.NoError(t, err)
	return set
}

func TestMatch(t *testing.T) {
	set := labSet(t)
	mustParse := func(b []byte) Alarm {
		a, err := ParseMessage(b)
		require.NoError(t, err)
		return a
	}
	withRegion := func(a Alarm, region string) Alarm { a.Region = region; return a }
	cases := []struct {
		name  string
		alarm Alarm
		want  []Decision // Alarm and DecidedAt are not compared
	}{
		{
			name:  "pipeline alarm in the primary: failover to the peer, policy auto",
			alarm: mustParse(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt)),
			want: []Decision{{Action: ActionStart, Environment: "lab", Rule: "pipeline-not-ingesting", Runbook: "failover", Policy: "auto", Region: "us-east-1",
				Params: map[string]any{"target": "us-west-2", "ungraceful": false, "force": false, "auto_approve": true},
				Reason: "rule pipeline-not-ingesting (auto): alarm lab-us-east-1-pipeline-not-ingesting is ALARM"}},
		},
		{
			name:  "collection alarm in the secondary: ungraceful failover to the primary after approval",
			alarm: mustParse([]byte(snsPayload)),
			want: []Decision{{Action: ActionStart, Environment: "lab", Rule: "collection-unreachable", Runbook: "failover", Policy: "approve", Region: "us-west-2",
				Params: map[string]any{"target": "us-east-1", "ungraceful": true, "force": false},
				Reason: "rule collection-unreachable (approve): alarm lab-us-west-2-collection-unreachable is ALARM"}},
		},
		{
			name:  "alarm back to OK: suggest failback to the recovered Region, start nothing",
			alarm: mustParse(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "OK", changeAt)),
			want: []Decision{{Action: ActionNotify, Environment: "lab", Rule: "region-recovered", Runbook: "failback", Policy: "notify", Region: "us-east-1",
				Params: map[string]any{"target": "us-east-1"},
				Reason: "rule region-recovered (notify): alarm lab-us-east-1-pipeline-not-ingesting is OK; suggested: starter run failback --env lab --param target=us-east-1"}},
		},
		{
			name:  "insufficient data on a lab alarm: no rule acts on it",
			alarm: Alarm{Name: "lab-us-east-1-pipeline-not-ingesting", State: StateInsufficientData, Region: "us-east-1"},
			want: []Decision{{Action: ActionIgnore, Environment: "lab",
				Reason: "alarm lab-us-east-1-pipeline-not-ingesting is INSUFFICIENT_DATA; the rules that name it act on other states: pipeline-not-ingesting (ALARM), region-recovered (OK)"}},
		},
		{
			name:  "an alarm no rule names",
			alarm: Alarm{Name: "billing-too-high", State: StateAlarm, Region: "us-east-1"},
			want:  []Decision{{Action: ActionIgnore, Reason: "no trigger rule names alarm billing-too-high"}},
		},
		{
			name:  "a lab alarm from a Region outside the environment",
			alarm: withRegion(Alarm{Name: "lab-eu-west-1-pipeline-not-ingesting", State: StateAlarm}, "eu-west-1"),
			want: []Decision{{Action: ActionIgnore, Environment: "lab", Rule: "pipeline-not-ingesting", Runbook: "failover", Policy: "auto", Region: "eu-west-1",
				Reason: "rule pipeline-not-ingesting: alarm lab-eu-west-1-pipeline-not-ingesting is in Region eu-west-1, which is not a Region of environment lab (us-east-1, us-west-2)"}},
		},
		{
			name:  "example environment, matched by ARN in another account: nothing",
			alarm: Alarm{Name: "production-osi-primary-not-ingesting", ARN: "arn:aws:cloudwatch:us-east-1:999999999999:alarm:production-osi-primary-not-ingesting", State: StateAlarm, Region: "us-east-1"},
			want:  []Decision{{Action: ActionIgnore, Reason: "no trigger rule names alarm production-osi-primary-not-ingesting"}},
		},
		{
			name:  "example environment, matched by ARN",
			alarm: Alarm{Name: "production-osi-secondary-not-ingesting", ARN: "arn:aws:cloudwatch:us-west-2:111122223333:alarm:production-osi-secondary-not-ingesting", State: StateAlarm, Region: "us-west-2"},
			want: []Decision{{Action: ActionStart, Environment: "example", Rule: "pipeline-not-ingesting", Runbook: "failover", Policy: "auto", Region: "us-west-2",
				Params: map[string]any{"target": "us-east-1", "ungraceful": false, "force": false, "auto_approve": true},
				Reason: "rule pipeline-not-ingesting (auto): alarm production-osi-secondary-not-ingesting is ALARM"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := set.Match(tc.alarm)
			for i := range got {
				require.Equal(t, tc.alarm, got[i].Alarm)
				got[i].Alarm = Alarm{}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRegionSourcesAndPlaceholders(t *testing.T) {
	opts := labOptions(t)
	src := `schema: switchyard/v1
environment: lab
rules:
  - name: by-environment
    alarm: lab-us-west-2-*
    region_from: environment
    runbook: failover
    params: {target: '${peer}'}
    policy: approve
  - name: by-dimension
    alarm: zone-*
    region_from: dimension:Region
    runbook: zonal-failover
    params: {zone: '${dimension.AvailabilityZone}'}
    policy: notify
  - name: by-arn-needs-region
    alarm: '*'
    runbook: drill
    params: {target: '${region}'}
    policy: approve
`
	f, err := Parse("lab.yaml", []byte(src), opts)
	require.NoError(t, err)
	set, err := NewSet(f)
	require.NoError(t, err)

	d := set.Match(Alarm{Name: "lab-us-west-2-collection-unreachable", State: StateAlarm})
	require.Equal(t, ActionStart, d[0].Action, d[0].Reason)
	require.Equal(t, "us-east-1", d[0].Params["target"])

	d = set.Match(Alarm{Name: "lab-us-west-2-replication-lag", State: StateAlarm})
	require.Equal(t, ActionIgnore, d[0].Action)
	require.Equal(t, "rule by-environment: alarm lab-us-west-2-replication-lag is in no Region's alarms list of environment lab", d[0].Reason)

	d = set.Match(Alarm{Name: "zone-down", State: StateAlarm, Dimensions: map[string]string{"Region": "us-east-1", "AvailabilityZone": "us-east-1b"}})
	require.Equal(t, ActionNotify, d[0].Action, d[0].Reason)
	require.Equal(t, map[string]any{"zone": "us-east-1b"}, d[0].Params)
	require.Equal(t, "us-east-1", d[0].Region)

	d = set.Match(Alarm{Name: "zone-down", State: StateAlarm, Dimensions: map[string]string{"Region": "us-east-1"}})
	require.Equal(t, ActionIgnore, d[0].Action)
	require.Equal(t, "rule by-dimension: param zone: ${dimension.AvailabilityZone} has no value for this alarm", d[0].Reason)

	d = set.Match(Alarm{Name: "no-arn", State: StateAlarm})
	require.Equal(t, ActionIgnore, d[0].Action)
	require.True(t, strings.HasSuffix(d[0].Reason, "alarm no-arn has no ARN or event Region to read its Region from"), d[0].Reason)
}

func TestDecisionRunInput(t *testing.T) {
	set := labSet(t)
	a, err := ParseMessage(labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
	require.NoError(t, err)
	in := set.Match(a)[0].RunInput()
	require.Equal(t, "failover", in.Runbook)
	require.Equal(t, "lab", in.Environment)
	require.Equal(t, "execute", string(in.Mode))
	require.Equal(t, "alarm:lab-us-east-1-pipeline-not-ingesting", in.RequestedBy)
	require.Equal(t, "alarm", in.Trigger.Kind)
	require.Equal(t, "auto", in.Trigger.Policy)
	require.Equal(t, "lab-us-east-1-pipeline-not-ingesting", in.Trigger.Alarm)
	require.Equal(t, changeAt, *in.Trigger.At)
	require.Equal(t, "lab-us-east-1-pipeline-not-ingesting is ALARM in us-east-1 (rule pipeline-not-ingesting): Threshold Crossed", in.Trigger.Detail)
}
