package opensearchtwin

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Aggregations are streaming collectors: one scan over the matching rows feeds every collector,
// and bucket aggregations create their sub-aggregation collectors per bucket on first use.

type aggSpec struct {
	name string
	typ  string
	subs []*aggSpec

	field   string
	missing any

	// date_histogram and composite date_histogram sources
	fixed       int64
	cal         byte
	loc         *time.Location
	offset      int64
	minDocCount int64
	ebMin       *int64
	ebMax       *int64
	hbMin       *int64
	hbMax       *int64
	format      dateFormat
	hasFormat   bool
	keyed       bool

	// terms, date_histogram order
	size    int
	orderBy string // "_count" or "_key"
	desc    bool

	// composite
	sources       []*aggSpec
	after         map[string]any
	missingBucket bool    // a composite source that keys documents without a value as null
	interval      float64 // a composite histogram source's interval

	// filter
	filter query
}

type aggCtx struct {
	now time.Time
	err *apiError
}

func (c *aggCtx) fail(e *apiError) {
	if c.err == nil {
		c.err = e
	}
}

var metricAggs = map[string]bool{"min": true, "max": true, "sum": true, "avg": true, "value_count": true, "cardinality": true}

func parseAggs(raw json.RawMessage, now time.Time) ([]*aggSpec, *apiError) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, errParsing("failed to parse aggregations: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errParsing("Unexpected token in [aggregations]: expected an object")
	}
	return parseAggMap(m, now)
}

func parseAggMap(m map[string]any, now time.Time) ([]*aggSpec, *apiError) {
	names := slices.Sorted(mapKeys(m))
	var out []*aggSpec
	for _, name := range names {
		body, ok := m[name].(map[string]any)
		if !ok {
			return nil, errParsing("Expected [START_OBJECT] under [%s], but got a different token in [aggs]", name)
		}
		spec := &aggSpec{name: name}
		for k, x := range body {
			switch k {
			case "aggs", "aggregations":
				sm, ok := x.(map[string]any)
				if !ok {
					return nil, errParsing("Expected [START_OBJECT] under [%s]", k)
				}
				subs, err := parseAggMap(sm, now)
				if err != nil {
					return nil, err
				}
				spec.subs = subs
			case "meta":
			default:
				if spec.typ != "" {
					return nil, errParsing("Found two aggregation type definitions in [%s]: [%s] and [%s]", name, spec.typ, k)
				}
				spec.typ = k
				if err := spec.parseParams(x, now); err != nil {
					return nil, err
				}
			}
		}
		if spec.typ == "" {
			return nil, errParsing("Missing definition for aggregation [%s]", name)
		}
		if metricAggs[spec.typ] && len(spec.subs) > 0 {
			return nil, errBadRequest("aggregation_initialization_exception", "Aggregator [%s] of type [%s] cannot accept sub-aggregations", name, spec.typ)
		}
		out = append(out, spec)
	}
	return out, nil
}

func intParam(x any, name string) (int64, *apiError) {
	f, ok := jsonFloat(x)
	if !ok || f != math.Trunc(f) {
		return 0, errParsing("[%s] must be an integer", name)
	}
	return int64(f), nil
}

func (s *aggSpec) parseParams(x any, now time.Time) *apiError {
	p, ok := x.(map[string]any)
	if !ok {
		return errParsing("Expected [START_OBJECT] under [%s], but got a different token in [%s]", s.typ, s.name)
	}
	str := func(k string) string { v, _ := p[k].(string); return v }
	s.field = str("field")
	s.missing = p["missing"]
	switch s.typ {
	case "date_histogram":
		return s.parseDateHistogram(p, now, true)
	case "terms":
		s.size, s.orderBy, s.desc = 10, "_count", true
		s.minDocCount = 1
		if v, ok := p["size"]; ok {
			n, err := intParam(v, "size")
			if err != nil {
				return err
			}
			if n < 1 {
				return errIllegalArg("[size] must be greater than 0. Found [%d] in [%s]", n, s.name)
			}
			s.size = int(n)
		}
		if v, ok := p["min_doc_count"]; ok {
			n, err := intParam(v, "min_doc_count")
			if err != nil {
				return err
			}
			s.minDocCount = n
		}
		if o, ok := p["order"]; ok {
			if err := s.parseOrder(o); err != nil {
				return err
			}
		}
		if _, ok := p["include"]; ok {
			return errIllegalArg("the OpenSearch twin does not implement terms include/exclude")
		}
		if _, ok := p["exclude"]; ok {
			return errIllegalArg("the OpenSearch twin does not implement terms include/exclude")
		}
		if s.field == "" {
			return errIllegalArg("Required one of fields [field, script], but none were specified.")
		}
	case "composite":
		s.size = 10
		if v, ok := p["size"]; ok {
			n, err := intParam(v, "size")
			if err != nil {
				return err
			}
			s.size = int(n)
		}
		srcs, ok := p["sources"].([]any)
		if !ok || len(srcs) == 0 {
			return errIllegalArg("Composite [sources] cannot be null or empty")
		}
		for _, src := range srcs {
			m, ok := src.(map[string]any)
			if !ok || len(m) != 1 {
				return errParsing("[composite] each source must be an object with one name")
			}
			for name, def := range m {
				dm, ok := def.(map[string]any)
				if !ok || len(dm) != 1 {
					return errParsing("[composite] source [%s] must define exactly one type", name)
				}
				for typ, params := range dm {
					cs := &aggSpec{name: name, typ: typ}
					pm, ok := params.(map[string]any)
					if !ok {
						return errParsing("[composite] source [%s] is malformed", name)
					}
					cs.field, _ = pm["field"].(string)
					if o, _ := pm["order"].(string); o == "desc" {
						cs.desc = true
					}
					cs.missingBucket, _ = pm["missing_bucket"].(bool)
					switch typ {
					case "terms":
					case "date_histogram":
						if err := cs.parseDateHistogram(pm, now, false); err != nil {
							return err
						}
					case "histogram":
						iv, ok := jsonFloat(pm["interval"])
						if !ok || iv <= 0 {
							return errIllegalArg("[interval] must be >0 for histogram source [%s]", name)
						}
						cs.interval = iv
					default:
						return errParsing("Unknown composite source type [%s]", typ)
					}
					if cs.field == "" {
						return errIllegalArg("Required one of fields [field, script], but none were specified.")
					}
					s.sources = append(s.sources, cs)
				}
			}
		}
		if a, ok := p["after"]; ok {
			am, ok := a.(map[string]any)
			if !ok {
				return errParsing("[after] must be an object")
			}
			s.after = am
		}
	case "filter":
		q, err := parseQueryValue(x)
		if err != nil {
			return err
		}
		s.filter = q
		s.field = ""
	case "min", "max", "sum", "avg", "value_count", "cardinality":
		if s.field == "" {
			return errIllegalArg("Required one of fields [field, script], but none were specified.")
		}
	default:
		return errParsing("Unknown aggregation type [%s]", s.typ)
	}
	return nil
}

func (s *aggSpec) parseOrder(o any) *apiError {
	var m map[string]any
	switch x := o.(type) {
	case map[string]any:
		m = x
	case []any:
		if len(x) > 0 {
			m, _ = x[0].(map[string]any)
		}
	}
	if len(m) != 1 {
		return errParsing("[order] must be an object with one key")
	}
	for k, v := range m {
		dir, _ := v.(string)
		switch k {
		case "_count", "_key", "_term":
			if k == "_term" {
				k = "_key"
			}
			s.orderBy, s.desc = k, dir == "desc"
		default:
			return errIllegalArg("the OpenSearch twin only orders buckets by _count or _key, not [%s]", k)
		}
	}
	return nil
}

func (s *aggSpec) parseDateHistogram(p map[string]any, now time.Time, top bool) *apiError {
	str := func(k string) string { v, _ := p[k].(string); return v }
	if s.field == "" {
		return errIllegalArg("Required one of fields [field, script], but none were specified.")
	}
	loc, err := parseTimeZone(str("time_zone"))
	if err != nil {
		return err
	}
	s.loc = loc
	fi, ci, iv := str("fixed_interval"), str("calendar_interval"), str("interval")
	switch {
	case fi != "" && ci != "":
		return errIllegalArg("Cannot use [fixed_interval] with [calendar_interval] configuration option.")
	case fi != "":
		ms, err := parseFixedInterval(fi)
		if err != nil {
			return err
		}
		s.fixed = ms
	case ci != "":
		u, err := parseCalendarInterval(ci)
		if err != nil {
			return err
		}
		s.cal = u
	case iv != "":
		if u, err := parseCalendarInterval(iv); err == nil {
			s.cal = u
		} else if ms, err := parseFixedInterval(iv); err == nil {
			s.fixed = ms
		} else {
			return err
		}
	default:
		return errIllegalArg("Invalid interval specified, must be non-null and non-empty")
	}
	if f := str("format"); f != "" {
		df, err := newDateFormat(f)
		if err != nil {
			return err
		}
		s.format, s.hasFormat = df, true
	} else {
		s.format, _ = newDateFormat("")
	}
	switch o := p["offset"].(type) {
	case string:
		neg := strings.HasPrefix(o, "-")
		ms, err := parseFixedInterval(strings.TrimLeft(o, "+-"))
		if err != nil {
			return err
		}
		if neg {
			ms = -ms
		}
		s.offset = ms
	case json.Number:
		s.offset, _ = o.Int64()
	}
	if !top {
		return nil
	}
	s.orderBy = "_key"
	if v, ok := p["min_doc_count"]; ok {
		n, err := intParam(v, "min_doc_count")
		if err != nil {
			return err
		}
		s.minDocCount = n
	}
	s.keyed, _ = p["keyed"].(bool)
	if o, ok := p["order"]; ok {
		if err := s.parseOrder(o); err != nil {
			return err
		}
	}
	bounds := func(k string) (*int64, *int64, *apiError) {
		m, ok := p[k].(map[string]any)
		if !ok {
			return nil, nil, nil
		}
		var lo, hi *int64
		if v, ok := m["min"]; ok && v != nil {
			ms, err := dateBound(v, s.format, s.loc, now, false)
			if err != nil {
				return nil, nil, err
			}
			lo = &ms
		}
		if v, ok := m["max"]; ok && v != nil {
			ms, err := dateBound(v, s.format, s.loc, now, false)
			if err != nil {
				return nil, nil, err
			}
			hi = &ms
		}
		return lo, hi, nil
	}
	var e *apiError
	if s.ebMin, s.ebMax, e = bounds("extended_bounds"); e != nil {
		return e
	}
	if s.hbMin, s.hbMax, e = bounds("hard_bounds"); e != nil {
		return e
	}
	if s.ebMin != nil && s.ebMax != nil && *s.ebMin > *s.ebMax {
		return errIllegalArg("[extended_bounds.min][%d] cannot be greater than [extended_bounds.max][%d] for histogram aggregation [%s]", *s.ebMin, *s.ebMax, s.name)
	}
	return nil
}

func (s *aggSpec) rounding() *rounding {
	return newRounding(s.fixed, s.cal, s.loc, s.offset)
}

// collector is one aggregation being computed.
type collector interface {
	setTarget(t *target)
	collect(rc *rowCtx)
	result() any
}

type bucket struct {
	count int64
	subs  []collector
}

func newCollectors(specs []*aggSpec, ctx *aggCtx) []collector {
	out := make([]collector, 0, len(specs))
	for _, s := range specs {
		var c collector
		switch s.typ {
		case "date_histogram":
			c = &dhCollector{bucketBase: bucketBase{spec: s, ctx: ctx}, rnd: s.rounding(), buckets: map[int64]*bucket{}}
		case "terms":
			c = &termsCollector{bucketBase: bucketBase{spec: s, ctx: ctx}, strB: map[string]*bucket{}, numB: map[int64]*bucket{}, fltB: map[float64]*bucket{}}
		case "composite":
			c = newCompositeCollector(s, ctx)
		case "filter":
			c = &filterCollector{bucketBase: bucketBase{spec: s, ctx: ctx}}
		default:
			c = &metricCollector{spec: s, ctx: ctx, min: math.Inf(1), max: math.Inf(-1)}
			if s.typ == "cardinality" {
				c.(*metricCollector).seen = map[string]struct{}{}
			}
		}
		out = append(out, c)
	}
	return out
}

// tsCollector is a collector that can take matching documents as bare primary timestamps, one
// slice of the timestamp column at a time, rather than row by row: no row context, no decoding,
// no call per document per aggregation. runSearch uses it when tsOnlyAggs holds.
type tsCollector interface {
	collectTs(ts []int64)
}

// tsOnlyAggs reports whether the aggregations in specs read nothing of a document of ix but its
// primary timestamp and its index: date_histogram on the timestamp, terms on _index, and
// sum/min/max/avg/value_count of the timestamp, nested in any way.
func tsOnlyAggs(specs []*aggSpec, ix *index) bool {
	for _, s := range specs {
		switch s.typ {
		case "date_histogram":
			if !ix.resolve(s.field).primary || !tsOnlyAggs(s.subs, ix) {
				return false
			}
		case "terms":
			if s.field != "_index" || !tsOnlyAggs(s.subs, ix) {
				return false
			}
		case "sum", "min", "max", "avg", "value_count":
			if !ix.resolve(s.field).primary {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func collectSubsTs(bk *bucket, ts []int64) {
	bk.count += int64(len(ts))
	for _, s := range bk.subs {
		s.(tsCollector).collectTs(ts)
	}
}

// bucketBase is shared by bucket aggregations: it knows the current target so collectors for
// new buckets can be pointed at it.
type bucketBase struct {
	spec *aggSpec
	ctx  *aggCtx
	t    *target
	all  []*bucket
}

func (b *bucketBase) newBucket() *bucket {
	nb := &bucket{subs: newCollectors(b.spec.subs, b.ctx)}
	if b.t != nil {
		for _, s := range nb.subs {
			s.setTarget(b.t)
		}
	}
	b.all = append(b.all, nb)
	return nb
}

func (b *bucketBase) retarget(t *target) {
	b.t = t
	for _, bk := range b.all {
		for _, s := range bk.subs {
			s.setTarget(t)
		}
	}
}

func (b *bucketBase) subResults(o jobj, bk *bucket) jobj {
	if bk == nil {
		bk = &bucket{subs: newCollectors(b.spec.subs, b.ctx)}
	}
	for i, s := range bk.subs {
		o = append(o, jkv{b.spec.subs[i].name, s.result()})
	}
	return o
}

func collectSubs(bk *bucket, rc *rowCtx) {
	bk.count++
	for _, s := range bk.subs {
		s.collect(rc)
	}
}

var fielddataMsg = "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. Note that this can use significant memory."

// dhCollector is date_histogram.
type dhCollector struct {
	bucketBase
	r       fref
	rnd     *rounding
	buckets map[int64]*bucket
	lo, hi  int64
	last    *bucket
	vbuf    []value
	keys    []int64
}

func (c *dhCollector) setTarget(t *target) {
	c.retarget(t)
	c.r = t.ix.resolve(c.spec.field)
	c.last = nil
	if c.r.f != nil && c.r.typ != ftDate && c.r.typ != ftNone {
		c.ctx.fail(errIllegalArg("Field [%s] of type [%s] is not supported for aggregation [date_histogram]", c.spec.field, c.r.f.typName))
	}
}

func (c *dhCollector) add(ms int64, rc *rowCtx) {
	if c.spec.hbMin != nil && ms < *c.spec.hbMin || c.spec.hbMax != nil && ms > *c.spec.hbMax {
		return
	}
	if c.last != nil && ms >= c.lo && ms < c.hi {
		collectSubs(c.last, rc)
		return
	}
	key := c.rnd.round(ms)
	b, ok := c.buckets[key]
	if !ok {
		b = c.newBucket()
		c.buckets[key] = b
	}
	c.last, c.lo, c.hi = b, key, c.rnd.next(key)
	collectSubs(b, rc)
}

func (c *dhCollector) collect(rc *rowCtx) {
	if !c.r.mapped() {
		return
	}
	if c.r.primary {
		if rc.ts != tsMissing {
			c.add(rc.ts, rc)
		}
		return
	}
	c.vbuf = rc.values(&c.r, c.vbuf)
	c.keys = c.keys[:0]
	for i := range c.vbuf {
		ms, ok := c.vbuf[i].millis(c.r.df)
		if !ok {
			continue
		}
		k := c.rnd.round(ms)
		if !slices.Contains(c.keys, k) {
			c.keys = append(c.keys, k)
			c.add(ms, rc)
		}
	}
}

// collectTs is collect for the primary timestamp: each run of consecutive timestamps in one
// bucket is handed to the bucket's sub-aggregations as one slice.
func (c *dhCollector) collectTs(ts []int64) {
	hbMin, hbMax := int64(math.MinInt64), int64(math.MaxInt64)
	if c.spec.hbMin != nil {
		hbMin = *c.spec.hbMin
	}
	if c.spec.hbMax != nil {
		hbMax = *c.spec.hbMax
	}
	for i := 0; i < len(ts); {
		v := ts[i]
		if v == tsMissing || v < hbMin || v > hbMax {
			i++
			continue
		}
		if c.last == nil || v < c.lo || v >= c.hi {
			key := c.rnd.round(v)
			b, ok := c.buckets[key]
			if !ok {
				b = c.newBucket()
				c.buckets[key] = b
			}
			c.last, c.lo, c.hi = b, key, c.rnd.next(key)
		}
		lo, hi := max(c.lo, hbMin), min(c.hi-1, hbMax)
		j := i + 1
		for j < len(ts) && ts[j] >= lo && ts[j] <= hi {
			j++
		}
		collectSubsTs(c.last, ts[i:j])
		i = j
	}
}

const maxBuckets = 65535

func (c *dhCollector) result() any {
	keys := make([]int64, 0, len(c.buckets))
	for k := range c.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if c.spec.minDocCount == 0 && (len(keys) > 0 || (c.spec.ebMin != nil && c.spec.ebMax != nil)) {
		var lo, hi int64
		if len(keys) > 0 {
			lo, hi = keys[0], keys[len(keys)-1]
		}
		if c.spec.ebMin != nil {
			m := c.rnd.round(*c.spec.ebMin)
			if len(keys) == 0 || m < lo {
				lo = m
			}
		}
		if c.spec.ebMax != nil {
			m := c.rnd.round(*c.spec.ebMax)
			if len(keys) == 0 || m > hi {
				hi = m
			}
		}
		if c.spec.hbMin != nil {
			lo = max(lo, c.rnd.round(*c.spec.hbMin))
		}
		if c.spec.hbMax != nil {
			hi = min(hi, c.rnd.round(*c.spec.hbMax))
		}
		filled := keys[:0:0]
		for k := lo; k <= hi; k = c.rnd.next(k) {
			filled = append(filled, k)
			if len(filled) > maxBuckets {
				c.ctx.fail(newErr(400, "too_many_buckets_exception",
					"Trying to create too many buckets. Must be less than or equal to: [65535] but was [65536]. This limit can be set by changing the [search.max_buckets] cluster level setting."))
				return jobj{{"buckets", []any{}}}
			}
		}
		keys = filled
	} else if c.spec.minDocCount > 0 {
		kept := keys[:0]
		for _, k := range keys {
			if c.buckets[k].count >= c.spec.minDocCount {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	count := func(k int64) int64 {
		if b := c.buckets[k]; b != nil {
			return b.count
		}
		return 0
	}
	switch {
	case c.spec.orderBy == "_count":
		slices.SortStableFunc(keys, func(a, b int64) int {
			r := cmp.Compare(count(a), count(b))
			if c.spec.desc {
				r = -r
			}
			if r == 0 {
				return cmp.Compare(a, b)
			}
			return r
		})
	case c.spec.desc:
		slices.Reverse(keys)
	}
	// The buckets are rendered here, not built as objects for the response encoder: a histogram
	// can have 60,000 of them. The bytes are what encoding/json would write for the objects.
	buf := make([]byte, 0, 16+len(keys)*(80+40*len(c.spec.subs)))
	if c.spec.keyed {
		buf = append(buf, '{')
	} else {
		buf = append(buf, '[')
	}
	var ks []byte
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		ks = c.spec.format.appendFormat(ks[:0], k, c.spec.loc)
		if c.spec.keyed {
			buf = appendJSONBytesStd(buf, ks)
			buf = append(buf, ':')
		}
		buf = append(buf, `{"key_as_string":`...)
		buf = appendJSONBytesStd(buf, ks)
		buf = append(buf, `,"key":`...)
		buf = strconv.AppendInt(buf, k, 10)
		buf = append(buf, `,"doc_count":`...)
		buf = strconv.AppendInt(buf, count(k), 10)
		bk := c.buckets[k]
		if bk == nil {
			bk = &bucket{subs: newCollectors(c.spec.subs, c.ctx)}
		}
		for j, s := range bk.subs {
			buf = append(buf, ',')
			buf = appendJSONStringStd(buf, c.spec.subs[j].name)
			buf = append(buf, ':')
			var err error
			if buf, err = appendJSON(buf, s.result()); err != nil {
				panic(fmt.Sprintf("opensearchtwin: marshal aggregation %s: %v", c.spec.subs[j].name, err)) // as mustJSON
			}
		}
		buf = append(buf, '}')
	}
	if c.spec.keyed {
		buf = append(buf, '}')
	} else {
		buf = append(buf, ']')
	}
	return jobj{{"buckets", rawJSON(buf)}}
}

// termsCollector is terms.
type termsCollector struct {
	bucketBase
	r       fref
	strB    map[string]*bucket
	numB    map[int64]*bucket
	fltB    map[float64]*bucket
	codeB   []*bucket
	isDate  bool
	isBool  bool
	missing *bucket
	vbuf    []value
	sb      []byte
	doc     []*bucket
}

func (c *termsCollector) setTarget(t *target) {
	c.retarget(t)
	c.r = t.ix.resolve(c.spec.field)
	c.codeB = nil
	if c.r.f != nil && c.r.typ == ftText && !c.r.kw {
		c.ctx.fail(errIllegalArg(fielddataMsg, c.spec.field))
	}
	if c.r.f != nil && c.r.kw && len(c.r.path) == 0 {
		c.codeB = make([]*bucket, len(c.r.f.dict))
	}
	c.isDate = c.r.typ == ftDate
	c.isBool = c.r.typ == ftBool
}

func (c *termsCollector) bucketFor(v *value) *bucket {
	st := c.r.semType(v)
	switch st {
	case ftDate:
		ms, ok := v.millis(c.r.df)
		if !ok {
			return nil
		}
		return c.numBucket(ms)
	case ftLong:
		if v.k == kNum {
			f, ok := v.float()
			if !ok {
				return nil
			}
			return c.numBucket(int64(f))
		}
		i, ok := v.long()
		if !ok {
			return nil
		}
		return c.numBucket(i)
	case ftDouble:
		f, ok := v.float()
		if !ok {
			return nil
		}
		b, ok := c.fltB[f]
		if !ok {
			b = c.newBucket()
			c.fltB[f] = b
		}
		return b
	case ftBool:
		bv, ok := v.boolean()
		if !ok {
			return nil
		}
		return c.numBucket(map[bool]int64{true: 1, false: 0}[bv])
	}
	if v.k == kDict && c.codeB != nil && v.f == c.r.f {
		if b := c.codeB[v.i]; b != nil {
			return b
		}
	}
	c.sb = v.appendStr(c.sb[:0])
	if c.r.ignoreAbove > 0 && len(c.sb) > c.r.ignoreAbove {
		return nil
	}
	b, ok := c.strB[string(c.sb)]
	if !ok {
		b = c.newBucket()
		c.strB[string(c.sb)] = b
	}
	if v.k == kDict && c.codeB != nil && v.f == c.r.f {
		c.codeB[v.i] = b
	}
	return b
}

func (c *termsCollector) numBucket(k int64) *bucket {
	b, ok := c.numB[k]
	if !ok {
		b = c.newBucket()
		c.numB[k] = b
	}
	return b
}

func (c *termsCollector) collect(rc *rowCtx) {
	c.vbuf = rc.values(&c.r, c.vbuf)
	if len(c.vbuf) == 0 {
		if c.spec.missing != nil {
			if c.missing == nil {
				c.missing = c.newBucket()
			}
			collectSubs(c.missing, rc)
		}
		return
	}
	if len(c.vbuf) == 1 {
		if b := c.bucketFor(&c.vbuf[0]); b != nil {
			collectSubs(b, rc)
		}
		return
	}
	c.doc = c.doc[:0]
	for i := range c.vbuf {
		if b := c.bucketFor(&c.vbuf[i]); b != nil && !slices.Contains(c.doc, b) {
			c.doc = append(c.doc, b)
			collectSubs(b, rc)
		}
	}
}

// collectTs is collect for terms on _index, the only terms aggregation tsOnlyAggs admits.
func (c *termsCollector) collectTs(ts []int64) {
	if len(ts) == 0 {
		return
	}
	b, ok := c.strB[c.t.ix.name]
	if !ok {
		b = c.newBucket()
		c.strB[c.t.ix.name] = b
	}
	collectSubsTs(b, ts)
}

func (c *termsCollector) result() any {
	type entry struct {
		s   string
		i   int64
		f   float64
		t   byte
		b   *bucket
		cnt int64
	}
	var es []entry
	for k, b := range c.strB {
		es = append(es, entry{s: k, t: 's', b: b, cnt: b.count})
	}
	for k, b := range c.numB {
		es = append(es, entry{i: k, t: 'i', b: b, cnt: b.count})
	}
	for k, b := range c.fltB {
		es = append(es, entry{f: k, t: 'f', b: b, cnt: b.count})
	}
	if c.missing != nil {
		e := entry{b: c.missing, cnt: c.missing.count}
		switch m := c.spec.missing.(type) {
		case json.Number:
			if i, err := m.Int64(); err == nil {
				e.t, e.i = 'i', i
			} else {
				e.t = 'f'
				e.f, _ = m.Float64()
			}
		default:
			e.t, e.s = 's', fmtAny(m)
		}
		es = append(es, e)
	}
	keyCmp := func(a, b entry) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		switch a.t {
		case 's':
			return strings.Compare(a.s, b.s)
		case 'i':
			return cmp.Compare(a.i, b.i)
		}
		return cmp.Compare(a.f, b.f)
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c.spec.orderBy == "_key" {
			r := keyCmp(a, b)
			if c.spec.desc {
				r = -r
			}
			return r
		}
		r := cmp.Compare(a.cnt, b.cnt)
		if c.spec.desc {
			r = -r
		}
		if r == 0 {
			return keyCmp(a, b)
		}
		return r
	})
	kept := es[:0]
	for _, e := range es {
		if e.cnt >= c.spec.minDocCount {
			kept = append(kept, e)
		}
	}
	es = kept
	var other int64
	if len(es) > c.spec.size {
		for _, e := range es[c.spec.size:] {
			other += e.cnt
		}
		es = es[:c.spec.size]
	}
	out := make([]any, 0, len(es))
	for _, e := range es {
		var o jobj
		switch {
		case e.t == 's':
			o = jobj{{"key", e.s}}
		case e.t == 'f':
			o = jobj{{"key", jfloat(e.f)}}
		case c.isDate:
			o = jobj{{"key", e.i}, {"key_as_string", c.r.df.format(e.i, utc)}}
		case c.isBool:
			o = jobj{{"key", e.i}, {"key_as_string", strconv.FormatBool(e.i == 1)}}
		default:
			o = jobj{{"key", e.i}}
		}
		o = append(o, jkv{"doc_count", e.cnt})
		out = append(out, c.subResults(o, e.b))
	}
	return jobj{{"doc_count_error_upper_bound", 0}, {"sum_other_doc_count", other}, {"buckets", out}}
}

func fmtAny(v any) string {
	s, ok := jsonString(v)
	if !ok {
		return string(mustJSON(v))
	}
	return s
}

// filterCollector is the filter aggregation.
type filterCollector struct {
	bucketBase
	q    *cquery
	b    bucket
	init bool
}

func (c *filterCollector) setTarget(t *target) {
	if !c.init {
		c.init = true
		c.b.subs = newCollectors(c.spec.subs, c.ctx)
		c.all = append(c.all, &c.b)
	}
	c.retarget(t)
	q, err := compile(c.spec.filter, t.ix, &compileCtx{now: c.ctx.now})
	if err != nil {
		c.ctx.fail(err)
		q = matchNone()
	}
	c.q = q
}

func (c *filterCollector) collect(rc *rowCtx) {
	if c.q.match(rc) {
		collectSubs(&c.b, rc)
	}
}

func (c *filterCollector) result() any {
	return c.subResults(jobj{{"doc_count", c.b.count}}, &c.b)
}

// metricCollector is min, max, sum, avg, value_count and cardinality.
type metricCollector struct {
	spec     *aggSpec
	ctx      *aggCtx
	r        fref
	n        int64
	sum      float64
	min, max float64
	seen     map[string]struct{}
	isDate   bool
	vbuf     []value
	sb       []byte
}

func (c *metricCollector) setTarget(t *target) {
	c.r = t.ix.resolve(c.spec.field)
	c.isDate = c.r.typ == ftDate
	numericOnly := c.spec.typ != "value_count" && c.spec.typ != "cardinality"
	if c.r.f != nil && c.r.typ == ftText && !c.r.kw {
		c.ctx.fail(errIllegalArg(fielddataMsg, c.spec.field))
	} else if numericOnly && c.r.f != nil && (c.r.typ == ftKeyword || c.r.kw) {
		c.ctx.fail(errIllegalArg("Field [%s] of type [keyword] is not supported for aggregation [%s]", c.spec.field, c.spec.typ))
	}
}

func (c *metricCollector) collect(rc *rowCtx) {
	if c.r.primary {
		if rc.ts == tsMissing {
			return
		}
		c.addNum(float64(rc.ts))
		if c.spec.typ == "cardinality" {
			c.sb = strconv.AppendInt(c.sb[:0], rc.ts, 10)
			c.seen[string(c.sb)] = struct{}{}
		}
		return
	}
	c.vbuf = rc.values(&c.r, c.vbuf)
	for i := range c.vbuf {
		v := &c.vbuf[i]
		switch c.spec.typ {
		case "cardinality":
			c.n++
			c.sb = v.appendStr(c.sb[:0])
			if _, ok := c.seen[string(c.sb)]; !ok {
				c.seen[string(c.sb)] = struct{}{}
			}
		case "value_count":
			c.n++
		default:
			var f float64
			var ok bool
			if c.isDate {
				var ms int64
				ms, ok = v.millis(c.r.df)
				f = float64(ms)
			} else {
				f, ok = v.float()
			}
			if ok {
				c.addNum(f)
			}
		}
	}
}

// collectTs is collect for a metric of the primary timestamp (not cardinality).
func (c *metricCollector) collectTs(ts []int64) {
	// As addNum per timestamp (the sum adds in the same order), with integer min and max.
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	n, sum := c.n, c.sum
	for _, v := range ts {
		if v != tsMissing {
			n++
			sum += float64(v)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if n == c.n {
		return
	}
	c.n, c.sum = n, sum
	c.min, c.max = math.Min(c.min, float64(lo)), math.Max(c.max, float64(hi))
}

func (c *metricCollector) addNum(f float64) {
	c.n++
	c.sum += f
	c.min = math.Min(c.min, f)
	c.max = math.Max(c.max, f)
}

func (c *metricCollector) result() any {
	switch c.spec.typ {
	case "value_count":
		return jobj{{"value", c.n}}
	case "cardinality":
		return jobj{{"value", len(c.seen)}}
	case "sum":
		return jobj{{"value", jfloat(c.sum)}}
	}
	if c.n == 0 {
		return jobj{{"value", nil}}
	}
	v := c.sum / float64(c.n)
	switch c.spec.typ {
	case "min":
		v = c.min
	case "max":
		v = c.max
	}
	o := jobj{{"value", jfloat(v)}}
	if c.isDate {
		o = append(o, jkv{"value_as_string", c.r.df.format(int64(v), utc)})
	}
	return o
}

// compositeCollector is composite: it keeps only the size smallest keys after "after" (a
// bounded max-heap), because a key evicted once can never come back into the page.
type compositeCollector struct {
	bucketBase
	refs  []fref
	rnds  []*rounding
	after []sortVal
	m     map[string]*cbucket
	h     cheap
	vals  [][]value
	cur   []sortVal
	kb    []byte
}

type cbucket struct {
	key []sortVal
	enc string
	b   *bucket
	idx int
}

type cheap struct {
	items []*cbucket
	less  func(a, b []sortVal) int
}

func (h *cheap) Len() int           { return len(h.items) }
func (h *cheap) Less(i, j int) bool { return h.less(h.items[i].key, h.items[j].key) > 0 } // max-heap
func (h *cheap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].idx, h.items[j].idx = i, j
}
func (h *cheap) Push(x any) { b := x.(*cbucket); b.idx = len(h.items); h.items = append(h.items, b) }
func (h *cheap) Pop() any {
	b := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return b
}

func newCompositeCollector(s *aggSpec, ctx *aggCtx) *compositeCollector {
	c := &compositeCollector{bucketBase: bucketBase{spec: s, ctx: ctx}, m: map[string]*cbucket{}}
	for _, src := range s.sources {
		var r *rounding
		if src.typ == "date_histogram" {
			r = src.rounding()
		}
		c.rnds = append(c.rnds, r)
	}
	c.h.less = c.cmpKey
	c.vals = make([][]value, len(s.sources))
	c.cur = make([]sortVal, len(s.sources))
	return c
}

func (c *compositeCollector) cmpKey(a, b []sortVal) int {
	for i, src := range c.spec.sources {
		x, y := a[i], b[i]
		var r int
		switch {
		case x.t == 0 && y.t == 0:
		case x.t == 0: // missing sorts first
			r = -1
		case y.t == 0:
			r = 1
		default:
			r = cmpSortVal(x, y)
		}
		if src.desc {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

func (c *compositeCollector) setTarget(t *target) {
	c.retarget(t)
	c.refs = c.refs[:0]
	for _, src := range c.spec.sources {
		r := t.ix.resolve(src.field)
		if r.f != nil && r.typ == ftText && !r.kw && src.typ == "terms" {
			c.ctx.fail(errIllegalArg(fielddataMsg, src.field))
		}
		c.refs = append(c.refs, r)
	}
	if c.spec.after != nil && c.after == nil {
		c.after = make([]sortVal, len(c.spec.sources))
		for i, src := range c.spec.sources {
			v, ok := c.spec.after[src.name]
			if !ok {
				c.ctx.fail(errIllegalArg("[after] has [%d] value(s) but [sources] has [%d]", len(c.spec.after), len(c.spec.sources)))
				return
			}
			c.after[i] = c.afterVal(i, v)
		}
	}
}

func (c *compositeCollector) afterVal(i int, v any) sortVal {
	src := c.spec.sources[i]
	if v == nil {
		return sortVal{}
	}
	if src.typ == "date_histogram" {
		if s, ok := v.(string); ok {
			ms, err := src.format.parse(s, src.loc)
			if err == nil {
				return sortVal{t: 'i', i: ms}
			}
		}
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return sortVal{t: 'i', i: i}
		}
		f, _ := x.Float64()
		return sortVal{t: 'f', f: f}
	case string:
		return sortVal{t: 's', s: x}
	case bool:
		return sortVal{t: 'i', i: map[bool]int64{true: 1}[x]}
	}
	return sortVal{t: 's', s: fmtAny(v)}
}

// sourceVal converts one value to a composite key part.
func (c *compositeCollector) sourceVal(i int, v *value) (sortVal, bool) {
	src, r := c.spec.sources[i], &c.refs[i]
	switch src.typ {
	case "date_histogram":
		ms, ok := v.millis(r.df)
		if !ok {
			return sortVal{}, false
		}
		return sortVal{t: 'i', i: c.rnds[i].round(ms)}, true
	case "histogram":
		f, ok := v.float()
		if !ok {
			return sortVal{}, false
		}
		return sortVal{t: 'f', f: math.Floor(f/src.interval) * src.interval}, true
	}
	switch r.semType(v) {
	case ftDate:
		ms, ok := v.millis(r.df)
		return sortVal{t: 'i', i: ms}, ok
	case ftLong:
		i, ok := v.long()
		return sortVal{t: 'i', i: i}, ok
	case ftDouble:
		f, ok := v.float()
		return sortVal{t: 'f', f: f}, ok
	case ftBool:
		b, ok := v.boolean()
		return sortVal{t: 'i', i: map[bool]int64{true: 1}[b]}, ok
	}
	c.kb = v.appendStr(c.kb[:0])
	if r.ignoreAbove > 0 && len(c.kb) > r.ignoreAbove {
		return sortVal{}, false
	}
	return sortVal{t: 's', s: string(c.kb)}, true
}

func (c *compositeCollector) collect(rc *rowCtx) {
	for i := range c.spec.sources {
		r := &c.refs[i]
		if r.primary && c.spec.sources[i].typ == "date_histogram" {
			c.vals[i] = c.vals[i][:0]
			if rc.ts != tsMissing {
				c.vals[i] = append(c.vals[i], value{k: kInt, i: rc.ts})
			}
		} else {
			c.vals[i] = rc.values(r, c.vals[i])
		}
		if len(c.vals[i]) == 0 && !c.spec.sources[i].missingBucket {
			return // no missing_bucket: the document has no key
		}
	}
	c.combine(0, rc)
}

func (c *compositeCollector) combine(i int, rc *rowCtx) {
	if i == len(c.spec.sources) {
		c.add(rc)
		return
	}
	if len(c.vals[i]) == 0 {
		c.cur[i] = sortVal{}
		c.combine(i+1, rc)
		return
	}
	for k := range c.vals[i] {
		sv, ok := c.sourceVal(i, &c.vals[i][k])
		if !ok {
			continue
		}
		c.cur[i] = sv
		c.combine(i+1, rc)
	}
}

func (c *compositeCollector) add(rc *rowCtx) {
	if c.after != nil && c.cmpKey(c.cur, c.after) <= 0 {
		return
	}
	c.kb = c.kb[:0]
	for _, v := range c.cur {
		c.kb = append(c.kb, v.t)
		switch v.t {
		case 'i':
			c.kb = binary.BigEndian.AppendUint64(c.kb, uint64(v.i))
		case 'f':
			c.kb = binary.BigEndian.AppendUint64(c.kb, math.Float64bits(v.f))
		case 's':
			c.kb = binary.AppendUvarint(c.kb, uint64(len(v.s)))
			c.kb = append(c.kb, v.s...)
		}
	}
	if cb, ok := c.m[string(c.kb)]; ok {
		collectSubs(cb.b, rc)
		return
	}
	if c.spec.size <= 0 {
		return
	}
	if len(c.h.items) >= c.spec.size {
		top := c.h.items[0]
		if c.cmpKey(c.cur, top.key) >= 0 {
			return
		}
		heap.Pop(&c.h)
		delete(c.m, top.enc)
	}
	cb := &cbucket{key: slices.Clone(c.cur), enc: string(c.kb), b: c.newBucket()}
	c.m[cb.enc] = cb
	heap.Push(&c.h, cb)
	collectSubs(cb.b, rc)
}

func (c *compositeCollector) keyJSON(k []sortVal) jobj {
	o := make(jobj, 0, len(k))
	for i, src := range c.spec.sources {
		var v any
		switch k[i].t {
		case 'i':
			v = k[i].i
			if src.typ == "date_histogram" && src.hasFormat {
				v = src.format.format(k[i].i, src.loc)
			}
		case 'f':
			v = jfloat(k[i].f)
		case 's':
			v = k[i].s
		}
		o = append(o, jkv{src.name, v})
	}
	return o
}

func (c *compositeCollector) result() any {
	items := slices.Clone(c.h.items)
	slices.SortFunc(items, func(a, b *cbucket) int { return c.cmpKey(a.key, b.key) })
	out := make([]any, 0, len(items))
	for _, cb := range items {
		o := jobj{{"key", c.keyJSON(cb.key)}, {"doc_count", cb.b.count}}
		out = append(out, c.subResults(o, cb.b))
	}
	if len(items) == 0 {
		return jobj{{"buckets", out}}
	}
	return jobj{{"after_key", c.keyJSON(items[len(items)-1].key)}, {"buckets", out}}
}
