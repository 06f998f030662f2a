package opensearchtwin

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"
)

// Storage layout (per index), chosen so ten million log documents fit in well under a GiB:
//
//   - rows are appended in arrival order; row r's bytes live in a chunked arena and begin with a
//     shape id. A shape is the document's key order, separator style and the storage kind of each
//     value, so the keys themselves are stored once per shape rather than once per document;
//   - values are encoded by kind: dictionary codes for low-cardinality strings, a dictionary code
//     plus a number for "prefix+digits" strings (request ids, event ids), zig-zag varints for
//     integers, and timestamps as an offset from the row's primary timestamp;
//   - the primary timestamp (the index's time field) is a separate int64 millis column with
//     per-block min/max, so time-range filters and date histograms never decode rows;
//   - rows are searched in timestamp order: row order while they arrive in order, else a sorted
//     permutation built lazily (4 bytes a row) and extended. Timestamp conditions become
//     binary searches in that order (spans.go).
//
// _source is rebuilt from the row on the way out and equals the indexed bytes exactly; documents
// that cannot be rebuilt (unusual whitespace, escaped keys) are stored verbatim instead.

const (
	colBits    = 16
	colRows    = 1 << colBits
	colMask    = colRows - 1
	blockBits  = 10
	blockRows  = 1 << blockBits
	refOffBits = 20
	refOffMask = 1<<refOffBits - 1
	arenaMax   = 1 << refOffBits
	maxChunks  = 1 << (32 - refOffBits)
	tsMissing  = math.MinInt64
	maxShapes  = 1 << 16
	rawShape   = 0 // verbatim document
	rawShapeID = 1 // verbatim document with a custom _id
)

var utc = time.UTC

// kind is how one value is stored in a row.
type kind uint8

const (
	kNull   kind = iota
	kTrue        // no payload
	kFalse       // no payload
	kInt         // zig-zag varint
	kNum         // number text that is not a canonical int64: uvarint length + bytes
	kDict        // uvarint dictionary code
	kPrefix      // uvarint dictionary code of the prefix + uvarint number; width in the shape
	kStr         // uvarint length + the string's bytes between the quotes (escaped)
	kTime        // zig-zag varint nanos relative to the row's primary timestamp; layout in the shape
	kPTime       // the primary timestamp itself: uvarint sub-millisecond nanos; layout in the shape
	kRaw         // object or array: uvarint length + JSON text
)

type shapeField struct {
	fid    uint16
	kind   kind
	width  uint8
	layout int8
}

type shape struct {
	id     int
	raw    bool
	hasID  bool
	style  int8
	fields []shapeField
	frag   [][]byte // the JSON text before each value: `{"key":` or `,"key":` in the shape's style
	names  []string
	slot   []int16 // field id → position in fields, -1 when absent
}

func (sh *shape) slotOf(fid int) int {
	if fid >= 0 && fid < len(sh.slot) {
		return int(sh.slot[fid])
	}
	return -1
}

// index is one OpenSearch index: an append-only columnar store guarded by mu. Readers hold mu
// for reading for the whole request; writers take it for writing once per batch of documents
// after parsing them without it.
type index struct {
	c        *Cluster
	name     string
	uuid     string
	created  time.Time
	idPrefix [7]byte
	idKey    uint64

	mu          sync.RWMutex
	strict      bool
	n           int    // rows appended
	ops         uint64 // operations applied: the next _seq_no
	visible     int    // rows visible to searches opened now
	visOps      uint64
	lastRefresh time.Time

	ts     [][]int64
	refs   [][]uint32
	arena  [][]byte
	blkMin []int64
	blkMax []int64

	missingTs int
	mono      bool // every row so far arrived in timestamp order
	monoN     int  // rows that were in order when mono broke
	lastTs    int64

	permMu sync.Mutex // guards perm/permN; readers holding mu.RLock extend it
	perm   []uint32
	permN  int

	fields    []*field
	fieldIdx  map[string]int
	shapes    []*shape
	shapeIdx  map[string]int
	timeField int

	ids      map[uint64]uint32 // custom _id hash → latest row
	idColl   map[string]uint32 // custom ids whose hash collided
	versions map[uint32]uint32 // rows with _version > 1
	deleted  map[uint32]uint64 // row → _seq_no of the operation that deleted or replaced it

	storeBytes int64
}

const idMul = 0x9E3779B97F4A7C15

var idMulInv = func() uint64 {
	inv := uint64(idMul)
	for range 6 {
		inv *= 2 - idMul*inv
	}
	return inv
}()

func newIndex(c *Cluster, name string) *index {
	ix := &index{
		c: c, name: name, uuid: randomID(16), created: c.now(),
		fieldIdx: map[string]int{}, shapeIdx: map[string]int{}, timeField: -1,
		mono: true, lastTs: math.MinInt64,
	}
	ix.lastRefresh = ix.created
	var k [15]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails on supported platforms
	copy(ix.idPrefix[:], k[:7])
	ix.idKey = binary.LittleEndian.Uint64(k[7:])
	ix.shapes = []*shape{{id: rawShape, raw: true}, {id: rawShapeID, raw: true, hasID: true}}
	return ix
}

// randomID returns n random bytes in URL-safe base64, the alphabet OpenSearch uses for uuids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ix *index) addField(name string) *field {
	if id, ok := ix.fieldIdx[name]; ok {
		return ix.fields[id]
	}
	f := newField(len(ix.fields), name)
	ix.fields = append(ix.fields, f)
	ix.fieldIdx[name] = f.id
	ix.storeBytes += int64(len(name)) + 96
	return f
}

func (ix *index) fieldByName(name string) *field {
	if id, ok := ix.fieldIdx[name]; ok {
		return ix.fields[id]
	}
	return nil
}

// autoID is the _id OpenSearch would have generated for a row: 20 URL-safe base64 characters.
// It is derived from the row number rather than stored, which saves 20+ bytes per document.
func (ix *index) autoID(row int) string {
	var b [15]byte
	copy(b[:7], ix.idPrefix[:])
	binary.BigEndian.PutUint64(b[7:], uint64(row)*idMul^ix.idKey)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ix *index) decodeAutoID(id []byte) (int, bool) {
	if len(id) != 20 {
		return 0, false
	}
	var b [15]byte
	if _, err := base64.RawURLEncoding.Decode(b[:], id); err != nil {
		return 0, false
	}
	if !bytes.Equal(b[:7], ix.idPrefix[:]) {
		return 0, false
	}
	r := (binary.BigEndian.Uint64(b[7:]) ^ ix.idKey) * idMulInv
	if r >= uint64(ix.n) {
		return 0, false
	}
	return int(r), true
}

func (ix *index) tsAt(row int) int64 { return ix.ts[row>>colBits][row&colMask] }

func (ix *index) rowBytes(row int) []byte {
	ref := ix.refs[row>>colBits][row&colMask]
	return ix.arena[ref>>refOffBits][ref&refOffMask:]
}

func (ix *index) customID(row int) []byte {
	b := ix.rowBytes(row)
	sid, k := binary.Uvarint(b)
	if !ix.shapes[sid].hasID {
		return nil
	}
	l, k2 := binary.Uvarint(b[k:])
	return b[k+k2 : k+k2+int(l)]
}

func (ix *index) version(row int) int {
	if v, ok := ix.versions[uint32(row)]; ok {
		return int(v)
	}
	return 1
}

// lookupID finds the latest row holding _id id, live or not.
func (ix *index) lookupID(id []byte) (int, bool) {
	if r, ok := ix.decodeAutoID(id); ok && ix.customID(r) == nil {
		return r, true
	}
	if ix.ids == nil {
		return 0, false
	}
	if r, ok := ix.ids[maphash.Bytes(ix.c.idSeed, id)]; ok && bytes.Equal(ix.customID(int(r)), id) {
		return int(r), true
	}
	if r, ok := ix.idColl[string(id)]; ok {
		return int(r), true
	}
	return 0, false
}

func (ix *index) isDeleted(row int) bool {
	if len(ix.deleted) == 0 {
		return false
	}
	_, ok := ix.deleted[uint32(row)]
	return ok
}

// liveDocs counts rows not deleted or replaced.
func (ix *index) liveDocs() int64 { return int64(ix.n - len(ix.deleted)) }

// prepared is a document parsed outside the index lock.
type prepared struct {
	src    []byte
	fields []rawField
	style  int8
	err    error
}

func looksLikeDate(b []byte) bool {
	return len(b) >= 10 && b[4] == '-' && b[7] == '-' && b[0] >= '0' && b[0] <= '9'
}

// prepare scans doc and parses its dates and numbers. hints carries, per member position, the
// source layout the previous document used, which is usually the one this document uses too.
func prepare(p *prepared, doc []byte, hints []int8) []int8 {
	p.src = doc
	p.fields, p.style, p.err = scanObject(doc, p.fields)
	if p.err != nil {
		return hints
	}
	for k := range p.fields {
		rf := &p.fields[k]
		if rf.typ != jString || rf.esc || !looksLikeDate(rf.val) {
			continue
		}
		sec, nsec, ok := parseDate(rf.val, true)
		if !ok {
			continue
		}
		rf.date, rf.sec, rf.nsec = true, sec, nsec
		if _, ok := nanosOf(sec, nsec); !ok {
			continue
		}
		for len(hints) <= k {
			hints = append(hints, -1)
		}
		rf.layout = detectLayout(rf.val, sec, nsec, hints[k])
		if rf.layout >= 0 {
			hints[k] = rf.layout
		}
	}
	return hints
}

// writeOp is what a bulk item asks for.
type writeOp uint8

const (
	opIndex writeOp = iota
	opCreate
	opDelete
)

// itemResult is the outcome of one write, rendered as a bulk item.
type itemResult struct {
	status  int
	result  string
	id      string
	version int
	seq     uint64
	err     *apiError
}

// scratch holds per-writer buffers so a batch allocates almost nothing per document.
type scratch struct {
	payload []byte
	key     []byte
	sfs     []shapeField
	row     []byte
	fids    []int // field id per member of the current document, -1 when new
	fidAt   []int // field id per member position of the previous document
}

// timeBase is what kTime values are stored relative to: the row's primary timestamp when it
// has one (so a test_timestamp a few ms away costs two bytes), else the epoch.
func timeBase(ts int64) int64 {
	if ts == tsMissing || ts > math.MaxInt64/nanosPerMilli || ts < math.MinInt64/nanosPerMilli+1 {
		return 0
	}
	return ts * nanosPerMilli
}

// write applies one operation. The caller holds ix.mu for writing.
func (ix *index) write(op writeOp, p *prepared, id []byte, s *scratch) itemResult {
	hasID := id != nil
	res := itemResult{}
	if hasID {
		res.id = string(id)
	} else {
		// The id the row would get; a failed write reports a random one instead (below), so
		// it can never name the next stored document.
		res.id = ix.autoID(ix.n)
	}
	failID := ""
	errID := func() string {
		if hasID {
			return string(id)
		}
		if failID == "" {
			failID = randomID(15)
		}
		return failID
	}
	failed := func(r itemResult) itemResult {
		r.id = errID()
		return r
	}
	prev := -1
	if hasID {
		if r, ok := ix.lookupID(id); ok && !ix.isDeleted(r) {
			prev = r
		}
	}
	if op == opDelete {
		if prev < 0 {
			return itemResult{status: 404, result: "not_found", id: res.id, version: 1, seq: ix.bumpOps()}
		}
		seq := ix.bumpOps()
		ix.markDeleted(prev, seq)
		ix.refreshIfImmediate()
		return itemResult{status: 200, result: "deleted", id: res.id, version: ix.version(prev) + 1, seq: seq}
	}
	if prev >= 0 && op == opCreate {
		e := newErr(409, "version_conflict_engine_exception",
			"["+res.id+"]: version conflict, document already exists (current version ["+itoa(ix.version(prev))+"])")
		e.extra = jobj{{"index", ix.name}, {"shard", "0"}, {"index_uuid", ix.uuid}}
		return failed(itemResult{status: 409, id: res.id, err: e})
	}
	if p.err != nil {
		e := errBadRequest("mapper_parsing_exception", "failed to parse")
		e.cause = newErr(400, "json_parse_exception", p.err.Error())
		return failed(itemResult{status: 400, id: res.id, err: e})
	}
	// Resolve field ids once; consecutive documents usually list the same keys in the same
	// order, so the previous document's ids are checked before the map is consulted.
	if cap(s.fidAt) < len(p.fields) {
		s.fidAt = append(s.fidAt[:cap(s.fidAt)], make([]int, len(p.fields)-cap(s.fidAt))...)
	}
	s.fidAt = s.fidAt[:max(len(s.fidAt), len(p.fields))]
	s.fids = s.fids[:0]
	for k := range p.fields {
		key := p.fields[k].key
		id := s.fidAt[k]
		if id >= len(ix.fields) || id < 0 || ix.fields[id].name != string(key) {
			id = -1
			if v, ok := ix.fieldIdx[string(key)]; ok {
				id = v
			}
			s.fidAt[k] = id
		}
		s.fids = append(s.fids, id)
	}
	for k := range p.fields {
		rf := &p.fields[k]
		if id := s.fids[k]; id >= 0 {
			if e := ix.fields[id].checkValue(rf, errID); e != nil {
				return failed(itemResult{status: 400, id: res.id, err: e})
			}
		} else if ix.strict {
			return failed(itemResult{status: 400, id: res.id, err: errBadRequest("strict_dynamic_mapping_exception",
				"mapping set to strict, dynamic introduction of [%s] within [_doc] is not allowed", rf.key)})
		}
	}
	row := ix.n
	if row >= math.MaxUint32-1 {
		return failed(itemResult{status: 429, id: res.id, err: newErr(429, "illegal_argument_exception", "index is full")})
	}
	// Fields and the time field.
	fids := s.sfs[:0]
	for k := range p.fields {
		rf := &p.fields[k]
		var f *field
		if id := s.fids[k]; id >= 0 {
			f = ix.fields[id]
		} else {
			f = ix.addField(string(rf.key))
			s.fidAt[k] = f.id
		}
		if f.typ == ftNone && rf.typ != jNull {
			f.setDynamic(rf)
		}
		fids = append(fids, shapeField{fid: uint16(f.id)})
	}
	if ix.timeField < 0 {
		for _, name := range ix.c.timeFields {
			if f := ix.fieldByName(name); f != nil && f.typ == ftDate {
				ix.timeField = f.id
				break
			}
		}
	}
	ts := int64(tsMissing)
	if ix.timeField >= 0 {
		for k := range p.fields {
			if int(fids[k].fid) == ix.timeField {
				ts = ix.fields[ix.timeField].millis(&p.fields[k])
				break
			}
		}
	}
	// Encode.
	raw := p.style == styleOther || len(ix.fields) > math.MaxUint16
	payload := s.payload[:0]
	if !raw {
		for k := range p.fields {
			rf := &p.fields[k]
			sf := &fids[k]
			payload = ix.encodeValue(payload, sf, rf, ts)
		}
	}
	key := s.key[:0]
	var sid int
	if !raw {
		flags := byte(p.style) << 1
		if hasID {
			flags |= 1
		}
		key = append(key, flags)
		for _, sf := range fids {
			key = append(key, byte(sf.fid), byte(sf.fid>>8), byte(sf.kind), sf.width, byte(sf.layout))
		}
		var ok bool
		if sid, ok = ix.shapeIdx[string(key)]; !ok {
			if len(ix.shapes) >= maxShapes {
				raw = true
			} else {
				sid = ix.newShape(string(key), p, fids, hasID)
			}
		}
	}
	rowb := s.row[:0]
	if raw {
		sid = rawShape
		if hasID {
			sid = rawShapeID
		}
	}
	rowb = binary.AppendUvarint(rowb, uint64(sid))
	if hasID {
		rowb = binary.AppendUvarint(rowb, uint64(len(id)))
		rowb = append(rowb, id...)
	}
	if raw {
		rowb = binary.AppendUvarint(rowb, uint64(len(p.src)))
		rowb = append(rowb, p.src...)
	} else {
		rowb = append(rowb, payload...)
	}
	ref, ok := ix.alloc(rowb)
	if !ok {
		return failed(itemResult{status: 429, id: res.id, err: newErr(429, "illegal_argument_exception", "index ["+ix.name+"] is full")})
	}
	s.payload, s.key, s.sfs, s.row = payload, key, fids, rowb
	ix.pushRow(ts, ref)
	ix.storeBytes += int64(len(rowb)) + 12
	seq := ix.bumpOps()
	res.seq = seq
	res.version = 1
	res.status, res.result = 201, "created"
	if hasID {
		if ix.ids == nil {
			ix.ids, ix.idColl = map[uint64]uint32{}, map[string]uint32{}
		}
		h := maphash.Bytes(ix.c.idSeed, id)
		if old, ok := ix.ids[h]; ok && !bytes.Equal(ix.customID(int(old)), id) {
			ix.idColl[string(id)] = uint32(row)
		} else {
			ix.ids[h] = uint32(row)
		}
		ix.storeBytes += 24
	}
	if prev >= 0 {
		ix.markDeleted(prev, seq)
		res.version = ix.version(prev) + 1
		if ix.versions == nil {
			ix.versions = map[uint32]uint32{}
		}
		ix.versions[uint32(row)] = uint32(res.version)
		res.status, res.result = 200, "updated"
	}
	ix.refreshIfImmediate()
	return res
}

func (ix *index) bumpOps() uint64 {
	s := ix.ops
	ix.ops++
	return s
}

func (ix *index) markDeleted(row int, seq uint64) {
	if ix.deleted == nil {
		ix.deleted = map[uint32]uint64{}
	}
	ix.deleted[uint32(row)] = seq
}

func (ix *index) refreshIfImmediate() {
	if ix.c.opts.RefreshInterval <= 0 {
		ix.visible, ix.visOps = ix.n, ix.ops
	}
}

// refresh makes everything written so far visible to searches opened from now on.
func (ix *index) refresh(now time.Time) {
	ix.visible, ix.visOps, ix.lastRefresh = ix.n, ix.ops, now
}

// millis converts a value of the date field f to epoch millis, tsMissing if it has none.
func (f *field) millis(rf *rawField) int64 {
	switch rf.typ {
	case jString:
		if rf.date {
			return millisOf(rf.sec, rf.nsec)
		}
		if ms, err := f.format.parse(string(rf.val), utc); err == nil {
			return ms
		}
	case jNumber:
		if rf.isInt {
			return rf.iv
		}
		if v, err := parseFloat(rf.val); err == nil {
			return int64(math.Floor(v))
		}
	}
	return tsMissing
}

func (ix *index) encodeValue(payload []byte, sf *shapeField, rf *rawField, ts int64) []byte {
	f := ix.fields[sf.fid]
	switch rf.typ {
	case jNull:
		sf.kind = kNull
	case jTrue:
		sf.kind = kTrue
	case jFalse:
		sf.kind = kFalse
	case jNumber:
		if rf.isInt {
			sf.kind = kInt
			return binary.AppendVarint(payload, rf.iv)
		}
		sf.kind = kNum
		payload = binary.AppendUvarint(payload, uint64(len(rf.val)))
		return append(payload, rf.val...)
	case jObject, jArray:
		sf.kind = kRaw
		payload = binary.AppendUvarint(payload, uint64(len(rf.val)))
		return append(payload, rf.val...)
	case jString:
		if rf.date && rf.layout >= 0 {
			if nanos, ok := nanosOf(rf.sec, rf.nsec); ok {
				sf.layout = rf.layout
				if int(sf.fid) == ix.timeField && ts != tsMissing && ts == millisOf(rf.sec, rf.nsec) {
					sf.kind = kPTime
					return binary.AppendUvarint(payload, uint64(nanos-ts*nanosPerMilli))
				}
				sf.kind = kTime
				return binary.AppendVarint(payload, nanos-timeBase(ts))
			}
		}
		v := rf.val
		if !rf.esc {
			d := 0
			for d < len(v) && d < 18 && v[len(v)-1-d] >= '0' && v[len(v)-1-d] <= '9' {
				d++
			}
			if d > 0 && len(v)-d <= maxDictString {
				if code, ok := ix.dictCode(f, v[:len(v)-d]); ok {
					var num uint64
					for _, c := range v[len(v)-d:] {
						num = num*10 + uint64(c-'0')
					}
					sf.kind, sf.width = kPrefix, uint8(d)
					payload = binary.AppendUvarint(payload, uint64(code))
					return binary.AppendUvarint(payload, num)
				}
			} else if d == 0 && len(v) <= maxDictString {
				if code, ok := ix.dictCode(f, v); ok {
					sf.kind = kDict
					return binary.AppendUvarint(payload, uint64(code))
				}
			}
		}
		sf.kind = kStr
		payload = binary.AppendUvarint(payload, uint64(len(v)))
		return append(payload, v...)
	}
	return payload
}

func (ix *index) dictCode(f *field, b []byte) (uint32, bool) {
	if c, ok := f.dictIdx[string(b)]; ok {
		return c, true
	}
	if len(f.dict) >= maxDictEntries {
		return 0, false
	}
	s := string(b)
	c := uint32(len(f.dict))
	f.dict = append(f.dict, s)
	f.dictIdx[s] = c
	ix.storeBytes += int64(len(s)) + 64
	return c, true
}

func (ix *index) newShape(key string, p *prepared, fids []shapeField, hasID bool) int {
	sh := &shape{id: len(ix.shapes), hasID: hasID, style: p.style, fields: slices.Clone(fids)}
	sh.slot = make([]int16, len(ix.fields))
	for i := range sh.slot {
		sh.slot[i] = -1
	}
	colon, comma := ":", ","
	if p.style == styleSpaced {
		colon, comma = ": ", ", "
	}
	for k, sf := range fids {
		name := ix.fields[sf.fid].name
		sh.names = append(sh.names, name)
		sh.slot[sf.fid] = int16(k)
		lead := comma
		if k == 0 {
			lead = "{"
		}
		sh.frag = append(sh.frag, []byte(lead+string(appendJSONString(nil, name))+colon))
	}
	ix.shapes = append(ix.shapes, sh)
	ix.shapeIdx[key] = sh.id
	ix.storeBytes += int64(len(key))*3 + 256
	return sh.id
}

// alloc copies a row into the arena and returns its reference (chunk<<20 | offset).
func (ix *index) alloc(row []byte) (uint32, bool) {
	if k := len(ix.arena); k > 0 {
		last := ix.arena[k-1]
		if len(last)+len(row) <= cap(last) && len(last) <= refOffMask {
			off := len(last)
			ix.arena[k-1] = append(last, row...)
			return uint32(k-1)<<refOffBits | uint32(off), true
		}
	}
	if len(ix.arena) >= maxChunks {
		return 0, false
	}
	size := len(row)
	if size <= arenaMax/4 {
		size = 4096
		if k := len(ix.arena); k > 0 {
			size = min(arenaMax, 2*cap(ix.arena[k-1]))
		}
		size = max(size, len(row), 4096)
	}
	ch := make([]byte, 0, size)
	ch = append(ch, row...)
	ix.arena = append(ix.arena, ch)
	return uint32(len(ix.arena)-1) << refOffBits, true
}

func (ix *index) pushRow(ts int64, ref uint32) {
	row := ix.n
	c := row >> colBits
	if c == len(ix.ts) {
		ix.ts = append(ix.ts, make([]int64, 0, 256))
		ix.refs = append(ix.refs, make([]uint32, 0, 256))
	}
	if len(ix.ts[c]) == cap(ix.ts[c]) {
		nc := min(colRows, 2*cap(ix.ts[c]))
		ix.ts[c] = append(make([]int64, 0, nc), ix.ts[c]...)
		ix.refs[c] = append(make([]uint32, 0, nc), ix.refs[c]...)
	}
	ix.ts[c] = append(ix.ts[c], ts)
	ix.refs[c] = append(ix.refs[c], ref)
	if b := row >> blockBits; b == len(ix.blkMin) {
		ix.blkMin = append(ix.blkMin, ts)
		ix.blkMax = append(ix.blkMax, ts)
	} else {
		ix.blkMin[b] = min(ix.blkMin[b], ts)
		ix.blkMax[b] = max(ix.blkMax[b], ts)
	}
	if ts == tsMissing {
		ix.missingTs++
	}
	if ix.mono && ts < ix.lastTs {
		ix.mono, ix.monoN = false, row
	}
	ix.lastTs = max(ix.lastTs, ts)
	ix.n++
}

// order returns the rows sorted by (timestamp, row), nil meaning "row order already is". The
// caller holds mu for reading; the permutation is extended under permMu and replaced, never
// modified in place below its old length, so slices handed out earlier stay valid.
func (ix *index) order() []uint32 {
	if ix.mono {
		return nil
	}
	ix.permMu.Lock()
	defer ix.permMu.Unlock()
	if ix.perm == nil && ix.permN == 0 {
		ix.perm = make([]uint32, ix.monoN, ix.monoN+ix.n/8+16)
		for i := range ix.perm {
			ix.perm[i] = uint32(i)
		}
		ix.permN = ix.monoN
	}
	if ix.permN >= ix.n {
		return ix.perm
	}
	tail := make([]uint32, 0, ix.n-ix.permN)
	for r := ix.permN; r < ix.n; r++ {
		tail = append(tail, uint32(r))
	}
	cmpRows := func(a, b uint32) int {
		ta, tb := ix.tsAt(int(a)), ix.tsAt(int(b))
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return int(a) - int(b)
	}
	slices.SortFunc(tail, cmpRows)
	if len(ix.perm) == 0 || cmpRows(ix.perm[len(ix.perm)-1], tail[0]) < 0 {
		ix.perm = append(ix.perm, tail...)
	} else {
		merged := make([]uint32, 0, len(ix.perm)+len(tail)+len(tail)/2)
		a, b := ix.perm, tail
		for len(a) > 0 && len(b) > 0 {
			if cmpRows(a[0], b[0]) <= 0 {
				merged = append(merged, a[0])
				a = a[1:]
			} else {
				merged = append(merged, b[0])
				b = b[1:]
			}
		}
		merged = append(merged, a...)
		ix.perm = append(merged, b...)
	}
	ix.permN = ix.n
	return ix.perm
}

func itoa(v int) string {
	return string(appendInt(nil, int64(v)))
}
