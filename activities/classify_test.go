package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func respErr(status int, api error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: api}}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		class Class
		typ   string
	}{
		{"throttling", respErr(400, &smithy.GenericAPIError{Code: "ThrottlingException", Fault: smithy.FaultClient}), ClassTransient, ""},
		{"throttling query protocol", respErr(400, &smithy.GenericAPIError{Code: "Throttling"}), ClassTransient, ""},
		{"too many requests", respErr(429, &smithy.GenericAPIError{Code: "TooManyRequestsException"}), ClassTransient, ""},
		{"internal failure", respErr(500, &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}), ClassTransient, ""},
		{"503 without code", respErr(503, errors.New("service unavailable")), ClassTransient, ""},
		{"access denied", respErr(403, &smithy.GenericAPIError{Code: "AccessDeniedException"}), ClassPermanent, ErrAccessDenied},
		{"403 without code", respErr(403, errors.New("forbidden")), ClassPermanent, ErrAccessDenied},
		{"validation", respErr(400, &smithy.GenericAPIError{Code: "ValidationException"}), ClassPermanent, ErrValidation},
		{"invalid change batch", respErr(400, &smithy.GenericAPIError{Code: "InvalidChangeBatch"}), ClassPermanent, ErrValidation},
		{"not found", respErr(404, &smithy.GenericAPIError{Code: "ResourceNotFoundException"}), ClassPermanent, ErrNotFound},
		// Route 53 answers HTTP 400 PriorRequestNotComplete while it still processes an earlier
		// request for the zone; its API reference says to retry at increasing intervals.
		{"route 53 prior request not complete", respErr(400, &r53types.PriorRequestNotComplete{Message: aws.String("The request was rejected because Route 53 was still processing a prior request.")}), ClassTransient, ""},
		{"prior request not complete, generic", respErr(400, &smithy.GenericAPIError{Code: "PriorRequestNotComplete", Fault: smithy.FaultClient}), ClassTransient, ""},
		{"transaction in progress", respErr(400, &smithy.GenericAPIError{Code: "TransactionInProgressException"}), ClassTransient, ""},
		{"request timeout", respErr(408, &smithy.GenericAPIError{Code: "RequestTimeout"}), ClassTransient, ""},
		{"unknown 400 code", respErr(400, &smithy.GenericAPIError{Code: "SomethingOdd"}), ClassPermanent, ErrValidation},
		{"timeout", &net.OpError{Op: "dial", Err: context.DeadlineExceeded}, ClassTransient, ""},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), ClassTransient, ""},
		{"canceled", fmt.Errorf("call: %w", context.Canceled), ClassPermanent, "Canceled"},
		{"plain error", errors.New("connection reset by peer"), ClassTransient, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			class, typ := Classify(tc.err)
			require.Equal(t, tc.class, class)
			require.Equal(t, tc.typ, typ)
		})
	}
}

func TestWrapNamesResourceAndRegion(t *testing.T) {
	err := Wrap(respErr(403, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}),
		"describe replicator", "lab-primary-to-secondary", "us-west-2")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.True(t, appErr.NonRetryable())
	require.Equal(t, ErrAccessDenied, appErr.Type())
	require.Contains(t, appErr.Error(), "describe replicator lab-primary-to-secondary in us-west-2")

	err = Wrap(respErr(500, &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}), "get pipeline", "p", "us-east-1")
	require.False(t, errors.As(err, &appErr), "transient errors stay retryable")
	require.Nil(t, Wrap(nil, "x", "y", "z"))
}
