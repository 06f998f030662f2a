package backfill

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/opensearchtransport"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
)

// OpenSearchOptions configure an OpenSearch side.
type OpenSearchOptions struct {
	// Name identifies the side in messages (the Region); required.
	Name string
	// Endpoint is the collection's or domain's data endpoint; required.
	Endpoint string
	// Service is the SigV4 service: "aoss" for a Serverless collection, "es" for a managed domain
	// (runbook.SigningService of the Region's kind). It is required with AWS: there is no default
	// here, because one that differs from the environment's would sign a collection for es.
	Service string
	// AWS, when set, signs every request with SigV4 using its credentials and Region. Nil sends
	// unsigned requests (a test twin without authentication).
	AWS *aws.Config
	// Transport is the base HTTP transport; nil uses a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// KeepAlive is the point in time's keep_alive between pages (default 5m).
	KeepAlive time.Duration
	// DupShardSize is the terms shard_size of duplicate lists (default 10000). On a multi-shard
	// cluster a bucket with more documents than this may miss a duplicate split across shards,
	// so its list is reported inexact and the engine does not trust its count.
	DupShardSize int
	// RequestTimeout bounds each attempt (default 2m); MaxRetries retries 502/503/504 and
	// connection errors inside one call (default 2) before the activity's own retry policy.
	RequestTimeout time.Duration
	MaxRetries     int
	// OnRequest, when set, sees every HTTP request sent (tests assert on paths).
	OnRequest func(*http.Request)
	// Fields, when set, is shared by sides of the same cluster, so the .keyword discovery of a
	// text id field happens once per process rather than once per pass.
	Fields *FieldCache
}

// FieldCache remembers the field each cluster sorts and aggregates ids on: the configured field,
// or its .keyword sub-field when dynamic mapping made the field text (as OpenSearch Ingestion's
// default index does).
type FieldCache struct{ m sync.Map }

func (c *FieldCache) get(key string) (string, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		return "", false
	}
	return v.(string), true
}

func (c *FieldCache) set(key, field string) { c.m.Store(key, field) }

// OpenSearch is a Side backed by an OpenSearch domain or Serverless collection through
// opensearch-go. It only uses APIs Serverless supports: _search with aggregations, _count, point
// in time, search_after. It never calls _cluster, _nodes or scroll, and turns the client's node
// discovery, health checks and node-stats polling off because they call _nodes and
// _cluster/health.
type OpenSearch struct {
	opts     OpenSearchOptions
	client   *opensearchapi.Client
	requests atomic.Int64
}

// NewOpenSearch builds a side; it makes no request.
func NewOpenSearch(o OpenSearchOptions) (*OpenSearch, error) {
	if o.Name == "" || o.Endpoint == "" {
		return nil, errors.New("opensearch side: a name and an endpoint are required")
	}
	o.KeepAlive = cmp.Or(o.KeepAlive, 5*time.Minute)
	o.DupShardSize = cmp.Or(o.DupShardSize, 10000)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, 2*time.Minute)
	o.MaxRetries = cmp.Or(o.MaxRetries, 2)
	if o.Fields == nil {
		o.Fields = &FieldCache{}
	}
	s := &OpenSearch{opts: o}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("opensearch side %s: endpoint %q is not a URL", o.Name, o.Endpoint)
	}
	// The transport is configured directly because the client's defaults poll
	// /_nodes/_local/stats and /_cluster/health, which Serverless does not have.
	cfg := opensearchtransport.Config{
		URLs:                  []*url.URL{u},
		Transport:             &countingTransport{base: base, n: &s.requests, on: o.OnRequest},
		MaxRetries:            o.MaxRetries,
		RequestTimeout:        o.RequestTimeout,
		RetryBackoff:          func(attempt int) time.Duration { return time.Duration(attempt) * 200 * time.Millisecond },
		HealthCheckMaxRetries: -1,
		MaxRetryClusterHealth: -1,
		NodeStatsInterval:     -1,
	}
	if o.AWS != nil {
		if o.Service != "aoss" && o.Service != "es" {
			return nil, fmt.Errorf("opensearch side %s: SigV4 service must be aoss (collection) or es (domain), got %q", o.Name, o.Service)
		}
		sg, err := awsv2.NewSignerWithService(*o.AWS, o.Service)
		if err != nil {
			return nil, fmt.Errorf("opensearch side %s: SigV4 signer for %s: %w", o.Name, o.Service, err)
		}
		cfg.Signer = sg
	}
	tp, err := opensearchtransport.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("opensearch side %s: client for %s: %w", o.Name, o.Endpoint, err)
	}
	c := opensearchapi.NewFromClient(&opensearch.Client{Transport: tp})
	s.client = c
	return s, nil
}

// Name implements Side.
func (s *OpenSearch) Name() string { return s.opts.Name }

// Requests implements Side.
func (s *OpenSearch) Requests() int64 { return s.requests.Load() }

// Close releases the client's idle connections.
func (s *OpenSearch) Close() error { return s.client.Close() }

// countingTransport counts every HTTP attempt, retries included: that is the load the cluster
// serves and what the benchmark compares.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
	on   func(*http.Request)
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	if t.on != nil {
		t.on(r)
	}
	return t.base.RoundTrip(r)
}

// do sends one request and decodes a 2xx JSON answer into out, classifying failures.
func (s *OpenSearch) do(ctx context.Context, op, method, path string, params url.Values, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: %s: encode request: %w", s.opts.Name, op, err)
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", s.opts.Name, op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Stream, not Perform: the answer is decoded as it arrives instead of being buffered whole,
	// which keeps a 60,000-bucket histogram or a 10,000-hit page from sitting in memory twice.
	resp, err := s.client.Client.Stream(req)
	if resp != nil && resp.Body != nil {
		defer func() {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}()
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && resp == nil:
		return &Error{Side: s.opts.Name, Op: op, Reason: err.Error(), Transient: true, Unreachable: true, Err: err}
	case err != nil:
		return &Error{Side: s.opts.Name, Op: op, Status: resp.StatusCode, Reason: err.Error(), Transient: true, Err: err}
	}
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return s.statusError(op, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(resp.Body)
	if sd, ok := out.(streamDecoder); ok {
		err = sd.decodeFrom(dec)
	} else {
		err = dec.Decode(out)
	}
	if err != nil {
		return &Error{Side: s.opts.Name, Op: op, Status: resp.StatusCode, Reason: "decode response: " + err.Error(), Transient: true, Err: err}
	}
	return nil
}

func (s *OpenSearch) statusError(op string, status int, raw []byte) error {
	reason := errorReason(raw)
	e := &Error{Side: s.opts.Name, Op: op, Status: status, Reason: reason}
	lower := strings.ToLower(reason)
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		e.Transient = true
	case strings.Contains(lower, "too_many_buckets") || strings.Contains(lower, "too_many_clauses") || strings.Contains(lower, "maxclausecount"):
		e.Err = ErrTooLarge
	case status == http.StatusNotFound && strings.Contains(lower, "search_context_missing"):
		// The point in time expired (or a node restarted): a new pass starts over.
		e.Transient = true
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Reason = "access denied: " + reason
	}
	return e
}

// errorReason extracts "type: reason" from an OpenSearch error body, or a short raw excerpt.
func errorReason(raw []byte) string {
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Error) > 0 {
		var st struct {
			Type, Reason string
			RootCause    []struct{ Type, Reason string } `json:"root_cause"`
			CausedBy     *struct{ Type, Reason string }  `json:"caused_by"`
		}
		if json.Unmarshal(body.Error, &st) == nil && st.Type != "" {
			msg := st.Type + ": " + st.Reason
			if st.CausedBy != nil {
				msg += " (caused by " + st.CausedBy.Type + ": " + st.CausedBy.Reason + ")"
			} else if len(st.RootCause) > 0 && st.RootCause[0].Type != st.Type {
				msg += " (root cause " + st.RootCause[0].Type + ": " + st.RootCause[0].Reason + ")"
			}
			return msg
		}
		var str string
		if json.Unmarshal(body.Error, &str) == nil {
			return str
		}
	}
	const maxExcerpt = 300
	if len(raw) > maxExcerpt {
		raw = raw[:maxExcerpt]
	}
	return strings.TrimSpace(string(raw))
}

// isTextField reports whether err says the field is text, which cannot be sorted or aggregated.
func isTextField(err error) bool {
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		return false
	}
	r := strings.ToLower(se.Reason)
	return strings.Contains(r, "fielddata") || strings.Contains(r, "text fields are not optimised")
}

// withIDField runs f with the id field to use, switching once to the .keyword sub-field when the
// cluster says the field is text.
func (s *OpenSearch) withIDField(field string, f func(field string) error) error {
	if field == "" {
		return f("")
	}
	key := s.opts.Endpoint + "|" + field
	use, ok := s.opts.Fields.get(key)
	if !ok {
		use = field
	}
	err := f(use)
	if err != nil && use == field && isTextField(err) {
		use = field + ".keyword"
		if err2 := f(use); err2 != nil {
			return fmt.Errorf("%w (also tried %s, since %s is a text field)", err2, use, field)
		}
		s.opts.Fields.set(key, use)
		return nil
	}
	return err
}

type obj = map[string]any

func rangeClause(field string, r Range) obj {
	return obj{"range": obj{field: obj{"gte": r.From, "lt": r.To, "format": "epoch_millis"}}}
}

// query restricts documents to the window and to the union of ranges, then applies filters.
// The time clauses come first: a cluster that evaluates filters in order (as the lab's twin
// does) then reads other fields only of documents inside the ranges.
func query(timeField string, window Range, ranges []Range, filters ...obj) obj {
	must := []any{}
	if window.To > window.From {
		must = append(must, rangeClause(timeField, window))
	}
	switch {
	case len(ranges) == 1:
		must = append(must, rangeClause(timeField, ranges[0]))
	case len(ranges) > 1:
		// The covering range lets the cluster skip everything outside the ranges' span before it
		// evaluates the disjunction.
		must = append(must, rangeClause(timeField, Range{From: ranges[0].From, To: ranges[len(ranges)-1].To}))
		must = append(must, disjunction(timeField, ranges))
	}
	for _, f := range filters {
		must = append(must, f)
	}
	return obj{"bool": obj{"filter": must}}
}

// streamDecoder is an answer decoded element by element from the response body, so that a
// 60,000-bucket histogram or a 10,000-hit page is never held whole, neither as text nor as a
// second decoded copy.
type streamDecoder interface {
	decodeFrom(dec *json.Decoder) error
}

// walkObject reads a JSON object, calling f with the decoder positioned at each key's value; f
// must consume the value.
func walkObject(dec *json.Decoder, f func(key string) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", t)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("want an object key, got %v", t)
		}
		if err := f(key); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// walkArray reads a JSON array, calling f with the decoder positioned at each element.
func walkArray(dec *json.Decoder, f func() error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", t)
	}
	for dec.More() {
		if err := f(); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func skipValue(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

// disjunction matches documents in any of ranges (sorted). Many ranges become a two-level tree:
// groups of consecutive ranges, each with its covering range as a filter, so a cluster that tests
// clauses one by one (as the lab's twin does) rejects a document by a group's bounds instead of
// testing every range. The clauses add up to well under max_clause_count with MaxRanges ranges.
func disjunction(timeField string, ranges []Range) obj {
	const flat = 32
	clauses := func(rs []Range) []any {
		out := make([]any, len(rs))
		for i, r := range rs {
			out[i] = rangeClause(timeField, r)
		}
		return out
	}
	if len(ranges) <= flat {
		return obj{"bool": obj{"should": clauses(ranges), "minimum_should_match": 1}}
	}
	size := int(math.Ceil(math.Sqrt(float64(len(ranges)))))
	var groups []any
	for g := range slices.Chunk(ranges, size) {
		cover := Range{From: g[0].From, To: g[len(g)-1].To}
		groups = append(groups, obj{"bool": obj{"filter": []any{rangeClause(timeField, cover)},
			"should": clauses(g), "minimum_should_match": 1}})
	}
	return obj{"bool": obj{"should": groups, "minimum_should_match": 1}}
}

type shardsInfo struct {
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

// histBucket is one date_histogram bucket. Keys are epoch milliseconds and sums of them below
// 2^53: both exact in float64, which decodes without allocating.
type histBucket struct {
	Key      float64 `json:"key"`
	DocCount int64   `json:"doc_count"`
	S        struct {
		Value *float64 `json:"value"`
	} `json:"s"`
	D *struct {
		ErrorBound int64 `json:"doc_count_error_upper_bound"`
		Buckets    []struct {
			Key      string `json:"key"`
			DocCount int64  `json:"doc_count"`
		} `json:"buckets"`
	} `json:"d"`
}

// countDecoder reads a Counts answer, converting each bucket as it arrives.
type countDecoder struct {
	shards  shardsInfo
	indices struct {
		Buckets []struct {
			Key      string `json:"key"`
			DocCount int64  `json:"doc_count"`
		} `json:"buckets"`
	}
	bucket func(histBucket) error
}

func (c *countDecoder) decodeFrom(dec *json.Decoder) error {
	return walkObject(dec, func(k string) error {
		switch k {
		case "_shards":
			return dec.Decode(&c.shards)
		case "aggregations":
			return walkObject(dec, func(k string) error {
				switch k {
				case "idx":
					return dec.Decode(&c.indices)
				case "h":
					return walkObject(dec, func(k string) error {
						if k != "buckets" {
							return skipValue(dec)
						}
						return walkArray(dec, func() error {
							var b histBucket
							if err := dec.Decode(&b); err != nil {
								return err
							}
							return c.bucket(b)
						})
					})
				}
				return skipValue(dec)
			})
		}
		return skipValue(dec)
	})
}

// IndexCounts implements Side with a terms aggregation on _index, apart from the histograms:
// one more request, but a cluster that must look up each document's index (the lab's twin) would
// otherwise do so inside every histogram request.
func (s *OpenSearch) IndexCounts(ctx context.Context, scope Scope, window Range) ([]IndexCount, error) {
	body := obj{"size": 0, "track_total_hits": false, "query": query(scope.TimeField, window, nil),
		"aggs": obj{"idx": obj{"terms": obj{"field": "_index", "size": 10000}}}}
	resp := &countDecoder{bucket: func(histBucket) error { return nil }}
	params := url.Values{"filter_path": {"_shards.total,_shards.failed,aggregations"}}
	if err := s.do(ctx, "count indices "+scope.Pattern, http.MethodPost, "/"+scope.Pattern+"/_search", params, body, resp); err != nil {
		return nil, err
	}
	if resp.shards.Failed > 0 {
		return nil, &Error{Side: s.opts.Name, Op: "count indices " + scope.Pattern, Status: http.StatusOK, Transient: true,
			Reason: fmt.Sprintf("%d of %d shards failed: counts would be partial", resp.shards.Failed, resp.shards.Total)}
	}
	out := make([]IndexCount, 0, len(resp.indices.Buckets))
	for _, b := range resp.indices.Buckets {
		out = append(out, IndexCount{Index: b.Key, Count: b.DocCount})
	}
	return out, nil
}

// Counts implements Side with one _search of size 0: a date_histogram with, when asked, a sum of
// timestamps and a terms sub-aggregation listing ids with min_doc_count 2.
func (s *OpenSearch) Counts(ctx context.Context, q CountQuery) (Counts, error) {
	var out Counts
	err := s.withIDField(q.IDField, func(idField string) error {
		hist := obj{"date_histogram": obj{"field": q.TimeField, "fixed_interval": intervalString(q.Interval), "min_doc_count": 1}}
		sub := obj{}
		if q.Sum {
			sub["s"] = obj{"sum": obj{"field": q.TimeField}}
		}
		if q.Dups > 0 && idField != "" {
			sub["d"] = obj{"terms": obj{"field": idField, "min_doc_count": 2, "size": q.Dups, "shard_size": max(s.opts.DupShardSize, q.Dups)}}
		}
		if len(sub) > 0 {
			hist["aggs"] = sub
		}
		aggs := obj{"h": hist}
		body := obj{"size": 0, "track_total_hits": false, "query": query(q.TimeField, q.Window, q.Ranges), "aggs": aggs}
		out = Counts{}
		if q.Dups > 0 {
			out.Dups = map[int64]BucketDups{}
		}
		resp := &countDecoder{}
		resp.bucket = func(b histBucket) error {
			key := int64(b.Key)
			bk := Bucket{Key: key, Count: b.DocCount}
			if q.Sum {
				if b.S.Value == nil {
					return fmt.Errorf("%s: count %s: no sum in bucket %d", s.opts.Name, q.Pattern, key)
				}
				bk.Sum = *b.S.Value
			}
			if q.Dups > 0 && b.D != nil {
				var bd BucketDups
				for _, d := range b.D.Buckets {
					bd.IDs = append(bd.IDs, IDCount{ID: d.Key, Count: d.DocCount})
				}
				// Exactness on a multi-shard cluster is settled below, once _shards is known.
				bd.Exact = len(bd.IDs) < q.Dups && b.D.ErrorBound == 0
				if len(bd.IDs) > 0 || !bd.Exact {
					out.Dups[key] = bd
				}
			}
			out.Buckets = append(out.Buckets, bk)
			return nil
		}
		params := url.Values{"filter_path": {"_shards.total,_shards.failed,aggregations"}}
		if err := s.do(ctx, "count "+q.Pattern, http.MethodPost, "/"+q.Pattern+"/_search", params, body, resp); err != nil {
			return err
		}
		if resp.shards.Failed > 0 {
			return &Error{Side: s.opts.Name, Op: "count " + q.Pattern, Status: http.StatusOK, Transient: true,
				Reason: fmt.Sprintf("%d of %d shards failed: counts would be partial", resp.shards.Failed, resp.shards.Total)}
		}
		if resp.shards.Total > 1 && q.Dups > 0 {
			// A duplicate split across shards can be cut from a shard's candidates: only buckets
			// no larger than the shard size are known to list every duplicate.
			for _, b := range out.Buckets {
				if b.Count > int64(s.opts.DupShardSize) {
					bd := out.Dups[b.Key]
					bd.Exact = false
					out.Dups[b.Key] = bd
				}
			}
		}
		return nil
	})
	return out, err
}

// IDs implements Side. The first two pages are read without a point in time (see fetch); a
// longer stream opens one for the rest.
func (s *OpenSearch) IDs(_ context.Context, q IDQuery) (DocStream, error) {
	if q.IDField == "" {
		return nil, errors.New("an id stream needs an id field")
	}
	q.PageSize = cmp.Or(q.PageSize, 10000)
	st := &osStream{s: s, q: q}
	if q.After != nil {
		st.after = []any{q.After.TS, q.After.ID}
	}
	return st, nil
}

// osStream pages through (timestamp, id)-sorted hits, fetching the next page while the caller
// consumes the current one.
type osStream struct {
	s     *OpenSearch
	q     IDQuery
	after []any
	pit   string
	pages int
	cur   []Doc
	i     int
	done  bool

	next   chan pageResult
	cancel context.CancelFunc
}

type pageResult struct {
	docs  []Doc
	after []any
	done  bool
	err   error
}

// hitsDecoder reads a page of hits, keeping only each hit's sort values.
type hitsDecoder struct {
	pitID  string
	shards shardsInfo
	docs   []Doc
}

func (h *hitsDecoder) decodeFrom(dec *json.Decoder) error {
	return walkObject(dec, func(k string) error {
		switch k {
		case "pit_id":
			return dec.Decode(&h.pitID)
		case "_shards":
			return dec.Decode(&h.shards)
		case "hits":
			return walkObject(dec, func(k string) error {
				if k != "hits" {
					return skipValue(dec)
				}
				return walkArray(dec, func() error {
					var hit struct {
						Sort sortKey `json:"sort"`
					}
					if err := dec.Decode(&hit); err != nil {
						return err
					}
					h.docs = append(h.docs, Doc(hit.Sort))
					return nil
				})
			})
		}
		return skipValue(dec)
	})
}

func (st *osStream) Next(ctx context.Context) (Doc, bool, error) {
	for st.i == len(st.cur) {
		if st.done {
			return Doc{}, false, nil
		}
		var pr pageResult
		if st.next != nil {
			select {
			case pr = <-st.next:
			case <-ctx.Done():
				return Doc{}, false, ctx.Err()
			}
			st.next = nil
		} else {
			pr = st.fetch(ctx, st.after)
		}
		if pr.err != nil {
			return Doc{}, false, pr.err
		}
		st.cur, st.i, st.after, st.done = pr.docs, 0, pr.after, pr.done
		if !st.done {
			st.prefetch(ctx)
		}
	}
	d := st.cur[st.i]
	st.i++
	return d, true, nil
}

// prefetch starts reading the next page, so transfer overlaps the merge.
func (st *osStream) prefetch(ctx context.Context) {
	pctx, cancel := context.WithCancel(ctx)
	st.cancel = cancel
	ch := make(chan pageResult, 1)
	st.next = ch
	after := st.after
	go func() { ch <- st.fetch(pctx, after) }()
}

// fetch reads the page after `after`. A full page's trailing run of identical (timestamp, id)
// hits is held back and read again with the next page: search_after continues strictly after the
// last sort value, so copies of one event split across pages would otherwise be skipped, and
// OpenSearch before 3.3 has no _shard_doc tiebreaker.
func (st *osStream) fetch(ctx context.Context, after []any) pageResult {
	s, q := st.s, st.q
	var docs []Doc
	var full bool
	err := s.withIDField(q.IDField, func(idField string) error {
		filters := []obj{{"exists": obj{"field": idField}}}
		if q.IDs != nil {
			filters = append(filters, obj{"terms": obj{idField: q.IDs}})
		}
		body := obj{
			"size": q.PageSize, "_source": false, "track_total_hits": false,
			"query": query(q.TimeField, Range{}, q.Ranges, filters...),
			"sort":  []any{obj{q.TimeField: obj{"order": "asc"}}, obj{idField: obj{"order": "asc"}}},
		}
		if after != nil {
			body["search_after"] = after
		}
		path := "/" + q.Pattern + "/_search"
		// Most streams of a descent end within two pages: they read without a point in time,
		// which would cost two more requests. The (timestamp, id) order is total up to identical
		// copies and never changes, so search_after pages neither skip nor repeat documents
		// without one; a longer stream opens one so that its pages read a single view.
		if st.pages >= 2 && st.pit == "" {
			if err := st.openPIT(ctx); err != nil {
				return err
			}
		}
		if st.pit != "" {
			body["pit"] = obj{"id": st.pit, "keep_alive": keepAlive(s.opts.KeepAlive)}
			path = "/_search"
		}
		resp := &hitsDecoder{docs: make([]Doc, 0, q.PageSize)}
		params := url.Values{"filter_path": {"pit_id,_shards.total,_shards.failed,hits.hits.sort"}}
		if err := s.do(ctx, "read ids "+q.Pattern, http.MethodPost, path, params, body, resp); err != nil {
			return err
		}
		if resp.shards.Failed > 0 {
			return &Error{Side: s.opts.Name, Op: "read ids " + q.Pattern, Status: http.StatusOK, Transient: true,
				Reason: fmt.Sprintf("%d of %d shards failed: ids would be partial", resp.shards.Failed, resp.shards.Total)}
		}
		if resp.pitID != "" && st.pit != "" {
			st.pit = resp.pitID
		}
		docs = resp.docs
		full = len(docs) == q.PageSize
		return nil
	})
	st.pages++
	if err != nil {
		return pageResult{err: err}
	}
	if !full {
		return pageResult{docs: docs, done: true}
	}
	last := docs[len(docs)-1]
	cut := len(docs)
	for cut > 0 && docs[cut-1] == last {
		cut--
	}
	if cut == 0 {
		// A whole page of copies of one event: count them all and continue after it.
		n, err := st.countCopies(ctx, last)
		if err != nil {
			return pageResult{err: err}
		}
		for int64(len(docs)) < n {
			docs = append(docs, last)
		}
		return pageResult{docs: docs, after: []any{last.TS, last.ID}}
	}
	prev := docs[cut-1]
	return pageResult{docs: docs[:cut], after: []any{prev.TS, prev.ID}}
}

func (st *osStream) countCopies(ctx context.Context, d Doc) (int64, error) {
	s, q := st.s, st.q
	var n int64
	err := s.withIDField(q.IDField, func(idField string) error {
		body := obj{"query": query(q.TimeField, Range{}, q.Ranges, obj{"term": obj{idField: d.ID}},
			rangeClause(q.TimeField, Range{From: d.TS, To: d.TS + 1}))}
		var resp struct {
			Count int64 `json:"count"`
		}
		if err := s.do(ctx, "count copies of "+d.ID, http.MethodPost, "/"+q.Pattern+"/_count", nil, body, &resp); err != nil {
			return err
		}
		n = resp.Count
		return nil
	})
	return n, err
}

func (st *osStream) openPIT(ctx context.Context) error {
	var resp struct {
		PitID string `json:"pit_id"`
	}
	params := url.Values{"keep_alive": {keepAlive(st.s.opts.KeepAlive)}}
	if err := st.s.do(ctx, "open point in time on "+st.q.Pattern, http.MethodPost, "/"+st.q.Pattern+"/_search/point_in_time", params, nil, &resp); err != nil {
		return err
	}
	if resp.PitID == "" {
		return &Error{Side: st.s.opts.Name, Op: "open point in time", Status: http.StatusOK, Reason: "no pit_id in the answer"}
	}
	st.pit = resp.PitID
	return nil
}

// Close implements DocStream: it stops the prefetch and deletes the point in time.
func (st *osStream) Close(ctx context.Context) error {
	if st.cancel != nil {
		st.cancel()
		if st.next != nil {
			<-st.next
			st.next = nil
		}
	}
	if st.pit == "" {
		return nil
	}
	pit := st.pit
	st.pit = ""
	return st.s.do(ctx, "close point in time", http.MethodDelete, "/_search/point_in_time", nil, obj{"pit_id": []string{pit}}, nil)
}

func keepAlive(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

// sortKey decodes a hit's [timestamp, id] sort values without the reflection and allocations of
// a generic decode: a full scan reads millions of them.
type sortKey Doc

func (k *sortKey) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("sort values %s: want [timestamp, id]", b)
	}
	inner := b[1 : len(b)-1]
	comma := bytes.IndexByte(inner, ',')
	if comma < 0 {
		return fmt.Errorf("sort values %s: want [timestamp, id]", b)
	}
	num := bytes.TrimSpace(inner[:comma])
	ts, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(num), 64)
		if ferr != nil {
			return fmt.Errorf("timestamp sort value %s: %w", num, err)
		}
		ts = int64(f)
	}
	str := bytes.TrimSpace(inner[comma+1:])
	if len(str) < 2 || str[0] != '"' || str[len(str)-1] != '"' {
		return fmt.Errorf("id sort value %s: want a string", str)
	}
	if bytes.IndexByte(str[1:len(str)-1], '\\') < 0 {
		k.ID = string(str[1 : len(str)-1])
	} else if err := json.Unmarshal(str, &k.ID); err != nil {
		return fmt.Errorf("id sort value %s: %w", str, err)
	}
	k.TS = ts
	return nil
}
