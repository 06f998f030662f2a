// Package awsmodel checks HTTP responses against AWS's published API models: the Smithy JSON
// AST documents the AWS SDKs are generated from. It exists for the lab's tests. The lab twins
// AWS over HTTP, and it was written by the same hands as the activities that call it, so a
// member name the two agree on can still be one AWS never sends. Checking the lab's raw
// responses against AWS's own model catches that where the SDK would not: the SDK silently
// ignores members it does not know and accepts any string for an enum.
//
// What a check covers, per protocol (restJson1, awsJson1_0/1_1, rpcv2Cbor, restXml, awsQuery):
// every member present is one the model defines for that shape, under the name the protocol
// uses (jsonName for restJson1, xmlName in XML, the member name elsewhere); required members
// are present; enum and intEnum values (and the older @enum trait) are legal; each value has
// its shape's type (string, boolean, integer ranges, floats, blobs, timestamps in the
// protocol's format, lists, maps, structures, unions with exactly one member set); and output
// members bound to HTTP headers, when present, have their shape's type. Length, range and
// pattern constraints are not checked.
package awsmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Model is a Smithy JSON AST model, whole or trimmed with [Trim].
type Model struct {
	shapes  map[string]*Shape
	service string // shape ID of the service
}

// Shape is one shape of the AST.
type Shape struct {
	Type    string                     `json:"type"`
	Members map[string]*Member         `json:"members,omitempty"`
	Member  *Member                    `json:"member,omitempty"`
	Key     *Member                    `json:"key,omitempty"`
	Value   *Member                    `json:"value,omitempty"`
	Output  *Member                    `json:"output,omitempty"`
	Traits  map[string]json.RawMessage `json:"traits,omitempty"`
}

// Member is a member of a structure, union, enum, list or map, or an operation's output
// reference.
type Member struct {
	Target string                     `json:"target"`
	Traits map[string]json.RawMessage `json:"traits,omitempty"`
}

type astFile struct {
	Smithy string            `json:"smithy"`
	Shapes map[string]*Shape `json:"shapes"`
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes a Smithy JSON AST document holding exactly one service shape.
func Parse(b []byte) (*Model, error) {
	var f astFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode Smithy JSON AST: %w", err)
	}
	if !strings.HasPrefix(f.Smithy, "2") && !strings.HasPrefix(f.Smithy, "1") {
		return nil, fmt.Errorf("unsupported Smithy AST version %q", f.Smithy)
	}
	m := &Model{shapes: f.Shapes}
	for id, s := range f.Shapes {
		if s.Type == "service" {
			if m.service != "" {
				return nil, fmt.Errorf("more than one service shape (%s, %s)", m.service, id)
			}
			m.service = id
		}
	}
	if m.service == "" {
		return nil, fmt.Errorf("no service shape")
	}
	return m, nil
}

// Service returns the service shape's ID, e.g. com.amazonaws.kafka#Kafka.
func (m *Model) Service() string { return m.service }

// Namespace returns the service's namespace, e.g. com.amazonaws.kafka.
func (m *Model) Namespace() string {
	ns, _, _ := strings.Cut(m.service, "#")
	return ns
}

// Protocols returns the protocol traits of the service, e.g. aws.protocols#restJson1.
func (m *Model) Protocols() []Protocol {
	var out []Protocol
	for t := range m.shapes[m.service].Traits {
		switch p := Protocol(t); p {
		case RestJSON1, AWSJSON10, AWSJSON11, RPCv2CBOR, RestXML, AWSQuery:
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Operations returns the names of the operation shapes the model holds.
func (m *Model) Operations() []string {
	var out []string
	for id, s := range m.shapes {
		if s.Type == "operation" {
			_, name, _ := strings.Cut(id, "#")
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (m *Model) operation(name string) (*Shape, error) {
	op := m.shapes[m.Namespace()+"#"+name]
	if op == nil || op.Type != "operation" {
		return nil, fmt.Errorf("the model of %s has no operation %s", m.service, name)
	}
	return op, nil
}

// preludeTypes maps Smithy's prelude shapes to their types.
var preludeTypes = map[string]string{
	"String": "string", "Blob": "blob", "BigInteger": "bigInteger", "BigDecimal": "bigDecimal",
	"Timestamp": "timestamp", "Document": "document", "Boolean": "boolean", "PrimitiveBoolean": "boolean",
	"Byte": "byte", "PrimitiveByte": "byte", "Short": "short", "PrimitiveShort": "short",
	"Integer": "integer", "PrimitiveInteger": "integer", "Long": "long", "PrimitiveLong": "long",
	"Float": "float", "PrimitiveFloat": "float", "Double": "double", "PrimitiveDouble": "double",
	"Unit": "structure",
}

// resolve returns the shape a member targets; prelude shapes get a trait-less stand-in.
func (m *Model) resolve(target string) (*Shape, error) {
	if s, ok := m.shapes[target]; ok {
		return s, nil
	}
	if name, ok := strings.CutPrefix(target, "smithy.api#"); ok {
		if t, ok := preludeTypes[name]; ok {
			return &Shape{Type: t}, nil
		}
	}
	return nil, fmt.Errorf("the model has no shape %s", target)
}

func hasTrait(traits map[string]json.RawMessage, name string) bool {
	_, ok := traits[name]
	return ok
}

// stringTrait returns a trait whose value is a JSON string (jsonName, xmlName, ...).
func stringTrait(traits map[string]json.RawMessage, name string) string {
	raw, ok := traits[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Optional removes the required trait from a member of a structure: for the few members a
// model marks required that the service is known to leave out, so that a checker following
// the service does not fail on the model's error. Callers should say why, with a source.
func (m *Model) Optional(shapeID, member string) error {
	s := m.shapes[shapeID]
	if s == nil || s.Members[member] == nil {
		return fmt.Errorf("the model has no member %s$%s", shapeID, member)
	}
	if !hasTrait(s.Members[member].Traits, "smithy.api#required") {
		return fmt.Errorf("%s$%s is not required in the model", shapeID, member)
	}
	delete(s.Members[member].Traits, "smithy.api#required")
	return nil
}
