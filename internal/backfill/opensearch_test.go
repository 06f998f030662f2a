package backfill

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pathLog records the requests of several sides.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.paths)
}

func (l *pathLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = nil
}

func newTestSide(t *testing.T, name string, f *fakeOS, log *pathLog) *OpenSearch {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := NewOpenSearch(OpenSearchOptions{Name: name, Endpoint: srv.URL, RequestTimeout: 10 * time.Second, MaxRetries: 1,
		OnRequest: func(r *http.Request) {
			if log != nil {
				log.mu.Lock()
				log.paths = append(log.paths, r.Method+" "+r.URL.Path)
				log.mu.Unlock()
			}
		}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenSearchSideFindsMissingAndDuplicates(t *testing.T) {
	sc := newScenario(40_000, time.Hour, 60, 30, 21)
	sc.sampleSize = 1000
	fs, fd := newFakeOS(sc.src), newFakeOS(sc.dst)
	log := &pathLog{}
	src, dst := newTestSide(t, "us-west-2", fs, log), newTestSide(t, "us-east-1", fd, log)
	opts := sc.opts()
	opts.Scope.TimeField, opts.Scope.IDField = "timestamp", "event_id"
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
	require.Equal(t, int64(30), rep.TargetDuplicates.IDs)
	paths := log.get()
	require.Equal(t, int64(len(paths)), rep.Requests.Total(), "every HTTP request is counted")
	for _, p := range paths {
		require.NotContains(t, p, "_cluster", "serverless has no _cluster API")
		require.NotContains(t, p, "_nodes")
		require.NotContains(t, p, "scroll")
	}

	// The full scan pages with a point in time and closes it.
	log.reset()
	base, err := Baseline(context.Background(), src, dst, Options{Scope: opts.Scope, From: opts.From, To: opts.To, PageSize: 1000, SampleSize: 1000})
	require.NoError(t, err)
	require.Equal(t, sampleIDs(rep.Missing), sampleIDs(base.Missing))
	require.Equal(t, int64(30), base.TargetDuplicates.IDs)
	require.Equal(t, int64(len(sc.src)), base.SourceDocs)
	paths = log.get()
	require.Contains(t, paths, "POST /application-logs-*/_search/point_in_time")
	require.Contains(t, paths, "POST /_search")
	require.Contains(t, paths, "DELETE /_search/point_in_time")
	fs.mu.Lock()
	require.Empty(t, fs.pits, "every point in time is closed")
	fs.mu.Unlock()
}

// Copies of one event split across a page boundary must all be read: search_after alone would
// skip the ones after the boundary.
func TestOpenSearchStreamKeepsTiesAcrossPages(t *testing.T) {
	var docs []MemDoc
	for i := range 25 {
		docs = append(docs, MemDoc{Index: "i", ID: "a", TS: t0.UnixMilli()})
		if i%5 == 0 {
			docs = append(docs, MemDoc{Index: "i", ID: "b" + string(rune('a'+i)), TS: t0.UnixMilli() + int64(i)})
		}
	}
	docs = append(docs, MemDoc{Index: "i", ID: "0first", TS: t0.UnixMilli()})
	s := newTestSide(t, "r", newFakeOS(docs), nil)
	for _, page := range []int{3, 7, 10, 100} {
		st, err := s.IDs(context.Background(), IDQuery{Scope: Scope{Pattern: "i", TimeField: "timestamp", IDField: "event_id"},
			Ranges: []Range{{From: t0.UnixMilli(), To: t0.UnixMilli() + 1000}}, PageSize: page})
		require.NoError(t, err)
		var got []Doc
		require.NoError(t, drain(context.Background(), st, func(d Doc) { got = append(got, d) }))
		require.Len(t, got, len(docs), "page size %d", page)
		require.True(t, slices.IsSortedFunc(got, compareDocs))
	}
}

func TestOpenSearchSideUsesKeywordSubfieldOfTextID(t *testing.T) {
	sc := newScenario(5000, time.Hour, 5, 2, 22)
	fs, fd := newFakeOS(sc.src), newFakeOS(sc.dst)
	fs.textID, fd.textID = true, true
	log := &pathLog{}
	src, dst := newTestSide(t, "a", fs, log), newTestSide(t, "b", fd, log)
	rep, err := Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
	for _, p := range log.get() {
		require.NotContains(t, p, "_nodes", "a failed request must not start node polling")
		require.NotContains(t, p, "_cluster")
	}
}

func TestOpenSearchSideErrors(t *testing.T) {
	scope := Scope{Pattern: "p-*", TimeField: "timestamp", IDField: "event_id"}
	q := CountQuery{Scope: scope, Window: Range{From: 0, To: 1000}, Interval: time.Second}
	for _, tc := range []struct {
		status    int
		transient bool
		contains  string
	}{
		{http.StatusForbidden, false, "access denied"},
		{http.StatusTooManyRequests, true, "HTTP 429"},
		{http.StatusServiceUnavailable, true, "HTTP 503"},
		{http.StatusBadRequest, false, "HTTP 400"},
	} {
		f := newFakeOS(nil)
		f.status = tc.status
		s := newTestSide(t, "us-east-1", f, nil)
		_, err := s.Counts(context.Background(), q)
		require.Error(t, err, "status %d", tc.status)
		require.ErrorContains(t, err, "us-east-1")
		require.ErrorContains(t, err, tc.contains)
		require.Equal(t, tc.transient, IsTransient(err), "status %d: %v", tc.status, err)
	}

	// A Region that is down: nothing listens.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, err := NewOpenSearch(OpenSearchOptions{Name: "us-east-1", Endpoint: url, MaxRetries: 1, RequestTimeout: 5 * time.Second})
	require.NoError(t, err)
	_, err = s.Counts(context.Background(), q)
	var se *Error
	require.True(t, errors.As(err, &se), "%v", err)
	require.True(t, se.Unreachable)
	require.True(t, IsTransient(err))
	require.ErrorContains(t, err, "us-east-1")
	require.Positive(t, s.Requests())
}
