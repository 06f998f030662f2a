package opensearchtwin

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Points in time and scroll contexts are snapshots: the rows and operations each index had when
// the context opened. The store is append-only (a replaced or deleted row only gets a deletion
// marker with its _seq_no), so a snapshot is two numbers per index and costs nothing to keep.

type pitCtx struct {
	id        string
	targets   []*target
	created   time.Time
	keepAlive time.Duration
	expires   time.Time
}

type scrollCtx struct {
	id        string
	targets   []*target
	body      *searchBody
	after     []sortVal
	keepAlive time.Duration
	expires   time.Time
	total     int64
	relation  string
}

// maxKeepAlive is point_in_time.max_keep_alive / search.max_keep_alive's default.
const maxKeepAlive = 24 * time.Hour

// parseTimeValue parses an OpenSearch time value ("5m", "30s", "100ms", "1d").
func parseTimeValue(setting, s string) (time.Duration, *apiError) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second},
		{"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return time.Duration(n) * u.d, nil
			}
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
				return time.Duration(f * float64(u.d)), nil
			}
			break
		}
	}
	if s == "-1" {
		return -1, nil
	}
	return 0, errBadRequest("illegal_argument_exception",
		"failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", setting, s)
}

func checkKeepAlive(d time.Duration, raw string) *apiError {
	if d > maxKeepAlive {
		return errIllegalArg("Keep alive for request (%s) is too large. It must be less than (1d). This limit can be set by changing the [point_in_time.max_keep_alive] cluster level setting.", raw)
	}
	return nil
}

func contextMissing(id string) *apiError {
	return errSearchPhase(newErr(404, "search_context_missing_exception", "No search context found for id ["+id+"]"))
}

// sweep drops expired contexts; the caller holds ctxMu.
func (c *Cluster) sweep(now time.Time) {
	for id, p := range c.pits {
		if now.After(p.expires) {
			delete(c.pits, id)
		}
	}
	for id, s := range c.scrolls {
		if now.After(s.expires) {
			delete(c.scrolls, id)
		}
	}
}

func (c *Cluster) createPIT(expr string, keep string) (int, []byte, *apiError) {
	if keep == "" {
		return 0, nil, errValidation("keep alive not specified")
	}
	d, err := parseTimeValue("keep_alive", keep)
	if err != nil {
		return 0, nil, err
	}
	if err := checkKeepAlive(d, keep); err != nil {
		return 0, nil, err
	}
	ixs, err := c.resolveIndices(expr, false)
	if err != nil {
		return 0, nil, err
	}
	if err := c.routeRead(); err != nil {
		return 0, nil, err
	}
	now := c.now()
	targets, release := openTargets(ixs, now)
	release() // the snapshot is the two numbers captured under the lock
	p := &pitCtx{id: randomID(48), targets: targets, created: now, keepAlive: d, expires: now.Add(d)}
	c.ctxMu.Lock()
	c.sweep(now)
	c.pits[p.id] = p
	c.ctxMu.Unlock()
	return 200, mustJSON(jobj{
		{"pit_id", p.id},
		{"_shards", jobj{{"total", len(targets)}, {"successful", len(targets)}, {"skipped", 0}, {"failed", 0}}},
		{"creation_time", now.UnixMilli()},
	}), nil
}

// usePIT finds a live point in time and extends it by keep (when given).
func (c *Cluster) usePIT(id, keep string) (*pitCtx, *apiError) {
	var d time.Duration
	if keep != "" {
		var err *apiError
		if d, err = parseTimeValue("keep_alive", keep); err != nil {
			return nil, err
		}
		if err := checkKeepAlive(d, keep); err != nil {
			return nil, err
		}
	}
	now := c.now()
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	c.sweep(now)
	p, ok := c.pits[id]
	if !ok {
		return nil, contextMissing(id)
	}
	if keep != "" {
		p.keepAlive, p.expires = d, now.Add(d)
	}
	return p, nil
}

func (c *Cluster) deletePITs(body []byte) (int, []byte, *apiError) {
	var req struct {
		PitID json.RawMessage `json:"pit_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.PitID) == 0 {
		return 0, nil, errValidation("no pit ids specified")
	}
	var ids []string
	if err := json.Unmarshal(req.PitID, &ids); err != nil {
		var one string
		if err := json.Unmarshal(req.PitID, &one); err != nil {
			return 0, nil, errParsing("[pit_id] must be a string or an array of strings")
		}
		ids = []string{one}
	}
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	c.sweep(c.now())
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		_, ok := c.pits[id]
		delete(c.pits, id)
		out = append(out, jobj{{"pit_id", id}, {"successful", ok}})
	}
	return 200, mustJSON(jobj{{"pits", out}}), nil
}

func (c *Cluster) listPITs(deleteAll bool) (int, []byte, *apiError) {
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	c.sweep(c.now())
	ps := make([]*pitCtx, 0, len(c.pits))
	for _, p := range c.pits {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *pitCtx) int {
		if d := a.created.Compare(b.created); d != 0 {
			return d
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		if deleteAll {
			delete(c.pits, p.id)
			out = append(out, jobj{{"pit_id", p.id}, {"successful", true}})
			continue
		}
		out = append(out, jobj{{"pit_id", p.id}, {"creation_time", p.created.UnixMilli()}, {"keep_alive", p.keepAlive.Milliseconds()}})
	}
	return 200, mustJSON(jobj{{"pits", out}}), nil
}

// openScroll registers a scroll after its first page.
func (c *Cluster) openScroll(s *scrollCtx) {
	now := c.now()
	s.expires = now.Add(s.keepAlive)
	c.ctxMu.Lock()
	c.sweep(now)
	c.scrolls[s.id] = s
	c.ctxMu.Unlock()
}

func (c *Cluster) useScroll(id string, keep string) (*scrollCtx, *apiError) {
	now := c.now()
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	c.sweep(now)
	s, ok := c.scrolls[id]
	if !ok {
		return nil, contextMissing(id)
	}
	if keep != "" {
		d, err := parseTimeValue("scroll", keep)
		if err != nil {
			return nil, err
		}
		s.keepAlive = d
	}
	s.expires = now.Add(s.keepAlive)
	return s, nil
}

func (c *Cluster) clearScrolls(ids []string, all bool) (int, []byte) {
	c.ctxMu.Lock()
	defer c.ctxMu.Unlock()
	freed := 0
	if all {
		freed = len(c.scrolls)
		clear(c.scrolls)
	}
	for _, id := range ids {
		if _, ok := c.scrolls[id]; ok {
			delete(c.scrolls, id)
			freed++
		}
	}
	status := 200
	if freed == 0 && !all {
		status = 404
	}
	return status, mustJSON(jobj{{"succeeded", true}, {"num_freed", freed}})
}
