// Package triggers turns CloudWatch alarms into DR operations: it reads alarm state changes from
// an SQS queue (EventBridge "CloudWatch Alarm State Change" events) or from SNS over HTTPS,
// matches them against per-environment trigger rules (runbooks/triggers/<environment>.yaml), and
// starts the rule's runbook, attaches the alarm to the operation already running, posts a
// notification, or ignores the alarm with a recorded reason.
//
// Why it is shaped this way:
//
//   - One DR operation per environment is the server's guarantee, not ours: every start is a
//     signal-with-start on switchyard/<environment>, so an alarm storm or two intakes racing
//     start one run and the other alarms land in its history (the alarm signal). The in-process
//     dedupe only spares Temporal the identical copies (the lab and cross-Region EventBridge rules
//     deliver each change to two queues).
//   - The cooldown is read from Temporal (the close time of the last run on the environment's
//     lock id), not from memory, so a restarted intake does not forget a run that just ended and
//     immediately fail over again on a flapping alarm.
//   - Classification and matching are pure functions (parse an event, match the rules, render the
//     params) so every rule and payload shape is a table test; the I/O around them is thin.
//   - SQS is the recommended intake (nothing inbound, IAM-authenticated). The SNS endpoint is for
//     deployments that already fan alarms out over SNS; it trusts nothing it cannot verify: the
//     signing certificate must come over https from an SNS host of AWS, every message is
//     signature-checked before its content is looked at, and only configured topics are accepted
//     or have subscriptions confirmed.
//   - A message is deleted from its queue only after it was handled (or found malformed, which no
//     retry can fix), so a Temporal outage delays alarms instead of losing them.
//   - Temporal Schedules append a timestamp to the workflow ids they start, which would break the
//     switchyard/<environment> lock, so scheduled DR operations (drills) go through
//     [ScheduledRunWorkflow], which starts the runbook under the lock id as an abandoned child.
package triggers
