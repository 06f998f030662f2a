// Package opensearchtwin is the lab's stand-in for one OpenSearch endpoint: an Amazon OpenSearch
// Service domain, an OpenSearch Serverless (AOSS) collection or a self-managed OpenSearch
// cluster, served over HTTP in-process.
//
// Why a twin rather than a mock: the runbook engine verifies failover and backfill by asking
// OpenSearch real questions — document counts per time bucket, PIT + search_after scans sorted
// on [timestamp, event_id], _cat/indices, cluster health, zone weights — through the real
// opensearch-go v4 client. Those checks are only worth rehearsing if the answers have the exact
// JSON shapes and the semantics real OpenSearch has, including its refusals: a term query for
// "INFO" on a text field finds nothing, a terms aggregation on a text field is an error, a
// TIMESERIES collection rejects custom _ids per bulk item, AOSS has no _cluster APIs and no
// scroll, weighted-routing PUTs need the current _version.
//
// What is reproduced, and why:
//
//   - Documents: _bulk (index, create, delete), single-document index/get/delete, dynamic
//     mapping with date detection (text fields get a .keyword sub-field), explicit mappings via
//     PUT /{index}, refresh visibility (Options.RefreshInterval; AOSS refreshes every 10–60 s).
//   - Search: _search and _count with match_all, term, terms, range (dates with date math,
//     numbers, strings), bool, exists, ids, match, prefix; sort with search_after; from/size
//     within index.max_result_window; track_total_hits; _source filtering; aggregations
//     date_histogram, terms, composite, filter and min/max/sum/avg/value_count/cardinality with
//     nested sub-aggregations. Scores are not computed: every hit scores 1.0.
//   - Point in time (create, search by pit.id with no index in the path, delete, list, keep_alive
//     expiry) over true snapshots: documents written after the PIT opened stay invisible.
//     Scroll works on managed domains only, as on AWS.
//   - _cat/indices, _cat/count, _cluster/health, GET /.
//   - Multi-AZ with standby (Options.Zones): weighted shard routing with optimistic
//     concurrency (_version), zonal decommission walking INIT → DRAINING → IN_PROGRESS →
//     SUCCESSFUL, and per-search zone selection by smooth weighted round robin that fails open
//     to a weight-0 standby zone when every weighted zone is down. [Cluster.ZoneStats] shows
//     where reads went. Every zone holds a full copy of the data; zones are routing decisions.
//     Only a self-managed cluster lets clients call the zone APIs: a managed domain answers
//     them 401 "Your request: '…' is not allowed." and activates its standby zone itself when
//     an active zone fails, as Amazon OpenSearch Service does.
//   - Authentication (Options.Auth), before anything else answers: collections and domains
//     verify every request's SigV4 signature (service aoss or es, the Region, the secret of a
//     key the lab knows, and for AOSS the x-amz-content-sha256 header) and refuse with each
//     service's 403 body; a self-managed cluster wants HTTP basic auth, as the security plugin
//     does, and answers 401 with a Basic challenge.
//   - Impairment: [Cluster.SetAvailable] (whole endpoint, 503 cluster_block_exception) and
//     [Cluster.SetZoneAvailable].
//
// Storage is a compact append-only column store (see store.go) so a collection holds ten
// million log documents in a few hundred MiB, and _source comes back byte-for-byte as sent.
//
// Assumptions that could not be verified against a primary source (kept explicit so a drill
// that depends on them knows): the body AOSS returns for APIs it does not offer (_cluster/*,
// scroll) — the twin answers 404 with a resource_not_found_exception body; GET / on AOSS is
// answered 404 with an empty body, as reported in opensearch-project/OpenSearch-Dashboards#5707;
// the 403 bodies of AOSS and of a domain for each way a signature fails (taken from reports of
// real responses, cited in auth.go; AOSS says the same thing for every failure); the lab's
// managed domain activating its standby at once where AWS takes under a minute;
// the twin models no cluster-manager quorum (writes succeed while any zone is available); PIT
// deletion of an unknown id reports successful=false rather than failing.
package opensearchtwin
