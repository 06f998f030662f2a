package opensearchtwin

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

func (c *Cluster) createIndex(name string, body []byte) (response, *apiError) {
	if err := validIndexName(name); err != nil {
		return response{}, err
	}
	var req struct {
		Mappings json.RawMessage `json:"mappings"`
		Settings json.RawMessage `json:"settings"`
		Aliases  json.RawMessage `json:"aliases"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return response{}, errBadRequest("mapper_parsing_exception", "Failed to parse mapping: %v", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix, exists := c.indices[name]; exists {
		e := errBadRequest("resource_already_exists_exception", "index [%s/%s] already exists", name, ix.uuid)
		e.extra = jobj{{"index", name}, {"index_uuid", ix.uuid}}
		return response{}, e
	}
	ix := newIndex(c, name)
	if err := ix.applyMappings(req.Mappings); err != nil {
		return response{}, err
	}
	c.indices[name] = ix
	c.log.Debug("index created", "index", name)
	return ok(mustJSON(jobj{{"acknowledged", true}, {"shards_acknowledged", true}, {"index", name}})), nil
}

func (c *Cluster) deleteIndex(expr string) (response, *apiError) {
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return response{}, err
	}
	c.mu.Lock()
	for _, ix := range ixs {
		delete(c.indices, ix.name)
	}
	c.mu.Unlock()
	return ok([]byte(`{"acknowledged":true}`)), nil
}

func (c *Cluster) replicas() int {
	if c.zones == nil {
		return 1
	}
	total, _ := c.zones.peekWritable()
	return max(total-1, 0)
}

func (ix *index) mappingJSON() jobj {
	if len(ix.fields) == 0 {
		return jobj{}
	}
	fs := slices.Clone(ix.fields)
	slices.SortFunc(fs, func(a, b *field) int { return strings.Compare(a.name, b.name) })
	props := jobj{}
	for _, f := range fs {
		if f.typ == ftNone {
			continue
		}
		props = append(props, jkv{f.name, f.mappingJSON()})
	}
	o := jobj{}
	if ix.strict {
		o = append(o, jkv{"dynamic", "strict"})
	}
	return append(o, jkv{"properties", props})
}

func (c *Cluster) getMapping(expr string) (response, *apiError) {
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return response{}, err
	}
	out := jobj{}
	for _, ix := range ixs {
		ix.mu.RLock()
		out = append(out, jkv{ix.name, jobj{{"mappings", ix.mappingJSON()}}})
		ix.mu.RUnlock()
	}
	return ok(mustJSON(out)), nil
}

func (c *Cluster) getIndex(expr string) (response, *apiError) {
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return response{}, err
	}
	out := jobj{}
	for _, ix := range ixs {
		ix.mu.RLock()
		out = append(out, jkv{ix.name, jobj{
			{"aliases", jobj{}},
			{"mappings", ix.mappingJSON()},
			{"settings", jobj{{"index", jobj{
				{"creation_date", strconv.FormatInt(ix.created.UnixMilli(), 10)},
				{"number_of_shards", "1"},
				{"number_of_replicas", strconv.Itoa(c.replicas())},
				{"uuid", ix.uuid},
				{"version", jobj{{"created", "136407927"}}},
				{"provided_name", ix.name},
			}}}},
		}})
		ix.mu.RUnlock()
	}
	return ok(mustJSON(out)), nil
}

func (c *Cluster) refresh(expr string) (response, *apiError) {
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return response{}, err
	}
	now := c.now()
	for _, ix := range ixs {
		ix.mu.Lock()
		ix.refresh(now)
		ix.mu.Unlock()
	}
	copies := 1 + c.replicas()
	return ok(mustJSON(jobj{{"_shards", jobj{{"total", copies * len(ixs)}, {"successful", copies * len(ixs)}, {"failed", 0}}}})), nil
}

// shardState reports, per index, its copies and how many are assigned.
func (c *Cluster) shardState() (copies, assigned, dataNodes int) {
	if c.zones == nil {
		return 2, 2, 2
	}
	total, okCopies := c.zones.peekWritable()
	return total, okCopies, okCopies
}

func healthOf(copies, assigned int) string {
	switch {
	case assigned == 0:
		return "red"
	case assigned < copies:
		return "yellow"
	}
	return "green"
}

func (c *Cluster) health(r *request, expr string) (response, *apiError) {
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return response{}, err
	}
	copies, assigned, nodes := c.shardState()
	n := len(ixs)
	active, unassigned := n*assigned, n*(copies-assigned)
	primaries := n
	if assigned == 0 {
		primaries = 0
	}
	status := "green"
	if n > 0 {
		status = healthOf(copies, assigned)
	} else if assigned == 0 {
		status = "red"
	}
	pct := 100.0
	if active+unassigned > 0 {
		pct = 100 * float64(active) / float64(active+unassigned)
	}
	timedOut := false
	httpStatus := 200
	if want := r.params.Get("wait_for_status"); want != "" {
		rank := map[string]int{"green": 0, "yellow": 1, "red": 2}
		if rank[status] > rank[want] {
			timedOut, httpStatus = true, 408
		}
	}
	body := mustJSON(jobj{
		{"cluster_name", c.opts.Name},
		{"status", status},
		{"timed_out", timedOut},
		{"number_of_nodes", nodes},
		{"number_of_data_nodes", nodes},
		{"discovered_master", true},
		{"discovered_cluster_manager", true},
		{"active_primary_shards", primaries},
		{"active_shards", active},
		{"relocating_shards", 0},
		{"initializing_shards", 0},
		{"unassigned_shards", unassigned},
		{"delayed_unassigned_shards", 0},
		{"number_of_pending_tasks", 0},
		{"number_of_in_flight_fetch", 0},
		{"task_max_waiting_in_queue_millis", 0},
		{"active_shards_percent_as_number", jfloat(pct)},
	})
	return response{status: httpStatus, body: body}, nil
}

// formatBytes renders a size the way OpenSearch's ByteSizeValue does ("4.5kb", "230b").
func formatBytes(n int64, unit string) string {
	units := []struct {
		name string
		size float64
	}{{"b", 1}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40}}
	if unit != "" {
		for _, u := range units {
			if u.name == unit {
				return strconv.FormatInt(int64(float64(n)/u.size), 10)
			}
		}
	}
	u := units[0]
	for _, cand := range units {
		if float64(n) >= cand.size {
			u = cand
		}
	}
	s := strconv.FormatFloat(float64(n)/u.size, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + u.name
}

var catIndexCols = []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"}

var catAliases = map[string]string{"h": "health", "s": "status", "i": "index", "idx": "index", "id": "uuid", "p": "pri",
	"shards.primary": "pri", "r": "rep", "shards.replica": "rep", "dc": "docs.count", "docsCount": "docs.count",
	"dd": "docs.deleted", "ss": "store.size", "storeSize": "store.size", "cd": "creation.date", "cds": "creation.date.string"}

func (c *Cluster) catIndices(r *request, pattern string) (response, *apiError) {
	if pattern == "" {
		pattern = "*"
	}
	ixs, err := c.resolveIndices(pattern, false)
	if err != nil {
		return response{}, err
	}
	copies, assigned, _ := c.shardState()
	health := healthOf(copies, assigned)
	unit := r.params.Get("bytes")
	rows := make([]map[string]string, 0, len(ixs))
	for _, ix := range ixs {
		ix.mu.RLock()
		row := map[string]string{
			"health": health, "status": "open", "index": ix.name, "uuid": ix.uuid, "pri": "1",
			"rep": strconv.Itoa(copies - 1), "docs.count": strconv.FormatInt(int64(ix.visible-countVisibleDeleted(ix)), 10),
			"docs.deleted":         strconv.Itoa(countVisibleDeleted(ix)),
			"store.size":           formatBytes(ix.storeBytes*int64(max(assigned, 1)), unit),
			"pri.store.size":       formatBytes(ix.storeBytes, unit),
			"creation.date":        strconv.FormatInt(ix.created.UnixMilli(), 10),
			"creation.date.string": ix.created.UTC().Format(defaultDateLayout),
		}
		ix.mu.RUnlock()
		if h := r.params.Get("health"); h != "" && h != row["health"] {
			continue
		}
		rows = append(rows, row)
	}
	cols := catIndexCols
	if h := r.params.Get("h"); h != "" {
		cols = nil
		for col := range strings.SplitSeq(h, ",") {
			if a, ok := catAliases[col]; ok {
				col = a
			}
			cols = append(cols, col)
		}
	}
	return catRender(r, rows, cols, map[string]bool{"pri": true, "rep": true, "docs.count": true, "docs.deleted": true, "creation.date": true})
}

func countVisibleDeleted(ix *index) int {
	n := 0
	for row, seq := range ix.deleted {
		if int(row) < ix.visible && seq < ix.visOps {
			n++
		}
	}
	return n
}

func (c *Cluster) catCount(r *request, pattern string) (response, *apiError) {
	ixs, err := c.resolveIndices(pattern, false)
	if err != nil {
		return response{}, err
	}
	var n int64
	for _, ix := range ixs {
		ix.mu.RLock()
		n += int64(ix.visible - countVisibleDeleted(ix))
		ix.mu.RUnlock()
	}
	now := c.now().UTC()
	rows := []map[string]string{{"epoch": strconv.FormatInt(now.Unix(), 10), "timestamp": now.Format("15:04:05"), "count": strconv.FormatInt(n, 10)}}
	return catRender(r, rows, []string{"epoch", "timestamp", "count"}, map[string]bool{"epoch": true, "count": true})
}

// catRender renders _cat rows as JSON (format=json) or as the aligned text table.
func catRender(r *request, rows []map[string]string, cols []string, numeric map[string]bool) (response, *apiError) {
	if s := r.params.Get("s"); s != "" {
		for i := len(strings.Split(s, ",")) - 1; i >= 0; i-- {
			spec := strings.Split(s, ",")[i]
			col, dir, _ := strings.Cut(spec, ":")
			if a, ok := catAliases[col]; ok {
				col = a
			}
			slices.SortStableFunc(rows, func(a, b map[string]string) int {
				var r int
				if numeric[col] {
					x, _ := strconv.ParseInt(a[col], 10, 64)
					y, _ := strconv.ParseInt(b[col], 10, 64)
					r = compareInt(x, y)
				} else {
					r = strings.Compare(a[col], b[col])
				}
				if dir == "desc" {
					r = -r
				}
				return r
			})
		}
	}
	if r.params.Get("format") == "json" {
		out := make([]any, 0, len(rows))
		for _, row := range rows {
			o := jobj{}
			for _, col := range cols {
				v, ok := row[col]
				if !ok {
					o = append(o, jkv{col, nil})
					continue
				}
				o = append(o, jkv{col, v})
			}
			out = append(out, o)
		}
		return ok(mustJSON(out)), nil
	}
	widths := make([]int, len(cols))
	header := r.params.Has("v")
	for i, col := range cols {
		if header {
			widths[i] = len(col)
		}
		for _, row := range rows {
			widths[i] = max(widths[i], len(row[col]))
		}
	}
	var b strings.Builder
	line := func(get func(i int) string) {
		for i := range cols {
			if i > 0 {
				b.WriteByte(' ')
			}
			v := get(i)
			b.WriteString(v)
			if i < len(cols)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(v)))
			}
		}
		b.WriteByte('\n')
	}
	if header {
		line(func(i int) string { return cols[i] })
	}
	for _, row := range rows {
		line(func(i int) string { return row[cols[i]] })
	}
	return response{status: 200, body: []byte(b.String()), ctype: "text/plain; charset=UTF-8"}, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
