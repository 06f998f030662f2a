package opensearchtwin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an error as OpenSearch's REST layer renders it. Most errors use the structured
// form {"error":{"root_cause":[..],"type":..,"reason":..},"status":N}; a few REST-layer errors
// (no handler, wrong method) use a bare string, which is why the form is selectable: clients such
// as opensearch-go pick their Go error type from the body's shape.
type apiError struct {
	status int
	typ    string
	reason string
	extra  jobj      // extra fields of the error object (index, index_uuid, resource.type, ...)
	cause  *apiError // rendered as caused_by
	root   *apiError // root cause when it is not the error itself
	// wrapper fields of search_phase_execution_exception
	phase string

	stringForm bool // {"error":"reason","status":N}
	noStatus   bool // with stringForm: {"error":"reason"}
	emptyBody  bool // no body at all
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s (caused by %s)", e.typ, e.reason, e.cause.Error())
	}
	if e.typ == "" {
		return e.reason
	}
	return e.typ + ": " + e.reason
}

// object renders the error object (the value of "error" or of "caused_by").
func (e *apiError) object(withRoot bool) jobj {
	o := jobj{}
	if withRoot {
		rc := e.root
		if rc == nil {
			rc = &apiError{typ: e.typ, reason: e.reason, extra: e.extra}
		}
		o = append(o, jkv{"root_cause", []any{rc.object(false)}})
	}
	o = append(o, jkv{"type", e.typ}, jkv{"reason", e.reason})
	o = append(o, e.extra...)
	if e.phase != "" {
		o = append(o, jkv{"phase", e.phase}, jkv{"grouped", true})
		if e.root != nil {
			o = append(o, jkv{"failed_shards", []any{jobj{
				{"shard", 0}, {"index", e.root.indexName()}, {"node", "twin-node-0"}, {"reason", e.root.object(false)},
			}}})
		}
	}
	if e.cause != nil {
		o = append(o, jkv{"caused_by", e.cause.object(false)})
	}
	return o
}

func (e *apiError) indexName() any {
	for _, kv := range e.extra {
		if kv.K == "index" {
			return kv.V
		}
	}
	return nil
}

func (e *apiError) body() []byte {
	if e.emptyBody {
		return nil
	}
	var v any
	switch {
	case e.stringForm && e.noStatus:
		v = jobj{{"error", e.reason}}
	case e.stringForm:
		v = jobj{{"error", e.reason}, {"status", e.status}}
	default:
		v = jobj{{"error", e.object(true)}, {"status", e.status}}
	}
	b, err := json.Marshal(v)
	if err != nil { // only plain strings and numbers inside: cannot happen
		return []byte(`{"error":"internal"}`)
	}
	return b
}

func newErr(status int, typ, reason string) *apiError {
	return &apiError{status: status, typ: typ, reason: reason}
}

func errBadRequest(typ, format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, typ, fmt.Sprintf(format, args...))
}

func errIllegalArg(format string, args ...any) *apiError {
	return errBadRequest("illegal_argument_exception", format, args...)
}

func errParsing(format string, args ...any) *apiError {
	return errBadRequest("parsing_exception", format, args...)
}

// errValidation mirrors ActionRequestValidationException's message format.
func errValidation(msgs ...string) *apiError {
	var b strings.Builder
	b.WriteString("Validation Failed: ")
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d: %s;", i+1, m)
	}
	return newErr(http.StatusBadRequest, "action_request_validation_exception", b.String())
}

func errIndexNotFound(name string) *apiError {
	e := newErr(http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
	e.extra = jobj{{"index", name}, {"resource.type", "index_or_alias"}, {"resource.id", name}, {"index_uuid", "_na_"}}
	return e
}

// errSearchPhase wraps a shard-level failure the way a search with every shard failing reports it.
func errSearchPhase(inner *apiError) *apiError {
	return &apiError{
		status: inner.status, typ: "search_phase_execution_exception", reason: "all shards failed",
		phase: "query", root: inner, cause: inner,
	}
}

// errUnavailable is what a domain without an elected cluster manager answers; the twin uses it
// for every request while impaired so clients see a real-shaped 503 they retry.
func errUnavailable() *apiError {
	return newErr(http.StatusServiceUnavailable, "cluster_block_exception",
		"blocked by: [SERVICE_UNAVAILABLE/2/no cluster-manager];")
}

func errNoHandler(method, uri string) *apiError {
	return &apiError{status: http.StatusBadRequest, stringForm: true, noStatus: true,
		reason: fmt.Sprintf("no handler found for uri [%s] and method [%s]", uri, method)}
}

func errMethod(method, uri string, allowed ...string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, stringForm: true,
		reason: fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]", uri, method, strings.Join(allowed, ", "))}
}

// errServerlessUnsupported answers an API OpenSearch Serverless does not offer. AOSS answers 404
// for those; the body here is an assumption (UNVERIFIED), see the package documentation.
func errServerlessUnsupported(method, uri string) *apiError {
	return newErr(http.StatusNotFound, "resource_not_found_exception",
		fmt.Sprintf("Request for uri [%s] with method [%s] is not supported by OpenSearch Serverless", uri, method))
}

// jkv is one member of an ordered JSON object.
type jkv struct {
	K string
	V any
}

// jobj is a JSON object that keeps its member order, because OpenSearch's responses are read by
// humans in the lab as often as by clients, and familiar ordering makes diffs against real
// responses easy.
type jobj []jkv

func (o jobj) MarshalJSON() ([]byte, error) {
	return appendJSON(nil, o)
}

// appendJSON appends v as encoding/json would encode it, byte for byte, without reflection for
// the types responses are built from (a 60,000-bucket histogram is a million of them); other
// types go through encoding/json.
func appendJSON(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case jobj:
		dst = append(dst, '{')
		for i, kv := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONStringStd(dst, kv.K)
			dst = append(dst, ':')
			if dst, err = appendJSON(dst, kv.V); err != nil {
				return nil, fmt.Errorf("marshal value of %q: %w", kv.K, err)
			}
		}
		return append(dst, '}'), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSON(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case string:
		return appendJSONStringStd(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case jfloat:
		return appendJFloat(dst, float64(x)), nil
	case rawJSON:
		return append(dst, x...), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendJSONBytesStd is appendJSONStringStd for text held in a byte slice.
func appendJSONBytesStd(dst []byte, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONStringStd(dst, string(s))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendJSONStringStd appends s as encoding/json encodes it (which escapes <, > and & too):
// plain text directly, anything else through encoding/json.
func appendJSONStringStd(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// rawJSON is a value already rendered as JSON (compact, as encoding/json would write it).
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// jfloat is a double rendered the way Java prints it (1.0 rather than 1), matching OpenSearch's
// output for scores and metric values.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	return appendJFloat(nil, float64(f)), nil
}

func appendJFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if !bytes.ContainsAny(dst[start:], ".eEn") {
		dst = append(dst, '.', '0')
	}
	return dst
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			switch c {
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func mustJSON(v any) []byte {
	b, err := appendJSON(nil, v)
	if err != nil {
		// Response values are built from strings, numbers and the ordered types above; a
		// failure here is a programming error worth surfacing loudly in the lab.
		panic(fmt.Sprintf("opensearchtwin: marshal response: %v", err))
	}
	return b
}
