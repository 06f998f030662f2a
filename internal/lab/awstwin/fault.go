package awstwin

import (
	"fmt"
	"net/http"
	"time"
)

// FaultKind selects what an injected [Fault] does.
type FaultKind int

const (
	// NoFault serves the request normally.
	NoFault FaultKind = iota
	// FaultThrottle answers with the service's own throttling error (kafka
	// TooManyRequestsException 429, osis ThrottlingException 429, aoss ThrottlingException 400,
	// route53 and CloudWatch Throttling 400, S3 SlowDown 503, SQS RequestThrottled 403), which
	// every AWS SDK classifies as retryable throttling.
	FaultThrottle
	// FaultInternalError answers HTTP 500 with the service's internal-failure error.
	FaultInternalError
	// FaultTimeout holds the request without answering: until the client gives up when Delay
	// is 0, otherwise for Delay followed by HTTP 504, what a load balancer in front of a stuck
	// service returns.
	FaultTimeout
	// FaultLatency waits Delay, then serves the request normally.
	FaultLatency
	// FaultRegionImpaired drops the connection without any response, the way a client sees an
	// endpoint in a Region that has gone dark: no HTTP status, only a transport error.
	FaultRegionImpaired
	// FaultAccessDenied answers 403 with the service's access-denied error, as an IAM policy
	// that lacks the action would: clients must fail at once, without retrying.
	FaultAccessDenied
	// FaultDropConnection closes the connection without a response, like FaultRegionImpaired,
	// but for one call: with AfterCommit, the connection that dies after the service committed.
	FaultDropConnection
)

// String names the kind for logs.
func (k FaultKind) String() string {
	switch k {
	case NoFault:
		return "none"
	case FaultThrottle:
		return "throttle"
	case FaultInternalError:
		return "internal-error"
	case FaultTimeout:
		return "timeout"
	case FaultLatency:
		return "latency"
	case FaultRegionImpaired:
		return "region-impaired"
	case FaultAccessDenied:
		return "access-denied"
	case FaultDropConnection:
		return "drop-connection"
	}
	return "unknown"
}

// Fault is what a [FaultHook] asks the twin to inject into one request.
type Fault struct {
	Kind FaultKind
	// Delay is the added latency for FaultLatency and the hold time for FaultTimeout.
	Delay time.Duration
	// AfterCommit serves the call first — its change is made — and then fails it as Kind says
	// (FaultInternalError, FaultTimeout or FaultDropConnection): the answer is lost, the change
	// is not. Without it every fault refuses the call before the operation runs.
	AfterCommit bool
}

// FaultContext identifies the request a [FaultHook] is deciding about. The hook runs after
// the operation is identified and before authentication, so an impaired Region refuses even
// badly signed requests, as a dead endpoint would.
type FaultContext struct {
	// Region is the Region the call is made into: the Region of the endpoint the request
	// reached, except for Route 53 once [Twin.SetRoute53Home] placed its control plane in a
	// home Region (us-east-1 on AWS), whichever endpoint received the call.
	Region string
	// Endpoint is the Region of the endpoint the request reached.
	Endpoint string
	// Service is the SigV4 signing name, one of the Service* constants.
	Service string
	// Operation is the API operation name, e.g. "UpdateReplicationInfo".
	Operation string
	// Protocol is the wire protocol: restJson1, awsJson1_0, rpcv2Cbor, awsQuery or restXml.
	Protocol string
}

// applyFault performs f and reports whether the request should still be served.
func (t *Twin) applyFault(c *call, f Fault) bool {
	if f.Kind == NoFault {
		return true
	}
	t.log.Warn("aws twin injecting fault", "region", c.rs.name, "service", c.svc.name, "operation", c.op,
		"fault", f.Kind.String(), "delay", f.Delay)
	switch f.Kind {
	case FaultThrottle:
		c.fail(c.svc.throttleError())
		return false
	case FaultInternalError:
		c.fail(c.svc.internalError("We encountered an internal error. Please try again."))
		return false
	case FaultLatency:
		return t.sleepCtx(c.ctx, f.Delay)
	case FaultTimeout:
		if f.Delay <= 0 {
			select {
			case <-c.ctx.Done():
			case <-t.done:
			}
			return false
		}
		if t.sleepCtx(c.ctx, f.Delay) {
			c.status = http.StatusGatewayTimeout
			http.Error(c.w, "Gateway Timeout", http.StatusGatewayTimeout)
		}
		return false
	case FaultRegionImpaired, FaultDropConnection:
		dropConnection(c.w)
		return false
	case FaultAccessDenied:
		code := "AccessDeniedException"
		if c.proto == protoQuery || c.proto == protoRestXML || c.proto == protoS3 {
			code = "AccessDenied"
		}
		c.fail(&apiError{Status: http.StatusForbidden, Code: code,
			Message: fmt.Sprintf("User: arn:aws:sts::000000000000:assumed-role/switchyard-worker is not authorized to perform: %s:%s", c.svc.name, c.op)})
		return false
	}
	return true
}

// dropConnection closes the client's connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close() // the point is to break the connection; a close error changes nothing
			return
		}
	}
	// HTTP/2 or a wrapped writer: aborting the handler resets the stream without a response.
	panic(http.ErrAbortHandler)
}
