// Package backfill proves, cheaply, that a recovered Region holds every document the healthy
// Region received while it was impaired, before traffic fails back to it.
//
// Why not compare documents one by one: an impairment window holds millions of documents per
// Region, and streaming every id of both Regions costs thousands of requests and minutes of
// transfer on every verification pass. Why not compare by _id: TIMESERIES collections take no
// custom ids and OpenSearch Ingestion sets none, so the two Regions give the same event different
// _ids. What the Regions do share is each event's timestamp and, when producers set one, a unique
// event id field.
//
// So the engine works coarse to fine ([Compare]): it counts documents per index, then per time
// bucket over the whole window, and asks for finer date_histogram buckets (hour, minute, second,
// then 100, 10 and 1 ms) only inside buckets that differ; a small cost model decides at each level
// whether refining further or streaming the remaining buckets' ids takes fewer requests. In the
// divergent leaf buckets it merges the two Regions' id streams, sorted by [timestamp, id] and read
// with search_after and, for long streams, a point in time (OpenSearch Serverless has no scroll),
// and names missing, extra and duplicated ids. Without an id field it reports the divergent
// buckets with their signed differences.
//
// A bucket's signature is its count and the sum of its documents' timestamps. The sum matters
// because MSK Replicator delivers at least once: a re-delivered event is indexed twice, and a
// bucket holding one duplicate and one lost document has equal counts but, unless both have the
// same millisecond, different sums. Sums are exact below 2^53 (clusters add in float64), so a
// bucket whose sum is larger is never trusted: it is refined until its children's sums are exact.
// Duplicates themselves change a bucket's count, so the id merge finds and reports them apart
// from loss. [Options.DupLists] adds per-bucket lists of duplicated ids (a terms aggregation with
// min_doc_count 2) for exactness even when a loss and a duplicate share a millisecond, at the cost
// of the cluster reading every id.
//
// [Baseline] is the naive method the benchmark compares against: a full id scan of both sides.
// Both count every HTTP request they make, and memory stays bounded: responses are decoded
// element by element, streams are consumed page by page, and reported id lists are uniform
// samples with exact totals.
package backfill
