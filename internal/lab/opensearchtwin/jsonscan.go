package opensearchtwin

import (
	"encoding/json"
	"errors"
	"fmt"
)

// jtype is the JSON type of a scanned value.
type jtype uint8

const (
	jString jtype = iota
	jNumber
	jTrue
	jFalse
	jNull
	jObject
	jArray
)

// rawField is one top-level member of a document as the scanner found it, plus what ingest
// derives from it before taking the index lock (number and date parsing are the expensive part
// of ingest, so they happen outside it).
type rawField struct {
	key   []byte
	val   []byte // strings: the bytes between the quotes, still escaped; others: the raw JSON text
	typ   jtype
	esc   bool // a string with escape sequences
	isInt bool // a number that is a canonical int64
	iv    int64

	date   bool // a string OpenSearch's date detection accepts
	sec    int64
	nsec   int32
	layout int8 // index into srcLayouts that reproduces val exactly; -1 if none
}

// Separator styles of a document. The store keeps a document as columns and rebuilds its
// _source on the way out; that is only faithful when the document used one of these two
// whitespace conventions (Go/Jackson compact, or Python json.dumps' ", " and ": ").
const (
	styleOther   int8 = -1
	styleCompact int8 = 0
	styleSpaced  int8 = 1
)

var errDocEmpty = errors.New("document is empty")

// scanObject splits a JSON object into its top-level members without allocating, validating it
// as it goes. It reports the separator style, or styleOther when the bytes could not be rebuilt
// from the members (other whitespace, escaped keys).
func scanObject(doc []byte, out []rawField) ([]rawField, int8, error) {
	out = out[:0]
	canon := true
	style := int8(-2) // undecided
	sep := func(ws int) {
		var s int8
		switch ws {
		case 0:
			s = styleCompact
		case 1:
			s = styleSpaced
		default:
			canon = false
			return
		}
		if style == -2 {
			style = s
		} else if style != s {
			canon = false
		}
	}
	i := skipWS(doc, 0)
	if i != 0 {
		canon = false
	}
	if i >= len(doc) {
		return out, styleOther, errDocEmpty
	}
	if doc[i] != '{' {
		return out, styleOther, fmt.Errorf("malformed content, must start with an object, found %q at %d", doc[i], i)
	}
	i++
	j := skipWS(doc, i)
	if j != i {
		canon = false
	}
	i = j
	if i < len(doc) && doc[i] == '}' {
		i++
	} else {
		for {
			if i >= len(doc) || doc[i] != '"' {
				return out, styleOther, fmt.Errorf("unexpected character at %d: expected a field name", i)
			}
			ke, esc, err := scanString(doc, i+1)
			if err != nil {
				return out, styleOther, err
			}
			if esc {
				canon = false
			}
			f := rawField{key: doc[i+1 : ke], layout: -1}
			i = ke + 1
			j = skipWS(doc, i)
			if j != i {
				canon = false
			}
			i = j
			if i >= len(doc) || doc[i] != ':' {
				return out, styleOther, fmt.Errorf("unexpected character at %d: expected ':'", i)
			}
			i++
			j = skipWS(doc, i)
			if j > i && doc[i] != ' ' {
				canon = false
			}
			sep(j - i)
			i = j
			if i, err = scanValue(doc, i, &f); err != nil {
				return out, styleOther, err
			}
			out = append(out, f)
			j = skipWS(doc, i)
			if j != i {
				canon = false
			}
			i = j
			if i >= len(doc) {
				return out, styleOther, errors.New("unexpected end-of-input: expected close marker for object")
			}
			if doc[i] == '}' {
				i++
				break
			}
			if doc[i] != ',' {
				return out, styleOther, fmt.Errorf("unexpected character %q at %d: was expecting comma to separate object entries", doc[i], i)
			}
			i++
			j = skipWS(doc, i)
			if j > i && doc[i] != ' ' {
				canon = false
			}
			sep(j - i)
			i = j
		}
	}
	if j := skipWS(doc, i); j != len(doc) {
		return out, styleOther, fmt.Errorf("unexpected character %q after the document at %d", doc[j], j)
	} else if j != i {
		canon = false
	}
	if dup := duplicateKey(out); dup != "" {
		return out, styleOther, fmt.Errorf("duplicate field '%s'", dup)
	}
	if !canon {
		return out, styleOther, nil
	}
	if style == -2 {
		style = styleCompact
	}
	return out, style, nil
}

func duplicateKey(fs []rawField) string {
	if len(fs) <= 24 {
		for i := 1; i < len(fs); i++ {
			for j := 0; j < i; j++ {
				if string(fs[i].key) == string(fs[j].key) {
					return string(fs[i].key)
				}
			}
		}
		return ""
	}
	seen := make(map[string]struct{}, len(fs))
	for _, f := range fs {
		if _, ok := seen[string(f.key)]; ok {
			return string(f.key)
		}
		seen[string(f.key)] = struct{}{}
	}
	return ""
}

// scanArray splits a JSON array into its elements (keys empty).
func scanArray(raw []byte) ([]rawField, error) {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, errors.New("not an array")
	}
	i = skipWS(raw, i+1)
	var out []rawField
	if i < len(raw) && raw[i] == ']' {
		return out, nil
	}
	for {
		f := rawField{layout: -1}
		var err error
		if i, err = scanValue(raw, i, &f); err != nil {
			return nil, err
		}
		out = append(out, f)
		i = skipWS(raw, i)
		if i >= len(raw) {
			return nil, errors.New("unterminated array")
		}
		if raw[i] == ']' {
			return out, nil
		}
		if raw[i] != ',' {
			return nil, fmt.Errorf("unexpected character %q in array", raw[i])
		}
		i = skipWS(raw, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue scans one value starting at i into f and returns the index just past it.
func scanValue(doc []byte, i int, f *rawField) (int, error) {
	if i >= len(doc) {
		return i, errors.New("unexpected end-of-input: expected a value")
	}
	switch c := doc[i]; {
	case c == '"':
		end, esc, err := scanString(doc, i+1)
		if err != nil {
			return i, err
		}
		f.typ, f.val, f.esc = jString, doc[i+1:end], esc
		return end + 1, nil
	case c == '{' || c == '[':
		end, err := skipComposite(doc, i)
		if err != nil {
			return i, err
		}
		if !json.Valid(doc[i:end]) {
			return i, fmt.Errorf("malformed %s at %d", map[bool]string{true: "object", false: "array"}[c == '{'], i)
		}
		f.val = doc[i:end]
		f.typ = jArray
		if c == '{' {
			f.typ = jObject
		}
		return end, nil
	case c == 't':
		return scanLiteral(doc, i, "true", jTrue, f)
	case c == 'f':
		return scanLiteral(doc, i, "false", jFalse, f)
	case c == 'n':
		return scanLiteral(doc, i, "null", jNull, f)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(doc, i, f)
	default:
		return i, fmt.Errorf("unexpected character %q at %d: expected a valid value", c, i)
	}
}

func scanLiteral(doc []byte, i int, lit string, t jtype, f *rawField) (int, error) {
	if len(doc)-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
		return i, fmt.Errorf("unrecognized token at %d: was expecting %s", i, lit)
	}
	f.typ, f.val = t, doc[i:i+len(lit)]
	return i + len(lit), nil
}

// scanString returns the index of the closing quote of a string whose contents start at i.
func scanString(doc []byte, i int) (end int, esc bool, err error) {
	for p := i; p < len(doc); p++ {
		c := doc[p]
		switch {
		case c == '"':
			return p, esc, nil
		case c == '\\':
			esc = true
			p++
			if p >= len(doc) {
				return 0, esc, errors.New("unexpected end-of-input in string escape")
			}
			switch doc[p] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if p+4 >= len(doc) {
					return 0, esc, errors.New("unexpected end-of-input in unicode escape")
				}
				for k := 1; k <= 4; k++ {
					if !isHex(doc[p+k]) {
						return 0, esc, fmt.Errorf("unexpected character %q in unicode escape at %d", doc[p+k], p+k)
					}
				}
				p += 4
			default:
				return 0, esc, fmt.Errorf("unrecognized character escape %q at %d", doc[p], p)
			}
		case c < 0x20:
			return 0, esc, fmt.Errorf("illegal unquoted character (CTRL-CHAR, code %d) at %d: has to be escaped", c, p)
		}
	}
	return 0, esc, errors.New("unexpected end-of-input: was expecting closing quote for a string value")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func skipComposite(doc []byte, i int) (int, error) {
	depth := 0
	for p := i; p < len(doc); p++ {
		switch doc[p] {
		case '"':
			end, _, err := scanString(doc, p+1)
			if err != nil {
				return 0, err
			}
			p = end
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return p + 1, nil
			}
		}
	}
	return 0, errors.New("unexpected end-of-input: expected close marker")
}

func scanNumber(doc []byte, i int, f *rawField) (int, error) {
	p := i
	neg := false
	if doc[p] == '-' {
		neg = true
		p++
	}
	if p >= len(doc) {
		return i, errors.New("unexpected end-of-input in number")
	}
	isInt := true
	var v uint64
	overflow := false
	switch c := doc[p]; {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		for p < len(doc) && doc[p] >= '0' && doc[p] <= '9' {
			d := uint64(doc[p] - '0')
			if v > (1<<63)/10 {
				overflow = true
			}
			v = v*10 + d
			p++
		}
	default:
		return i, fmt.Errorf("unexpected character %q in number at %d", c, p)
	}
	if p < len(doc) && doc[p] == '.' {
		isInt = false
		p++
		q := p
		for p < len(doc) && doc[p] >= '0' && doc[p] <= '9' {
			p++
		}
		if p == q {
			return i, fmt.Errorf("unexpected character in number at %d: expected a digit after the decimal point", p)
		}
	}
	if p < len(doc) && (doc[p] == 'e' || doc[p] == 'E') {
		isInt = false
		p++
		if p < len(doc) && (doc[p] == '+' || doc[p] == '-') {
			p++
		}
		q := p
		for p < len(doc) && doc[p] >= '0' && doc[p] <= '9' {
			p++
		}
		if p == q {
			return i, fmt.Errorf("unexpected character in number at %d: expected a digit in the exponent", p)
		}
	}
	f.typ, f.val = jNumber, doc[i:p]
	if isInt && !overflow {
		switch {
		case !neg && v <= 1<<63-1:
			f.isInt, f.iv = true, int64(v)
		case neg && v <= 1<<63:
			f.isInt, f.iv = true, int64(-v)
			if v == 0 { // "-0" is not canonical: keep its text
				f.isInt = false
			}
		}
	}
	return p, nil
}

// unescapeJSONString decodes the contents of a JSON string (the bytes between the quotes).
func unescapeJSONString(b []byte) (string, error) {
	q := make([]byte, 0, len(b)+2)
	q = append(q, '"')
	q = append(q, b...)
	q = append(q, '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", fmt.Errorf("decode string: %w", err)
	}
	return s, nil
}
