package opensearchtwin

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode selects which OpenSearch flavour a Cluster imitates.
type Mode string

const (
	// ModeManaged is an Amazon OpenSearch Service domain: _cluster APIs, scroll and custom
	// document ids are available, and Zones may enable Multi-AZ with standby.
	ModeManaged Mode = "managed"
	// ModeServerless is an OpenSearch Serverless collection: no _cluster APIs, no scroll, no
	// GET /, and (for TIMESERIES and VECTORSEARCH collections) no custom document ids.
	ModeServerless Mode = "serverless"
	// ModeSelfManaged is OpenSearch run by its owner (on EC2, Kubernetes, ...): every API a
	// managed domain has, plus the zone APIs (weighted shard routing, zonal decommission) that
	// Amazon OpenSearch Service keeps to itself. With Options.Auth it authenticates as the
	// security plugin does, with HTTP basic auth.
	ModeSelfManaged Mode = "self_managed"
)

// CollectionType is an OpenSearch Serverless collection type.
type CollectionType string

// Collection types; the blog's sample deploys TIMESERIES collections.
const (
	CollectionTimeSeries   CollectionType = "TIMESERIES"
	CollectionSearch       CollectionType = "SEARCH"
	CollectionVectorSearch CollectionType = "VECTORSEARCH"
)

// Options configures a [Cluster]. Every field is optional.
type Options struct {
	// Name is the domain or collection name, reported as cluster_name; "" means "opensearch-twin".
	Name string
	// Mode is ModeManaged ("" too) or ModeServerless.
	Mode Mode
	// CollectionType applies to ModeServerless; "" means CollectionTimeSeries, as in the sample.
	CollectionType CollectionType
	// Zones names the Availability Zones of a domain or a self-managed cluster. nil means a
	// single zone; two or more enable zone awareness and per-zone read routing — three is
	// Multi-AZ with standby. A self-managed cluster serves the zone APIs (weighted routing,
	// decommission) to clients; a managed domain refuses them, as Amazon OpenSearch Service
	// does, and activates its standby zone itself when an active zone fails.
	Zones []string
	// StandbyZone, with Zones, starts the cluster the way Multi-AZ with standby runs: weighted
	// routing already set (_version 0) with weight 0 on this zone and 1 on the others. "" means
	// no weights until a client PUTs them.
	StandbyZone string
	// Auth, when set, authenticates every request: SigV4 for a collection ("aoss") or a domain
	// ("es"), basic auth for a self-managed cluster. nil lets every request in.
	Auth *Auth
	// DecommissionDuration is how long a zone decommission takes to walk INIT → DRAINING →
	// IN_PROGRESS → SUCCESSFUL; 0 means 3s. Real domains take minutes; drills want seconds.
	DecommissionDuration time.Duration
	// RefreshInterval delays search visibility of writes, as index.refresh_interval does (and as
	// AOSS's 10–60 s refresh does). 0 means writes are searchable at once.
	RefreshInterval time.Duration
	// TimeFields are candidate names of an index's time field, the first of which to appear
	// as a date becomes the index's timestamp column; nil means {"@timestamp", "timestamp"}.
	TimeFields []string
	// Version is the OpenSearch version GET / reports; "" means "2.19.0".
	Version string
	// Now is the clock for point-in-time expiry, decommission progress and refreshes; nil
	// means time.Now. Tests inject a fake clock instead of sleeping.
	Now func() time.Time
	// Logger receives state changes; nil means slog.Default().
	Logger *slog.Logger
}

// Cluster is one OpenSearch domain or Serverless collection, served over HTTP by Handler.
type Cluster struct {
	opts       Options
	log        *slog.Logger
	now        func() time.Time
	uuid       string
	timeFields []string
	idSeed     maphash.Seed
	available  atomic.Bool
	handler    http.Handler

	mu      sync.RWMutex
	indices map[string]*index

	ctxMu   sync.Mutex
	pits    map[string]*pitCtx
	scrolls map[string]*scrollCtx

	zones *zoneSet
}

// New returns a running cluster. It panics on contradictory options (zones on a serverless
// collection, duplicate zone names): those are programming errors in the lab's wiring.
func New(opts Options) *Cluster {
	if opts.Name == "" {
		opts.Name = "opensearch-twin"
	}
	if opts.Mode == "" {
		opts.Mode = ModeManaged
	}
	if opts.Mode != ModeManaged && opts.Mode != ModeServerless && opts.Mode != ModeSelfManaged {
		panic(fmt.Sprintf("opensearchtwin: unknown mode %q", opts.Mode))
	}
	if opts.Mode == ModeServerless && opts.CollectionType == "" {
		opts.CollectionType = CollectionTimeSeries
	}
	if opts.Mode == ModeServerless && len(opts.Zones) > 0 {
		panic("opensearchtwin: Zones are a managed-domain feature; OpenSearch Serverless has no zone APIs")
	}
	if opts.DecommissionDuration <= 0 {
		opts.DecommissionDuration = 3 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "2.19.0"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cluster{
		opts:       opts,
		log:        opts.Logger,
		now:        opts.Now,
		uuid:       randomID(16),
		timeFields: opts.TimeFields,
		idSeed:     maphash.MakeSeed(),
		indices:    map[string]*index{},
		pits:       map[string]*pitCtx{},
		scrolls:    map[string]*scrollCtx{},
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("opensearch", opts.Name, "mode", string(opts.Mode))
	if c.timeFields == nil {
		c.timeFields = []string{"@timestamp", "timestamp"}
	}
	if len(opts.Zones) > 0 {
		seen := map[string]bool{}
		for _, z := range opts.Zones {
			if z == "" || seen[z] {
				panic(fmt.Sprintf("opensearchtwin: zone names must be unique and non-empty, got %q", opts.Zones))
			}
			seen[z] = true
		}
		c.zones = newZoneSet(opts.Zones, opts.DecommissionDuration, c.now)
		if opts.StandbyZone != "" {
			if !seen[opts.StandbyZone] {
				panic(fmt.Sprintf("opensearchtwin: standby zone %q is not one of %q", opts.StandbyZone, opts.Zones))
			}
			c.zones.hasWeights, c.zones.version, c.zones.weights = true, 0, map[string]float64{}
			for _, z := range opts.Zones {
				c.zones.weights[z] = 1
			}
			c.zones.weights[opts.StandbyZone] = 0
		}
	} else if opts.StandbyZone != "" {
		panic("opensearchtwin: StandbyZone needs Zones")
	}
	c.available.Store(true)
	c.handler = http.HandlerFunc(c.serveHTTP)
	return c
}

// Name returns the cluster or collection name.
func (c *Cluster) Name() string { return c.opts.Name }

// Handler returns the REST API. Serve it with httptest.NewServer or an http.Server. With
// Options.Auth it authenticates every request first (see [Auth]); without, it lets any in.
func (c *Cluster) Handler() http.Handler { return c.handler }

// SetAvailable impairs (false) or restores (true) the whole endpoint. While impaired every
// request is answered 503 with a cluster_block_exception, as a domain without a cluster manager
// answers; the lab may additionally close the listener to model an unreachable endpoint.
func (c *Cluster) SetAvailable(ok bool) {
	if c.available.Swap(ok) != ok {
		c.log.Info("availability changed", "available", ok)
	}
}

// Available reports whether the endpoint is serving.
func (c *Cluster) Available() bool { return c.available.Load() }

// IndexDocs appends JSON documents to index (created on first use, with dynamic mapping), as
// a bulk request of "index" actions with generated ids would, but without HTTP: the lab seeds
// benchmarks with it. It ignores availability and zones. The result is nil when every document
// was stored, else one entry per document (nil for the stored ones).
func (c *Cluster) IndexDocs(indexName string, docs [][]byte) []error {
	ix, aerr := c.indexForWrite(indexName)
	if aerr != nil {
		errs := make([]error, len(docs))
		for i := range errs {
			errs[i] = fmt.Errorf("opensearchtwin: index %q: %w", indexName, aerr)
		}
		return errs
	}
	var errs []error
	const batch = 512
	w := writerPool.Get().(*writer)
	defer writerPool.Put(w)
	if len(w.preps) < batch {
		w.preps = make([]prepared, batch)
	}
	preps, s := w.preps, &w.s
	hints := w.hints[:0]
	defer func() { w.hints = hints }()
	for start := 0; start < len(docs); start += batch {
		end := min(start+batch, len(docs))
		for i := start; i < end; i++ {
			hints = prepare(&preps[i-start], docs[i], hints)
		}
		ix.mu.Lock()
		for i := start; i < end; i++ {
			res := ix.write(opIndex, &preps[i-start], nil, s)
			if res.err != nil {
				if errs == nil {
					errs = make([]error, len(docs))
				}
				errs[i] = fmt.Errorf("opensearchtwin: index %q document %d: %w", indexName, i, res.err)
			}
		}
		ix.mu.Unlock()
	}
	return errs
}

// writer is the reusable state of one IndexDocs call: parsed-document buffers and encoding
// scratch space, pooled because seeding benchmarks calls IndexDocs millions of times.
type writer struct {
	preps []prepared
	s     scratch
	hints []int8
}

var writerPool = sync.Pool{New: func() any { return new(writer) }}

// DocCount returns the number of live documents in the indices matching pattern (a name, a
// wildcard pattern or a comma-separated list), including writes not yet refreshed.
func (c *Cluster) DocCount(pattern string) int64 {
	ixs, err := c.resolveIndices(pattern, true)
	if err != nil {
		return 0
	}
	var n int64
	for _, ix := range ixs {
		ix.mu.RLock()
		n += ix.liveDocs()
		ix.mu.RUnlock()
	}
	return n
}

// IndexStat describes one index for lab reports.
type IndexStat struct {
	Name       string
	Docs       int64
	Deleted    int64
	StoreBytes int64 // estimated bytes held by the twin for this index
}

// Stats lists the indices in name order.
func (c *Cluster) Stats() []IndexStat {
	ixs, _ := c.resolveIndices("*", true)
	out := make([]IndexStat, 0, len(ixs))
	for _, ix := range ixs {
		ix.mu.RLock()
		out = append(out, IndexStat{Name: ix.name, Docs: ix.liveDocs(), Deleted: int64(len(ix.deleted)), StoreBytes: ix.storeBytes})
		ix.mu.RUnlock()
	}
	return out
}

// validIndexName applies OpenSearch's index naming rules.
func validIndexName(name string) *apiError {
	bad := func(why string) *apiError {
		e := errBadRequest("invalid_index_name_exception", "Invalid index name [%s], %s", name, why)
		e.extra = jobj{{"index", name}, {"index_uuid", "_na_"}}
		return e
	}
	switch {
	case name == "":
		return errValidation("index is missing")
	case name == "." || name == "..":
		return bad("must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return bad(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return bad("must not start with '_', '-', or '+'")
	case len(name) > 255:
		return bad("index name is too long")
	}
	return nil
}

func (c *Cluster) indexForWrite(name string) (*index, *apiError) {
	c.mu.RLock()
	ix := c.indices[name]
	c.mu.RUnlock()
	if ix != nil {
		return ix, nil
	}
	if err := validIndexName(name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix = c.indices[name]; ix == nil {
		ix = newIndex(c, name)
		c.indices[name] = ix
		c.log.Debug("index created", "index", name)
	}
	return ix, nil
}

// resolveIndices expands an index expression: names, "*" wildcards, comma lists, "-" exclusions
// and _all. A concrete missing name is an error unless ignoreMissing.
func (c *Cluster) resolveIndices(expr string, ignoreMissing bool) ([]*index, *apiError) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if expr == "" || expr == "_all" {
		expr = "*"
	}
	set := map[string]*index{}
	for part := range strings.SplitSeq(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		exclude := strings.HasPrefix(part, "-") && len(set) > 0
		if exclude {
			part = part[1:]
		}
		if part == "_all" {
			part = "*"
		}
		if !strings.Contains(part, "*") {
			ix, ok := c.indices[part]
			switch {
			case exclude:
				delete(set, part)
			case ok:
				set[part] = ix
			case !ignoreMissing:
				return nil, errIndexNotFound(part)
			}
			continue
		}
		for name, ix := range c.indices {
			if strings.HasPrefix(name, ".") && !strings.HasPrefix(part, ".") {
				continue
			}
			if globMatch(part, name) {
				if exclude {
					delete(set, name)
				} else {
					set[name] = ix
				}
			}
		}
	}
	out := make([]*index, 0, len(set))
	for _, ix := range set {
		out = append(out, ix)
	}
	slices.SortFunc(out, func(a, b *index) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// maybeRefresh applies the refresh interval lazily: an index whose last refresh is older than
// the interval makes everything written so far visible before a search opens.
func (ix *index) maybeRefresh(now time.Time) {
	iv := ix.c.opts.RefreshInterval
	if iv <= 0 {
		return
	}
	ix.mu.RLock()
	due := now.Sub(ix.lastRefresh) >= iv && (ix.visible != ix.n || ix.visOps != ix.ops)
	ix.mu.RUnlock()
	if due {
		ix.mu.Lock()
		ix.refresh(now)
		ix.mu.Unlock()
	}
}

// openTargets read-locks the indices (in name order, so concurrent searches cannot deadlock
// with writers) and snapshots what is visible now. The caller must call release.
func openTargets(ixs []*index, now time.Time) (targets []*target, release func()) {
	for _, ix := range ixs {
		ix.maybeRefresh(now)
	}
	targets = make([]*target, len(ixs))
	for i, ix := range ixs {
		ix.mu.RLock()
		targets[i] = &target{ix: ix, n: ix.visible, ops: ix.visOps, ord: i}
	}
	return targets, func() {
		for _, ix := range ixs {
			ix.mu.RUnlock()
		}
	}
}

// lockTargets read-locks the indices of existing snapshots (a point in time or a scroll).
func lockTargets(targets []*target) func() {
	for _, t := range targets {
		t.ix.mu.RLock()
	}
	return func() {
		for _, t := range targets {
			t.ix.mu.RUnlock()
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
