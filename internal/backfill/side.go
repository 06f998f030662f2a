package backfill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Range is a half-open interval [From, To) of epoch milliseconds. Milliseconds because that is
// the resolution of OpenSearch date fields, of date_histogram keys and of sort values.
type Range struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Contains reports whether ts lies in r.
func (r Range) Contains(ts int64) bool { return ts >= r.From && ts < r.To }

// Scope names what is compared on a side: the indices, the time field that orders documents, and
// the optional field that is unique per event.
type Scope struct {
	Pattern   string `json:"pattern"`
	TimeField string `json:"time_field"`
	IDField   string `json:"id_field,omitempty"`
}

// CountQuery asks a side for document counts per time bucket.
type CountQuery struct {
	Scope
	// Window bounds every document counted.
	Window Range
	// Ranges restricts counting to their union (sorted, disjoint, inside Window); nil counts the
	// whole window.
	Ranges []Range
	// Interval is the date_histogram fixed_interval; buckets are aligned to the epoch, so buckets
	// of a finer interval nest inside those of a coarser one when the coarser is a multiple.
	Interval time.Duration
	// Sum also asks for the sum of the time field per bucket: a checksum that changes when a
	// document is swapped for another one at a different time, which a count cannot see.
	Sum bool
	// Dups, when positive, asks for up to Dups ids per bucket that occur more than once.
	Dups int
}

// IndexCount is the number of documents of one index in a window.
type IndexCount struct {
	Index string `json:"index"`
	Count int64  `json:"count"`
}

// Counts is a side's answer to a CountQuery.
type Counts struct {
	// Buckets are the non-empty buckets in ascending key order.
	Buckets []Bucket
	// Dups holds the duplicate lists by bucket key, when the query asked for them; a bucket
	// without an entry has no duplicated id. They are kept apart from Buckets so that the common
	// case, tens of thousands of buckets without lists, stays three words per bucket.
	Dups map[int64]BucketDups
}

// Bucket is one date_histogram bucket.
type Bucket struct {
	// Key is the bucket's start, epoch milliseconds.
	Key   int64
	Count int64
	// Sum is the sum of the documents' timestamps (epoch ms) when the query asked for it. Clusters
	// add in float64, so it is exact only below 2^53; the engine checks.
	Sum float64
}

// BucketDups lists the ids with more than one document in a bucket.
type BucketDups struct {
	IDs []IDCount
	// Exact says IDs lists every duplicated id of the bucket, so its distinct count is its count
	// minus the extra copies. False when the list was cut at the requested size or when a
	// multi-shard aggregation could have missed an id split across shards.
	Exact bool
}

// IDCount is an id and how many documents carry it.
type IDCount struct {
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

// IDQuery asks a side for the documents in some ranges as a stream sorted by (timestamp, id).
// Timestamp first because a replicated event keeps its timestamp in both Regions (the same order
// on both sides, which the merge needs), and because time-series indices are stored in time
// order, so paging by time is cheap for the cluster where paging by id would sort every page.
type IDQuery struct {
	Scope
	// Ranges to read (sorted, disjoint).
	Ranges []Range
	// IDs restricts the stream to these ids; nil streams every document that has an id.
	IDs []string
	// After resumes the stream strictly after this (timestamp, id): every copy of it is skipped.
	After *Doc
	// PageSize is the number of hits per request.
	PageSize int
}

// Doc is one document of an id stream.
type Doc struct {
	ID string `json:"id"`
	TS int64  `json:"ts"`
}

// DocStream yields documents in ascending (timestamp, id) order, fetching pages as needed.
type DocStream interface {
	// Next returns the next document; ok is false at the end of the stream.
	Next(ctx context.Context) (doc Doc, ok bool, err error)
	// Close releases server-side resources (the point in time), also after an error.
	Close(ctx context.Context) error
}

// Side is one Region's document store as the engine sees it. Implementations count every HTTP
// request they make, including retries, so the benchmark reports what the cluster really served.
type Side interface {
	// Name identifies the side in messages: the Region and its endpoint.
	Name() string
	// IndexCounts counts the documents of each index of the scope's pattern inside window: one
	// request. Indices are informational: an ingestion pipeline names daily indices by the day it
	// writes, so a backfilled event can sit in a later index in one Region than in the other.
	IndexCounts(ctx context.Context, scope Scope, window Range) ([]IndexCount, error)
	// Counts answers one CountQuery with one request.
	Counts(ctx context.Context, q CountQuery) (Counts, error)
	// IDs opens a stream of the documents in q.Ranges sorted by (timestamp, id).
	IDs(ctx context.Context, q IDQuery) (DocStream, error)
	// Requests is the number of HTTP requests made so far.
	Requests() int64
}

// ErrTooLarge marks a request the cluster refused as too big (too many buckets or clauses); the
// engine splits it and tries again.
var ErrTooLarge = errors.New("request too large for the cluster")

// Error is a failed request to a side. It says which side and operation failed and whether a
// retry may help, so activities can tell an unreachable Region from a denied one.
type Error struct {
	Side string
	Op   string
	// Status is the HTTP status, 0 when no response came back.
	Status int
	// Reason is the cluster's error type and reason, or the transport error.
	Reason string
	// Transient is true for throttling, 5xx, timeouts and connection failures.
	Transient bool
	// Unreachable is true when no HTTP response came back at all.
	Unreachable bool
	Err         error
}

func (e *Error) Error() string {
	what := fmt.Sprintf("HTTP %d", e.Status)
	if e.Unreachable {
		what = "unreachable"
	}
	return fmt.Sprintf("%s: %s: %s: %s", e.Side, e.Op, what, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying: a transient side error, or any error that is
// not a side error (context deadlines, decoding hiccups on a truncated response).
func IsTransient(err error) bool {
	var se *Error
	if errors.As(err, &se) {
		return se.Transient
	}
	return !errors.Is(err, context.Canceled)
}

// compareDocs orders documents as streams yield them: by timestamp, then id.
func compareDocs(a, b Doc) int {
	if a.TS != b.TS {
		if a.TS < b.TS {
			return -1
		}
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}
