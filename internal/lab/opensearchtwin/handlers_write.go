package opensearchtwin

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

type bulkItem struct {
	action string
	index  string
	id     []byte
	doc    []byte
	res    itemResult
	pre    prepared
	copies int
	okCopy int
}

// writeCopies is what a write's _shards reports and whether any copy can take it.
func (c *Cluster) writeCopies(docs int) (total, okCopies int) {
	if c.zones == nil {
		return 2, 2
	}
	return c.zones.recordWrites(docs)
}

// applyItems executes write items in order, batching consecutive items of one index so the
// index lock is taken once per run and documents are parsed before it is taken.
func (c *Cluster) applyItems(items []*bulkItem) {
	var s scratch
	var hints []int8
	for i := 0; i < len(items); {
		it := items[i]
		if it.res.err != nil {
			i++
			continue
		}
		j := i + 1
		for j < len(items) && items[j].index == it.index && items[j].res.err == nil {
			j++
		}
		run := items[i:j]
		i = j
		ix, aerr := c.indexForWrite(it.index)
		if aerr != nil {
			for _, x := range run {
				x.res = itemResult{status: aerr.status, err: aerr}
				if x.id != nil {
					x.res.id = string(x.id)
				}
			}
			continue
		}
		for _, x := range run {
			if x.action != "delete" {
				hints = prepare(&x.pre, x.doc, hints)
			}
		}
		total, okCopies := c.writeCopies(len(run))
		ix.mu.Lock()
		for _, x := range run {
			op := opIndex
			switch x.action {
			case "create":
				op = opCreate
			case "delete":
				op = opDelete
			}
			x.res = ix.write(op, &x.pre, x.id, &s)
			x.copies, x.okCopy = total, okCopies
		}
		ix.mu.Unlock()
	}
}

func (c *Cluster) bulk(r *request, pathIndex string) (response, *apiError) {
	if c.zones != nil {
		if _, okCopies := c.zones.peekWritable(); okCopies == 0 {
			return response{}, errUnavailable()
		}
	}
	body := r.body
	if len(body) == 0 {
		return response{}, errValidation("no requests added")
	}
	if body[len(body)-1] != '\n' {
		return response{}, errIllegalArg("The bulk request must be terminated by a newline [\\n]")
	}
	var items []*bulkItem
	line := 0
	for len(body) > 0 {
		nl := bytes.IndexByte(body, '\n')
		act := body[:nl]
		body = body[nl+1:]
		line++
		if len(bytes.TrimSpace(act)) == 0 {
			continue
		}
		it, err := c.parseAction(act, line, pathIndex)
		if err != nil {
			return response{}, err
		}
		if it.action != "delete" {
			if len(body) == 0 {
				return response{}, errIllegalArg("Validation Failed: 1: no requests added;")
			}
			nl = bytes.IndexByte(body, '\n')
			it.doc = body[:nl]
			body = body[nl+1:]
			line++
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return response{}, errValidation("no requests added")
	}
	c.applyItems(items)
	if r.params.Get("refresh") == "true" || r.params.Get("refresh") == "wait_for" || r.params.Has("refresh") && r.params.Get("refresh") == "" {
		seen := map[string]bool{}
		for _, it := range items {
			if !seen[it.index] {
				seen[it.index] = true
				if ixs, _ := c.resolveIndices(it.index, true); len(ixs) == 1 {
					ixs[0].mu.Lock()
					ixs[0].refresh(c.now())
					ixs[0].mu.Unlock()
				}
			}
		}
	}
	errs := false
	itemsJSON := make([]byte, 0, len(items)*200)
	for k, it := range items {
		if k > 0 {
			itemsJSON = append(itemsJSON, ',')
		}
		if it.res.err != nil {
			errs = true
		}
		itemsJSON = appendBulkItem(itemsJSON, it)
	}
	out := make([]byte, 0, len(itemsJSON)+64)
	out = append(out, `{"took":`...)
	out = strconv.AppendInt(out, time.Since(r.start).Milliseconds(), 10)
	out = append(out, `,"errors":`...)
	out = strconv.AppendBool(out, errs)
	out = append(out, `,"items":[`...)
	out = append(out, itemsJSON...)
	out = append(out, "]}"...)
	return ok(out), nil
}

func (c *Cluster) parseAction(line []byte, n int, pathIndex string) (*bulkItem, *apiError) {
	it := &bulkItem{index: pathIndex}
	switch string(line) {
	case `{"index":{}}`:
		it.action = "index"
	case `{"create":{}}`:
		it.action = "create"
	default:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, errIllegalArg("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", n)
		}
		if len(m) != 1 {
			return nil, errIllegalArg("Malformed action/metadata line [%d], expected a simple value for field [_index] but found [START_OBJECT]", n)
		}
		for action, meta := range m {
			switch action {
			case "index", "create", "delete", "update":
			default:
				return nil, errIllegalArg("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", n, action)
			}
			it.action = action
			var md struct {
				Index  *string `json:"_index"`
				ID     *string `json:"_id"`
				OpType string  `json:"op_type"`
			}
			if err := json.Unmarshal(meta, &md); err != nil {
				return nil, errIllegalArg("Malformed action/metadata line [%d]: %v", n, err)
			}
			if md.Index != nil {
				it.index = *md.Index
			}
			if md.ID != nil {
				it.id = []byte(*md.ID)
			}
			if action == "index" && md.OpType == "create" {
				it.action = "create"
			}
		}
	}
	if it.index == "" {
		return nil, errValidation("index is missing")
	}
	switch {
	case it.action == "update":
		it.res = itemResult{status: 400, err: errIllegalArg("the OpenSearch twin does not implement bulk update")}
	case it.action == "delete" && it.id == nil:
		return nil, errValidation("id is missing")
	case it.id != nil && it.action != "delete" && c.customIDsForbidden():
		it.res = itemResult{status: 400, err: errDocID()}
	}
	if it.res.err != nil && it.id != nil {
		it.res.id = string(it.id)
	}
	return it, nil
}

func appendBulkItem(dst []byte, it *bulkItem) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, it.action...)
	dst = append(dst, `":{"_index":`...)
	dst = appendJSONString(dst, it.index)
	dst = append(dst, `,"_id":`...)
	if it.res.id == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, it.res.id)
	}
	if it.res.err != nil {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(it.res.status), 10)
		dst = append(dst, `,"error":`...)
		dst = append(dst, mustJSON(it.res.err.object(false))...)
		return append(dst, "}}"...)
	}
	dst = append(dst, `,"_version":`...)
	dst = strconv.AppendInt(dst, int64(it.res.version), 10)
	dst = append(dst, `,"result":"`...)
	dst = append(dst, it.res.result...)
	dst = append(dst, `","_shards":{"total":`...)
	dst = strconv.AppendInt(dst, int64(it.copies), 10)
	dst = append(dst, `,"successful":`...)
	dst = strconv.AppendInt(dst, int64(it.okCopy), 10)
	dst = append(dst, `,"failed":0},"_seq_no":`...)
	dst = strconv.AppendUint(dst, it.res.seq, 10)
	dst = append(dst, `,"_primary_term":1,"status":`...)
	dst = strconv.AppendInt(dst, int64(it.res.status), 10)
	return append(dst, "}}"...)
}

// docAPI serves /{index}/_doc[/{id}] and /{index}/_create/{id}.
func (c *Cluster) docAPI(r *request, indexName string) (response, *apiError) {
	segs, m := r.segs, r.method
	var id []byte
	if len(segs) == 3 {
		id = []byte(segs[2])
	} else if len(segs) != 2 {
		return response{}, errNoHandler(m, r.path)
	}
	if segs[1] == "_create" && id == nil {
		return response{}, errNoHandler(m, r.path)
	}
	switch m {
	case "GET", "HEAD":
		if id == nil {
			return response{}, errMethod(m, r.path, "POST")
		}
		return c.getDoc(indexName, id, m == "HEAD")
	case "DELETE":
		if id == nil {
			return response{}, errMethod(m, r.path, "POST")
		}
		return c.writeOne(r, &bulkItem{action: "delete", index: indexName, id: id})
	case "PUT", "POST":
		if id == nil && m == "PUT" {
			return response{}, errMethod(m, r.path, "POST")
		}
		action := "index"
		if segs[1] == "_create" || r.params.Get("op_type") == "create" {
			action = "create"
		}
		if id != nil && c.customIDsForbidden() {
			return response{}, errDocID()
		}
		return c.writeOne(r, &bulkItem{action: action, index: indexName, id: id, doc: bytes.TrimSpace(r.body)})
	}
	return response{}, errMethod(m, r.path, "GET", "HEAD", "PUT", "POST", "DELETE")
}

func (c *Cluster) writeOne(r *request, it *bulkItem) (response, *apiError) {
	if c.zones != nil {
		if _, okCopies := c.zones.peekWritable(); okCopies == 0 {
			return response{}, errUnavailable()
		}
	}
	c.applyItems([]*bulkItem{it})
	if it.res.err != nil {
		return response{}, it.res.err
	}
	if r.params.Get("refresh") == "true" || r.params.Get("refresh") == "wait_for" {
		if ixs, _ := c.resolveIndices(it.index, true); len(ixs) == 1 {
			ixs[0].mu.Lock()
			ixs[0].refresh(c.now())
			ixs[0].mu.Unlock()
		}
	}
	body := mustJSON(jobj{
		{"_index", it.index}, {"_id", it.res.id}, {"_version", it.res.version}, {"result", it.res.result},
		{"_shards", jobj{{"total", it.copies}, {"successful", it.okCopy}, {"failed", 0}}},
		{"_seq_no", it.res.seq}, {"_primary_term", 1},
	})
	return response{status: it.res.status, body: body}, nil
}

// getDoc is a realtime get: it sees writes not yet refreshed, as OpenSearch's GET does.
func (c *Cluster) getDoc(indexName string, id []byte, head bool) (response, *apiError) {
	ixs, err := c.resolveIndices(indexName, false)
	if err != nil {
		return response{}, err
	}
	if len(ixs) != 1 {
		return response{}, errIllegalArg("alias or wildcard [%s] resolves to more than one index", indexName)
	}
	ix := ixs[0]
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	row, found := ix.lookupID(id)
	if found && ix.isDeleted(row) {
		found = false
	}
	if !found {
		return response{status: 404, body: mustJSON(jobj{{"_index", ix.name}, {"_id", string(id)}, {"found", false}})}, nil
	}
	if head {
		return response{status: 200}, nil
	}
	var rc rowCtx
	rc.reset(ix, row)
	out := []byte(`{"_index":`)
	out = appendJSONString(out, ix.name)
	out = append(out, `,"_id":`...)
	out = appendJSONString(out, string(id))
	out = append(out, `,"_version":`...)
	out = strconv.AppendInt(out, int64(ix.version(row)), 10)
	out = append(out, `,"_seq_no":`...)
	out = strconv.AppendInt(out, int64(row), 10)
	out = append(out, `,"_primary_term":1,"found":true,"_source":`...)
	out = rc.appendSource(out, nil)
	out = append(out, '}')
	return ok(out), nil
}
