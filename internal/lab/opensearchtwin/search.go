package opensearchtwin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is one index as a search sees it: the rows and operations visible when the search (or
// its point in time) was opened.
type target struct {
	ix  *index
	n   int
	ops uint64
	ord int
}

func (t *target) live(row int) bool {
	if len(t.ix.deleted) == 0 {
		return true
	}
	d, ok := t.ix.deleted[uint32(row)]
	return !ok || d >= t.ops
}

// scan calls fn for every visible row matching q, in row order, until fn returns false.
func (t *target) scan(q *cquery, rc *rowCtx, fn func(*rowCtx) bool) bool {
	if q.none {
		return true
	}
	if q.hasTs && t.ix.mono {
		return t.scanAny(q, rc, fn) // timestamp order is row order
	}
	ix := t.ix
	hasDel := len(ix.deleted) > 0
	for lo := 0; lo < t.n; lo += blockRows {
		b := lo >> blockBits
		if q.hasTs && (ix.blkMax[b] < q.tsLo || ix.blkMin[b] > q.tsHi) {
			continue
		}
		hi := min(lo+blockRows, t.n)
		for r := lo; r < hi; r++ {
			if hasDel && !t.live(r) {
				continue
			}
			rc.reset(ix, r)
			if q.hasTs && !q.inTs(rc.ts) {
				continue
			}
			if q.fn != nil && !q.fn(rc) {
				continue
			}
			if !fn(rc) {
				return false
			}
		}
	}
	return true
}

// scanAny is scan for callers that do not depend on the order: when q restricts the timestamp
// it reads only the rows inside q's intervals, in timestamp order.
func (t *target) scanAny(q *cquery, rc *rowCtx, fn func(*rowCtx) bool) bool {
	if q.none {
		return true
	}
	if !q.hasTs {
		return t.scan(q, rc, fn)
	}
	ix := t.ix
	hasDel := len(ix.deleted) > 0
	v := t.tsView()
	for _, s := range v.positions(q.tsSpans()) {
		for p := s.lo; p < s.hi; p++ {
			r := v.row(p)
			if r >= t.n || (hasDel && !t.live(r)) {
				continue
			}
			rc.reset(ix, r)
			if q.fn != nil && !q.fn(rc) {
				continue
			}
			if !fn(rc) {
				return false
			}
		}
	}
	return true
}

// count counts matches, stopping once it exceeds limit (limit < 0: exact). A query that only
// restricts the timestamp is counted from the positions of its intervals, without reading rows.
func (t *target) count(q *cquery, limit int64) int64 {
	if q.none {
		return 0
	}
	ix := t.ix
	if q.fn == nil && len(ix.deleted) <= t.n/8 {
		var n int64
		if !q.hasTs {
			n = int64(t.n)
		} else {
			v := t.tsView()
			for _, s := range v.positions(q.tsSpans()) {
				if v.ord == nil || len(v.ord) == t.n {
					n += int64(s.hi - s.lo)
					continue
				}
				for p := s.lo; p < s.hi; p++ {
					if int(v.ord[p]) < t.n {
						n++
					}
				}
			}
		}
		for r, seq := range ix.deleted {
			if int(r) < t.n && seq < t.ops && q.inTs(ix.tsAt(int(r))) {
				n--
			}
		}
		return n
	}
	var n int64
	var rc rowCtx
	t.scanAny(q, &rc, func(*rowCtx) bool {
		n++
		return limit < 0 || n <= limit
	})
	return n
}

// sortVal is one sort value of a hit. t is 'i' (int64), 'f' (float64), 's' (string) or 0 (missing).
type sortVal struct {
	t byte
	i int64
	f float64
	s string
}

func (v sortVal) num() float64 {
	if v.t == 'i' {
		return float64(v.i)
	}
	return v.f
}

func cmpSortVal(x, y sortVal) int {
	switch {
	case x.t == 's' && y.t == 's':
		return strings.Compare(x.s, y.s)
	case x.t == 'i' && y.t == 'i':
		return cmp.Compare(x.i, y.i)
	case x.t == 's' || y.t == 's':
		return cmp.Compare(x.t, y.t)
	}
	return cmp.Compare(x.num(), y.num())
}

type sortKey struct {
	field        string
	desc         bool
	missingFirst bool
	missing      any
	unmapped     string
	kind         byte // 'f' field, 'd' _doc, 's' _score, 'i' _id, 'x' _index
	refs         []fref
	vt           byte
	isDate       bool
}

func cmpKeys(keys []*sortKey, a, b []sortVal) int {
	for i, k := range keys {
		x, y := a[i], b[i]
		var r int
		switch {
		case x.t == 0 && y.t == 0:
		case x.t == 0:
			r = 1
			if k.missingFirst {
				r = -1
			}
		case y.t == 0:
			r = -1
			if k.missingFirst {
				r = 1
			}
		default:
			r = cmpSortVal(x, y)
			if k.desc {
				r = -r
			}
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

func parseSortSpec(raw json.RawMessage, param string) ([]*sortKey, *apiError) {
	var items []any
	if len(raw) > 0 {
		v, err := decodeAny(raw)
		if err != nil {
			return nil, errParsing("failed to parse sort: %v", err)
		}
		if arr, ok := v.([]any); ok {
			items = arr
		} else {
			items = []any{v}
		}
	} else if param != "" {
		for p := range strings.SplitSeq(param, ",") {
			f, dir, _ := strings.Cut(p, ":")
			if dir == "" {
				items = append(items, f)
			} else {
				items = append(items, map[string]any{f: dir})
			}
		}
	}
	var keys []*sortKey
	for _, it := range items {
		k := &sortKey{}
		var opts map[string]any
		switch x := it.(type) {
		case string:
			k.field = x
		case map[string]any:
			if len(x) != 1 {
				return nil, errParsing("[sort] expects a single field per sort object")
			}
			for f, o := range x {
				k.field = f
				switch ov := o.(type) {
				case string:
					opts = map[string]any{"order": ov}
				case map[string]any:
					opts = ov
				default:
					return nil, errParsing("[sort] malformed options for [%s]", f)
				}
			}
		default:
			return nil, errParsing("[sort] malformed, expected a string or an object")
		}
		switch k.field {
		case "_doc":
			k.kind = 'd'
		case "_score":
			k.kind, k.desc = 's', true
		case "_id":
			k.kind = 'i'
		case "_index":
			k.kind = 'x'
		default:
			k.kind = 'f'
		}
		if o, ok := opts["order"]; ok {
			switch o {
			case "asc":
				k.desc = false
			case "desc":
				k.desc = true
			default:
				return nil, errIllegalArg("Unknown SortOrder [%v]", o)
			}
		}
		if m, ok := opts["missing"]; ok {
			switch m {
			case "_first":
				k.missingFirst = true
			case "_last":
			default:
				k.missing = m
			}
		}
		k.unmapped, _ = opts["unmapped_type"].(string)
		keys = append(keys, k)
	}
	return keys, nil
}

// bind resolves sort fields against the targets and checks OpenSearch's preconditions.
func bindSort(keys []*sortKey, targets []*target) *apiError {
	for _, k := range keys {
		switch k.kind {
		case 'd':
			k.vt = 'i'
			continue
		case 's':
			k.vt = 'f'
			continue
		case 'i', 'x':
			k.vt = 's'
			continue
		}
		k.refs = make([]fref, len(targets))
		mapped := false
		for _, t := range targets {
			r := t.ix.resolve(k.field)
			k.refs[t.ord] = r
			if r.f == nil || mapped {
				continue
			}
			mapped = true
			switch {
			case r.typ == ftText && !r.kw:
				return errSearchPhase(errIllegalArg(fielddataMsg, k.field))
			case r.typ == ftDate:
				k.vt, k.isDate = 'i', true
			case r.typ == ftLong || r.typ == ftBool:
				k.vt = 'i'
			case r.typ == ftDouble:
				k.vt = 'f'
			case r.typ == ftObject && len(r.path) == 0:
				return errSearchPhase(errIllegalArg("Fielddata is not supported on field [%s] of type [object]", k.field))
			default:
				k.vt = 's'
			}
		}
		if !mapped {
			if k.unmapped == "" && len(targets) > 0 {
				e := errBadRequest("query_shard_exception", "No mapping found for [%s] in order to sort on", k.field)
				e.extra = jobj{{"index", targets[0].ix.name}, {"index_uuid", targets[0].ix.uuid}}
				return errSearchPhase(e)
			}
			switch k.unmapped {
			case "long", "integer", "date", "short", "byte", "boolean":
				k.vt = 'i'
			case "double", "float":
				k.vt = 'f'
			default:
				k.vt = 's'
			}
		}
	}
	return nil
}

func (k *sortKey) missingVal() sortVal {
	if k.missing != nil {
		return k.convert(k.missing)
	}
	switch k.vt {
	case 'i':
		if k.desc != k.missingFirst {
			return sortVal{t: 'i', i: math.MinInt64}
		}
		return sortVal{t: 'i', i: math.MaxInt64}
	}
	return sortVal{}
}

// convert turns a JSON value (search_after, missing) into a sort value of the key's type.
func (k *sortKey) convert(v any) sortVal {
	switch x := v.(type) {
	case nil:
		return sortVal{}
	case json.Number:
		if k.vt == 's' {
			return sortVal{t: 's', s: x.String()}
		}
		if i, err := x.Int64(); err == nil && k.vt != 'f' {
			return sortVal{t: 'i', i: i}
		}
		f, _ := x.Float64()
		return sortVal{t: 'f', f: f}
	case string:
		switch k.vt {
		case 'i':
			if k.isDate {
				if sec, nsec, ok := parseDate([]byte(x), false); ok {
					return sortVal{t: 'i', i: millisOf(sec, nsec)}
				}
			}
			if i, err := strconv.ParseInt(x, 10, 64); err == nil {
				return sortVal{t: 'i', i: i}
			}
		case 'f':
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return sortVal{t: 'f', f: f}
			}
		}
		return sortVal{t: 's', s: x}
	case bool:
		if x {
			return sortVal{t: 'i', i: 1}
		}
		return sortVal{t: 'i', i: 0}
	}
	return sortVal{t: 's', s: fmtAny(v)}
}

type sortScratch struct {
	vbuf []value
	sb   []byte
}

// value computes the key's sort value for the row in rc.
func (k *sortKey) value(rc *rowCtx, t *target, s *sortScratch) sortVal {
	switch k.kind {
	case 'd':
		return sortVal{t: 'i', i: int64(t.ord)<<32 | int64(rc.row)}
	case 's':
		return sortVal{t: 'f', f: 1}
	case 'i':
		return sortVal{t: 's', s: rc.docID()}
	case 'x':
		return sortVal{t: 's', s: t.ix.name}
	}
	r := &k.refs[t.ord]
	if r.primary {
		if rc.ts == tsMissing {
			return k.missingVal()
		}
		return sortVal{t: 'i', i: rc.ts}
	}
	if r.f == nil {
		return k.missingVal()
	}
	s.vbuf = rc.values(r, s.vbuf)
	var best sortVal
	for i := range s.vbuf {
		v := &s.vbuf[i]
		var sv sortVal
		switch k.vt {
		case 'i':
			var ok bool
			if k.isDate {
				sv.i, ok = v.millis(r.df)
			} else if b, isBool := v.boolean(); isBool && r.typ == ftBool {
				sv.i, ok = map[bool]int64{true: 1}[b], true
			} else {
				sv.i, ok = v.long()
			}
			if !ok {
				continue
			}
			sv.t = 'i'
		case 'f':
			f, ok := v.float()
			if !ok {
				continue
			}
			sv = sortVal{t: 'f', f: f}
		default:
			s.sb = v.appendStr(s.sb[:0])
			if r.ignoreAbove > 0 && len(s.sb) > r.ignoreAbove {
				continue
			}
			sv = sortVal{t: 's', s: string(s.sb)}
		}
		if best.t == 0 || (cmpSortVal(sv, best) < 0) != k.desc {
			best = sv
		}
	}
	if best.t == 0 {
		return k.missingVal()
	}
	return best
}

// hit is one document selected for the response.
type hit struct {
	t   *target
	row int
	key []sortVal
}

func cmpHits(keys []*sortKey, a, b *hit) int {
	if r := cmpKeys(keys, a.key, b.key); r != 0 {
		return r
	}
	if a.t.ord != b.t.ord {
		return cmp.Compare(a.t.ord, b.t.ord)
	}
	return cmp.Compare(a.row, b.row)
}

// sourceFilter is the _source parameter.
type sourceFilter struct {
	includes, excludes []string
}

func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

func (f *sourceFilter) keep(name string) bool {
	if len(f.includes) > 0 {
		ok := false
		for _, p := range f.includes {
			if globMatch(p, name) || strings.HasPrefix(p, name+".") || globMatch(p, name+".x") && strings.HasSuffix(p, "*") {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, p := range f.excludes {
		if globMatch(p, name) {
			return false
		}
	}
	return true
}

// searchBody is a parsed search request.
type searchBody struct {
	query       json.RawMessage
	size, from  int
	sort        []*sortKey
	searchAfter []any
	track       any // nil (default 10000), bool or a number
	noSource    bool
	source      *sourceFilter
	aggs        json.RawMessage
	pitID       string
	pitKeep     string
	restTotal   bool

	// Set by scroll: a resolved search_after and the number of trailing sort keys the twin
	// added as a tiebreaker (used for paging, never printed).
	afterVals []sortVal
	internal  int
}

var ignoredSearchKeys = map[string]bool{
	"timeout": true, "terminate_after": true, "stored_fields": true, "docvalue_fields": true, "fields": true,
	"version": true, "seq_no_primary_term": true, "explain": true, "min_score": true, "highlight": true,
	"track_scores": true, "indices_boost": true, "profile": true, "script_fields": true, "ext": true, "stats": true,
}

func tokenName(v json.RawMessage) string {
	b := bytes.TrimSpace(v)
	if len(b) == 0 {
		return "VALUE_NULL"
	}
	switch b[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't', 'f':
		return "VALUE_BOOLEAN"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER"
}

func parseSearchBody(body []byte, params url.Values) (*searchBody, *apiError) {
	sb := &searchBody{size: -1, from: -1}
	var sortRaw json.RawMessage
	if len(bytes.TrimSpace(body)) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, errParsing("failed to parse search source: %v", err)
		}
		for k, v := range m {
			switch k {
			case "query":
				sb.query = v
			case "size", "from":
				var n int
				if err := json.Unmarshal(v, &n); err != nil {
					return nil, errParsing("[%s] must be an integer", k)
				}
				if k == "size" {
					sb.size = n
				} else {
					sb.from = n
				}
			case "sort":
				sortRaw = v
			case "search_after":
				d := json.NewDecoder(bytes.NewReader(v))
				d.UseNumber()
				if err := d.Decode(&sb.searchAfter); err != nil {
					return nil, errParsing("[search_after] must be an array: %v", err)
				}
			case "track_total_hits":
				t, err := decodeAny(v)
				if err != nil {
					return nil, errParsing("[track_total_hits] malformed")
				}
				sb.track = t
			case "_source":
				if err := sb.parseSource(v); err != nil {
					return nil, err
				}
			case "aggs", "aggregations":
				sb.aggs = v
			case "pit":
				var p struct {
					ID        string `json:"id"`
					KeepAlive string `json:"keep_alive"`
				}
				if err := json.Unmarshal(v, &p); err != nil || p.ID == "" {
					return nil, errParsing("[pit] requires an [id]")
				}
				sb.pitID, sb.pitKeep = p.ID, p.KeepAlive
			case "post_filter", "collapse", "slice", "rescore", "suggest", "search_pipeline":
				return nil, errIllegalArg("the OpenSearch twin does not implement [%s]", k)
			default:
				if !ignoredSearchKeys[k] {
					return nil, errParsing("Unknown key for a %s in [%s].", tokenName(v), k)
				}
			}
		}
	}
	intParam := func(name string, dst *int) *apiError {
		if s := params.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return errIllegalArg("Failed to parse int parameter [%s] with value [%s]", name, s)
			}
			*dst = n
		}
		return nil
	}
	if err := intParam("size", &sb.size); err != nil {
		return nil, err
	}
	if err := intParam("from", &sb.from); err != nil {
		return nil, err
	}
	if s := params.Get("track_total_hits"); s != "" {
		switch s {
		case "true":
			sb.track = true
		case "false":
			sb.track = false
		default:
			sb.track = json.Number(s)
		}
	}
	if params.Get("rest_total_hits_as_int") == "true" {
		sb.restTotal = true
	}
	if s, ok := params["_source"]; ok && len(s) > 0 {
		switch s[0] {
		case "false":
			sb.noSource = true
		case "true":
		default:
			sb.source = &sourceFilter{includes: strings.Split(s[0], ",")}
		}
	}
	if s := params.Get("_source_includes"); s != "" {
		if sb.source == nil {
			sb.source = &sourceFilter{}
		}
		sb.source.includes = strings.Split(s, ",")
	}
	if s := params.Get("_source_excludes"); s != "" {
		if sb.source == nil {
			sb.source = &sourceFilter{}
		}
		sb.source.excludes = strings.Split(s, ",")
	}
	if q := params.Get("q"); q != "" && sb.query == nil {
		f, v, ok := strings.Cut(q, ":")
		if !ok {
			return nil, errIllegalArg("the OpenSearch twin only supports q=<field>:<value>")
		}
		sb.query = mustJSON(jobj{{"match", jobj{{f, v}}}})
	}
	keys, err := parseSortSpec(sortRaw, params.Get("sort"))
	if err != nil {
		return nil, err
	}
	sb.sort = keys
	if sb.size < 0 {
		sb.size = 10
	}
	if sb.from < 0 {
		sb.from = 0
	}
	return sb, nil
}

func (sb *searchBody) parseSource(v json.RawMessage) *apiError {
	x, err := decodeAny(v)
	if err != nil {
		return errParsing("[_source] malformed")
	}
	switch s := x.(type) {
	case bool:
		sb.noSource = !s
	case string:
		sb.source = &sourceFilter{includes: []string{s}}
	case []any:
		sb.source = &sourceFilter{}
		for _, e := range s {
			sb.source.includes = append(sb.source.includes, fmtAny(e))
		}
	case map[string]any:
		sb.source = &sourceFilter{}
		for k, e := range s {
			var dst *[]string
			switch k {
			case "includes", "include":
				dst = &sb.source.includes
			case "excludes", "exclude":
				dst = &sb.source.excludes
			default:
				return errParsing("Unknown key for a START_OBJECT in [_source]: [%s]", k)
			}
			switch ev := e.(type) {
			case string:
				*dst = append(*dst, ev)
			case []any:
				for _, p := range ev {
					*dst = append(*dst, fmtAny(p))
				}
			}
		}
	}
	return nil
}

// totalCap returns how far hits.total is counted (-1 exact) and whether it is reported at all.
func (sb *searchBody) totalCap() (int64, bool) {
	switch t := sb.track.(type) {
	case nil:
		if sb.restTotal {
			return -1, true
		}
		return 10000, true
	case bool:
		if t {
			return -1, true
		}
		return 0, sb.restTotal
	case json.Number:
		n, err := t.Int64()
		if err != nil || n < 0 {
			return 10000, true
		}
		return n, true
	}
	return 10000, true
}

type searchResult struct {
	hits      []hit
	total     int64
	relation  string
	showTotal bool
	sorted    bool
	printKeys int
	aggs      jobj
}

// runSearch executes sb over targets. The caller holds every target's index read lock.
func runSearch(targets []*target, sb *searchBody, now time.Time, maxWindow int) (*searchResult, *apiError) {
	if sb.from+sb.size > maxWindow {
		return nil, errSearchPhase(errIllegalArg("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", maxWindow, sb.from+sb.size))
	}
	if sb.size < 0 || sb.from < 0 {
		return nil, errIllegalArg("[from] and [size] must be non-negative")
	}
	q, err := parseQuery(sb.query)
	if err != nil {
		return nil, err
	}
	cctx := &compileCtx{now: now}
	cqs := make([]*cquery, len(targets))
	for i, t := range targets {
		if cqs[i], err = compile(q, t.ix, cctx); err != nil {
			return nil, errSearchPhase(err)
		}
	}
	keys := sb.sort
	if err := bindSort(keys, targets); err != nil {
		return nil, err
	}
	if len(sb.searchAfter) > 0 {
		if len(keys) == 0 {
			return nil, errSearchPhase(errIllegalArg("Sort must contain at least one field."))
		}
		if len(sb.searchAfter) != len(keys) {
			return nil, errSearchPhase(errIllegalArg("search_after has %d value(s) but sort has %d.", len(sb.searchAfter), len(keys)))
		}
		if sb.from > 0 {
			return nil, errSearchPhase(errIllegalArg("`from` parameter must be set to 0 when `search_after` is used."))
		}
	}
	var after []sortVal
	for i, v := range sb.searchAfter {
		after = append(after, keys[i].convert(v))
	}
	if sb.afterVals != nil {
		after = sb.afterVals
	}
	res := &searchResult{relation: "eq", sorted: len(keys) > sb.internal, printKeys: len(keys) - sb.internal}
	limit, show := sb.totalCap()
	res.showTotal = show
	exact := false
	if len(sb.aggs) > 0 {
		specs, err := parseAggs(sb.aggs, now)
		if err != nil {
			return nil, err
		}
		actx := &aggCtx{now: now}
		cols := newCollectors(specs, actx)
		var rc rowCtx
		var tsBuf []int64
		for i, t := range targets {
			for _, c := range cols {
				c.setTarget(t)
			}
			if actx.err != nil {
				return nil, errSearchPhase(actx.err)
			}
			if cqs[i].fn == nil && tsOnlyAggs(specs, t.ix) {
				// Nothing but timestamps is read: take them straight from the column.
				tsBuf = t.eachTs(cqs[i], tsBuf, func(ts []int64) {
					res.total += int64(len(ts))
					for _, c := range cols {
						c.(tsCollector).collectTs(ts)
					}
				})
				continue
			}
			t.scanAny(cqs[i], &rc, func(rc *rowCtx) bool {
				res.total++
				for _, c := range cols {
					c.collect(rc)
				}
				return true
			})
		}
		res.aggs = jobj{}
		for i, c := range cols {
			res.aggs = append(res.aggs, jkv{specs[i].name, c.result()})
		}
		if actx.err != nil {
			return nil, errSearchPhase(actx.err)
		}
		exact = true
	}
	if !exact && show {
		for i, t := range targets {
			rem := int64(-1)
			if limit >= 0 {
				rem = limit - res.total
			}
			res.total += t.count(cqs[i], rem)
			if limit >= 0 && res.total > limit {
				break
			}
		}
	}
	if limit >= 0 && res.total > limit {
		res.total, res.relation = limit, "gte"
	}
	if sb.size == 0 {
		return res, nil
	}
	if len(keys) == 0 {
		res.hits = unsortedHits(targets, cqs, sb.from, sb.size)
		return res, nil
	}
	want := sb.from + sb.size
	if fastSortable(keys, targets) {
		res.hits = tsSortedHits(targets, cqs, keys, after, want)
	} else {
		res.hits = genericSortedHits(targets, cqs, keys, after, want)
	}
	if sb.from >= len(res.hits) {
		res.hits = nil
	} else {
		res.hits = res.hits[sb.from:]
	}
	return res, nil
}

func unsortedHits(targets []*target, cqs []*cquery, from, size int) []hit {
	var out []hit
	skip := from
	var rc rowCtx
	for i, t := range targets {
		done := !t.scan(cqs[i], &rc, func(rc *rowCtx) bool {
			if skip > 0 {
				skip--
				return true
			}
			out = append(out, hit{t: t, row: rc.row})
			return len(out) < size
		})
		if done {
			break
		}
	}
	return out
}

func fastSortable(keys []*sortKey, targets []*target) bool {
	k := keys[0]
	if k.kind != 'f' || k.vt != 'i' || k.missing != nil || k.missingFirst {
		return false
	}
	for _, t := range targets {
		if !k.refs[t.ord].primary || t.ix.missingTs > 0 {
			return false
		}
	}
	return true
}

// tsStream yields one target's matching rows in full sort order when the first sort key is the
// index's timestamp: it walks the timestamp order through the query's intervals from the
// search_after position and sorts each run of equal timestamps by the remaining keys. A page
// therefore costs O(page), not O(index).
type tsStream struct {
	t     *target
	q     *cquery
	keys  []*sortKey
	after []sortVal
	view  tsView
	spans []posSpan // in walking order: descending sorts walk them (and each) backwards
	si    int
	pos   int
	desc  bool
	group []hit
	gi    int
	rc    rowCtx
	ss    sortScratch
}

func newTsStream(t *target, q *cquery, keys []*sortKey, after []sortVal) *tsStream {
	s := &tsStream{t: t, q: q, keys: keys, after: after, desc: keys[0].desc}
	s.view = t.tsView()
	spans := q.tsSpans()
	if len(after) > 0 && after[0].t != 0 {
		a := after[0].i
		if after[0].t == 'f' {
			a = int64(math.Floor(after[0].f))
		}
		from := tsSpan{a, math.MaxInt64}
		if s.desc {
			from = tsSpan{math.MinInt64, a}
		}
		spans = intersectSpans(spans, []tsSpan{from})
	}
	s.spans = s.view.positions(spans)
	if s.desc {
		slices.Reverse(s.spans)
	}
	s.si = -1
	s.nextSpan()
	return s
}

// nextSpan moves to the start of the next run of positions.
func (s *tsStream) nextSpan() {
	s.si++
	if s.si < len(s.spans) {
		if s.desc {
			s.pos = s.spans[s.si].hi - 1
		} else {
			s.pos = s.spans[s.si].lo
		}
	}
}

// more reports whether a position is left, moving to the next run when the current one is done.
func (s *tsStream) more() bool {
	for s.si < len(s.spans) {
		sp := s.spans[s.si]
		if s.pos >= sp.lo && s.pos < sp.hi {
			return true
		}
		s.nextSpan()
	}
	return false
}

func (s *tsStream) fill() {
	s.group, s.gi = s.group[:0], 0
	for len(s.group) == 0 && s.more() {
		ts0 := s.view.ts(s.pos)
		for s.more() && s.view.ts(s.pos) == ts0 {
			row := s.view.row(s.pos)
			if s.desc {
				s.pos--
			} else {
				s.pos++
			}
			if row >= s.t.n || !s.t.live(row) {
				continue
			}
			s.rc.reset(s.t.ix, row)
			// The position is inside the query's intervals: only its other conditions remain.
			if s.q.fn != nil && !s.q.fn(&s.rc) {
				continue
			}
			key := make([]sortVal, len(s.keys))
			for i, k := range s.keys {
				key[i] = k.value(&s.rc, s.t, &s.ss)
			}
			if s.after != nil && cmpKeys(s.keys, key, s.after) <= 0 {
				continue
			}
			s.group = append(s.group, hit{t: s.t, row: row, key: key})
		}
		if len(s.group) > 1 {
			slices.SortFunc(s.group, func(a, b hit) int { return cmpHits(s.keys, &a, &b) })
		}
	}
}

func (s *tsStream) peek() *hit {
	if s.gi >= len(s.group) {
		s.fill()
		if len(s.group) == 0 {
			return nil
		}
	}
	return &s.group[s.gi]
}

func tsSortedHits(targets []*target, cqs []*cquery, keys []*sortKey, after []sortVal, want int) []hit {
	streams := make([]*tsStream, 0, len(targets))
	for i, t := range targets {
		if !cqs[i].none {
			streams = append(streams, newTsStream(t, cqs[i], keys, after))
		}
	}
	out := make([]hit, 0, min(want, 1<<16))
	for len(out) < want {
		var best *tsStream
		var bh *hit
		for _, s := range streams {
			if h := s.peek(); h != nil && (bh == nil || cmpHits(keys, h, bh) < 0) {
				best, bh = s, h
			}
		}
		if best == nil {
			break
		}
		out = append(out, *bh)
		best.gi++
	}
	return out
}

// genericSortedHits keeps the best `want` hits in a bounded max-heap over a full scan.
func genericSortedHits(targets []*target, cqs []*cquery, keys []*sortKey, after []sortVal, want int) []hit {
	h := make([]hit, 0, min(want, 1<<16))
	worse := func(i, j int) bool { return cmpHits(keys, &h[i], &h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && worse(r, l) {
				m = r
			}
			if !worse(m, i) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	up := func(i int) {
		for i > 0 {
			p := (i - 1) / 2
			if !worse(i, p) {
				return
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	var rc rowCtx
	var ss sortScratch
	scratch := make([]sortVal, len(keys))
	for i, t := range targets {
		t.scanAny(cqs[i], &rc, func(rc *rowCtx) bool {
			for k, key := range keys {
				scratch[k] = key.value(rc, t, &ss)
			}
			if after != nil && cmpKeys(keys, scratch, after) <= 0 {
				return true
			}
			cand := hit{t: t, row: rc.row, key: scratch}
			if len(h) < want {
				cand.key = slices.Clone(scratch)
				h = append(h, cand)
				up(len(h) - 1)
				return true
			}
			if cmpHits(keys, &cand, &h[0]) < 0 {
				cand.key = slices.Clone(scratch)
				h[0] = cand
				down(0)
			}
			return true
		})
	}
	slices.SortFunc(h, func(a, b hit) int { return cmpHits(keys, &a, &b) })
	return h
}

func appendSortVal(dst []byte, v sortVal) []byte {
	switch v.t {
	case 'i':
		return strconv.AppendInt(dst, v.i, 10)
	case 'f':
		return appendJFloat(dst, v.f)
	case 's':
		return appendJSONString(dst, v.s)
	}
	return append(dst, "null"...)
}

// renderOpts carries the response-level fields around the hits.
type renderOpts struct {
	pitID    string
	scrollID string
	took     time.Duration
	shards   int
}

func renderSearch(dst []byte, res *searchResult, sb *searchBody, o renderOpts) []byte {
	dst = append(dst, '{')
	if o.pitID != "" {
		dst = append(dst, `"pit_id":`...)
		dst = appendJSONString(dst, o.pitID)
		dst = append(dst, ',')
	}
	if o.scrollID != "" {
		dst = append(dst, `"_scroll_id":`...)
		dst = appendJSONString(dst, o.scrollID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"took":`...)
	dst = strconv.AppendInt(dst, o.took.Milliseconds(), 10)
	dst = append(dst, `,"timed_out":false,"_shards":{"total":`...)
	dst = strconv.AppendInt(dst, int64(o.shards), 10)
	dst = append(dst, `,"successful":`...)
	dst = strconv.AppendInt(dst, int64(o.shards), 10)
	dst = append(dst, `,"skipped":0,"failed":0},"hits":{`...)
	if res.showTotal {
		if sb.restTotal {
			dst = append(dst, `"total":`...)
			dst = strconv.AppendInt(dst, res.total, 10)
		} else {
			dst = append(dst, `"total":{"value":`...)
			dst = strconv.AppendInt(dst, res.total, 10)
			dst = append(dst, `,"relation":"`...)
			dst = append(dst, res.relation...)
			dst = append(dst, `"}`...)
		}
		dst = append(dst, ',')
	}
	if res.sorted || len(res.hits) == 0 {
		dst = append(dst, `"max_score":null,"hits":[`...)
	} else {
		dst = append(dst, `"max_score":1.0,"hits":[`...)
	}
	var rc rowCtx
	for i := range res.hits {
		h := &res.hits[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		rc.reset(h.t.ix, h.row)
		dst = append(dst, `{"_index":`...)
		dst = appendJSONString(dst, h.t.ix.name)
		dst = append(dst, `,"_id":`...)
		dst = appendJSONString(dst, rc.docID())
		if res.sorted {
			dst = append(dst, `,"_score":null`...)
		} else {
			dst = append(dst, `,"_score":1.0`...)
		}
		if !sb.noSource {
			dst = append(dst, `,"_source":`...)
			dst = rc.appendSource(dst, sb.source)
		}
		if res.sorted {
			dst = append(dst, `,"sort":[`...)
			for k, v := range h.key[:res.printKeys] {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = appendSortVal(dst, v)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, "]}"...)
	if res.aggs != nil {
		dst = append(dst, `,"aggregations":`...)
		var err error
		if dst, err = appendJSON(dst, res.aggs); err != nil {
			panic(fmt.Sprintf("opensearchtwin: marshal aggregations: %v", err)) // as mustJSON
		}
	}
	return append(dst, '}')
}
