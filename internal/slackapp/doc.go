// Package slackapp is Switchyard's Slack app: it posts each run as a thread in the environment's
// channel, turns approval steps into Approve / Reject buttons, and offers the /switchyard slash
// command (plan, run, status, cancel, approve).
//
// Why it is shaped this way:
//
//   - Slack is a convenience, never a dependency of a failover. The Notifier only returns errors;
//     the workflow's outbox retries them in order, so a Slack outage delays messages but loses
//     none, and the CLI and the Temporal UI keep deciding approvals meanwhile.
//   - The workflow is the authority on who may approve. Clicks become the same `approve` update
//     the CLI sends, so its validator (approvers, quorum, two-person rule, "too late") is applied
//     once, in one place; this package only resolves Slack user-group membership, which the
//     workflow cannot see, and checks it early to answer the clicker quickly.
//   - Slack wants an answer within 3 seconds and a Temporal update waits for a worker, so every
//     request is acknowledged at once and the work continues in the background, answering through
//     the message itself or the request's response_url. When no worker is up the decision is
//     sent as the durable `approve` signal instead, so a click during a worker outage still counts.
//   - Every inbound request is authenticated with the signing secret before its body is parsed:
//     a forged click must not even reach the JSON decoder, let alone Temporal.
//   - HTTP and Socket Mode dispatch into the same functions, so the transport is a deployment
//     choice (public URL or outbound websocket) with identical behaviour.
//   - The intake needs no runbook files: approvers are read from the run itself (the progress
//     query), so a Slack front end can be deployed apart from the workers.
package slackapp
