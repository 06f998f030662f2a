package opensearchtwin_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

type sortedEvent struct {
	ms int64
	id string
}

func sortEvents(t testing.TB, evs []labevent.Event, desc bool) []string {
	keys := make([]sortedEvent, len(evs))
	for i, e := range evs {
		keys[i] = sortedEvent{mustTime(t, e.Timestamp).UnixMilli(), e.EventID}
	}
	slices.SortFunc(keys, func(a, b sortedEvent) int {
		r := cmp.Or(cmp.Compare(a.ms, b.ms), strings.Compare(a.id, b.id))
		if desc {
			return -r
		}
		return r
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.id
	}
	return out
}

// scanPIT pages through a point in time with search_after and returns the event ids in order.
func scanPIT(t *testing.T, f *fixture, pitID string, page int, order string) []string {
	t.Helper()
	var ids []string
	var after []any
	for {
		body := map[string]any{
			"size": page, "pit": map[string]any{"id": pitID, "keep_alive": "1m"}, "track_total_hits": false,
			"sort": []any{map[string]any{"timestamp": order}, map[string]any{"event_id.keyword": order}},
		}
		if after != nil {
			body["search_after"] = after
		}
		resp := f.search(t, nil, jsonBody(body))
		if len(resp.Hits.Hits) == 0 {
			return ids
		}
		for _, h := range resp.Hits.Hits {
			var e labevent.Event
			if err := json.Unmarshal(h.Source, &e); err != nil {
				t.Fatalf("source: %v", err)
			}
			if len(h.Sort) != 2 || h.Sort[1] != e.EventID || int64(h.Sort[0].(float64)) != mustTime(t, e.Timestamp).UnixMilli() {
				t.Fatalf("sort values %v do not match %s @ %s", h.Sort, e.EventID, e.Timestamp)
			}
			ids = append(ids, e.EventID)
		}
		after = resp.Hits.Hits[len(resp.Hits.Hits)-1].Sort
		if len(ids) > 100000 {
			t.Fatal("scan does not terminate")
		}
	}
}

func TestPITSearchAfterScan(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, opensearchtwin.Options{Now: clock.Now})
	// Day 1 arrives out of order in chunks (a backfill replaying older data), three events per
	// millisecond so the event_id tiebreak matters; day 2 is a second index in the pattern.
	d1 := events(2400, 7*time.Millisecond, 3, base, "us-east-1")
	for i := len(d1); i > 0; i -= 400 {
		f.bulk(t, day1, ndjson(d1[max(i-400, 0):i]))
	}
	d2 := events(1500, 11*time.Millisecond, 1, base.Add(24*time.Hour), "us-west-2")
	f.bulk(t, "application-logs-2026.11.22", ndjson(d2))
	pit, err := f.client.PointInTime.Create(context.Background(), opensearchapi.PointInTimeCreateReq{
		Indices: []string{"application-logs-*"}, Params: opensearchapi.PointInTimeCreateParams{KeepAlive: 5 * time.Minute}})
	if err != nil {
		t.Fatalf("create pit: %v", err)
	}
	if pit.PitID == "" || pit.Shards.Total != 2 || pit.Shards.Successful != 2 || pit.CreationTime != clock.Now().UnixMilli() {
		t.Fatalf("pit: %+v", pit)
	}
	// Written after the PIT opened: interleaved timestamps, so a leak would show up mid-scan.
	late := events(600, 5*time.Millisecond, 1, base.Add(time.Millisecond), "eu-west-1")
	f.bulk(t, day1, ndjson(late))

	all := append(slices.Clone(d1), d2...)
	for _, order := range []string{"asc", "desc"} {
		got := scanPIT(t, f, pit.PitID, 333, order)
		want := sortEvents(t, all, order == "desc")
		if !slices.Equal(got, want) {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s scan: %d ids, want %d; first difference at %d", order, len(got), len(want), i)
		}
	}
	// Without the PIT the late documents are visible.
	if n := f.count(t, []string{"application-logs-*"}, ""); n != len(all)+len(late) {
		t.Fatalf("live count %d, want %d", n, len(all)+len(late))
	}
	// Searching a PIT with an index in the path is rejected.
	status, body := f.raw(t, "POST", "/"+day1+"/_search", fmt.Sprintf(`{"pit":{"id":%q}}`, pit.PitID))
	if e := decodeError(t, body); status != 400 || e.Error.Type != "action_request_validation_exception" {
		t.Fatalf("pit with index: %d %s", status, body)
	}
	// The response names the PIT.
	_, body = f.raw(t, "POST", "/_search", fmt.Sprintf(`{"size":1,"pit":{"id":%q}}`, pit.PitID))
	var withID struct {
		PitID string `json:"pit_id"`
	}
	if err := json.Unmarshal(body, &withID); err != nil || withID.PitID != pit.PitID {
		t.Fatalf("pit_id in response: %s", body)
	}
	del, err := f.client.PointInTime.Delete(context.Background(), opensearchapi.PointInTimeDeleteReq{PitID: []string{pit.PitID, "unknown"}})
	if err != nil {
		t.Fatalf("delete pit: %v", err)
	}
	if len(del.Pits) != 2 || !del.Pits[0].Successful || del.Pits[1].Successful {
		t.Fatalf("delete: %+v", del.Pits)
	}
	_, err = f.client.Search(context.Background(), &opensearchapi.SearchReq{Body: strings.NewReader(fmt.Sprintf(`{"pit":{"id":%q}}`, pit.PitID))})
	if se := structErr(t, err); se.Status != 404 || se.Err.RootCause[0].Type != "search_context_missing_exception" {
		t.Fatalf("search deleted pit: %v", se)
	}
}

func TestPITKeepAlive(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, opensearchtwin.Options{Now: clock.Now})
	f.bulk(t, day1, ndjson(events(10, time.Second, 1, base, "us-east-1")))
	pit, err := f.client.PointInTime.Create(context.Background(), opensearchapi.PointInTimeCreateReq{
		Indices: []string{day1}, Params: opensearchapi.PointInTimeCreateParams{KeepAlive: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.client.PointInTime.Get(context.Background(), nil)
	if err != nil || len(list.Pits) != 1 || list.Pits[0].PitID != pit.PitID || list.Pits[0].KeepAlive != 60000 {
		t.Fatalf("list: %+v %v", list, err)
	}
	search := func() error {
		_, err := f.client.Search(context.Background(), &opensearchapi.SearchReq{
			Body: strings.NewReader(fmt.Sprintf(`{"size":1,"pit":{"id":%q,"keep_alive":"1m"}}`, pit.PitID))})
		return err
	}
	clock.Advance(50 * time.Second)
	if err := search(); err != nil { // extends the PIT to now+1m
		t.Fatalf("search at 50s: %v", err)
	}
	clock.Advance(50 * time.Second)
	if err := search(); err != nil {
		t.Fatalf("search at 100s, extended: %v", err)
	}
	clock.Advance(61 * time.Second)
	if se := structErr(t, search()); se.Status != 404 {
		t.Fatalf("expired pit: %v", se)
	}
	list, err = f.client.PointInTime.Get(context.Background(), nil)
	if err != nil || len(list.Pits) != 0 {
		t.Fatalf("list after expiry: %+v %v", list, err)
	}
	status, body := f.raw(t, "POST", "/"+day1+"/_search/point_in_time?keep_alive=25h", "")
	if status != 400 || !strings.Contains(string(body), "Keep alive for request (25h) is too large") {
		t.Fatalf("keep_alive too large: %d %s", status, body)
	}
}

func TestScrollOnManagedDomain(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(1000, time.Millisecond, 1, base, "us-east-1")
	f.bulk(t, day1, ndjson(evs))
	ctx := context.Background()
	first, err := f.client.Search(ctx, &opensearchapi.SearchReq{Indices: []string{day1},
		Body: strings.NewReader(`{"size":128,"query":{"term":{"level.keyword":"INFO"}}}`), Params: opensearchapi.SearchParams{Scroll: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range evs {
		if e.Level == "INFO" {
			want++
		}
	}
	if first.ScrollID == nil || first.Hits.Total.Value != want {
		t.Fatalf("first page: scroll id %v total %d, want %d", first.ScrollID, first.Hits.Total.Value, want)
	}
	seen := map[string]bool{}
	for _, h := range first.Hits.Hits {
		seen[h.ID] = true
	}
	id := *first.ScrollID
	for {
		page, err := f.client.Scroll.Get(ctx, opensearchapi.ScrollGetReq{ScrollID: id, Params: opensearchapi.ScrollGetParams{Scroll: time.Minute}})
		if err != nil {
			t.Fatalf("scroll: %v", err)
		}
		if page.Hits.Total.Value != want {
			t.Fatalf("total on a later page: %d", page.Hits.Total.Value)
		}
		if len(page.Hits.Hits) == 0 {
			break
		}
		for _, h := range page.Hits.Hits {
			if seen[h.ID] {
				t.Fatalf("hit %s returned twice", h.ID)
			}
			seen[h.ID] = true
		}
	}
	if len(seen) != want {
		t.Fatalf("scroll returned %d docs, want %d", len(seen), want)
	}
	del, err := f.client.Scroll.Delete(ctx, opensearchapi.ScrollDeleteReq{ScrollIDs: []string{id}})
	if err != nil || !del.Succeeded || del.NumFreed != 1 {
		t.Fatalf("clear scroll: %+v %v", del, err)
	}
}
