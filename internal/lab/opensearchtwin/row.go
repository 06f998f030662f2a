package opensearchtwin

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// rowCtx decodes one row lazily: queries that only look at the timestamp column never touch the
// row bytes, and those that read one field skip over the values before it without decoding them.
type rowCtx struct {
	ix     *index
	row    int
	ts     int64
	loaded bool
	sh     *shape
	id     []byte
	body   []byte
	offs   []int32
	known  int

	rawFields []rawField // members of a verbatim row, scanned on first use
	rawOK     bool
}

func (rc *rowCtx) reset(ix *index, row int) {
	rc.ix, rc.row, rc.ts, rc.loaded, rc.rawOK = ix, row, ix.tsAt(row), false, false
}

func (rc *rowCtx) load() {
	if rc.loaded {
		return
	}
	rc.loaded = true
	b := rc.ix.rowBytes(rc.row)
	sid, k := binary.Uvarint(b)
	rc.sh = rc.ix.shapes[sid]
	b = b[k:]
	rc.id = nil
	if rc.sh.hasID {
		l, k := binary.Uvarint(b)
		rc.id = b[k : k+int(l)]
		b = b[k+int(l):]
	}
	if rc.sh.raw {
		l, k := binary.Uvarint(b)
		b = b[k : k+int(l)]
	}
	rc.body = b
	if cap(rc.offs) < len(rc.sh.fields)+1 {
		rc.offs = make([]int32, len(rc.sh.fields)+1)
	}
	rc.offs = rc.offs[:len(rc.sh.fields)+1]
	rc.offs[0] = 0
	rc.known = 0
}

func (rc *rowCtx) docID() string {
	rc.load()
	if rc.id != nil {
		return string(rc.id)
	}
	return rc.ix.autoID(rc.row)
}

// value is one decoded value. Strings stay in their stored form (dictionary code, prefix+number,
// escaped bytes, instant) until a query needs their text.
type value struct {
	k      kind
	width  uint8
	layout int8
	i      int64  // int, dictionary code, prefix code, time nanos
	u      uint64 // prefix number
	b      []byte // kNum/kStr/kRaw bytes
	f      *field // owner of the dictionary
}

func (rc *rowCtx) rawMembers() []rawField {
	if !rc.rawOK {
		rc.rawOK = true
		rc.rawFields, _, _ = scanObject(rc.body, rc.rawFields)
	}
	return rc.rawFields
}

// fieldValue returns the value of top-level field f, ok=false when the row does not have it.
func (rc *rowCtx) fieldValue(f *field) (value, bool) {
	rc.load()
	if rc.sh.raw {
		for i := range rc.rawMembers() {
			rf := &rc.rawFields[i]
			if string(rf.key) == f.name {
				return valueFromRaw(rf, f), true
			}
		}
		return value{}, false
	}
	k := rc.sh.slotOf(f.id)
	if k < 0 {
		return value{}, false
	}
	return rc.slotValue(k), true
}

func (rc *rowCtx) offset(k int) int {
	for rc.known < k {
		j := rc.known
		p := rc.body[rc.offs[j]:]
		var n int
		switch rc.sh.fields[j].kind {
		case kNull, kTrue, kFalse:
		case kInt, kDict, kTime, kPTime:
			_, n = binary.Uvarint(p)
		case kPrefix:
			_, n1 := binary.Uvarint(p)
			_, n2 := binary.Uvarint(p[n1:])
			n = n1 + n2
		case kNum, kStr, kRaw:
			l, n1 := binary.Uvarint(p)
			n = n1 + int(l)
		}
		rc.offs[j+1] = rc.offs[j] + int32(n)
		rc.known++
	}
	return int(rc.offs[k])
}

func (rc *rowCtx) slotValue(k int) value {
	sf := rc.sh.fields[k]
	p := rc.body[rc.offset(k):]
	v := value{k: sf.kind, width: sf.width, layout: sf.layout, f: rc.ix.fields[sf.fid]}
	switch sf.kind {
	case kInt:
		v.i, _ = binary.Varint(p)
	case kDict:
		c, _ := binary.Uvarint(p)
		v.i = int64(c)
	case kPrefix:
		c, n := binary.Uvarint(p)
		v.i = int64(c)
		v.u, _ = binary.Uvarint(p[n:])
	case kTime:
		d, _ := binary.Varint(p)
		v.i = timeBase(rc.ts) + d
	case kPTime:
		r, _ := binary.Uvarint(p)
		v.i = rc.ts*nanosPerMilli + int64(r)
	case kNum, kStr, kRaw:
		l, n := binary.Uvarint(p)
		v.b = p[n : n+int(l)]
	}
	return v
}

// valueFromRaw converts a scanned JSON member (of a verbatim row, an array element or a nested
// object) into a value.
func valueFromRaw(rf *rawField, f *field) value {
	switch rf.typ {
	case jNull:
		return value{k: kNull, f: f}
	case jTrue:
		return value{k: kTrue, f: f}
	case jFalse:
		return value{k: kFalse, f: f}
	case jNumber:
		if rf.isInt {
			return value{k: kInt, i: rf.iv, f: f}
		}
		return value{k: kNum, b: rf.val, f: f}
	case jString:
		return value{k: kStr, b: rf.val, f: f, layout: -1}
	default:
		return value{k: kRaw, b: rf.val, f: f}
	}
}

// appendStr appends the value's text as a keyword field would index it.
func (v *value) appendStr(dst []byte) []byte {
	switch v.k {
	case kDict:
		return append(dst, v.f.dict[v.i]...)
	case kPrefix:
		dst = append(dst, v.f.dict[v.i]...)
		return appendPadded(dst, v.u, int(v.width))
	case kStr:
		if bytes.IndexByte(v.b, '\\') < 0 {
			return append(dst, v.b...)
		}
		s, err := unescapeJSONString(v.b)
		if err != nil {
			return append(dst, v.b...)
		}
		return append(dst, s...)
	case kTime, kPTime:
		return time.Unix(0, v.i).UTC().AppendFormat(dst, srcLayouts[v.layout])
	case kInt:
		return strconv.AppendInt(dst, v.i, 10)
	case kNum, kRaw:
		return append(dst, v.b...)
	case kTrue:
		return append(dst, "true"...)
	case kFalse:
		return append(dst, "false"...)
	}
	return dst
}

func appendPadded(dst []byte, u uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], u, 10)
	for i := len(d); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

func parseFloat(b []byte) (float64, error) { return strconv.ParseFloat(string(b), 64) }

// float returns the value as a number (numeric strings coerce, as OpenSearch's numeric fields do).
func (v *value) float() (float64, bool) {
	switch v.k {
	case kInt:
		return float64(v.i), true
	case kNum:
		f, err := parseFloat(v.b)
		return f, err == nil
	case kTrue:
		return 1, true
	case kFalse:
		return 0, true
	case kTime, kPTime:
		return float64(floorDiv(v.i, nanosPerMilli)), true
	case kDict, kPrefix, kStr:
		var buf [64]byte
		f, err := strconv.ParseFloat(string(v.appendStr(buf[:0])), 64)
		return f, err == nil
	}
	return 0, false
}

// long returns the value as an int64, truncating fractions as long fields do.
func (v *value) long() (int64, bool) {
	switch v.k {
	case kInt:
		return v.i, true
	case kTime, kPTime:
		return floorDiv(v.i, nanosPerMilli), true
	}
	f, ok := v.float()
	if !ok || math.IsNaN(f) || math.Abs(f) >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// millis returns the value as a date in epoch millis.
func (v *value) millis(df dateFormat) (int64, bool) {
	switch v.k {
	case kTime, kPTime:
		return floorDiv(v.i, nanosPerMilli), true
	case kInt:
		return v.i, true
	case kNum:
		f, err := parseFloat(v.b)
		return int64(math.Floor(f)), err == nil
	case kDict, kPrefix, kStr:
		var buf [64]byte
		s := v.appendStr(buf[:0])
		if sec, nsec, ok := parseDate(s, false); ok {
			return millisOf(sec, nsec), true
		}
		if len(df.alts) > 0 {
			ms, err := df.parse(string(s), utc)
			return ms, err == nil
		}
	}
	return 0, false
}

func (v *value) boolean() (bool, bool) {
	switch v.k {
	case kTrue:
		return true, true
	case kFalse:
		return false, true
	case kDict, kStr:
		var buf [8]byte
		switch string(v.appendStr(buf[:0])) {
		case "true":
			return true, true
		case "false", "":
			return false, true
		}
	}
	return false, false
}

// appendSource appends the row's _source, rebuilt from its columns, optionally filtered.
func (rc *rowCtx) appendSource(dst []byte, filt *sourceFilter) []byte {
	rc.load()
	if rc.sh.raw {
		if filt == nil {
			return append(dst, rc.body...)
		}
		dst = append(dst, '{')
		first := true
		for i := range rc.rawMembers() {
			rf := &rc.rawFields[i]
			if !filt.keep(string(rf.key)) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, string(rf.key))
			dst = append(dst, ':')
			dst = appendRawValue(dst, rf)
		}
		return append(dst, '}')
	}
	if len(rc.sh.fields) == 0 {
		return append(dst, '{', '}')
	}
	if filt == nil {
		for k := range rc.sh.fields {
			dst = append(dst, rc.sh.frag[k]...)
			dst = rc.appendValueJSON(dst, k)
		}
		return append(dst, '}')
	}
	dst = append(dst, '{')
	first := true
	for k, name := range rc.sh.names {
		if !filt.keep(name) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		dst = rc.appendValueJSON(dst, k)
	}
	return append(dst, '}')
}

func appendRawValue(dst []byte, rf *rawField) []byte {
	if rf.typ == jString {
		dst = append(dst, '"')
		dst = append(dst, rf.val...)
		return append(dst, '"')
	}
	return append(dst, rf.val...)
}

func (rc *rowCtx) appendValueJSON(dst []byte, k int) []byte {
	v := rc.slotValue(k)
	switch v.k {
	case kNull:
		return append(dst, "null"...)
	case kTrue:
		return append(dst, "true"...)
	case kFalse:
		return append(dst, "false"...)
	case kInt:
		return strconv.AppendInt(dst, v.i, 10)
	case kNum, kRaw:
		return append(dst, v.b...)
	case kStr:
		dst = append(dst, '"')
		dst = append(dst, v.b...)
		return append(dst, '"')
	default: // kDict, kPrefix, kTime, kPTime: no escapes by construction
		dst = append(dst, '"')
		dst = v.appendStr(dst)
		return append(dst, '"')
	}
}

// tokens splits text the way the standard analyzer roughly does (Unicode word boundaries,
// lowercased), so term and match queries on text fields behave as they do in OpenSearch: a term
// query for "INFO" on a text field finds nothing, "info" finds INFO.
func tokens(s []byte, dst []string) []string {
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			dst = append(dst, string(cur))
			cur = cur[:0]
		}
	}
	isWord := func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == '_'
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case isWord(r):
			cur = append(cur, unicode.ToLower(r))
		case (r == '.' || r == '\'' || r == ':' || r == ',') && len(cur) > 0 && i+n < len(s):
			// MidLetter / MidNum: keep "user.name", "1.5", "o'neil" together.
			next, _ := utf8.DecodeRune(s[i+n:])
			prev := cur[len(cur)-1]
			if (unicode.IsLetter(prev) && unicode.IsLetter(next) && r != ',') || (unicode.IsDigit(prev) && unicode.IsDigit(next) && r != ':' && r != '\'') {
				cur = append(cur, r)
			} else {
				flush()
			}
		default:
			flush()
		}
		i += n
	}
	flush()
	return dst
}
