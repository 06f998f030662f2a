package opensearchtwin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// request is one REST call after routing-independent decoding.
type request struct {
	method string
	path   string
	segs   []string
	params url.Values
	body   []byte
	start  time.Time
}

type response struct {
	status  int
	body    []byte
	ctype   string
	header  http.Header // extra headers (a refusal's challenge or request id)
	release func()      // returns body's buffer to its pool once written
}

// bufPool recycles search response buffers: a 10,000-hit page is several MiB, and growing a
// fresh buffer for every page of a PIT scan costs more than rendering it.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func pooledSearch(res *searchResult, sb *searchBody, o renderOpts) response {
	bp := bufPool.Get().(*[]byte)
	if need := 256 + len(res.hits)*512; cap(*bp) < need {
		*bp = make([]byte, 0, need)
	}
	out := renderSearch((*bp)[:0], res, sb, o)
	return response{status: 200, body: out, release: func() {
		if cap(out) <= 64<<20 {
			*bp = out[:0]
			bufPool.Put(bp)
		}
	}}
}

func ok(body []byte) response { return response{status: 200, body: body} }

const jsonType = "application/json; charset=UTF-8"

func (c *Cluster) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", jsonType)
	// The raw body is what a signature covers; readBody below decompresses it.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		e := errBadRequest("parse_exception", "failed to read request body: %v", err)
		writeResp(w, r, response{status: e.status, body: e.body()})
		return
	}
	// The front door authenticates before anything else answers, a blocked cluster included.
	if refusal := c.authenticate(r, raw); refusal != nil {
		writeResp(w, r, *refusal)
		return
	}
	if !c.available.Load() {
		writeResp(w, r, response{status: 503, body: errUnavailable().body()})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	body, err := readBody(r)
	if err != nil {
		e := errBadRequest("parse_exception", "failed to read request body: %v", err)
		writeResp(w, r, response{status: e.status, body: e.body()})
		return
	}
	path := r.URL.Path
	trimmed := strings.Trim(path, "/")
	var segs []string
	if trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	if c.opts.Mode == ModeManaged && isZoneAPI(segs) {
		c.log.Debug("zone API refused on a managed domain", "method", r.Method, "path", path)
		writeResp(w, r, zoneAPIRefused(path))
		return
	}
	req := &request{method: r.Method, path: path, segs: segs, params: r.URL.Query(), body: body, start: time.Now()}
	resp, aerr := c.route(req)
	if aerr != nil {
		if aerr.status >= 500 {
			c.log.Debug("request failed", "method", r.Method, "path", path, "status", aerr.status, "err", aerr.Error())
		}
		resp = response{status: aerr.status, body: aerr.body()}
	}
	if req.params.Get("pretty") == "true" || req.params.Has("pretty") && req.params.Get("pretty") == "" {
		var buf bytes.Buffer
		if json.Indent(&buf, resp.body, "", "  ") == nil {
			buf.WriteByte('\n')
			resp.body = buf.Bytes()
		}
	}
	writeResp(w, r, resp)
	if resp.release != nil {
		resp.release()
	}
}

func writeResp(w http.ResponseWriter, r *http.Request, resp response) {
	if resp.ctype != "" {
		w.Header().Set("Content-Type", resp.ctype)
	}
	for k, vs := range resp.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.body) // the client went away; nothing to do
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		rd = gz
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return b, nil
}

func (c *Cluster) serverless() bool { return c.opts.Mode == ModeServerless }

// customIDsForbidden is AOSS's rule for TIMESERIES and VECTORSEARCH collections.
func (c *Cluster) customIDsForbidden() bool {
	return c.serverless() && c.opts.CollectionType != CollectionSearch
}

func errDocID() *apiError {
	return errIllegalArg("Document ID is not supported in create/index operation request")
}

func (c *Cluster) route(r *request) (response, *apiError) {
	m, segs := r.method, r.segs
	is := func(methods ...string) bool { return slices.Contains(methods, m) }
	bad := func(methods ...string) (response, *apiError) { return response{}, errMethod(m, r.path, methods...) }
	if len(segs) == 0 {
		if !is("GET", "HEAD") {
			return bad("GET", "HEAD")
		}
		if c.serverless() {
			// AOSS answers GET / with 404 and an empty body (opensearch-project/OpenSearch-Dashboards#5707).
			return response{status: 404}, nil
		}
		return ok(c.info()), nil
	}
	if strings.HasPrefix(segs[0], "_") {
		return c.routeAPI(r)
	}
	expr := segs[0]
	if len(segs) == 1 {
		switch m {
		case "PUT", "POST":
			if m == "POST" {
				return response{}, errNoHandler(m, r.path)
			}
			return c.createIndex(expr, r.body)
		case "DELETE":
			return c.deleteIndex(expr)
		case "HEAD":
			if _, err := c.resolveIndices(expr, false); err != nil {
				return response{status: 404}, nil
			}
			return response{status: 200}, nil
		case "GET":
			return c.getIndex(expr)
		}
		return bad("GET", "HEAD", "PUT", "DELETE")
	}
	switch segs[1] {
	case "_bulk":
		if len(segs) == 2 && is("POST", "PUT") {
			return c.bulk(r, expr)
		}
		return bad("POST", "PUT")
	case "_count":
		if len(segs) == 2 && is("GET", "POST") {
			return c.count(r, expr)
		}
		return bad("GET", "POST")
	case "_search":
		if len(segs) == 2 && is("GET", "POST") {
			return c.search(r, expr)
		}
		if len(segs) == 3 && segs[2] == "point_in_time" {
			if m != "POST" {
				return bad("POST")
			}
			return wrap(c.createPIT(expr, r.params.Get("keep_alive")))
		}
	case "_doc", "_create":
		return c.docAPI(r, expr)
	case "_refresh":
		if len(segs) == 2 && is("GET", "POST") {
			return c.refresh(expr)
		}
	case "_mapping", "_mappings":
		if len(segs) == 2 && m == "GET" {
			return c.getMapping(expr)
		}
	}
	return response{}, errNoHandler(m, r.path)
}

func wrap(status int, body []byte, err *apiError) (response, *apiError) {
	if err != nil {
		return response{}, err
	}
	return response{status: status, body: body}, nil
}

func (c *Cluster) routeAPI(r *request) (response, *apiError) {
	m, segs := r.method, r.segs
	is := func(methods ...string) bool { return slices.Contains(methods, m) }
	bad := func(methods ...string) (response, *apiError) { return response{}, errMethod(m, r.path, methods...) }
	switch segs[0] {
	case "_bulk":
		if len(segs) == 1 {
			if is("POST", "PUT") {
				return c.bulk(r, "")
			}
			return bad("POST", "PUT")
		}
	case "_count":
		if len(segs) == 1 {
			if is("GET", "POST") {
				return c.count(r, "")
			}
			return bad("GET", "POST")
		}
	case "_search":
		switch {
		case len(segs) == 1:
			if is("GET", "POST") {
				return c.search(r, "")
			}
			return bad("GET", "POST")
		case segs[1] == "scroll":
			if c.serverless() {
				return response{}, errServerlessUnsupported(m, r.path)
			}
			id := ""
			if len(segs) == 3 {
				id = segs[2]
			}
			switch m {
			case "GET", "POST":
				return c.scrollNext(r, id)
			case "DELETE":
				return c.clearScroll(r, id)
			}
			return bad("GET", "POST", "DELETE")
		case segs[1] == "point_in_time":
			if len(segs) == 2 && m == "DELETE" {
				return wrap(c.deletePITs(r.body))
			}
			if len(segs) == 3 && segs[2] == "_all" {
				switch m {
				case "GET":
					return wrap(c.listPITs(false))
				case "DELETE":
					return wrap(c.listPITs(true))
				}
				return bad("GET", "DELETE")
			}
		}
	case "_cat":
		if len(segs) >= 2 && len(segs) <= 3 && m == "GET" {
			pattern := ""
			if len(segs) == 3 {
				pattern = segs[2]
			}
			switch segs[1] {
			case "indices":
				return c.catIndices(r, pattern)
			case "count":
				return c.catCount(r, pattern)
			}
		}
	case "_cluster":
		if c.serverless() {
			return response{}, errServerlessUnsupported(m, r.path)
		}
		return c.routeCluster(r)
	case "_refresh":
		if len(segs) == 1 && is("GET", "POST") {
			return c.refresh("")
		}
	case "_mapping", "_mappings":
		if len(segs) == 1 && m == "GET" {
			return c.getMapping("")
		}
	}
	return response{}, errNoHandler(m, r.path)
}

func (c *Cluster) routeCluster(r *request) (response, *apiError) {
	m, segs := r.method, r.segs
	bad := func(methods ...string) (response, *apiError) { return response{}, errMethod(m, r.path, methods...) }
	switch {
	case len(segs) >= 2 && segs[1] == "health" && len(segs) <= 3:
		if m != "GET" {
			return bad("GET")
		}
		expr := ""
		if len(segs) == 3 {
			expr = segs[2]
		}
		return c.health(r, expr)
	case len(segs) == 5 && segs[1] == "routing" && segs[2] == "awareness" && segs[4] == "weights":
		switch m {
		case "GET":
			return wrap(c.getWeights(segs[3]))
		case "PUT":
			return wrap(c.putWeights(segs[3], r.body))
		case "DELETE":
			return wrap(c.deleteWeights(segs[3], r.body))
		}
		return bad("GET", "PUT", "DELETE")
	case len(segs) == 4 && segs[1] == "routing" && segs[2] == "awareness" && segs[3] == "weights":
		if m != "DELETE" {
			return bad("DELETE")
		}
		return wrap(c.deleteWeights("", r.body))
	case len(segs) >= 3 && segs[1] == "decommission" && segs[2] == "awareness":
		switch {
		case len(segs) == 3:
			if m != "DELETE" {
				return bad("DELETE")
			}
			return wrap(c.deleteDecommission())
		case len(segs) == 5 && segs[4] == "_status":
			if m != "GET" {
				return bad("GET")
			}
			return wrap(c.getDecommission(segs[3]))
		case len(segs) == 5:
			if m != "PUT" {
				return bad("PUT")
			}
			return wrap(c.putDecommission(segs[3], segs[4]))
		}
	}
	return response{}, errNoHandler(m, r.path)
}

func (c *Cluster) info() []byte {
	return mustJSON(jobj{
		{"name", c.opts.Name + "-node-1"},
		{"cluster_name", c.opts.Name},
		{"cluster_uuid", c.uuid},
		{"version", jobj{
			{"distribution", "opensearch"},
			{"number", c.opts.Version},
			{"build_type", "tar"},
			{"build_hash", "unknown"},
			{"build_date", "2025-02-11T00:00:00.000000Z"},
			{"build_snapshot", false},
			{"lucene_version", "9.12.1"},
			{"minimum_wire_compatibility_version", "7.10.0"},
			{"minimum_index_compatibility_version", "7.0.0"},
		}},
		{"tagline", "The OpenSearch Project: https://opensearch.org/"},
	})
}
