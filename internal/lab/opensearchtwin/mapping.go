package opensearchtwin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// ftype is a field's mapping type, reduced to the semantics queries need.
type ftype uint8

const (
	ftNone    ftype = iota // only seen as null so far: no mapping yet
	ftText                 // analyzed text, usually with a .keyword sub-field
	ftKeyword              // exact strings
	ftDate
	ftLong
	ftDouble
	ftBool
	ftObject // objects, and types the twin stores but does not query (knn_vector, geo_point)
)

// field is one top-level field of an index: its mapping and the dictionary its low-cardinality
// strings (and the prefixes of "prefix+number" strings) are encoded with.
type field struct {
	id          int
	name        string
	typ         ftype
	typName     string // the mapping type as OpenSearch names it ("long", "float", ...)
	kwSub       bool   // a text field with a .keyword sub-field
	ignoreAbove int    // keyword values longer than this are not indexed
	explicit    bool
	format      dateFormat

	dict    []string
	dictIdx map[string]uint32
	hint    int8 // last source layout that matched, tried first next time
}

const (
	defaultIgnoreAbove = 256
	maxDictEntries     = 1 << 16
	maxDictString      = 128
)

func newField(id int, name string) *field {
	return &field{id: id, name: name, dictIdx: map[string]uint32{}, hint: -1}
}

// setDynamic gives a new field the mapping OpenSearch's dynamic mapping would: date detection
// for strings, long/float for numbers, text with a keyword sub-field otherwise.
func (f *field) setDynamic(rf *rawField) {
	t := dynamicType(rf)
	f.setType(t)
}

func (f *field) setType(t ftype) {
	f.typ = t
	f.kwSub = false
	f.ignoreAbove = 0
	switch t {
	case ftText:
		f.typName, f.kwSub, f.ignoreAbove = "text", true, defaultIgnoreAbove
	case ftKeyword:
		f.typName = "keyword"
	case ftDate:
		f.typName = "date"
		f.format, _ = newDateFormat("")
	case ftLong:
		f.typName = "long"
	case ftDouble:
		f.typName = "float"
	case ftBool:
		f.typName = "boolean"
	case ftObject:
		f.typName = "object"
	}
}

func dynamicType(rf *rawField) ftype {
	switch rf.typ {
	case jString:
		if rf.date {
			return ftDate
		}
		return ftText
	case jNumber:
		if rf.isInt {
			return ftLong
		}
		return ftDouble
	case jTrue, jFalse:
		return ftBool
	case jObject:
		return ftObject
	case jArray:
		elems, err := scanArray(rf.val)
		if err != nil {
			return ftObject
		}
		for i := range elems {
			e := &elems[i]
			if e.typ == jNull {
				continue
			}
			if e.typ == jString && !e.esc {
				e.sec, e.nsec, e.date = parseDate(e.val, true)
			}
			return dynamicType(e)
		}
	}
	return ftNone
}

// checkValue reports the mapper_parsing_exception OpenSearch would raise for rf in field f.
func (f *field) checkValue(rf *rawField, id func() string) *apiError {
	if rf.typ == jNull || f.typ == ftNone {
		return nil
	}
	if f.typ == ftObject {
		if f.typName == "object" && rf.typ != jObject && rf.typ != jArray {
			return errBadRequest("mapper_parsing_exception",
				"object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", f.name, f.name)
		}
		return nil
	}
	if rf.typ == jArray {
		elems, err := scanArray(rf.val)
		if err != nil {
			return nil
		}
		for i := range elems {
			if e := f.checkValue(&elems[i], id); e != nil {
				return e
			}
		}
		return nil
	}
	fail := func(cause *apiError) *apiError {
		e := errBadRequest("mapper_parsing_exception",
			"failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'",
			f.name, f.typName, id(), preview(rf))
		e.cause = cause
		return e
	}
	if rf.typ == jObject {
		return fail(newErr(400, "illegal_state_exception", "Can't get text on a START_OBJECT"))
	}
	switch f.typ {
	case ftDate:
		switch rf.typ {
		case jNumber:
			return nil
		case jString:
			if rf.date {
				return nil
			}
			s := string(rf.val)
			if _, err := f.format.parse(s, utc); err == nil {
				return nil
			}
			c := newErr(400, "illegal_argument_exception",
				fmt.Sprintf("failed to parse date field [%s] with format [%s]", s, joinFormat(f.format)))
			c.cause = newErr(400, "date_time_parse_exception", "Failed to parse with all enclosed parsers")
			return fail(c)
		default:
			return fail(newErr(400, "illegal_argument_exception", "failed to parse date field ["+string(rf.val)+"]"))
		}
	case ftLong, ftDouble:
		switch rf.typ {
		case jNumber:
			return nil
		case jString:
			if _, err := strconv.ParseFloat(string(rf.val), 64); err == nil {
				return nil
			}
			return fail(newErr(400, "number_format_exception", fmt.Sprintf("For input string: \"%s\"", rf.val)))
		default:
			return fail(newErr(400, "json_parse_exception", fmt.Sprintf("Current token (VALUE_%s) not numeric, can not use numeric value accessors", string(rf.val))))
		}
	case ftBool:
		switch {
		case rf.typ == jTrue || rf.typ == jFalse:
			return nil
		case rf.typ == jString && (string(rf.val) == "true" || string(rf.val) == "false" || len(rf.val) == 0):
			return nil
		default:
			return fail(newErr(400, "illegal_argument_exception",
				fmt.Sprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", rf.val)))
		}
	}
	return nil
}

func joinFormat(df dateFormat) string {
	s := ""
	for i, a := range df.alts {
		if i > 0 {
			s += "||"
		}
		s += a
	}
	return s
}

func preview(rf *rawField) string {
	v := string(rf.val)
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return v
}

// mappingJSON renders one field's mapping the way GET _mapping shows it.
func (f *field) mappingJSON() jobj {
	o := jobj{{"type", f.typName}}
	if f.typ == ftDate && f.explicit && joinFormat(f.format) != defaultDateFormat {
		o = append(o, jkv{"format", joinFormat(f.format)})
	}
	if f.kwSub {
		o = append(o, jkv{"fields", jobj{{"keyword", jobj{{"type", "keyword"}, {"ignore_above", f.ignoreAbove}}}}})
	}
	return o
}

// explicitMapping is the "mappings" body of a create-index request.
type explicitMapping struct {
	Dynamic    any                        `json:"dynamic"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type propMapping struct {
	Type        string                     `json:"type"`
	Format      string                     `json:"format"`
	IgnoreAbove *int                       `json:"ignore_above"`
	Fields      map[string]json.RawMessage `json:"fields"`
	Properties  map[string]json.RawMessage `json:"properties"`
}

// applyMappings installs explicit field mappings on an empty index.
func (ix *index) applyMappings(raw json.RawMessage) *apiError {
	if len(raw) == 0 {
		return nil
	}
	var m explicitMapping
	if err := json.Unmarshal(raw, &m); err != nil {
		return errBadRequest("mapper_parsing_exception", "Failed to parse mapping: %v", err)
	}
	switch d := m.Dynamic.(type) {
	case string:
		ix.strict = d == "strict"
	case bool:
		ix.strict = false
	}
	names := make([]string, 0, len(m.Properties))
	for n := range m.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		var p propMapping
		if err := json.Unmarshal(m.Properties[name], &p); err != nil {
			return errBadRequest("mapper_parsing_exception", "Failed to parse mapping for [%s]: %v", name, err)
		}
		f := ix.addField(name)
		f.explicit = true
		switch p.Type {
		case "text", "match_only_text":
			f.setType(ftText)
			f.kwSub = false
			if kw, ok := p.Fields["keyword"]; ok {
				var sub propMapping
				if json.Unmarshal(kw, &sub) == nil && sub.Type == "keyword" {
					f.kwSub = true
					f.ignoreAbove = 1 << 30
					if sub.IgnoreAbove != nil {
						f.ignoreAbove = *sub.IgnoreAbove
					}
				}
			}
		case "keyword", "constant_keyword", "wildcard", "ip", "version":
			f.setType(ftKeyword)
			f.ignoreAbove = 1 << 30
			if p.IgnoreAbove != nil {
				f.ignoreAbove = *p.IgnoreAbove
			}
		case "date", "date_nanos":
			f.setType(ftDate)
			df, err := newDateFormat(p.Format)
			if err != nil {
				return errBadRequest("mapper_parsing_exception", "Failed to parse mapping: %s", err.reason)
			}
			f.format = df
		case "long", "integer", "short", "byte", "unsigned_long":
			f.setType(ftLong)
		case "double", "float", "half_float", "scaled_float":
			f.setType(ftDouble)
		case "boolean":
			f.setType(ftBool)
		case "", "object", "nested", "flat_object":
			f.setType(ftObject)
		default:
			f.setType(ftObject)
		}
		if p.Type != "" {
			f.typName = p.Type
		}
	}
	return nil
}
