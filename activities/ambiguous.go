package activities

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// A call that changes something can fail after the service made the change: the answer is lost
// to an HTTP 5xx, a timeout or a dropped connection, and the client cannot tell whether the
// request was carried out; resending it is safe only if the API is idempotent (AWS Builders'
// Library, "Making retries safe with idempotent APIs":
// https://aws.amazon.com/builders-library/making-retries-safe-with-idempotent-APIs/). The SDKs'
// standard retryer resends such a request as it is — it retries 5xx, timeouts and connection
// errors (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html) — which
// for ChangeResourceRecordSets submits a second change batch and for StartPipeline asks to start
// a pipeline that is already STARTING. Route 53 and OSI take no idempotency token on those
// operations, so the activity does what the Builders' Library recommends instead: on an
// ambiguous failure it does not resend, and its retry reads the current state first and changes
// only what is not yet as desired.

// maybeApplied reports whether a failed call may have been carried out: the service answered
// with a 5xx, or did not answer at all (a timeout or a dropped connection). A 4xx answer is a
// refusal (throttling, validation, conflict), and a connection that was never opened carried
// nothing; both are safe to resend.
func maybeApplied(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var dial *net.OpError
	if errors.As(err, &dial) && dial.Op == "dial" {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		return re.HTTPStatusCode() >= 500
	}
	return true
}

// resendOnlyIfNotApplied wraps an SDK retryer for one mutating call: it keeps retrying what the
// service refused (throttling, PriorRequestNotComplete) and leaves a maybe-applied failure to
// the activity, whose retry reads before it writes. Use it as a per-call option, e.g.
// func(o *route53.Options) { o.Retryer = resendOnlyIfNotApplied(o.Retryer) }.
func resendOnlyIfNotApplied(r aws.Retryer) aws.Retryer { return notIfApplied{r} }

type notIfApplied struct{ aws.Retryer }

func (r notIfApplied) IsErrorRetryable(err error) bool {
	return !maybeApplied(err) && r.Retryer.IsErrorRetryable(err)
}

// GetAttemptToken keeps the wrapped retryer's aws.RetryerV2 behaviour.
func (r notIfApplied) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}
