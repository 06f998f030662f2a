package awsmodel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// droppedTraits are traits [Trim] leaves out: prose, examples and endpoint rules, which are
// most of a model's bytes and none of its response shapes.
var droppedTraits = []string{
	"smithy.api#documentation", "smithy.api#examples", "smithy.api#externalDocumentation",
	"smithy.api#suppress", "smithy.rules#", "smithy.test#", "smithy.waiters#", "aws.cloudformation#",
}

func keepTrait(name string) bool {
	for _, d := range droppedTraits {
		if name == d || (strings.HasSuffix(d, "#") && strings.HasPrefix(name, d)) {
			return false
		}
	}
	return true
}

// Trim reduces a Smithy JSON AST document to what checking the outputs of the named
// operations needs: the service shape (its protocol and service traits, the operations listed
// directly), those operations with their outputs only (no inputs or errors), and every shape
// reachable from the outputs, without documentation, examples or endpoint rules. The result is
// still a Smithy JSON AST document; keys come out sorted, so trimming the same model twice
// gives the same bytes.
func Trim(doc []byte, operations []string) ([]byte, error) {
	var ast struct {
		Smithy string                    `json:"smithy"`
		Shapes map[string]map[string]any `json:"shapes"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&ast); err != nil {
		return nil, fmt.Errorf("decode Smithy JSON AST: %w", err)
	}
	var serviceID string
	for id, s := range ast.Shapes {
		if s["type"] == "service" {
			serviceID = id
		}
	}
	if serviceID == "" {
		return nil, fmt.Errorf("no service shape")
	}
	ns, _, _ := strings.Cut(serviceID, "#")
	kept := map[string]any{}

	svc := ast.Shapes[serviceID]
	var opRefs []any
	ops := append([]string(nil), operations...)
	sort.Strings(ops)
	var queue []string
	for _, name := range ops {
		id := ns + "#" + name
		op, ok := ast.Shapes[id]
		if !ok || op["type"] != "operation" {
			return nil, fmt.Errorf("no operation %s", id)
		}
		opRefs = append(opRefs, map[string]any{"target": id})
		t := map[string]any{"type": "operation"}
		if out, ok := op["output"].(map[string]any); ok {
			t["output"] = out
			queue = append(queue, out["target"].(string))
		}
		if tr := trimTraits(op["traits"]); tr != nil {
			t["traits"] = tr
		}
		kept[id] = t
	}
	s := map[string]any{"type": "service", "operations": opRefs}
	if v, ok := svc["version"]; ok {
		s["version"] = v
	}
	if tr := trimTraits(svc["traits"]); tr != nil {
		s["traits"] = tr
	}
	kept[serviceID] = s

	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if _, done := kept[id]; done || strings.HasPrefix(id, "smithy.api#") {
			continue
		}
		shape, ok := ast.Shapes[id]
		if !ok {
			return nil, fmt.Errorf("shape %s is referenced but not defined", id)
		}
		if _, ok := shape["mixins"]; ok {
			return nil, fmt.Errorf("shape %s uses mixins, which Trim does not flatten", id)
		}
		t := map[string]any{}
		for k, v := range shape {
			switch k {
			case "traits":
				if tr := trimTraits(v); tr != nil {
					t[k] = tr
				}
			case "members":
				members := map[string]any{}
				for name, m := range v.(map[string]any) {
					members[name] = trimMember(m, &queue)
				}
				t[k] = members
			case "member", "key", "value":
				t[k] = trimMember(v, &queue)
			default:
				t[k] = v
			}
		}
		kept[id] = t
	}
	out, err := json.MarshalIndent(map[string]any{"smithy": ast.Smithy, "shapes": kept}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode trimmed model: %w", err)
	}
	return append(out, '\n'), nil
}

func trimMember(v any, queue *[]string) any {
	m := v.(map[string]any)
	out := map[string]any{"target": m["target"]}
	if target, ok := m["target"].(string); ok {
		*queue = append(*queue, target)
	}
	if tr := trimTraits(m["traits"]); tr != nil {
		out["traits"] = tr
	}
	return out
}

func trimTraits(v any) map[string]any {
	traits, _ := v.(map[string]any)
	out := map[string]any{}
	for k, t := range traits {
		if keepTrait(k) {
			out[k] = t
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
