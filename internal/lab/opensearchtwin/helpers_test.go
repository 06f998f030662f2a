package opensearchtwin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// base is the first event's timestamp in every generated data set.
var base = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock: tests move time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	c      *opensearchtwin.Cluster
	client *opensearchapi.Client
	url    string
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newFixture starts a twin behind an httptest server and a real opensearch-go client. Retries
// are off so a 503 reaches the test as it left the twin.
func newFixture(t testing.TB, opts opensearchtwin.Options) *fixture {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	c := opensearchtwin.New(opts)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses:    []string{srv.URL},
		DisableRetry: true,
	}})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return &fixture{c: c, client: client, url: srv.URL}
}

// events generates n producer events; every `same` consecutive events share a timestamp, so
// sorting has ties to break.
func events(n int, step time.Duration, same int, start time.Time, region string) []labevent.Event {
	out := make([]labevent.Event, n)
	for i := range out {
		at := start.Add(time.Duration(i/same) * step)
		out[i] = labevent.New(uint64(i), at, region, "drill-1", true)
	}
	return out
}

func ndjson(evs []labevent.Event) []byte {
	var b bytes.Buffer
	for _, e := range evs {
		b.WriteString(`{"index":{}}` + "\n")
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (f *fixture) bulk(t testing.TB, index string, body []byte) *opensearchapi.BulkResp {
	t.Helper()
	resp, err := f.client.Bulk(context.Background(), opensearchapi.BulkReq{Index: index, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("bulk: %v", err)
	}
	return resp
}

func (f *fixture) search(t testing.TB, indices []string, body string) *opensearchapi.SearchResp {
	t.Helper()
	resp, err := f.client.Search(context.Background(), &opensearchapi.SearchReq{Indices: indices, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("search %s: %v", body, err)
	}
	return resp
}

func (f *fixture) count(t testing.TB, indices []string, body string) int {
	t.Helper()
	req := &opensearchapi.IndicesCountReq{Indices: indices}
	if body != "" {
		req.Body = strings.NewReader(body)
	}
	resp, err := f.client.Indices.Count(context.Background(), req)
	if err != nil {
		t.Fatalf("count %s: %v", body, err)
	}
	return resp.Count
}

// raw sends a request through the client's transport and returns status and body.
func (f *fixture) raw(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Client.Stream(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(path, "/_cat") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, b
}

// errorBody is OpenSearch's structured error response.
type errorBody struct {
	Error struct {
		RootCause []struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"root_cause"`
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
	Status int `json:"status"`
}

func decodeError(t testing.TB, b []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e
}

// structErr extracts opensearch-go's parsed error.
func structErr(t testing.TB, err error) *opensearch.StructError {
	t.Helper()
	var se *opensearch.StructError
	if !errors.As(err, &se) {
		t.Fatalf("want *opensearch.StructError, got %T: %v", err, err)
	}
	return se
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal: %v", err))
	}
	return string(b)
}
