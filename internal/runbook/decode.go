package runbook

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The loader decodes from yaml.Node instead of using yaml.Decoder.KnownFields: KnownFields stops at
// the first unknown field and yaml.v3 silently converts scalars (an int into a string field), while
// a runbook author needs every problem at once, each at its line and column.
//
// The rules, applied to every model type by reflection over the yaml tags:
//   - an unknown key is an error, with a "did you mean" suggestion;
//   - a key given twice in one mapping is an error;
//   - a field whose yaml tag has no omitempty is required;
//   - scalars must have the field's type: a string field takes a string (not 3 or true), an int
//     field an integer, a bool field true or false, a Duration a Go duration string;
//   - fields of type any (with: values, param defaults) take any YAML value, converted to the plain
//     Go values JSON would give (string, int, float64, bool, nil, []any, map[string]any);
//   - expression fields (exprFields) take any scalar as its source text, so `if: false` works;
//   - null means "not set", except that `approval:` or `parallel:` with nothing after it still
//     marks the step's kind, so the author is told what the kind needs rather than that it has none.
//
// Positions of every key and value are kept in a posTable for the validator.

// fieldPos is where a key and its value were written. Bad marks a value that failed to decode:
// the field counts as written (so a step with a bad `steps:` still has a kind) but not as set, so
// that the validator does not pile a second message onto the decoder's.
type fieldPos struct {
	Key, Val Pos
	Bad      bool
}

// posTable maps a decoded struct to the positions of its keys. Structs are identified by pointer
// (slice elements and pointer fields keep their address), except struct values stored in maps
// (Environment.Regions), which are copied into the map: those are identified by an entryKey. The
// key "" holds the position of the struct's own mapping; map entries are stored as "field.key" and
// list elements as "field[i]".
type posTable map[any]map[string]fieldPos

// entryKey identifies a struct that has no stable address: the value of map entry or field name
// of the struct identified by parent.
type entryKey struct {
	parent any
	name   string
}

func (t posTable) set(owner any, name string, fp fieldPos) {
	m := t[owner]
	if m == nil {
		m = map[string]fieldPos{}
		t[owner] = m
	}
	m[name] = fp
}

// has reports whether the key was written in the source with a value that decoded.
func (t posTable) has(owner any, name string) bool {
	fp, ok := t[owner][name]
	return ok && !fp.Bad
}

// written reports whether the key was written in the source, even with a bad value.
func (t posTable) written(owner any, name string) bool {
	_, ok := t[owner][name]
	return ok
}

// unknownKey marks, in a struct's posTable entry, that the mapping had an unknown key.
const unknownKey = "\x00unknown"

// val returns the position of a value, falling back to the owner's mapping.
func (t posTable) val(owner any, name string) Pos {
	if fp, ok := t[owner][name]; ok {
		return fp.Val
	}
	return t[owner][""].Val
}

// key returns the position of a key, falling back to the owner's mapping.
func (t posTable) key(owner any, name string) Pos {
	if fp, ok := t[owner][name]; ok {
		return fp.Key
	}
	return t[owner][""].Val
}

var (
	posType      = reflect.TypeFor[Pos]()
	durationType = reflect.TypeFor[Duration]()
	anyType      = reflect.TypeFor[any]()
)

// typeLabels name model types in messages ("unknown field "acton" in step").
var typeLabels = map[reflect.Type]string{
	reflect.TypeFor[Runbook]():     "runbook",
	reflect.TypeFor[Param]():       "param",
	reflect.TypeFor[Step]():        "step",
	reflect.TypeFor[Retry]():       "retry",
	reflect.TypeFor[WaitUntil]():   "wait_until",
	reflect.TypeFor[Approval]():    "approval",
	reflect.TypeFor[Notify]():      "notify",
	reflect.TypeFor[Environment](): "environment",
	reflect.TypeFor[OpenSearch]():  "opensearch",
	reflect.TypeFor[Traffic]():     "traffic",
	reflect.TypeFor[Zonal]():       "zonal",
	reflect.TypeFor[Slack]():       "slack",
}

// exprFields are string fields holding a bare expression; they accept any scalar (`if: false`).
var exprFields = map[string]bool{"Step.if": true, "Approval.auto_approve_if": true, "Runbook.target_region": true}

// modelField is one yaml-visible field of a model struct.
type modelField struct {
	Name     string
	Index    int
	Type     reflect.Type
	Required bool
}

var fieldCache sync.Map // reflect.Type -> []modelField

// fieldsOf lists the yaml fields of a model struct in declaration order.
func fieldsOf(t reflect.Type) []modelField {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]modelField)
	}
	var out []modelField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		if !sf.IsExported() || tag == "-" || sf.Type == posType {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, modelField{Name: name, Index: i, Type: sf.Type, Required: !strings.Contains(opts, "omitempty")})
	}
	fieldCache.Store(t, out)
	return out
}

type decoder struct {
	file string
	errs *ErrorList
	pos  posTable
}

func (d *decoder) at(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return fmt.Sprintf("string %q", n.Value)
	case "!!int":
		return "int " + n.Value
	case "!!float":
		return "number " + n.Value
	case "!!bool":
		return "bool " + n.Value
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
}

// mappingPairs checks that n is a mapping with string keys and no duplicates and returns its
// key/value pairs. where names the mapping in messages.
func (d *decoder) mappingPairs(n *yaml.Node, where string) [][2]*yaml.Node {
	first := map[string]*yaml.Node{}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!merge") {
			d.errs.add(d.at(k), "%s: keys must be strings, got %s", where, describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errs.add(d.at(k), "%s: merge keys (<<) are not supported; write the fields out", where)
			continue
		}
		if prev, dup := first[k.Value]; dup {
			d.errs.add(d.at(k), "duplicate key %q in %s (first at %s)", k.Value, where, short(d.at(prev)))
			continue
		}
		first[k.Value] = k
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// decodeStruct decodes mapping n into the struct v. label names the struct in messages and owner
// identifies it in the posTable.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, label string, owner any) bool {
	n = resolve(n)
	d.pos.set(owner, "", fieldPos{Key: d.at(n), Val: d.at(n)})
	if f := v.FieldByName("Pos"); f.IsValid() && f.Type() == posType {
		f.Set(reflect.ValueOf(d.at(n)))
	}
	if n.Kind != yaml.MappingNode && !isNull(n) {
		d.errs.add(d.at(n), "%s: want a mapping, got %s", label, describe(n))
		return false
	}
	// A null mapping (`wait_until:` with nothing after it) is decoded as an empty one, so its
	// missing required fields are reported.
	t := v.Type()
	fields := fieldsOf(t)
	names := make([]string, len(fields))
	byName := map[string]modelField{}
	for i, f := range fields {
		names[i] = f.Name
		byName[f.Name] = f
	}
	seen := map[string]bool{}
	for _, kv := range d.mappingPairs(n, label) {
		k, val := kv[0], resolve(kv[1])
		f, known := byName[k.Value]
		if !known {
			d.errs.add(d.at(k), "unknown field %q in %s%s", k.Value, label, hint(k.Value, names, "fields"))
			d.pos.set(owner, unknownKey, fieldPos{Key: d.at(k), Val: d.at(k)})
			continue
		}
		seen[f.Name] = true
		where := label + "." + f.Name
		if label == "runbook" || label == "environment" {
			where = f.Name // top-level fields need no prefix
		}
		fv := v.Field(f.Index)
		var ok bool
		switch {
		case exprFields[t.Name()+"."+f.Name]:
			ok = d.decodeExprText(val, fv, where)
		case f.Type.Kind() == reflect.Map:
			ok = d.decodeMap(val, fv, owner, f.Name, where)
		case f.Type.Kind() == reflect.Slice:
			ok = d.decodeSlice(val, fv, owner, f.Name, where)
		case f.Type.Kind() == reflect.Struct:
			child := any(entryKey{owner, f.Name})
			if _, copied := owner.(entryKey); !copied {
				child = fv.Addr().Interface()
			}
			ok = d.decodeValue(val, fv, where, child)
		default:
			ok = d.decodeValue(val, fv, where, nil)
		}
		d.pos.set(owner, f.Name, fieldPos{Key: d.at(k), Val: d.at(val), Bad: !ok})
	}
	for _, f := range fields {
		if f.Required && !seen[f.Name] {
			d.errs.add(d.at(n), "missing required field %q in %s", f.Name, label)
		}
	}
	return true
}

// decodeExprText stores a scalar's source text in an expression field. Like the other decode
// functions it reports whether the value itself had the right shape; problems inside nested values
// are reported but do not make the containing field bad.
func (d *decoder) decodeExprText(n *yaml.Node, v reflect.Value, where string) bool {
	if n.Kind != yaml.ScalarNode {
		d.errs.add(d.at(n), "%s: want an expression, got %s", where, describe(n))
		return false
	}
	if !isNull(n) {
		v.SetString(n.Value)
	}
	return true
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, owner any, field, where string) bool {
	if isNull(n) {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.errs.add(d.at(n), "%s: want a list, got %s", where, describe(n))
		return false
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	v.Set(s) // elements are decoded in place, so their addresses stay valid for the posTable
	for i, el := range n.Content {
		el = resolve(el)
		d.pos.set(owner, fmt.Sprintf("%s[%d]", field, i), fieldPos{Key: d.at(el), Val: d.at(el)})
		d.decodeValue(el, s.Index(i), fmt.Sprintf("%s[%d]", where, i), s.Index(i).Addr().Interface())
	}
	return true
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, owner any, field, where string) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.errs.add(d.at(n), "%s: want a mapping, got %s", where, describe(n))
		return false
	}
	m := reflect.MakeMap(v.Type())
	et := v.Type().Elem()
	for _, kv := range d.mappingPairs(n, where) {
		k, val := kv[0], resolve(kv[1])
		ev := reflect.New(et).Elem()
		ok := d.decodeValue(val, ev, where+"."+k.Value, entryKey{owner, field + "." + k.Value})
		d.pos.set(owner, field+"."+k.Value, fieldPos{Key: d.at(k), Val: d.at(val), Bad: !ok})
		m.SetMapIndex(reflect.ValueOf(k.Value), ev)
	}
	v.Set(m)
	return true
}

// decodeValue decodes a scalar, pointer, struct or any-typed value; owner identifies v in the
// posTable when v is a struct.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, where string, owner any) bool {
	n = resolve(n)
	t := v.Type()
	switch {
	case t == anyType:
		// A YAML null leaves v nil: reflect.ValueOf(nil) is the zero Value, which Set panics on.
		if p := d.plain(n, where); p != nil {
			v.Set(reflect.ValueOf(p))
		}
		return true
	case t == durationType:
		return d.decodeDuration(n, v, where)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) && t.Elem().Kind() != reflect.Struct {
			return true
		}
		p := reflect.New(t.Elem())
		ok := d.decodeValue(n, p.Elem(), where, p.Interface()) // a pointer's target never moves
		v.Set(p)
		return ok
	case reflect.Struct:
		label := typeLabels[t]
		if _, inMap := owner.(entryKey); inMap || label == "" {
			label = where
		}
		return d.decodeStruct(n, v, label, owner)
	case reflect.String:
		if isNull(n) {
			return true
		}
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
			d.errs.add(d.at(n), "%s: want a string, got %s%s", where, describe(n), quoteHint(n))
			return false
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if isNull(n) {
			return true
		}
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errs.add(d.at(n), "%s: want true or false, got %s", where, describe(n))
			return false
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if isNull(n) {
			return true
		}
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.errs.add(d.at(n), "%s: want an integer, got %s", where, describe(n))
			return false
		}
		v.SetInt(i)
	default:
		// Every model field type is handled above (slices and maps by decodeStruct); reaching
		// here is a bug in the model.
		panic(fmt.Sprintf("runbook: cannot decode %s into %s", where, t))
	}
	return true
}

// quoteHint suggests quoting a scalar that YAML read as a number or bool where a string is wanted.
func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Style == 0 {
		return fmt.Sprintf(" (quote it: %q)", n.Value)
	}
	return ""
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, where string) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errs.add(d.at(n), "%s: want a duration like \"30s\" or \"5m\", got %s", where, describe(n))
		return false
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errs.add(d.at(n), "%s: %q is not a duration (like 30s or 5m)", where, n.Value)
		return false
	}
	if dur < 0 {
		d.errs.add(d.at(n), "%s: %q is negative", where, n.Value)
		return false
	}
	v.SetInt(int64(dur))
	return true
}

// plain converts a YAML value into the Go values encoding/json would produce, so that with: values
// look the same to the validator, to the history and to activities. Timestamps stay strings.
func (d *decoder) plain(n *yaml.Node, where string) any {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, kv := range d.mappingPairs(n, where) {
			m[kv[0].Value] = d.plain(kv[1], where+"."+kv[0].Value)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, el := range n.Content {
			l[i] = d.plain(el, fmt.Sprintf("%s[%d]", where, i))
		}
		return l
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp", "!!binary":
			return n.Value
		}
		var v any
		if err := n.Decode(&v); err != nil {
			d.errs.add(d.at(n), "%s: %v", where, err)
			return nil
		}
		return v
	}
	d.errs.add(d.at(n), "%s: unsupported YAML value", where)
	return nil
}
