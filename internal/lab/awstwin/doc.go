// Package awstwin is the lab's AWS control plane: per Region, one HTTP endpoint that answers
// the MSK, OpenSearch Ingestion, OpenSearch Serverless, OpenSearch Service (domains), Route 53,
// CloudWatch, S3, SQS and SSM Parameter Store operations the runbook engine calls, byte-compatible with what AWS SDKs send and expect.
//
// Why a wire-level twin rather than Go interfaces the engine could be handed: the engine's
// activities, the AWS CLI in runbook shell steps and an operator's boto3 script must all be
// rehearsed unchanged. Pointing them at the lab is then only configuration — BaseEndpoint in
// the Go SDK, AWS_ENDPOINT_URL for every SDK and the CLI — and everything below the client
// (serialization, error codes, retry classification, waiters, paginators) runs exactly as it
// will against AWS. Tests here drive every operation through the real aws-sdk-go-v2 clients.
//
// How a request is handled, and why:
//
//   - Routing is by the service in the SigV4 credential scope
//     (Credential=AKID/20261122/us-east-1/kafka/aws4_request): that is the one place every SDK
//     names the service, whatever the path looks like, so one URL can serve all of them.
//   - Any key pair is accepted, but the signature must be well formed and scoped to the
//     endpoint's Region, because signing for the wrong Region is a classic failover bug.
//     Route 53 is global: any Region's endpoint serves it, for any scope Region, since SDKs
//     sign it for us-east-1 against AWS but for their configured Region at a custom endpoint.
//     Unsigned requests get the 403 the protocol's clients expect
//     (MissingAuthenticationToken[Exception], or S3's AccessDenied).
//   - Each service speaks its real protocol: restJson1 (kafka, osis, es), awsJson1_0 (aoss, sqs), awsJson1_1 (ssm),
//     restXml (route53, s3), and for CloudWatch Smithy RPCv2 CBOR (the pinned Go SDK), awsQuery
//     (the AWS CLI, classic boto3) and awsJson1_0. SQS also answers awsQuery.
//   - Before every operation a [FaultHook] may inject the service's own throttling error, an
//     internal error, latency, a hang, or a dropped connection (an impaired Region), so retry
//     and failover logic meets the failures it is written for.
//
// State: Route 53 (one global state), CloudWatch metrics and alarms, S3 buckets, SQS queues and
// SSM parameters live here and are also driven from Go ([Twin.PutMetric], [Twin.PutAlarm],
// [Twin.SetAlarmState], [Twin.PutObject], [Twin.SendMessage], [Twin.PutParameter]). MSK, OSI,
// collections and managed domains are owned by other lab components behind the small [MSK],
// [OSIS], [AOSS] and [OpenSearchService] interfaces, with in-memory implementations as defaults.
//
// Delayed transitions (replicator UPDATING → RUNNING, Route 53 PENDING → INSYNC) are computed
// from timestamps when read rather than by timers, so they need no goroutines and follow an
// injected clock.
package awstwin
