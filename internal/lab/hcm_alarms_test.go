package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/triggers"
)

// With us-east-1 impaired, its own CloudWatch and EventBridge deliver nothing: no event comes
// from us-east-1 and its alarms keep their state. The alarm about us-east-1's collection still
// reaches the intake's queue in us-west-2, from the copy us-west-2 keeps on its canary — and the
// lab's trigger rules read it as an alarm about us-east-1 (fail over to us-west-2), not about the
// Region in its ARN.
func TestAlarmAboutAnImpairedRegionComesFromTheHealthyOne(t *testing.T) {
	l := startTestLab(t, func(o *Options) { o.AlarmWindow = time.Second })
	ctx := context.Background()
	westSQS := sqs.NewFromConfig(sdkConfig(l, west))
	q := aws.String(l.Endpoints().AlarmQueues[west])
	drain := func(keep func(AlarmEvent)) {
		t.Helper()
		for {
			out, err := westSQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10})
			require.NoError(t, err)
			if len(out.Messages) == 0 {
				return
			}
			for _, m := range out.Messages {
				var ev AlarmEvent
				require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev))
				keep(ev)
				_, err := westSQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
		}
	}
	// The start's OK events, from both Regions.
	eventually(t, 10*time.Second, func() (bool, string) {
		ok := map[string]bool{}
		for _, a := range append(l.Twin().Alarms(east), l.Twin().Alarms(west)...) {
			ok[a.Name] = a.State == "OK"
		}
		return ok[alarmUnreachable(east)] && ok[alarmUnreachable(west)], fmt.Sprint(ok)
	})
	drain(func(AlarmEvent) {})

	_, err := l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	// us-east-1's monitor keeps ticking; before the fix its collection alarm fired once its probe
	// had failed for the alarm window, and was delivered. Await a tick of us-east-1's monitor that
	// started two windows after the fault, and the other Region's alarm.
	lookedSince := time.Now().Add(2 * l.opts.AlarmWindow).UnixNano()
	var fromWest *AlarmEvent
	var fromEast []string
	eventually(t, 30*time.Second, func() (bool, string) {
		drain(func(ev AlarmEvent) {
			if ev.Region == east {
				fromEast = append(fromEast, ev.Detail.AlarmName+" "+ev.Detail.State.Value)
			}
			if ev.Region == west && ev.Detail.AlarmName == alarmUnreachable(east) && ev.Detail.State.Value == "ALARM" {
				fromWest = &ev
			}
		})
		return fromWest != nil && l.monitor.ticked[east].Load() >= lookedSince,
			fmt.Sprintf("us-west-2's alarm about us-east-1: %t; us-east-1's monitor looked two windows after the fault: %t", fromWest != nil, l.monitor.ticked[east].Load() >= lookedSince)
	})
	require.Empty(t, fromEast, "an impaired Region's EventBridge delivers nothing")
	require.Equal(t, "arn:aws:cloudwatch:us-west-2:"+AccountID+":alarm:"+alarmUnreachable(east), fromWest.Resources[0])
	require.Equal(t, east, fromWest.Detail.Configuration.Metrics[0].MetricStat.Metric.Dimensions["Region"], "the canary's metric names the Region it watches")
	for _, a := range l.Twin().Alarms(east) {
		require.NotEqual(t, "ALARM", a.State, "%s: an impaired Region's CloudWatch evaluates nothing", a.Name)
	}

	// The intake, with the lab's own rules, fails over to us-west-2 on it.
	rules, err := triggers.LoadFiles("../../runbooks", "../../runbooks/triggers/lab.yaml")
	require.NoError(t, err)
	alarm, err := triggers.ParseEventBridge(fromWest.JSON())
	require.NoError(t, err)
	ds := rules.Match(alarm)
	require.Len(t, ds, 1)
	require.Equal(t, triggers.ActionStart, ds[0].Action, ds[0].Reason)
	require.Equal(t, east, ds[0].Region)
	require.Equal(t, west, ds[0].Params["target"])
}
