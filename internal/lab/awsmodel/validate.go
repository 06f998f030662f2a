package awsmodel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Protocol is a Smithy protocol, named by its trait's shape ID.
type Protocol string

// The protocols AWS services speak.
const (
	RestJSON1 Protocol = "aws.protocols#restJson1"
	AWSJSON10 Protocol = "aws.protocols#awsJson1_0"
	AWSJSON11 Protocol = "aws.protocols#awsJson1_1"
	RPCv2CBOR Protocol = "smithy.protocols#rpcv2Cbor"
	RestXML   Protocol = "aws.protocols#restXml"
	AWSQuery  Protocol = "aws.protocols#awsQuery"
)

// Response is what a service answered to one call: its headers and its raw body.
type Response struct {
	Header http.Header
	Body   []byte
}

// CheckOutput checks a successful response of operation, spoken in protocol p, against the
// operation's output shape. The error lists every problem found, each with the path of the
// value it concerns (e.g. DescribeReplicator: replicationInfoList[0].replicatorState).
func (m *Model) CheckOutput(operation string, p Protocol, r Response) error {
	if !m.speaks(p) {
		return fmt.Errorf("%s does not speak %s; its model declares %v", m.service, p, m.Protocols())
	}
	op, err := m.operation(operation)
	if err != nil {
		return err
	}
	out := &Shape{Type: "structure"}
	if op.Output != nil && op.Output.Target != "smithy.api#Unit" {
		if out, err = m.resolve(op.Output.Target); err != nil {
			return err
		}
	}
	c := &checker{m: m, p: p}
	c.output(operation, op, out, r)
	if len(c.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s response does not match the model (%s):\n  %s", m.shortService(), operation, p, strings.Join(c.problems, "\n  "))
}

func (m *Model) speaks(p Protocol) bool {
	_, ok := m.shapes[m.service].Traits[string(p)]
	return ok
}

func (m *Model) shortService() string {
	_, name, _ := strings.Cut(m.service, "#")
	return name
}

type checker struct {
	m        *Model
	p        Protocol
	problems []string
}

func (c *checker) addf(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

func (c *checker) rest() bool { return c.p == RestJSON1 || c.p == RestXML }

// bodyMember reports whether an output member travels in the body: in the REST protocols,
// members bound to headers or to the status code do not, nor does the payload member, whose
// value is the body itself.
func (c *checker) bodyMember(mem *Member) bool {
	if !c.rest() {
		return true
	}
	for _, t := range []string{"smithy.api#httpHeader", "smithy.api#httpPrefixHeaders", "smithy.api#httpResponseCode", "smithy.api#httpPayload"} {
		if hasTrait(mem.Traits, t) {
			return false
		}
	}
	return true
}

func (c *checker) output(operation string, op, out *Shape, r Response) {
	if c.rest() {
		c.headers(operation, out, r.Header)
		for _, name := range sortedMembers(out) {
			mem := out.Members[name]
			if !hasTrait(mem.Traits, "smithy.api#httpPayload") {
				continue
			}
			ps, err := c.m.resolve(mem.Target)
			if err != nil {
				c.addf(operation, "%v", err)
				return
			}
			if ps.Type != "structure" && ps.Type != "union" {
				return // a blob or string payload is the body as is
			}
			c.body(operation, operation, &Member{Target: mem.Target}, ps, r.Body, func(*Member) bool { return true }, xmlRootNames(name, mem, ps))
			return
		}
	}
	c.body(operation, operation, op.Output, out, r.Body, c.bodyMember, xmlRootNames("", nil, out))
}

// xmlRootNames are the names restXml allows for the root element of a body of shape s.
func xmlRootNames(memberName string, mem *Member, s *Shape) []string {
	var names []string
	if mem != nil {
		names = append(names, stringTrait(mem.Traits, "smithy.api#xmlName"), memberName)
	}
	return append(names, stringTrait(s.Traits, "smithy.api#xmlName"))
}

func (c *checker) body(operation, path string, ref *Member, s *Shape, body []byte, include func(*Member) bool, xmlRoots []string) {
	switch c.p {
	case RestJSON1, AWSJSON10, AWSJSON11:
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			c.addf(path, "body is not JSON: %v", err)
			return
		}
		if dec.More() {
			c.addf(path, "body has data after its JSON value")
		}
		c.structure(path, s, v, include)
	case RPCv2CBOR:
		if len(body) == 0 {
			c.structure(path, s, map[string]any{}, include)
			return
		}
		v, err := cbor.Decode(body)
		if err != nil {
			c.addf(path, "body is not CBOR: %v", err)
			return
		}
		c.structure(path, s, fromCBOR(v), include)
	case RestXML, AWSQuery:
		c.xmlBody(operation, path, ref, s, body, include, xmlRoots)
	default:
		c.addf(path, "protocol %s is not supported", c.p)
	}
}

// ---- JSON and CBOR ----

// CBOR values are converted to the shapes encoding/json produces, with these types keeping
// what JSON cannot say.
type (
	cborInt struct {
		neg bool
		abs uint64 // for negatives, -1 - value, as CBOR encodes them
	}
	cborFloat float64
	cborTag   struct {
		id  uint64
		val any
	}
)

func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(t)
	case cbor.Uint:
		return cborInt{abs: uint64(t)}
	case cbor.NegInt:
		return cborInt{neg: true, abs: uint64(t)}
	case cbor.Float32:
		return cborFloat(t)
	case cbor.Float64:
		return cborFloat(t)
	case cbor.Bool:
		return bool(t)
	case cbor.Slice:
		return []byte(t)
	case *cbor.Tag:
		return cborTag{id: t.ID, val: fromCBOR(t.Value)}
	case *cbor.Nil, *cbor.Undefined, nil:
		return nil
	}
	return fmt.Sprintf("<CBOR %T>", v)
}

func (c *checker) wireName(name string, mem *Member) string {
	if c.p == RestJSON1 {
		if j := stringTrait(mem.Traits, "smithy.api#jsonName"); j != "" {
			return j
		}
	}
	return name
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, cborFloat, cborInt:
		return "a number"
	case bool:
		return "a boolean"
	case []byte:
		return "a byte string"
	case cborTag:
		return "a tagged value"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func sortedMembers(s *Shape) []string {
	names := make([]string, 0, len(s.Members))
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// structure checks an object against a structure or union shape; include selects the members
// that may appear (all but HTTP-bound ones at the top of a REST response).
func (c *checker) structure(path string, s *Shape, v any, include func(*Member) bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.addf(path, "is %s, the model says %s", kind(v), s.Type)
		return
	}
	byWire := map[string]string{}
	var defined []string
	for _, name := range sortedMembers(s) {
		mem := s.Members[name]
		if include != nil && !include(mem) {
			continue
		}
		w := c.wireName(name, mem)
		byWire[w] = name
		defined = append(defined, w)
	}
	set := 0
	for _, k := range sortedKeys(obj) {
		val := obj[k]
		name, ok := byWire[k]
		if !ok {
			if s.Type == "union" && k == "__type" {
				continue // unions may carry __type, which clients ignore
			}
			c.addf(path, "member %q is not in the model (it defines %s)", k, strings.Join(defined, ", "))
			continue
		}
		if val == nil {
			c.addf(join(path, k), "is null; AWS leaves an unset member out")
			continue
		}
		set++
		c.value(join(path, k), s.Members[name], val)
	}
	for _, w := range defined {
		if mem := s.Members[byWire[w]]; hasTrait(mem.Traits, "smithy.api#required") && obj[w] == nil {
			c.addf(path, "required member %q is missing", w)
		}
	}
	if s.Type == "union" && set != 1 {
		c.addf(path, "a union has exactly one member set, this has %d", set)
	}
}

func join(path, k string) string { return path + "." + k }

func (c *checker) value(path string, mem *Member, v any) {
	s, err := c.m.resolve(mem.Target)
	if err != nil {
		c.addf(path, "%v", err)
		return
	}
	switch s.Type {
	case "structure", "union":
		c.structure(path, s, v, nil)
	case "list", "set":
		arr, ok := v.([]any)
		if !ok {
			c.addf(path, "is %s, the model says list", kind(v))
			return
		}
		for i, e := range arr {
			p := fmt.Sprintf("%s[%d]", path, i)
			if e == nil {
				if !hasTrait(s.Traits, "smithy.api#sparse") {
					c.addf(p, "is null in a list that is not sparse")
				}
				continue
			}
			c.value(p, s.Member, e)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			c.addf(path, "is %s, the model says map", kind(v))
			return
		}
		for _, k := range sortedKeys(obj) {
			p := fmt.Sprintf("%s[%q]", path, k)
			c.value(p+" (key)", s.Key, k)
			if obj[k] == nil {
				if !hasTrait(s.Traits, "smithy.api#sparse") {
					c.addf(p, "is null in a map that is not sparse")
				}
				continue
			}
			c.value(p, s.Value, obj[k])
		}
	case "string", "enum":
		str, ok := v.(string)
		if !ok {
			c.addf(path, "is %s, the model says %s", kind(v), s.Type)
			return
		}
		c.enum(path, s, str)
	case "intEnum":
		n, ok := c.integer(path, "integer", v)
		if ok {
			c.intEnum(path, s, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.addf(path, "is %s, the model says boolean", kind(v))
		}
	case "byte", "short", "integer", "long":
		c.integer(path, s.Type, v)
	case "float", "double", "bigDecimal":
		switch t := v.(type) {
		case json.Number, cborFloat, cborInt:
		case string:
			if c.p == RPCv2CBOR || (t != "NaN" && t != "Infinity" && t != "-Infinity") {
				c.addf(path, "is the string %q, the model says %s", t, s.Type)
			}
		default:
			c.addf(path, "is %s, the model says %s", kind(v), s.Type)
		}
	case "bigInteger":
		c.integer(path, "long", v)
	case "blob":
		switch t := v.(type) {
		case []byte:
			if c.p != RPCv2CBOR {
				c.addf(path, "is a byte string, which %s cannot carry", c.p)
			}
		case string:
			if c.p == RPCv2CBOR {
				c.addf(path, "is a text string, a CBOR blob is a byte string")
			} else if _, err := base64.StdEncoding.DecodeString(t); err != nil {
				c.addf(path, "is not base64, the model says blob")
			}
		default:
			c.addf(path, "is %s, the model says blob", kind(v))
		}
	case "timestamp":
		c.timestamp(path, mem, s, v)
	case "document":
	default:
		c.addf(path, "shape type %q is not supported by this checker", s.Type)
	}
}

var intRanges = map[string][2]int64{
	"byte": {math.MinInt8, math.MaxInt8}, "short": {math.MinInt16, math.MaxInt16},
	"integer": {math.MinInt32, math.MaxInt32}, "long": {math.MinInt64, math.MaxInt64},
}

func (c *checker) integer(path, typ string, v any) (int64, bool) {
	var n int64
	switch t := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			c.addf(path, "is %s, the model says %s (a whole number)", t, typ)
			return 0, false
		}
		n = i
	case cborInt:
		if t.abs > math.MaxInt64 {
			c.addf(path, "is out of the range of %s", typ)
			return 0, false
		}
		n = int64(t.abs)
		if t.neg {
			n = -1 - n
		}
	default:
		c.addf(path, "is %s, the model says %s", kind(v), typ)
		return 0, false
	}
	if r := intRanges[typ]; n < r[0] || n > r[1] {
		c.addf(path, "%d is out of the range of %s", n, typ)
		return n, false
	}
	return n, true
}

// enumValues returns the legal values of an enum shape, or of a string shape with the
// (Smithy 1.0) @enum trait; nil means any string.
func enumValues(s *Shape) []string {
	var vals []string
	switch {
	case s.Type == "enum":
		for _, name := range sortedMembers(s) {
			v := stringTrait(s.Members[name].Traits, "smithy.api#enumValue")
			if v == "" {
				v = name
			}
			vals = append(vals, v)
		}
	case hasTrait(s.Traits, "smithy.api#enum"):
		var defs []struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(s.Traits["smithy.api#enum"], &defs) == nil {
			for _, d := range defs {
				vals = append(vals, d.Value)
			}
		}
	}
	return vals
}

func (c *checker) enum(path string, s *Shape, v string) {
	vals := enumValues(s)
	if vals == nil {
		return
	}
	for _, ok := range vals {
		if v == ok {
			return
		}
	}
	c.addf(path, "%q is not a value of the enum (%s)", v, strings.Join(vals, ", "))
}

func (c *checker) intEnum(path string, s *Shape, v int64) {
	var vals []string
	for _, name := range sortedMembers(s) {
		var n int64
		if json.Unmarshal(s.Members[name].Traits["smithy.api#enumValue"], &n) == nil {
			if n == v {
				return
			}
			vals = append(vals, strconv.FormatInt(n, 10))
		}
	}
	c.addf(path, "%d is not a value of the intEnum (%s)", v, strings.Join(vals, ", "))
}

// timestampFormat is the format a timestamp takes in a protocol: the member's or the shape's
// timestampFormat trait, else the protocol's default for where it travels.
func (c *checker) timestampFormat(mem *Member, s *Shape, def string) string {
	if f := stringTrait(mem.Traits, "smithy.api#timestampFormat"); f != "" {
		return f
	}
	if f := stringTrait(s.Traits, "smithy.api#timestampFormat"); f != "" {
		return f
	}
	return def
}

func (c *checker) timestamp(path string, mem *Member, s *Shape, v any) {
	if c.p == RPCv2CBOR {
		// rpcv2Cbor ignores timestampFormat: always tag 1 over epoch seconds.
		t, ok := v.(cborTag)
		if !ok || t.id != 1 {
			c.addf(path, "is %s, an rpcv2Cbor timestamp is tag 1 over epoch seconds", kind(v))
			return
		}
		switch t.val.(type) {
		case cborInt, cborFloat:
		default:
			c.addf(path, "tag 1 holds %s, not epoch seconds", kind(t.val))
		}
		return
	}
	f := c.timestampFormat(mem, s, "epoch-seconds")
	switch f {
	case "epoch-seconds":
		if _, ok := v.(json.Number); !ok {
			c.addf(path, "is %s, the model says a timestamp in epoch seconds (a number)", kind(v))
		}
	default:
		str, ok := v.(string)
		if !ok {
			c.addf(path, "is %s, the model says a %s timestamp (a string)", kind(v), f)
			return
		}
		if err := parseTimestamp(f, str); err != nil {
			c.addf(path, "%v", err)
		}
	}
}

func parseTimestamp(format, s string) error {
	var err error
	switch format {
	case "date-time":
		_, err = time.Parse(time.RFC3339Nano, s)
	case "http-date":
		_, err = time.Parse(http.TimeFormat, s)
	case "epoch-seconds":
		_, err = strconv.ParseFloat(s, 64)
	default:
		return fmt.Errorf("unknown timestamp format %q", format)
	}
	if err != nil {
		return fmt.Errorf("%q is not a %s timestamp", s, format)
	}
	return nil
}

// ---- headers ----

func (c *checker) headers(path string, out *Shape, h http.Header) {
	for _, name := range sortedMembers(out) {
		mem := out.Members[name]
		hn := stringTrait(mem.Traits, "smithy.api#httpHeader")
		if hn == "" {
			continue
		}
		vals := h.Values(hn)
		p := fmt.Sprintf("%s header %s", path, hn)
		if len(vals) == 0 {
			if hasTrait(mem.Traits, "smithy.api#required") {
				c.addf(p, "required member %q (a header) is missing", name)
			}
			continue
		}
		s, err := c.m.resolve(mem.Target)
		if err != nil {
			c.addf(p, "%v", err)
			continue
		}
		c.text(p, mem, s, strings.Join(vals, ", "), "http-date")
	}
}

// text checks a scalar written as text (a header or an XML element); tsDefault is the
// timestamp format where it travels.
func (c *checker) text(path string, mem *Member, s *Shape, v, tsDefault string) {
	switch s.Type {
	case "string", "enum":
		c.enum(path, s, v)
	case "boolean":
		if v != "true" && v != "false" {
			c.addf(path, "%q is not a boolean", v)
		}
	case "byte", "short", "integer", "long", "bigInteger", "intEnum":
		typ := s.Type
		if typ == "intEnum" {
			typ = "integer"
		} else if typ == "bigInteger" {
			typ = "long"
		}
		n, ok := c.integer(path, typ, json.Number(strings.TrimSpace(v)))
		if ok && s.Type == "intEnum" {
			c.intEnum(path, s, n)
		}
	case "float", "double", "bigDecimal":
		if _, err := strconv.ParseFloat(v, 64); err != nil && v != "NaN" && v != "Infinity" && v != "-Infinity" {
			c.addf(path, "%q is not a number", v)
		}
	case "timestamp":
		if err := parseTimestamp(c.timestampFormat(mem, s, tsDefault), v); err != nil {
			c.addf(path, "%v", err)
		}
	case "blob":
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			c.addf(path, "is not base64, the model says blob")
		}
	case "list", "set":
		item, err := c.m.resolve(s.Member.Target)
		if err != nil {
			c.addf(path, "%v", err)
			return
		}
		for i, part := range strings.Split(v, ",") {
			c.text(fmt.Sprintf("%s[%d]", path, i), s.Member, item, strings.TrimSpace(part), tsDefault)
		}
	default:
		c.addf(path, "a %s cannot be written as text", s.Type)
	}
}
