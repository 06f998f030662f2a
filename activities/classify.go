package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Class is what a failed call means for retrying it.
type Class int

// Classes of failures.
const (
	// Transient failures (throttling, 5xx, timeouts, connection errors) are retried with backoff.
	ClassTransient Class = iota
	// Permanent failures (access denied, validation, not found) fail the step at once: no retry
	// can fix them, and retrying would only delay the operator's fix during an incident.
	ClassPermanent
)

func (c Class) String() string {
	if c == ClassPermanent {
		return "permanent"
	}
	return "transient"
}

// Error types of classified non-retryable errors.
const (
	ErrAccessDenied = wire.ErrAccessDenied
	ErrNotFound     = wire.ErrNotFound
	ErrValidation   = wire.ErrValidation
)

var permanentCodes = map[string]string{
	"AccessDenied": ErrAccessDenied, "AccessDeniedException": ErrAccessDenied, "UnauthorizedOperation": ErrAccessDenied,
	"UnrecognizedClientException": ErrAccessDenied, "InvalidClientTokenId": ErrAccessDenied, "ExpiredToken": ErrAccessDenied,
	"ExpiredTokenException": ErrAccessDenied, "SignatureDoesNotMatch": ErrAccessDenied, "MissingAuthenticationToken": ErrAccessDenied,
	"MissingAuthenticationTokenException": ErrAccessDenied, "ForbiddenException": ErrAccessDenied, "AuthFailure": ErrAccessDenied,
	"ValidationException": ErrValidation, "ValidationError": ErrValidation, "InvalidParameterValue": ErrValidation,
	"InvalidParameterException": ErrValidation, "InvalidInput": ErrValidation, "InvalidChangeBatch": ErrValidation,
	"BadRequestException": ErrValidation, "InvalidParameterCombination": ErrValidation, "MalformedQueryString": ErrValidation,
	"ConflictException":         ErrValidation,
	"ResourceNotFoundException": ErrNotFound, "NotFoundException": ErrNotFound, "NoSuchBucket": ErrNotFound,
	"NoSuchKey": ErrNotFound, "NoSuchHostedZone": ErrNotFound, "ResourceNotFound": ErrNotFound,
	"AWS.SimpleQueueService.NonExistentQueue": ErrNotFound, "QueueDoesNotExist": ErrNotFound,
}

// Classify decides whether err is worth retrying. Unknown errors are transient: during an incident
// a retry that fails again costs seconds, while a wrongly permanent error aborts a failover.
func Classify(err error) (Class, string) {
	if err == nil {
		return ClassTransient, ""
	}
	if errors.Is(err, context.Canceled) {
		return ClassPermanent, "Canceled"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if t, ok := permanentCodes[apiErr.ErrorCode()]; ok {
			return ClassPermanent, t
		}
		if apiErr.ErrorFault() == smithy.FaultServer {
			return ClassTransient, ""
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		switch code := respErr.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests || code >= 500:
			return ClassTransient, ""
		case code == http.StatusForbidden || code == http.StatusUnauthorized:
			return ClassPermanent, ErrAccessDenied
		case code == http.StatusNotFound:
			return ClassPermanent, ErrNotFound
		case code >= 400 && apiErr != nil && !retryableCode(apiErr.ErrorCode()):
			return ClassPermanent, ErrValidation
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return ClassTransient, ""
	}
	return ClassTransient, ""
}

// retryableCode tells whether a client-fault (4xx) error code means "not now" rather than "never":
// throttling, and the codes the AWS SDK's own retryer treats as retryable or as throttling once
// its attempts are spent. Route 53's PriorRequestNotComplete (HTTP 400) is one: "If Amazon Route
// 53 returns this error repeatedly for the same request, we recommend that you wait, in intervals
// of increasing duration, before you try the request again"
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html#API_ChangeResourceRecordSets_Errors),
// and the SDK lists it in retry.DefaultThrottleErrorCodes. Failing the step at once on it would
// abort a failover because another change to the same zone was still being processed.
func retryableCode(code string) bool {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
		return true
	}
	c := strings.ToLower(code)
	return strings.Contains(c, "throttl") || strings.Contains(c, "toomanyrequests") || strings.Contains(c, "requestlimitexceeded") ||
		c == "slowdown" || c == "provisionedthroughputexceededexception" || c == "limitexceededexception"
}

// Wrap names the resource and Region in err and marks permanent failures non-retryable, so an
// operator reads "AccessDenied on replicator X in us-west-2" instead of a stack of SDK wrappers.
func Wrap(err error, action, resource, region string) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("%s %s in %s: %v", action, resource, region, err)
	class, typ := Classify(err)
	if class == ClassPermanent {
		return temporal.NewNonRetryableApplicationError(msg, typ, err)
	}
	return fmt.Errorf("%s %s in %s: %w", action, resource, region, err)
}
