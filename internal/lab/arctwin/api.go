package arctwin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// targetPrefix is the awsJson1_0 service prefix of the cluster API (the SDK's serializers send
// X-Amz-Target: ToggleCustomerAPI.<Operation>).
const targetPrefix = "ToggleCustomerAPI."

// apiError is an error answer in awsJson1_0: the status, X-Amzn-ErrorType and a body
// {"__type": code, "message": ...} plus the shape's own members, which is what the SDK's
// deserializers read (route53recoverycluster deserializers.go: resolveProtocolErrorType,
// "message", "resourceId", "resourceType", "reason").
type apiError struct {
	status  int
	code    string
	message string
	fields  map[string]any
}

func validationError(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ValidationException", message: msg,
		fields: map[string]any{"reason": "fieldValidationFailed"}}
}

func notFound(arn string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException",
		message: fmt.Sprintf("Routing control %s not found", arn), fields: map[string]any{"resourceId": arn, "resourceType": "RoutingControl"}}
}

// SafetyRuleMessage begins the message of the ConflictException the twin answers when an update
// would violate safety rules; the rules' ARNs follow, comma-separated, in brackets.
//
// ARC: "When a safety rule blocks a routing control state update, the error message includes the
// ARN of the rule that blocked the update", and SafetyRulesToOverride with that ARN lets the
// update through
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.override-safety-rule.html).
// The update operations' error for a request refused because of the state it finds is
// ConflictException, HTTP 409 (API reference, UpdateRoutingControlStates, "Errors"; Get and List
// have no ConflictException). UNVERIFIED: the exact wording, which AWS does not publish; the twin
// names every rule the update violates, where ARC may name one at a time (the same page: "you
// could ... get an error that another safety rule is blocking the update").
const SafetyRuleMessage = "Cannot update routing control states: the request would violate safety rules"

func safetyRuleError(v []violation) *apiError {
	arns := make([]string, len(v))
	for i, x := range v {
		arns[i] = x.arn
	}
	return &apiError{status: http.StatusConflict, code: "ConflictException",
		message: SafetyRuleMessage + " [" + strings.Join(arns, ", ") + "]",
		fields:  map[string]any{"resourceId": arns[0], "resourceType": "SafetyRule"}}
}

func (c *Cluster) handler(ep *endpoint) http.Handler {
	return c.wrap(ep, "application/x-amz-json-1.0", func(r *http.Request, body []byte) (any, *apiError) {
		return c.serve(ep.region, r, body)
	})
}

// wrap serves one endpoint: its impairment first, then serve, whose answer (or error) it writes
// as JSON of contentType.
func (c *Cluster) wrap(ep *endpoint, contentType string, serve func(r *http.Request, body []byte) (any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := ep.impairment()
		switch m {
		case Refuse:
			dropConnection(w)
			return
		case Blackhole:
			select {
			case <-r.Context().Done():
			case <-c.closed:
			}
			dropConnection(w)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away
		}
		var out any
		var aerr *apiError
		switch m {
		case Throttle:
			// API reference, common errors: ThrottlingException, HTTP 429.
			aerr = &apiError{status: http.StatusTooManyRequests, code: "ThrottlingException", message: "Rate exceeded"}
		case Unavailable:
			// route53recoverycluster types: EndpointTemporarilyUnavailableException, "The cluster
			// endpoint isn't available. Try another cluster endpoint." (HTTP 503)
			aerr = &apiError{status: http.StatusServiceUnavailable, code: "EndpointTemporarilyUnavailableException",
				message: "The cluster endpoint isn't available. Try another cluster endpoint."}
		default:
			out, aerr = serve(r, body)
		}
		w.Header().Set("Content-Type", contentType)
		if aerr != nil {
			m := map[string]any{"__type": aerr.code, "message": aerr.message}
			for k, v := range aerr.fields {
				m[k] = v
			}
			b, _ := json.Marshal(m) // maps of strings always marshal
			w.Header().Set("X-Amzn-ErrorType", aerr.code)
			w.WriteHeader(aerr.status)
			_, _ = w.Write(b)
			c.opts.Logger.Debug("arctwin: refused", "region", ep.region, "target", r.Header.Get("X-Amz-Target"), "code", aerr.code, "message", aerr.message)
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(b)
	})
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close() // breaking the connection is the point
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// authenticate verifies the request's SigV4 signature with the secrets of the keys the twin
// knows, and that it is scoped to ARC's service and this endpoint's Region: each Regional
// endpoint must be signed for its own Region (the SDK does so when the client's Region is the
// endpoint's). Refusals use the words AWS's JSON services use (HTTP 403).
func (c *Cluster) authenticate(region, service string, r *http.Request, body []byte) *apiError {
	id, err := awstwin.VerifySigV4(r, body, c.opts.Credentials, c.opts.Now())
	var se *awstwin.SigV4Error
	forbidden := func(code, msg string) *apiError {
		return &apiError{status: http.StatusForbidden, code: code, message: msg}
	}
	switch {
	case errors.As(err, &se) && se.Problem == awstwin.SigV4Missing:
		return forbidden("MissingAuthenticationTokenException", "Missing Authentication Token")
	case errors.As(err, &se) && se.Problem == awstwin.SigV4Malformed:
		return forbidden("IncompleteSignatureException", se.Detail)
	case errors.As(err, &se) && se.Problem == awstwin.SigV4UnknownKey:
		return forbidden("UnrecognizedClientException", "The security token included in the request is invalid.")
	case err != nil:
		return forbidden("InvalidSignatureException", err.Error())
	case id.Service != service:
		return forbidden("InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service))
	case id.Region != region:
		return forbidden("InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", id.Region))
	}
	return nil
}

type entry struct {
	RoutingControlArn   string
	RoutingControlState string
}

// serve answers one call; out is the JSON output shape.
func (c *Cluster) serve(region string, r *http.Request, body []byte) (any, *apiError) {
	if aerr := c.authenticate(region, SigningService, r, body); aerr != nil {
		return nil, aerr
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok {
		return nil, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", message: "Unknown operation " + r.Header.Get("X-Amz-Target")}
	}
	var in struct {
		RoutingControlArn                string
		RoutingControlState              string
		SafetyRulesToOverride            []string
		UpdateRoutingControlStateEntries []entry
		ControlPanelArn                  *string
		NextToken                        *string
		MaxResults                       *int
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, code: "SerializationException", message: err.Error()}
		}
	}
	if !c.delayUpdate(r.Context(), op) {
		return nil, &apiError{status: http.StatusServiceUnavailable, code: "InternalServerException", message: "the caller went away before the update was applied"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case "GetRoutingControlState":
		rc, ok := c.controls[in.RoutingControlArn]
		if !ok {
			return nil, notFound(in.RoutingControlArn)
		}
		return map[string]string{"RoutingControlArn": rc.arn, "RoutingControlName": rc.name, "RoutingControlState": state(rc.on)}, nil
	case "ListRoutingControls":
		return c.list(in.ControlPanelArn, in.NextToken, in.MaxResults)
	case "UpdateRoutingControlState":
		if in.RoutingControlArn == "" {
			return nil, validationError("RoutingControlArn is required")
		}
		return c.update(op, region, map[string]string{in.RoutingControlArn: in.RoutingControlState}, in.SafetyRulesToOverride)
	case "UpdateRoutingControlStates":
		entries := map[string]string{}
		for _, e := range in.UpdateRoutingControlStateEntries {
			if _, dup := entries[e.RoutingControlArn]; dup {
				return nil, validationError(fmt.Sprintf("Routing control %s appears more than once in UpdateRoutingControlStateEntries", e.RoutingControlArn))
			}
			entries[e.RoutingControlArn] = e.RoutingControlState
		}
		return c.update(op, region, entries, in.SafetyRulesToOverride)
	}
	return nil, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", message: "Unknown operation " + op}
}

func (c *Cluster) update(op, region string, entries map[string]string, override []string) (any, *apiError) {
	bad, aerr := c.apply(op, region, entries, override)
	if aerr != nil {
		return nil, aerr
	}
	if len(bad) > 0 {
		for _, v := range bad {
			c.opts.Logger.Info("arctwin: update refused by safety rule", "region", region, "rule", v.arn, "why", v.why)
		}
		return nil, safetyRuleError(bad)
	}
	return struct{}{}, nil
}

// list answers ListRoutingControls, in creation order, MaxResults a page (default 500), the
// NextToken being the position of the next control.
func (c *Cluster) list(panel, token *string, max *int) (any, *apiError) {
	if panel != nil {
		if _, ok := c.panels[*panel]; !ok {
			return nil, &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException",
				message: fmt.Sprintf("Control panel %s not found", *panel), fields: map[string]any{"resourceId": *panel, "resourceType": "ControlPanel"}}
		}
	}
	var arns []string
	for _, arn := range c.order {
		if panel == nil || c.controls[arn].panel.arn == *panel {
			arns = append(arns, arn)
		}
	}
	start := 0
	if token != nil {
		n, err := strconv.Atoi(*token)
		if err != nil || n < 0 || n > len(arns) {
			return nil, validationError("NextToken is not valid")
		}
		start = n
	}
	size := 500
	if max != nil {
		if *max < 1 {
			return nil, validationError("MaxResults must be at least 1")
		}
		size = *max
	}
	end := min(start+size, len(arns))
	type item struct {
		ControlPanelArn, ControlPanelName, Owner, RoutingControlArn, RoutingControlName, RoutingControlState string
	}
	items := []item{}
	for _, arn := range arns[start:end] {
		rc := c.controls[arn]
		items = append(items, item{rc.panel.arn, rc.panel.name, c.account, rc.arn, rc.name, state(rc.on)})
	}
	out := map[string]any{"RoutingControls": items}
	if end < len(arns) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func state(on bool) string {
	if on {
		return On
	}
	return Off
}
