package awstwin

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// protocol is a Smithy AWS wire protocol. Clients choose among a service's protocols by
// request shape (CloudWatch: CBOR path, X-Amz-Target, or form Action), so the twin answers in
// whichever one the request used.
type protocol int

const (
	protoRestJSON protocol = iota + 1
	protoJSON10
	protoCBOR
	protoQuery
	protoRestXML
	protoS3
	protoJSON11
)

func (p protocol) String() string {
	switch p {
	case protoRestJSON:
		return "restJson1"
	case protoJSON10:
		return "awsJson1_0"
	case protoJSON11:
		return "awsJson1_1"
	case protoCBOR:
		return "rpcv2Cbor"
	case protoQuery:
		return "awsQuery"
	case protoRestXML, protoS3:
		return "restXml"
	}
	return "unknown"
}

// service describes one AWS service as the twin serves it.
type service struct {
	name            string // SigV4 signing name
	namespace       string // Smithy namespace, for JSON/CBOR __type
	xmlns           string // awsQuery / restXml document namespace
	target          string // awsJson X-Amz-Target prefix (service shape name)
	global          bool   // served from every Region, for any scope Region
	queryCompatible bool   // JSON/CBOR errors carry X-Amzn-Query-Error for awsQuery-era codes
	defaultProto    protocol
	resolve         func(c *call) *apiError
	ops             map[string]func(c *call) error
	throttle        apiError
	internal        apiError
}

func (s *service) throttleError() *apiError {
	e := s.throttle
	return &e
}

func (s *service) internalError(msg string) *apiError {
	e := s.internal
	e.Message = msg
	return &e
}

// apiError is an AWS error response. Code is the Smithy error shape name used by the JSON and
// CBOR protocols and restJson's X-Amzn-ErrorType; Query is the awsQuery-era code used by
// awsQuery, restXml and the X-Amzn-Query-Error header ("" means Code).
type apiError struct {
	Status   int
	Code     string
	Query    string
	Message  string
	Receiver bool              // the fault is the service's (Type Receiver), not the caller's
	Fields   map[string]string // extra members: restJson invalidParameter, S3 BucketName/Key
	rawXML   string            // restXml bodies that do not follow the ErrorResponse shape
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

func (e *apiError) queryCode() string {
	if e.Query != "" {
		return e.Query
	}
	return e.Code
}

func (e *apiError) faultType() string {
	if e.Receiver {
		return "Receiver"
	}
	return "Sender"
}

type authProblem int

const (
	authMissing authProblem = iota
	authMalformed
	authWrongRegion
)

// authError builds the refusal AWS sends for a missing, malformed or mis-scoped signature in
// the request's protocol.
func authError(c *call, p authProblem, detail string) *apiError {
	if c.proto == protoS3 {
		switch p {
		case authMissing:
			return &apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
		case authMalformed:
			return &apiError{Status: http.StatusBadRequest, Code: "AuthorizationHeaderMalformed", Message: "The authorization header is malformed; " + detail}
		default:
			got, want, _ := strings.Cut(detail, "|")
			return &apiError{Status: http.StatusBadRequest, Code: "AuthorizationHeaderMalformed",
				Message: fmt.Sprintf("The authorization header is malformed; the region '%s' is wrong; expecting '%s'", got, want),
				Fields:  map[string]string{"Region": want}}
		}
	}
	switch p {
	case authMissing:
		return &apiError{Status: http.StatusForbidden, Code: "MissingAuthenticationTokenException", Query: "MissingAuthenticationToken",
			Message: "Missing Authentication Token"}
	case authMalformed:
		return &apiError{Status: http.StatusForbidden, Code: "IncompleteSignatureException", Query: "IncompleteSignature", Message: detail}
	default:
		got, want, _ := strings.Cut(detail, "|")
		return &apiError{Status: http.StatusForbidden, Code: "InvalidSignatureException", Query: "SignatureDoesNotMatch",
			Message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. This endpoint serves '%s'.", got, want)}
	}
}

// fail writes err in the call's protocol. Errors that are not *apiError are the twin's or a
// backend's own failures and become the service's internal error.
func (c *call) fail(err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		c.t.log.Error("aws twin operation failed", "service", c.svc.name, "operation", c.op, "err", err)
		ae = c.svc.internalError(err.Error())
	}
	c.status = ae.Status
	h := c.w.Header()
	switch c.proto {
	case protoRestJSON:
		body := map[string]string{"message": ae.Message}
		for k, v := range ae.Fields {
			body[k] = v
		}
		h.Set("X-Amzn-ErrorType", ae.Code)
		c.writeJSONBody(ae.Status, "application/json", body)
	case protoJSON10:
		if c.svc.queryCompatible {
			h.Set("X-Amzn-Query-Error", ae.queryCode()+";"+ae.faultType())
		}
		c.writeJSONBody(ae.Status, "application/x-amz-json-1.0", map[string]string{
			"__type": c.svc.namespace + "#" + ae.Code, "message": ae.Message})
	case protoJSON11:
		c.writeJSONBody(ae.Status, "application/x-amz-json-1.1", map[string]string{
			"__type": c.svc.namespace + "#" + ae.Code, "message": ae.Message})
	case protoCBOR:
		if c.svc.queryCompatible {
			h.Set("X-Amzn-Query-Error", ae.queryCode()+";"+ae.faultType())
		}
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		c.writeRaw(ae.Status, "application/cbor", cbor.Encode(cbor.Map{
			"__type": cbor.String(c.svc.namespace + "#" + ae.Code), "message": cbor.String(ae.Message)}))
	case protoQuery, protoRestXML:
		if ae.rawXML != "" {
			c.writeRaw(ae.Status, "text/xml", []byte(xml.Header+ae.rawXML))
			return
		}
		var b strings.Builder
		b.WriteString(xml.Header)
		fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			c.svc.xmlns, ae.faultType(), xmlEscape(ae.queryCode()), xmlEscape(ae.Message), c.reqID)
		c.writeRaw(ae.Status, "text/xml", []byte(b.String()))
	case protoS3:
		if c.r.Method == http.MethodHead {
			c.writeRaw(ae.Status, "application/xml", nil)
			return
		}
		var b strings.Builder
		b.WriteString(xml.Header)
		fmt.Fprintf(&b, "<Error><Code>%s</Code><Message>%s</Message>", xmlEscape(ae.Code), xmlEscape(ae.Message))
		for _, k := range sortedKeys(ae.Fields) {
			fmt.Fprintf(&b, "<%s>%s</%s>", k, xmlEscape(ae.Fields[k]), k)
		}
		fmt.Fprintf(&b, "<RequestId>%s</RequestId><HostId>%s</HostId></Error>", c.reqID, c.reqID)
		c.writeRaw(ae.Status, "application/xml", []byte(b.String()))
	}
}

func (c *call) writeRaw(status int, contentType string, body []byte) {
	h := c.w.Header()
	if c.proto == protoS3 {
		h.Set("X-Amz-Request-Id", c.reqID)
		h.Set("X-Amz-Id-2", c.reqID)
	} else {
		h.Set("X-Amzn-RequestId", c.reqID)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.status = status
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(body) // a failed write means the client went away; nothing to do
	}
}

func (c *call) writeJSONBody(status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.t.log.Error("aws twin encode response", "service", c.svc.name, "operation", c.op, "err", err)
		c.writeRaw(http.StatusInternalServerError, contentType, []byte(`{"message":"response encoding failed"}`))
		return
	}
	c.writeRaw(status, contentType, b)
}

// replyJSON writes a restJson1 or awsJson1_0 success body from an encoding/json value.
func (c *call) replyJSON(v any) error {
	ct := "application/json"
	switch c.proto {
	case protoJSON10:
		ct = "application/x-amz-json-1.0"
	case protoJSON11:
		ct = "application/x-amz-json-1.1"
	}
	c.writeJSONBody(http.StatusOK, ct, v)
	return nil
}

// replyXML writes a restXml success body from an encoding/xml value.
func (c *call) replyXML(v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s response: %w", c.op, err)
	}
	c.writeRaw(http.StatusOK, "application/xml", append([]byte(xml.Header), b...))
	return nil
}

// reply writes a value tree in the call's protocol: JSON 1.0, CBOR or the awsQuery
// <OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse> envelope.
func (c *call) reply(out object) error {
	switch c.proto {
	case protoJSON10:
		b, err := encodeJSON(out)
		if err != nil {
			return err
		}
		c.writeRaw(http.StatusOK, "application/x-amz-json-1.0", b)
	case protoCBOR:
		b, err := encodeCBOR(out)
		if err != nil {
			return err
		}
		c.w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		c.writeRaw(http.StatusOK, "application/cbor", b)
	case protoQuery:
		var b strings.Builder
		b.WriteString(xml.Header)
		fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, c.op, c.svc.xmlns)
		if len(out) > 0 {
			writeQueryXML(&b, c.op+"Result", out)
		}
		fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", c.reqID, c.op)
		c.writeRaw(http.StatusOK, "text/xml", []byte(b.String()))
	default:
		return fmt.Errorf("reply: protocol %s has no value-tree encoding", c.proto)
	}
	return nil
}

// decodeInput decodes a JSON 1.0, CBOR or awsQuery request body into in.
func (c *call) decodeInput(in any) error {
	var tree any
	var err error
	switch c.proto {
	case protoJSON10:
		tree, err = decodeJSONInput(c.body)
	case protoCBOR:
		tree, err = decodeCBORInput(c.body)
	case protoQuery:
		tree = formTree(c.form)
	default:
		return fmt.Errorf("decodeInput: protocol %s", c.proto)
	}
	if err == nil {
		err = assign(in, tree)
	}
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Query: "MalformedInput",
			Message: fmt.Sprintf("could not read %s input: %v", c.op, err)}
	}
	return nil
}

// resolveRPC identifies the operation of an awsJson1_0, rpcv2Cbor or awsQuery request; a
// service accepts those of the three it lists.
func resolveRPC(c *call, allowed ...protocol) *apiError {
	r := c.r
	switch {
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), c.svc.target+"."):
		c.proto = protoJSON10
		c.op = strings.TrimPrefix(r.Header.Get("X-Amz-Target"), c.svc.target+".")
	case strings.HasPrefix(r.URL.Path, "/service/"):
		c.proto = protoCBOR
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/service/"), "/")
		if len(parts) != 3 || parts[0] != c.svc.target || parts[1] != "operation" {
			return &apiError{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "unknown RPCv2 path " + r.URL.Path}
		}
		if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: "Smithy-Protocol: rpc-v2-cbor header is required"}
		}
		c.op = parts[2]
	default:
		c.proto = protoQuery
		form, err := queryForm(r, c.body)
		if err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "MalformedQueryString", Message: err.Error()}
		}
		c.form = form
		c.op = form.Get("Action")
	}
	if !containsProto(allowed, c.proto) {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Query: "InvalidAction",
			Message: fmt.Sprintf("%s is not served over %s", c.svc.name, c.proto)}
	}
	if _, ok := c.svc.ops[c.op]; !ok {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Query: "InvalidAction",
			Message: fmt.Sprintf("the lab twin does not implement %s %q", c.svc.name, c.op)}
	}
	return nil
}

func containsProto(l []protocol, p protocol) bool {
	for _, e := range l {
		if e == p {
			return true
		}
	}
	return false
}

// queryForm merges the URL query and a form-encoded body, as awsQuery services accept both.
func queryForm(r *http.Request, body []byte) (url.Values, error) {
	form := r.URL.Query()
	if len(body) > 0 {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("parse form body: %w", err)
		}
		for k, v := range vals {
			form[k] = append(form[k], v...)
		}
	}
	return form, nil
}

// guessService infers the service of an unsigned request from its shape, so the refusal is in
// a format its client can parse.
func guessService(r *http.Request, body []byte) *service {
	target := r.Header.Get("X-Amz-Target")
	p := r.URL.Path
	switch {
	case strings.HasPrefix(target, "OpenSearchServerless."):
		return services[ServiceAOSS]
	case strings.HasPrefix(target, "AmazonSQS."):
		return services[ServiceSQS]
	case strings.HasPrefix(target, "AmazonSSM."):
		return services[ServiceSSM]
	case strings.HasPrefix(p, "/2021-01-01/"):
		return services[ServiceOpenSearch]
	case strings.HasPrefix(target, "GraniteServiceVersion20100801."), strings.HasPrefix(p, "/service/GraniteServiceVersion20100801/"):
		return services[ServiceCloudWatch]
	case strings.HasPrefix(p, "/api/v2/"), strings.HasPrefix(p, "/v1/clusters"), strings.HasPrefix(p, "/replication/"):
		return services[ServiceKafka]
	case strings.HasPrefix(p, "/2022-01-01/osis/"):
		return services[ServiceOSIS]
	case strings.HasPrefix(p, "/2013-04-01/"):
		return services[ServiceRoute53]
	}
	if form, err := queryForm(r, body); err == nil && form.Get("Action") != "" {
		switch form.Get("Version") {
		case "2010-08-01":
			return services[ServiceCloudWatch]
		case "2012-11-05":
			return services[ServiceSQS]
		}
	}
	return services[ServiceS3]
}

// services is filled in init because service tables refer to handler functions that in turn
// refer to services (for error shapes).
var services map[string]*service

func init() {
	services = map[string]*service{}
	for _, s := range []*service{kafkaService(), osisService(), aossService(), route53Service(), cloudwatchService(), s3Service(), sqsService(), esService(), ssmService(),
		iamService(), stsService(), serviceQuotasService()} {
		services[s.name] = s
	}
}

// segments splits an escaped URL path into unescaped segments, so an ARN label containing
// %2F stays one segment.
func segments(r *http.Request) []string {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	if raw == "" {
		return nil
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}
