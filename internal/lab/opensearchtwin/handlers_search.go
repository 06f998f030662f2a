package opensearchtwin

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

func (c *Cluster) search(r *request, expr string) (response, *apiError) {
	sb, err := parseSearchBody(r.body, r.params)
	if err != nil {
		return response{}, err
	}
	scroll := r.params.Get("scroll")
	if scroll != "" && c.serverless() {
		return response{}, errServerlessUnsupported(r.method, r.path+"?scroll="+scroll)
	}
	now := c.now()
	if sb.pitID != "" {
		if expr != "" {
			return response{}, errValidation("[indices] cannot be used with point in time. Do not specify any index with point in time.")
		}
		if scroll != "" {
			return response{}, errValidation("using [point in time] is not allowed in a scroll context")
		}
		p, err := c.usePIT(sb.pitID, sb.pitKeep)
		if err != nil {
			return response{}, err
		}
		if err := c.routeRead(); err != nil {
			return response{}, err
		}
		release := lockTargets(p.targets)
		defer release()
		res, err := runSearch(p.targets, sb, now, 10000)
		if err != nil {
			return response{}, err
		}
		return pooledSearch(res, sb, renderOpts{pitID: p.id, took: time.Since(r.start), shards: len(p.targets)}), nil
	}
	ixs, err := c.resolveIndices(expr, r.params.Get("ignore_unavailable") == "true")
	if err != nil {
		return response{}, err
	}
	if err := c.routeRead(); err != nil {
		return response{}, err
	}
	if scroll != "" {
		return c.scrollStart(r, sb, ixs, scroll, now)
	}
	targets, release := openTargets(ixs, now)
	defer release()
	res, err := runSearch(targets, sb, now, 10000)
	if err != nil {
		return response{}, err
	}
	return pooledSearch(res, sb, renderOpts{took: time.Since(r.start), shards: len(targets)}), nil
}

func (c *Cluster) scrollStart(r *request, sb *searchBody, ixs []*index, keep string, now time.Time) (response, *apiError) {
	d, err := parseTimeValue("scroll", keep)
	if err != nil {
		return response{}, err
	}
	if err := checkKeepAlive(d, keep); err != nil {
		return response{}, err
	}
	if sb.from > 0 {
		return response{}, errValidation("using [from] is not allowed in a scroll context")
	}
	if len(sb.searchAfter) > 0 {
		return response{}, errValidation("[search_after] cannot be used in a scroll context")
	}
	sb.sort = append(sb.sort, &sortKey{field: "_doc", kind: 'd'})
	sb.internal = 1
	if sb.track == nil {
		sb.track = true
	}
	targets, release := openTargets(ixs, now)
	defer release()
	res, aerr := runSearch(targets, sb, now, 10000)
	if aerr != nil {
		return response{}, aerr
	}
	s := &scrollCtx{id: randomID(48), targets: targets, keepAlive: d, total: res.total, relation: res.relation}
	next := *sb
	next.aggs = nil
	next.track = false
	s.body = &next
	if n := len(res.hits); n > 0 {
		s.after = res.hits[n-1].key
	}
	c.openScroll(s)
	return pooledSearch(res, sb, renderOpts{scrollID: s.id, took: time.Since(r.start), shards: len(targets)}), nil
}

func (c *Cluster) scrollNext(r *request, pathID string) (response, *apiError) {
	id, keep := pathID, r.params.Get("scroll")
	if id == "" {
		id = r.params.Get("scroll_id")
	}
	if len(bytes.TrimSpace(r.body)) > 0 {
		var b struct {
			ScrollID string `json:"scroll_id"`
			Scroll   string `json:"scroll"`
		}
		if err := json.Unmarshal(r.body, &b); err != nil {
			return response{}, errParsing("failed to parse scroll request: %v", err)
		}
		if b.ScrollID != "" {
			id = b.ScrollID
		}
		if b.Scroll != "" {
			keep = b.Scroll
		}
	}
	if id == "" {
		return response{}, errValidation("scrollId is missing")
	}
	s, err := c.useScroll(id, keep)
	if err != nil {
		return response{}, err
	}
	if err := c.routeRead(); err != nil {
		return response{}, err
	}
	release := lockTargets(s.targets)
	defer release()
	sb := *s.body
	res := &searchResult{}
	if s.after != nil {
		sb.afterVals = s.after
		var aerr *apiError
		if res, aerr = runSearch(s.targets, &sb, c.now(), 10000); aerr != nil {
			return response{}, aerr
		}
		if n := len(res.hits); n > 0 {
			s.after = res.hits[n-1].key
		}
	}
	res.total, res.relation, res.showTotal = s.total, s.relation, true
	res.sorted, res.printKeys = len(sb.sort) > sb.internal, len(sb.sort)-sb.internal
	return pooledSearch(res, &sb, renderOpts{scrollID: s.id, took: time.Since(r.start), shards: len(s.targets)}), nil
}

func (c *Cluster) clearScroll(r *request, pathID string) (response, *apiError) {
	var ids []string
	all := false
	if pathID == "_all" {
		all = true
	} else if pathID != "" {
		ids = strings.Split(pathID, ",")
	}
	if len(bytes.TrimSpace(r.body)) > 0 {
		var b struct {
			ScrollID json.RawMessage `json:"scroll_id"`
		}
		if err := json.Unmarshal(r.body, &b); err != nil {
			return response{}, errParsing("failed to parse clear scroll request: %v", err)
		}
		var many []string
		var one string
		switch {
		case json.Unmarshal(b.ScrollID, &many) == nil:
			ids = append(ids, many...)
		case json.Unmarshal(b.ScrollID, &one) == nil:
			if one == "_all" {
				all = true
			} else {
				ids = append(ids, one)
			}
		}
	}
	status, body := c.clearScrolls(ids, all)
	return response{status: status, body: body}, nil
}

func (c *Cluster) count(r *request, expr string) (response, *apiError) {
	var qraw json.RawMessage
	if len(bytes.TrimSpace(r.body)) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &m); err != nil {
			return response{}, errParsing("failed to parse count request: %v", err)
		}
		for k, v := range m {
			if k != "query" {
				return response{}, errParsing("request does not support [%s]", k)
			}
			qraw = v
		}
	}
	if q := r.params.Get("q"); q != "" && qraw == nil {
		f, v, found := strings.Cut(q, ":")
		if !found {
			return response{}, errIllegalArg("the OpenSearch twin only supports q=<field>:<value>")
		}
		qraw = mustJSON(jobj{{"match", jobj{{f, v}}}})
	}
	q, err := parseQuery(qraw)
	if err != nil {
		return response{}, err
	}
	ixs, err := c.resolveIndices(expr, r.params.Get("ignore_unavailable") == "true")
	if err != nil {
		return response{}, err
	}
	if err := c.routeRead(); err != nil {
		return response{}, err
	}
	now := c.now()
	targets, release := openTargets(ixs, now)
	defer release()
	var n int64
	for _, t := range targets {
		cq, err := compile(q, t.ix, &compileCtx{now: now})
		if err != nil {
			return response{}, errSearchPhase(err)
		}
		n += t.count(cq, -1)
	}
	return ok(mustJSON(jobj{{"count", n}, {"_shards", shardsObj(len(targets), len(targets))}})), nil
}

func shardsObj(total, okCount int) jobj {
	return jobj{{"total", total}, {"successful", okCount}, {"skipped", 0}, {"failed", 0}}
}
