package opensearchtwin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

var threeZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

const weightsPath = "/_cluster/routing/awareness/zone/weights"

type weightsResp struct {
	Weights                  map[string]string `json:"weights"`
	Version                  *int64            `json:"_version"`
	DiscoveredClusterManager bool              `json:"discovered_cluster_manager"`
}

func (f *fixture) weights(t *testing.T) weightsResp {
	t.Helper()
	status, body := f.raw(t, "GET", weightsPath, "")
	if status != 200 {
		t.Fatalf("get weights: %d %s", status, body)
	}
	var w weightsResp
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("weights body %s: %v", body, err)
	}
	return w
}

func (f *fixture) putWeights(t *testing.T, body string) (int, errorBody) {
	t.Helper()
	status, b := f.raw(t, "PUT", weightsPath, body)
	if status == 200 {
		if string(b) != `{"acknowledged":true}` {
			t.Fatalf("put weights body: %s", b)
		}
		return status, errorBody{}
	}
	return status, decodeError(t, b)
}

func TestWeightedRoutingAPI(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones})
	if w := f.weights(t); w.Weights != nil || w.Version != nil {
		t.Fatalf("weights before any PUT: %+v", w)
	}
	standby := `{"weights":{"us-east-1a":"1","us-east-1b":"1","us-east-1c":"0"},"_version":%d}`
	put := func(version string) string { return strings.Replace(standby, "%d", version, 1) }

	status, e := f.putWeights(t, put("0"))
	if status != 409 || e.Error.Type != "unsupported_weighted_routing_state_exception" ||
		e.Error.Reason != "requested version is 0 but cluster weighted routing metadata is at a different version -1 " {
		t.Fatalf("first PUT with version 0: %d %+v", status, e)
	}
	if status, e := f.putWeights(t, put("-1")); status != 200 {
		t.Fatalf("first PUT: %d %+v", status, e)
	}
	w := f.weights(t)
	if *w.Version != 0 || !w.DiscoveredClusterManager || w.Weights["us-east-1a"] != "1.0" || w.Weights["us-east-1c"] != "0.0" || len(w.Weights) != 3 {
		t.Fatalf("after first PUT: %+v", w)
	}
	if status, e := f.putWeights(t, put("-1")); status != 409 || !strings.Contains(e.Error.Reason, "requested version is -1") {
		t.Fatalf("stale PUT: %d %+v", status, e)
	}
	if status, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"2","us-east-1c":"0"},"_version":0}`); status != 200 {
		t.Fatalf("second PUT: %d %+v", status, e)
	}
	if w := f.weights(t); *w.Version != 1 || w.Weights["us-east-1b"] != "2.0" {
		t.Fatalf("after second PUT: %+v", w)
	}
	for _, tc := range []struct {
		body, typ string
		status    int
	}{
		{`{"weights":{"us-east-1a":"1","us-east-1b":"1"},"_version":1}`, "unsupported_weighted_routing_state_exception", 409},
		{`{"weights":{"us-east-1a":"1","us-east-1b":"0","us-east-1c":"0"},"_version":1}`, "action_request_validation_exception", 400},
		{`{"weights":{"us-east-1a":1,"us-east-1b":"1","us-east-1c":"0"},"_version":1}`, "parse_exception", 400},
		{`{"weights":{"us-east-1a":"x","us-east-1b":"1","us-east-1c":"0"},"_version":1}`, "action_request_validation_exception", 400},
		{`{"weights":{"us-east-1a":"1","us-east-1b":"1","us-east-1c":"0"}}`, "action_request_validation_exception", 400},
		{``, "parse_exception", 400},
	} {
		if status, e := f.putWeights(t, tc.body); status != tc.status || e.Error.Type != tc.typ {
			t.Errorf("PUT %s: %d %+v, want %d %s", tc.body, status, e, tc.status, tc.typ)
		}
	}
	// DELETE needs a body with the current version.
	status, b := f.raw(t, "DELETE", weightsPath, "")
	if e := decodeError(t, b); status != 400 || e.Error.Type != "parse_exception" {
		t.Fatalf("DELETE without body: %d %s", status, b)
	}
	status, b = f.raw(t, "DELETE", weightsPath, `{"_version":0}`)
	if e := decodeError(t, b); status != 409 || e.Error.Type != "unsupported_weighted_routing_state_exception" {
		t.Fatalf("DELETE stale: %d %s", status, b)
	}
	if status, b := f.raw(t, "DELETE", "/_cluster/routing/awareness/weights", `{"_version":1}`); status != 200 {
		t.Fatalf("DELETE: %d %s", status, b)
	}
	if w := f.weights(t); *w.Version != 2 || len(w.Weights) != 0 {
		t.Fatalf("after DELETE: %+v", w)
	}
	if status, e := f.putWeights(t, put("2")); status != 200 {
		t.Fatalf("PUT after DELETE: %d %+v", status, e)
	}
	// Weights need zone awareness.
	single := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged})
	status, b = single.raw(t, "GET", weightsPath, "")
	if e := decodeError(t, b); status != 400 || e.Error.Type != "action_request_validation_exception" {
		t.Fatalf("weights on a single-zone cluster: %d %s", status, b)
	}
}

func readsBy(stats []opensearchtwin.ZoneStats) map[string]uint64 {
	m := map[string]uint64{}
	for _, s := range stats {
		m[s.Zone] = s.Reads
	}
	return m
}

func TestReadsFollowWeights(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones, Now: clock.Now, DecommissionDuration: 10 * time.Second})
	f.bulk(t, day1, ndjson(events(100, time.Second, 1, base, "us-east-1")))
	searches := func(n int) error {
		for range n {
			if _, err := f.client.Search(context.Background(), &opensearchapi.SearchReq{Indices: []string{day1}, Body: strings.NewReader(`{"size":1}`)}); err != nil {
				return err
			}
		}
		return nil
	}
	delta := func(n int) map[string]uint64 {
		before := readsBy(f.c.ZoneStats())
		if err := searches(n); err != nil {
			t.Fatalf("search: %v", err)
		}
		after := readsBy(f.c.ZoneStats())
		for z := range after {
			after[z] -= before[z]
		}
		return after
	}
	// No weights: every zone serves.
	if d := delta(30); d["us-east-1a"] != 10 || d["us-east-1b"] != 10 || d["us-east-1c"] != 10 {
		t.Fatalf("unweighted reads: %v", d)
	}
	if status, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"1","us-east-1c":"0"},"_version":-1}`); status != 200 {
		t.Fatalf("put weights: %+v", e)
	}
	if d := delta(30); d["us-east-1a"] != 15 || d["us-east-1b"] != 15 || d["us-east-1c"] != 0 {
		t.Fatalf("standby zone served reads: %v", d)
	}
	// One active zone down: the other takes everything, the standby still nothing.
	if err := f.c.SetZoneAvailable("us-east-1a", false); err != nil {
		t.Fatal(err)
	}
	if d := delta(10); d["us-east-1a"] != 0 || d["us-east-1b"] != 10 || d["us-east-1c"] != 0 {
		t.Fatalf("reads with 1a down: %v", d)
	}
	// Both active zones down: reads fail open to the standby, and it is recorded.
	if err := f.c.SetZoneAvailable("us-east-1b", false); err != nil {
		t.Fatal(err)
	}
	if d := delta(7); d["us-east-1c"] != 7 {
		t.Fatalf("fail-open reads: %v", d)
	}
	for _, s := range f.c.ZoneStats() {
		if want := map[string]uint64{"us-east-1c": 7}[s.Zone]; s.FailOpenReads != want {
			t.Fatalf("fail-open counter of %s = %d, want %d", s.Zone, s.FailOpenReads, want)
		}
	}
	// A decommissioned zone serves nothing, even as the last one standing: 503.
	if _, err := f.client.Cluster.PutDecommission(context.Background(), opensearchapi.ClusterPutDecommissionReq{AwarenessAttrName: "zone", AwarenessAttrValue: "us-east-1c"}); err != nil {
		t.Fatalf("decommission: %v", err)
	}
	before := readsBy(f.c.ZoneStats())["us-east-1c"]
	err := searches(1)
	if se := structErr(t, err); se.Status != 503 || se.Err.Type != "search_phase_execution_exception" {
		t.Fatalf("search with no serving zone: %v", se)
	}
	if after := readsBy(f.c.ZoneStats())["us-east-1c"]; after != before {
		t.Fatalf("decommissioned zone served %d reads", after-before)
	}
	// Writes need a zone too.
	_, err = f.client.Bulk(context.Background(), opensearchapi.BulkReq{Index: day1, Body: strings.NewReader("{\"index\":{}}\n{\"a\":1}\n")})
	if se := structErr(t, err); se.Status != 503 {
		t.Fatalf("bulk with no zone: %v", se)
	}
	// Recovery.
	if _, err := f.client.Cluster.DeleteDecommission(context.Background(), nil); err != nil {
		t.Fatalf("recommission: %v", err)
	}
	if err := f.c.SetZoneAvailable("us-east-1a", true); err != nil {
		t.Fatal(err)
	}
	if d := delta(4); d["us-east-1a"] != 4 {
		t.Fatalf("reads after recovery: %v", d)
	}
	if err := f.c.SetZoneAvailable("nope", false); err == nil {
		t.Fatal("unknown zone accepted")
	}
}

func TestStandbyZoneOption(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones, StandbyZone: "us-east-1c"})
	w := f.weights(t)
	if *w.Version != 0 || w.Weights["us-east-1a"] != "1.0" || w.Weights["us-east-1b"] != "1.0" || w.Weights["us-east-1c"] != "0.0" {
		t.Fatalf("initial weights: %+v", w)
	}
	for range 6 {
		f.search(t, nil, `{"size":0}`)
	}
	if r := readsBy(f.c.ZoneStats()); r["us-east-1a"] != 3 || r["us-east-1b"] != 3 || r["us-east-1c"] != 0 {
		t.Fatalf("reads: %v", r)
	}
	if st, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"0","us-east-1c":"1"},"_version":0}`); st != 200 {
		t.Fatalf("moving the standby: %+v", e)
	}
}

func TestDecommissionProgression(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones, Now: clock.Now, DecommissionDuration: 10 * time.Second})
	ctx := context.Background()
	put := func(zone string) error {
		_, err := f.client.Cluster.PutDecommission(ctx, opensearchapi.ClusterPutDecommissionReq{AwarenessAttrName: "zone", AwarenessAttrValue: zone})
		return err
	}
	status := func() map[string]string {
		resp, err := f.client.Cluster.GetDecommission(ctx, opensearchapi.ClusterGetDecommissionReq{AwarenessAttrName: "zone"})
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		return resp.Values
	}
	if se := structErr(t, put("us-east-1c")); se.Status != 400 || se.Err.Type != "decommissioning_failed_exception" || !strings.Contains(se.Err.Reason, "no weights are set") {
		t.Fatalf("decommission without weights: %v", se)
	}
	if st, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"1","us-east-1c":"1"},"_version":-1}`); st != 200 {
		t.Fatalf("weights: %+v", e)
	}
	if se := structErr(t, put("us-east-1c")); se.Status != 400 || !strings.Contains(se.Err.Reason, "expected to be [0.0] but found [1.0]") {
		t.Fatalf("decommission of a weighted zone: %v", se)
	}
	if st, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"1","us-east-1c":"0"},"_version":0}`); st != 200 {
		t.Fatalf("weights: %+v", e)
	}
	if s := status(); len(s) != 0 {
		t.Fatalf("status before decommission: %v", s)
	}
	if err := put("us-east-1c"); err != nil {
		t.Fatalf("decommission: %v", err)
	}
	var seen []string
	for range 12 {
		s := status()
		if len(s) != 1 {
			t.Fatalf("status: %v", s)
		}
		if len(seen) == 0 || seen[len(seen)-1] != s["us-east-1c"] {
			seen = append(seen, s["us-east-1c"])
		}
		clock.Advance(time.Second)
	}
	if strings.Join(seen, ">") != "INIT>DRAINING>IN_PROGRESS>SUCCESSFUL" {
		t.Fatalf("progression: %v", seen)
	}
	// While decommissioned: its weight cannot be raised and no other zone can be decommissioned.
	if st, e := f.putWeights(t, `{"weights":{"us-east-1a":"1","us-east-1b":"0","us-east-1c":"1"},"_version":1}`); st != 409 || !strings.Contains(e.Error.Reason, "under decommission action") {
		t.Fatalf("raising a decommissioned zone's weight: %d %+v", st, e)
	}
	if se := structErr(t, put("us-east-1b")); se.Status != 400 || !strings.Contains(se.Err.Reason, "already successfully decommissioned") {
		t.Fatalf("second decommission: %v", se)
	}
	if _, err := f.client.Cluster.DeleteDecommission(ctx, nil); err != nil {
		t.Fatalf("recommission: %v", err)
	}
	if s := status(); len(s) != 0 {
		t.Fatalf("status after recommission: %v", s)
	}
}

func TestCatIndicesAndHealth(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones, Name: "lab-domain"})
	f.bulk(t, day1, ndjson(events(1234, time.Second, 1, base, "us-east-1")))
	f.bulk(t, "application-logs-2026.11.22", ndjson(events(10, time.Second, 1, base.Add(24*time.Hour), "us-east-1")))
	ctx := context.Background()
	if n := f.count(t, []string{day1, "application-logs-2026.11.22"}, ""); n != 1244 {
		t.Fatalf("count over a comma list = %d", n)
	}
	cat, err := f.client.Cat.Indices(ctx, &opensearchapi.CatIndicesReq{Indices: []string{"application-logs-*"}})
	if err != nil {
		t.Fatalf("cat: %v", err)
	}
	if len(cat.Indices) != 2 {
		t.Fatalf("cat rows: %+v", cat.Indices)
	}
	row := cat.Indices[0]
	if row.Index != day1 || row.Health != "green" || row.Status != "open" || *row.Primary != 1 || *row.Replica != 2 ||
		*row.DocsCount != 1234 || *row.DocDeleted != 0 || row.UUID == "" || row.StoreSize == nil || row.PrimaryStoreSize == nil {
		t.Fatalf("cat row: %+v", row)
	}
	// The raw rows carry exactly OpenSearch's default columns, all strings.
	_, body := f.raw(t, "GET", "/_cat/indices/"+day1+"?format=json", "")
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("cat json: %s", body)
	}
	for _, col := range []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"} {
		if _, ok := rows[0][col].(string); !ok {
			t.Errorf("column %s = %#v", col, rows[0][col])
		}
	}
	if len(rows[0]) != 10 {
		t.Errorf("columns: %v", rows[0])
	}
	health, err := f.client.Cluster.Health(ctx, nil)
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	if health.ClusterName != "lab-domain" || health.Status != "green" || health.ActivePrimaryShards != 2 || health.ActiveShards != 6 ||
		health.NumberOfDataNodes != 3 || health.UnassignedShards != 0 || !health.DiscoveredClusterManager {
		t.Fatalf("health: %+v", health)
	}
	if err := f.c.SetZoneAvailable("us-east-1b", false); err != nil {
		t.Fatal(err)
	}
	health, err = f.client.Cluster.Health(ctx, nil)
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	if health.Status != "yellow" || health.UnassignedShards != 2 || health.ActiveShards != 4 {
		t.Fatalf("health with a zone down: %+v", health)
	}
}
