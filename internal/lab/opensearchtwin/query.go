package opensearchtwin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query DSL: parsed once per request into a tree (query), compiled per index into a matcher
// (cquery), because field ids, dictionaries and mappings differ between indices.

type query any

type (
	qAll  struct{}
	qNone struct{}
	qTerm struct {
		field string
		value any
		ci    bool
	}
	qTerms struct {
		field  string
		values []any
	}
	qRange struct {
		field            string
		gt, gte, lt, lte any
		format, timeZone string
	}
	qExists struct{ field string }
	qBool   struct {
		must, filter, should, mustNot []query
		msm                           any
	}
	qIds   struct{ ids []string }
	qMatch struct {
		field string
		text  any
		and   bool
	}
	qPrefix struct {
		field, value string
		ci           bool
	}
)

func decodeAny(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}

// parseQuery parses a query object ({"<type>": {...}}).
func parseQuery(raw json.RawMessage) (query, *apiError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return qAll{}, nil
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, errParsing("failed to parse query: %v", err)
	}
	return parseQueryValue(v)
}

func parseQueryValue(v any) (query, *apiError) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errParsing("[_na] query malformed, must start with start_object")
	}
	if len(m) != 1 {
		if len(m) == 0 {
			return nil, errParsing("query malformed, empty clause found")
		}
		keys := slices.Sorted(mapKeys(m))
		return nil, errParsing("[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]", keys[0])
	}
	for typ, body := range m {
		return parseTyped(typ, body)
	}
	return nil, nil
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// fieldBody splits {"field": body} (ignoring boost/_name), the shape of most leaf queries.
func fieldBody(typ string, body any) (string, any, *apiError) {
	m, ok := body.(map[string]any)
	if !ok {
		return "", nil, errParsing("[%s] query malformed, no start_object after query name", typ)
	}
	var field string
	var val any
	for k, v := range m {
		if k == "boost" || k == "_name" {
			continue
		}
		if field != "" {
			return "", nil, errParsing("[%s] query doesn't support multiple fields, found [%s] and [%s]", typ, field, k)
		}
		field, val = k, v
	}
	if field == "" {
		return "", nil, errIllegalArg("[%s] requires a field name", typ)
	}
	return field, val, nil
}

func parseTyped(typ string, body any) (query, *apiError) {
	switch typ {
	case "match_all":
		return qAll{}, nil
	case "match_none":
		return qNone{}, nil
	case "term":
		field, v, err := fieldBody(typ, body)
		if err != nil {
			return nil, err
		}
		q := qTerm{field: field, value: v}
		if m, ok := v.(map[string]any); ok {
			q.value = m["value"]
			q.ci, _ = m["case_insensitive"].(bool)
		}
		if q.value == nil {
			return nil, errIllegalArg("value cannot be null")
		}
		return q, nil
	case "terms":
		field, v, err := fieldBody(typ, body)
		if err != nil {
			return nil, err
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, errParsing("[terms] query does not support [%s]", field)
		}
		return qTerms{field: field, values: arr}, nil
	case "range":
		field, v, err := fieldBody(typ, body)
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errParsing("[range] query malformed, after field missing start object")
		}
		q := qRange{field: field}
		incLower, incUpper := true, true
		if b, ok := m["include_lower"].(bool); ok {
			incLower = b
		}
		if b, ok := m["include_upper"].(bool); ok {
			incUpper = b
		}
		for k, x := range m {
			switch k {
			case "gt":
				q.gt = x
			case "gte":
				q.gte = x
			case "lt":
				q.lt = x
			case "lte":
				q.lte = x
			case "from":
				if x != nil {
					if incLower {
						q.gte = x
					} else {
						q.gt = x
					}
				}
			case "to":
				if x != nil {
					if incUpper {
						q.lte = x
					} else {
						q.lt = x
					}
				}
			case "format":
				q.format, _ = x.(string)
			case "time_zone":
				q.timeZone, _ = x.(string)
			case "boost", "_name", "include_lower", "include_upper", "relation":
			default:
				return nil, errParsing("[range] query does not support [%s]", k)
			}
		}
		return q, nil
	case "exists":
		m, ok := body.(map[string]any)
		if !ok {
			return nil, errParsing("[exists] query malformed")
		}
		f, _ := m["field"].(string)
		if f == "" {
			return nil, errParsing("[exists] must be provided with a [field]")
		}
		return qExists{field: f}, nil
	case "bool":
		m, ok := body.(map[string]any)
		if !ok {
			return nil, errParsing("[bool] query malformed, no start_object after query name")
		}
		q := qBool{}
		for k, x := range m {
			var dst *[]query
			switch k {
			case "must":
				dst = &q.must
			case "filter":
				dst = &q.filter
			case "should":
				dst = &q.should
			case "must_not":
				dst = &q.mustNot
			case "minimum_should_match":
				q.msm = x
				continue
			case "boost", "_name", "adjust_pure_negative":
				continue
			default:
				return nil, errParsing("[bool] query does not support [%s]", k)
			}
			items, isArr := x.([]any)
			if !isArr {
				items = []any{x}
			}
			for _, it := range items {
				sub, err := parseQueryValue(it)
				if err != nil {
					return nil, err
				}
				*dst = append(*dst, sub)
			}
		}
		return q, nil
	case "constant_score":
		m, ok := body.(map[string]any)
		if !ok || m["filter"] == nil {
			return nil, errParsing("[constant_score] requires a 'filter' element")
		}
		sub, err := parseQueryValue(m["filter"])
		if err != nil {
			return nil, err
		}
		return qBool{filter: []query{sub}}, nil
	case "ids":
		m, ok := body.(map[string]any)
		if !ok {
			return nil, errParsing("[ids] query malformed")
		}
		arr, _ := m["values"].([]any)
		q := qIds{}
		for _, x := range arr {
			q.ids = append(q.ids, fmt.Sprint(x))
		}
		return q, nil
	case "match", "match_phrase":
		field, v, err := fieldBody(typ, body)
		if err != nil {
			return nil, err
		}
		q := qMatch{field: field, text: v}
		if m, ok := v.(map[string]any); ok {
			q.text = m["query"]
			op, _ := m["operator"].(string)
			q.and = strings.EqualFold(op, "and") || typ == "match_phrase"
		}
		if typ == "match_phrase" {
			q.and = true
		}
		return q, nil
	case "prefix":
		field, v, err := fieldBody(typ, body)
		if err != nil {
			return nil, err
		}
		q := qPrefix{field: field}
		if m, ok := v.(map[string]any); ok {
			q.value, _ = m["value"].(string)
			q.ci, _ = m["case_insensitive"].(bool)
		} else {
			q.value = fmt.Sprint(v)
		}
		return q, nil
	case "query_string", "simple_query_string", "wildcard", "regexp", "fuzzy", "nested", "script", "multi_match",
		"function_score", "dis_max", "geo_distance", "knn", "more_like_this", "terms_set", "match_phrase_prefix", "match_bool_prefix":
		return nil, errIllegalArg("the OpenSearch twin does not implement the [%s] query", typ)
	}
	return nil, errParsing("unknown query [%s]", typ)
}

// fref is a field reference resolved against one index.
type fref struct {
	name        string
	f           *field
	path        []string // inside an object field
	typ         ftype
	kw          bool // exact-string semantics (keyword or .keyword)
	ignoreAbove int
	special     byte // 'i' _id, 'x' _index
	primary     bool
	df          dateFormat
}

func (ix *index) resolve(name string) fref {
	r := fref{name: name}
	switch name {
	case "_id":
		r.special, r.typ, r.kw = 'i', ftKeyword, true
		return r
	case "_index":
		r.special, r.typ, r.kw = 'x', ftKeyword, true
		return r
	}
	if f := ix.fieldByName(name); f != nil {
		r.f, r.typ, r.kw, r.ignoreAbove, r.df = f, f.typ, f.typ == ftKeyword, f.ignoreAbove, f.format
		r.primary = f.id == ix.timeField
		return r
	}
	if base, ok := strings.CutSuffix(name, ".keyword"); ok {
		if f := ix.fieldByName(base); f != nil {
			if f.typ == ftText && f.kwSub {
				r.f, r.typ, r.kw, r.ignoreAbove = f, ftKeyword, true, f.ignoreAbove
			}
			return r
		}
	}
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		if f := ix.fieldByName(name[:i]); f != nil {
			if f.typ == ftObject {
				r.f, r.typ = f, ftNone
				r.path = strings.Split(name[i+1:], ".")
				if n := len(r.path); n > 1 && r.path[n-1] == "keyword" {
					r.path, r.kw, r.ignoreAbove = r.path[:n-1], true, defaultIgnoreAbove
				}
			}
			return r
		}
	}
	return r
}

func (r *fref) mapped() bool { return r.f != nil || r.special != 0 }

// values appends the row's values for r: none when missing or null, several for arrays.
func (rc *rowCtx) values(r *fref, dst []value) []value {
	dst = dst[:0]
	switch r.special {
	case 'i':
		return append(dst, value{k: kStr, b: []byte(rc.docID())})
	case 'x':
		return append(dst, value{k: kStr, b: []byte(rc.ix.name)})
	}
	if r.f == nil {
		return dst
	}
	v, ok := rc.fieldValue(r.f)
	if !ok {
		return dst
	}
	if len(r.path) > 0 {
		if v.k != kRaw {
			return dst
		}
		return appendPathValues(dst, v.b, r.path, r.f)
	}
	switch v.k {
	case kNull:
		return dst
	case kRaw:
		if len(v.b) > 0 && v.b[0] == '[' {
			return appendArrayValues(dst, v.b, r.f)
		}
	}
	return append(dst, v)
}

func appendArrayValues(dst []value, raw []byte, f *field) []value {
	elems, err := scanArray(raw)
	if err != nil {
		return dst
	}
	for i := range elems {
		e := &elems[i]
		switch e.typ {
		case jNull:
		case jArray:
			dst = appendArrayValues(dst, e.val, f)
		default:
			dst = append(dst, valueFromRaw(e, f))
		}
	}
	return dst
}

func appendPathValues(dst []value, raw []byte, path []string, f *field) []value {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return dst
	}
	if raw[0] == '[' {
		elems, err := scanArray(raw)
		if err != nil {
			return dst
		}
		for i := range elems {
			if elems[i].typ == jObject || elems[i].typ == jArray {
				dst = appendPathValues(dst, elems[i].val, path, f)
			}
		}
		return dst
	}
	members, _, err := scanObject(raw, nil)
	if err != nil {
		return dst
	}
	for i := range members {
		m := &members[i]
		if string(m.key) != path[0] {
			continue
		}
		if len(path) > 1 {
			if m.typ == jObject || m.typ == jArray {
				dst = appendPathValues(dst, m.val, path[1:], f)
			}
			continue
		}
		switch m.typ {
		case jNull:
		case jArray:
			dst = appendArrayValues(dst, m.val, f)
		default:
			dst = append(dst, valueFromRaw(m, f))
		}
	}
	return dst
}

// semType is the comparison semantics for a value of reference r: the mapping's, or inferred
// from the value inside unmapped object paths.
func (r *fref) semType(v *value) ftype {
	if r.kw {
		return ftKeyword
	}
	if r.typ != ftNone {
		return r.typ
	}
	switch v.k {
	case kInt:
		return ftLong
	case kNum:
		return ftDouble
	case kTrue, kFalse:
		return ftBool
	}
	return ftText
}

// cquery is a query compiled against one index.
type cquery struct {
	all, none  bool
	hasTs      bool
	tsLo, tsHi int64 // inclusive bounds on the primary timestamp implied by the query
	// spans, when set, are the only timestamps in [tsLo, tsHi] the query allows: sorted, disjoint
	// intervals (see spans.go). Nil means all of [tsLo, tsHi].
	spans []tsSpan
	// fn tests a row's other conditions; nil when the timestamp conditions are the whole query.
	fn func(rc *rowCtx) bool
}

type compileCtx struct {
	now time.Time
}

func matchNone() *cquery { return &cquery{none: true, fn: func(*rowCtx) bool { return false }} }
func matchAll() *cquery  { return &cquery{all: true} }

func (cq *cquery) match(rc *rowCtx) bool {
	if cq.none {
		return false
	}
	if cq.hasTs && !cq.inTs(rc.ts) {
		return false
	}
	return cq.fn == nil || cq.fn(rc)
}

func compile(q query, ix *index, ctx *compileCtx) (*cquery, *apiError) {
	switch q := q.(type) {
	case qAll:
		return matchAll(), nil
	case qNone:
		return matchNone(), nil
	case qBool:
		return compileBool(q, ix, ctx)
	case qRange:
		return compileRange(q, ix, ctx)
	case qExists:
		r := ix.resolve(q.field)
		if !r.mapped() {
			return matchNone(), nil
		}
		if r.primary {
			return tsQuery([]tsSpan{{math.MinInt64 + 1, math.MaxInt64}}), nil
		}
		var buf []value
		var sb []byte
		return &cquery{fn: func(rc *rowCtx) bool {
			buf = rc.values(&r, buf)
			for i := range buf {
				if r.kw && r.ignoreAbove > 0 {
					sb = buf[i].appendStr(sb[:0])
					if len(sb) > r.ignoreAbove {
						continue
					}
				}
				return true
			}
			return false
		}}, nil
	case qIds:
		auto := map[int]bool{}
		custom := map[string]bool{}
		for _, id := range q.ids {
			if r, ok := ix.decodeAutoID([]byte(id)); ok {
				auto[r] = true
			}
			custom[id] = true
		}
		return &cquery{fn: func(rc *rowCtx) bool {
			rc.load()
			if rc.id != nil {
				return custom[string(rc.id)]
			}
			return auto[rc.row]
		}}, nil
	case qTerm:
		return compileTerms(q.field, []any{q.value}, q.ci, ix, ctx)
	case qTerms:
		return compileTerms(q.field, q.values, false, ix, ctx)
	case qMatch:
		return compileMatch(q, ix, ctx)
	case qPrefix:
		r := ix.resolve(q.field)
		if !r.mapped() {
			return matchNone(), nil
		}
		want := q.value
		var buf []value
		var sb []byte
		var toks []string
		return &cquery{fn: func(rc *rowCtx) bool {
			buf = rc.values(&r, buf)
			for i := range buf {
				v := &buf[i]
				sb = v.appendStr(sb[:0])
				if r.semType(v) == ftText {
					toks = tokens(sb, toks[:0])
					for _, t := range toks {
						if strings.HasPrefix(t, want) {
							return true
						}
					}
					continue
				}
				if q.ci {
					if len(sb) >= len(want) && strings.EqualFold(string(sb[:len(want)]), want) {
						return true
					}
				} else if bytes.HasPrefix(sb, []byte(want)) {
					return true
				}
			}
			return false
		}}, nil
	}
	return nil, errParsing("unsupported query %T", q)
}

func compileBool(q qBool, ix *index, ctx *compileCtx) (*cquery, *apiError) {
	var req, should, not []*cquery
	// ts collects the conditions on the primary timestamp: required clauses intersect it, a
	// should group of pure timestamp conditions unions into it, must_not subtracts.
	var ts []tsSpan
	hasTs := false
	restrict := func(s []tsSpan) {
		if hasTs {
			ts = intersectSpans(ts, s)
		} else {
			ts, hasTs = slices.Clone(s), true
		}
	}
	for _, group := range [][]query{q.must, q.filter} {
		for _, sub := range group {
			c, err := compile(sub, ix, ctx)
			if err != nil {
				return nil, err
			}
			if c.none {
				return matchNone(), nil
			}
			if c.hasTs {
				restrict(c.tsSpans())
			}
			if c.fn != nil {
				req = append(req, c)
			}
		}
	}
	for _, sub := range q.should {
		c, err := compile(sub, ix, ctx)
		if err != nil {
			return nil, err
		}
		should = append(should, c)
	}
	for _, sub := range q.mustNot {
		c, err := compile(sub, ix, ctx)
		if err != nil {
			return nil, err
		}
		if c.all {
			return matchNone(), nil
		}
		if c.none {
			continue
		}
		if c.fn == nil && c.hasTs {
			restrict(complementSpans(c.tsSpans()))
			continue
		}
		not = append(not, c)
	}
	msm, err := minimumShouldMatch(q.msm, len(should), len(q.must)+len(q.filter) == 0)
	if err != nil {
		return nil, err
	}
	if msm > len(should) {
		return matchNone(), nil
	}
	if msm == 0 {
		should = nil
	}
	if msm == 1 && !slices.ContainsFunc(should, func(c *cquery) bool { return c.fn != nil && !c.none }) {
		// Any one of several timestamp conditions: their union.
		var union []tsSpan
		everything := false
		for _, c := range should {
			switch {
			case c.all:
				everything = true
			case c.hasTs:
				union = append(union, c.tsSpans()...)
			}
		}
		if !everything {
			restrict(normSpans(union))
		}
		should = nil
	}
	if hasTs && len(ts) == 0 {
		return matchNone(), nil
	}
	var out *cquery
	switch {
	case hasTs:
		out = tsQuery(ts)
	case len(req) == 0 && len(should) == 0 && len(not) == 0:
		return matchAll(), nil
	default:
		out = &cquery{}
	}
	if len(req) == 0 && len(should) == 0 && len(not) == 0 {
		return out, nil
	}
	out.fn = func(rc *rowCtx) bool {
		for _, c := range req {
			if !c.fn(rc) {
				return false
			}
		}
		for _, c := range not {
			if c.match(rc) {
				return false
			}
		}
		if len(should) > 0 {
			n := 0
			for _, c := range should {
				if c.match(rc) {
					n++
					if n >= msm {
						return true
					}
				}
			}
			return false
		}
		return true
	}
	return out, nil
}

func minimumShouldMatch(v any, n int, pure bool) (int, *apiError) {
	if v == nil {
		if pure && n > 0 {
			return 1, nil
		}
		return 0, nil
	}
	s := fmt.Sprint(v)
	pct := strings.HasSuffix(s, "%")
	s = strings.TrimSuffix(s, "%")
	x, err := strconv.Atoi(s)
	if err != nil {
		return 0, errIllegalArg("failed to parse [minimum_should_match] value [%v]", v)
	}
	if pct {
		x = n * x / 100
	}
	if x < 0 {
		x = n + x
	}
	return max(x, 0), nil
}

func jsonString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

func jsonFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// dateBound converts a range bound or term value to epoch millis.
func dateBound(v any, df dateFormat, loc *time.Location, now time.Time, roundUp bool) (int64, *apiError) {
	switch x := v.(type) {
	case json.Number:
		if df.alts[0] == "epoch_second" {
			f, _ := x.Float64()
			return int64(math.Floor(f * 1000)), nil
		}
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return 0, errParsing("failed to parse date field [%s]", x)
		}
		return int64(math.Floor(f)), nil
	case float64:
		return int64(math.Floor(x)), nil
	case string:
		ms, err := parseDateMath(x, df, loc, now, roundUp)
		if err != nil {
			e := errBadRequest("parse_exception", "failed to parse date field [%s] with format [%s]: [%v]", x, joinFormat(df), err)
			return 0, e
		}
		return ms, nil
	}
	return 0, errParsing("failed to parse date field [%v]", v)
}

func compileRange(q qRange, ix *index, ctx *compileCtx) (*cquery, *apiError) {
	r := ix.resolve(q.field)
	if !r.mapped() {
		return matchNone(), nil
	}
	isDate := r.typ == ftDate || (r.typ == ftNone && q.format != "")
	if isDate || r.typ == ftNone {
		df := r.df
		if q.format != "" || len(df.alts) == 0 {
			var err *apiError
			if df, err = newDateFormat(q.format); err != nil {
				return nil, err
			}
		}
		loc, err := parseTimeZone(q.timeZone)
		if err != nil {
			return nil, err
		}
		lo, hi := int64(math.MinInt64+1), int64(math.MaxInt64)
		type bound struct {
			v       any
			lower   bool
			strict  bool
			roundUp bool
		}
		bounds := []bound{{q.gte, true, false, false}, {q.gt, true, true, true}, {q.lte, false, false, true}, {q.lt, false, true, false}}
		okAll := true
		for _, b := range bounds {
			if b.v == nil {
				continue
			}
			ms, e := dateBound(b.v, df, loc, ctx.now, b.roundUp)
			if e != nil {
				if isDate {
					return nil, e
				}
				okAll = false
				break
			}
			switch {
			case b.lower && b.strict:
				lo = max(lo, ms+1)
			case b.lower:
				lo = max(lo, ms)
			case b.strict:
				hi = min(hi, ms-1)
			default:
				hi = min(hi, ms)
			}
		}
		if isDate || okAll {
			if r.primary {
				if lo > hi {
					return matchNone(), nil
				}
				return tsQuery([]tsSpan{{lo, hi}}), nil
			}
			if isDate {
				var buf []value
				return &cquery{fn: func(rc *rowCtx) bool {
					buf = rc.values(&r, buf)
					for i := range buf {
						if ms, ok := buf[i].millis(r.df); ok && ms >= lo && ms <= hi {
							return true
						}
					}
					return false
				}}, nil
			}
		}
	}
	// Numbers compare as numbers, strings (keyword, text) lexicographically.
	numeric := r.typ == ftLong || r.typ == ftDouble || r.typ == ftBool
	var nlo, nhi = math.Inf(-1), math.Inf(1)
	var loInc, hiInc = true, true
	var slo, shi *string
	setS := func(v any, lower, inc bool) {
		s, _ := jsonString(v)
		if lower {
			slo, loInc = &s, inc
		} else {
			shi, hiInc = &s, inc
		}
	}
	for _, b := range []struct {
		v          any
		lower, inc bool
	}{{q.gte, true, true}, {q.gt, true, false}, {q.lte, false, true}, {q.lt, false, false}} {
		if b.v == nil {
			continue
		}
		if numeric || (r.typ == ftNone && !r.kw) {
			f, ok := jsonFloat(b.v)
			if !ok && numeric {
				return nil, errBadRequest("number_format_exception", "For input string: \"%v\"", b.v)
			}
			if ok {
				if b.lower {
					nlo, loInc = f, b.inc
				} else {
					nhi, hiInc = f, b.inc
				}
			}
		}
		setS(b.v, b.lower, b.inc)
	}
	var buf []value
	var sb []byte
	return &cquery{fn: func(rc *rowCtx) bool {
		buf = rc.values(&r, buf)
		for i := range buf {
			v := &buf[i]
			st := r.semType(v)
			if st == ftLong || st == ftDouble || st == ftBool {
				f, ok := v.float()
				if !ok {
					continue
				}
				if (f > nlo || (loInc && f == nlo)) && (f < nhi || (hiInc && f == nhi)) {
					return true
				}
				continue
			}
			sb = v.appendStr(sb[:0])
			s := string(sb)
			if slo != nil && (s < *slo || (!loInc && s == *slo)) {
				continue
			}
			if shi != nil && (s > *shi || (!hiInc && s == *shi)) {
				continue
			}
			return true
		}
		return false
	}}, nil
}

// compileTerms compiles term and terms: a document matches when any of its values equals any
// wanted value under the field's semantics.
func compileTerms(fieldName string, wanted []any, ci bool, ix *index, ctx *compileCtx) (*cquery, *apiError) {
	r := ix.resolve(fieldName)
	if !r.mapped() || len(wanted) == 0 {
		return matchNone(), nil
	}
	if r.special == 'x' {
		for _, w := range wanted {
			if s, _ := jsonString(w); s == ix.name {
				return matchAll(), nil
			}
		}
		return matchNone(), nil
	}
	if r.special == 'i' {
		ids := make([]string, 0, len(wanted))
		for _, w := range wanted {
			s, _ := jsonString(w)
			ids = append(ids, s)
		}
		return compile(qIds{ids: ids}, ix, ctx)
	}
	switch r.typ {
	case ftDate:
		want := map[int64]bool{}
		for _, w := range wanted {
			ms, err := dateBound(w, r.df, utc, ctx.now, false)
			if err != nil {
				return nil, err
			}
			want[ms] = true
		}
		if r.primary {
			points := make([]tsSpan, 0, len(want))
			for ms := range want {
				points = append(points, tsSpan{ms, ms})
			}
			return tsQuery(normSpans(points)), nil
		}
		var buf []value
		return &cquery{fn: func(rc *rowCtx) bool {
			buf = rc.values(&r, buf)
			for i := range buf {
				if ms, ok := buf[i].millis(r.df); ok && want[ms] {
					return true
				}
			}
			return false
		}}, nil
	case ftLong, ftDouble:
		want := map[float64]bool{}
		for _, w := range wanted {
			f, ok := jsonFloat(w)
			if !ok {
				return nil, errBadRequest("number_format_exception", "For input string: \"%v\"", w)
			}
			want[f] = true
		}
		var buf []value
		return &cquery{fn: func(rc *rowCtx) bool {
			buf = rc.values(&r, buf)
			for i := range buf {
				if f, ok := buf[i].float(); ok && want[f] {
					return true
				}
			}
			return false
		}}, nil
	case ftBool:
		want := map[bool]bool{}
		for _, w := range wanted {
			s, _ := jsonString(w)
			switch s {
			case "true":
				want[true] = true
			case "false", "":
				want[false] = true
			default:
				return nil, errIllegalArg("Can't parse boolean value [%s], expected [true] or [false]", s)
			}
		}
		var buf []value
		return &cquery{fn: func(rc *rowCtx) bool {
			buf = rc.values(&r, buf)
			for i := range buf {
				if b, ok := buf[i].boolean(); ok && want[b] {
					return true
				}
			}
			return false
		}}, nil
	case ftObject:
		if len(r.path) == 0 {
			return matchNone(), nil
		}
	}
	// Strings: keyword semantics compare whole values, text semantics compare tokens.
	want := map[string]bool{}
	for _, w := range wanted {
		s, ok := jsonString(w)
		if !ok {
			return nil, errParsing("[term] query does not support array or object values")
		}
		if ci {
			s = strings.ToLower(s)
		}
		want[s] = true
	}
	var codes []bool // dictionary codes of wanted values, the fast path for kDict values
	if r.f != nil && r.kw && !ci {
		codes = make([]bool, len(r.f.dict))
		for s := range want {
			if c, ok := r.f.dictIdx[s]; ok {
				codes[c] = true
			}
		}
	}
	var buf []value
	var sb []byte
	var toks []string
	return &cquery{fn: func(rc *rowCtx) bool {
		buf = rc.values(&r, buf)
		for i := range buf {
			v := &buf[i]
			if codes != nil && v.k == kDict && v.f == r.f && len(r.path) == 0 {
				if int(v.i) < len(codes) && codes[v.i] {
					return true
				}
				continue
			}
			sb = v.appendStr(sb[:0])
			if r.semType(v) == ftText {
				toks = tokens(sb, toks[:0])
				for _, t := range toks {
					if want[t] {
						return true
					}
				}
				continue
			}
			if r.ignoreAbove > 0 && len(sb) > r.ignoreAbove {
				continue
			}
			if ci {
				if want[strings.ToLower(string(sb))] {
					return true
				}
			} else if want[string(sb)] {
				return true
			}
		}
		return false
	}}, nil
}

func compileMatch(q qMatch, ix *index, ctx *compileCtx) (*cquery, *apiError) {
	r := ix.resolve(q.field)
	if !r.mapped() {
		return matchNone(), nil
	}
	if q.text == nil {
		return nil, errIllegalArg("[match] requires query value")
	}
	if r.typ != ftText && !(r.typ == ftNone && !r.kw) {
		return compileTerms(q.field, []any{q.text}, false, ix, ctx)
	}
	s, _ := jsonString(q.text)
	qt := tokens([]byte(s), nil)
	if len(qt) == 0 {
		return matchNone(), nil
	}
	var buf []value
	var sb []byte
	var toks []string
	return &cquery{fn: func(rc *rowCtx) bool {
		buf = rc.values(&r, buf)
		have := map[string]bool{}
		for i := range buf {
			sb = buf[i].appendStr(sb[:0])
			toks = tokens(sb, toks[:0])
			for _, t := range toks {
				have[t] = true
			}
		}
		n := 0
		for _, t := range qt {
			if have[t] {
				n++
			}
		}
		if q.and {
			return n == len(qt)
		}
		return n > 0
	}}, nil
}
