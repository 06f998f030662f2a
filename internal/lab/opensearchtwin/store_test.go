package opensearchtwin

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
)

func quiet() Options { return Options{Logger: discardLogger()} }

// roundTrip stores doc in a fresh index and returns the _source the twin gives back.
func roundTrip(t testing.TB, doc string) (string, error) {
	t.Helper()
	c := New(quiet())
	if errs := c.IndexDocs("t", [][]byte{[]byte(doc)}); errs != nil {
		return "", errs[0]
	}
	ix := c.indices["t"]
	var rc rowCtx
	rc.reset(ix, 0)
	return string(rc.appendSource(nil, nil)), nil
}

func TestSourceRoundTrip(t *testing.T) {
	docs := []string{
		`{}`,
		`{"a":1,"b":"x"}`,
		`{"a": 1, "b": "x", "c": [1, 2]}`,
		`{ "a":1 }`,
		"{\n  \"pretty\": true,\n  \"n\": 2\n}",
		`{"msg":"line\nbreak \"q\" \u00e9 \\ end"}`,
		`{"msg":"héllo wörld ✓"}`,
		`{"o":{"x":[1,2,{"y":null}]},"arr":[1,"a",true],"e":[],"eo":{}}`,
		`{"n":-0,"f":1.50,"e":1e5,"E":-2.5E-3,"big":123456789012345678901234,"neg":-42,"z":0,"max":9223372036854775807,"min":-9223372036854775808}`,
		`{"timestamp":"2026-11-21T10:00:00Z","x":1}`,
		`{"timestamp":"2026-11-21T10:00:00.1Z"}`,
		`{"timestamp":"2026-11-21T10:00:00.100Z"}`,
		`{"timestamp":"2026-11-21T10:00:00.123456Z"}`,
		`{"timestamp":"2026-11-21T10:00:00.123456789Z"}`,
		`{"timestamp":"2026-11-21T10:00:00.000000000Z"}`,
		`{"timestamp":"2026-11-21T10:00:00.123456","t2":"2026-11-21T10:00:00"}`,
		`{"timestamp":"2026-11-21T10:00:00+00:00","t2":"2026-11-21T10:00:00.250+00:00"}`,
		`{"timestamp":"2026-11-21T12:00:00+02:00","t2":"2026-11-21T12:00:00.5-05:30"}`,
		`{"@timestamp":"1969-07-20T20:17:40Z","d":"2026-11-21","later":"2300-01-01T00:00:00Z"}`,
		`{"timestamp":1795255200123,"s":"2026-11-21T10:00:00Z"}`,
		`{"b":true,"f":false,"n":null}`,
		`{"long":"x-0000000000000000000000123","lead":"007","zero":"0","neg":"-5","user":"user-0042","empty":"","digits":"12345678901234567890123"}`,
		`{"a\"b":1}`,
		`{"\u0061":1}`,
		`{"request_id":"req-000001","event_id":"drill-1-us-east-1-000000000001"}`,
	}
	for _, doc := range docs {
		got, err := roundTrip(t, doc)
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if got != doc {
			t.Errorf("round trip\n got %s\nwant %s", got, doc)
		}
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":}`, `[1,2]`, `{"a":1} x`, `{"a":"\x01"}`, `{"a":01}`, ``} {
		if _, err := roundTrip(t, bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// FuzzSourceRoundTrip checks the store's central promise: any JSON object it accepts comes back
// byte for byte.
func FuzzSourceRoundTrip(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"timestamp":"2026-11-21T10:00:00.12Z","x":"y-0012"}`, `{"a": [1, {"b": 2}]}`, `{"x":"\u00e9"}`, `{"n":1.0e3}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var probe map[string]any
		if json.Unmarshal([]byte(doc), &probe) != nil || probe == nil {
			return
		}
		got, err := roundTrip(t, doc)
		if err != nil {
			return // a mapping conflict or duplicate key: rejected, not corrupted
		}
		if got != doc {
			t.Fatalf("round trip\n got %q\nwant %q", got, doc)
		}
	})
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{
		"2026-11-21T10:00:00Z", "2026-11-21T10:00:00.123Z", "2026-11-21T10:00:00.123456789Z", "2026-02-28T23:59:59+05:30",
		"2024-02-29T00:00:00-08:00", "1969-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "2026-11-21T10:00:00.5+0100",
	} {
		want, err := time.Parse(time.RFC3339Nano, normalizeOffset(s))
		if err != nil {
			t.Fatalf("reference parse %s: %v", s, err)
		}
		sec, nsec, ok := parseDate([]byte(s), true)
		if !ok || sec != want.Unix() || int(nsec) != want.Nanosecond() {
			t.Errorf("%s: got %d.%09d ok=%v, want %d.%09d", s, sec, nsec, ok, want.Unix(), want.Nanosecond())
		}
	}
	for _, s := range []string{"2026-11-21", "2026-11-21T10", "2026-11-21T10:00"} {
		if _, _, ok := parseDate([]byte(s), true); !ok {
			t.Errorf("%s rejected", s)
		}
	}
	for _, s := range []string{"2026", "2026-11", "2026-02-30", "2026-13-01", "2026-11-21T25:00:00Z", "2026-11-21 10:00:00", "req-2026-11-21", "2026-11-21T10:00:00.Z"} {
		if _, _, ok := parseDate([]byte(s), true); ok {
			t.Errorf("%s accepted", s)
		}
	}
}

func normalizeOffset(s string) string {
	if n := len(s); n > 5 && (s[n-5] == '+' || s[n-5] == '-') {
		return s[:n-2] + ":" + s[n-2:]
	}
	return s
}

func TestTokens(t *testing.T) {
	for in, want := range map[string]string{
		"INFO":                 "info",
		"request completed":    "request|completed",
		"us-east-1":            "us|east|1",
		"user.name o'neil 1.5": "user.name|o'neil|1.5",
		"req-000123":           "req|000123",
	} {
		got := ""
		for i, tok := range tokens([]byte(in), nil) {
			if i > 0 {
				got += "|"
			}
			got += tok
		}
		if got != want {
			t.Errorf("tokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func labDocs(start, n int, at time.Time) [][]byte {
	docs := make([][]byte, n)
	for i := range docs {
		e := labevent.New(uint64(start+i), at.Add(time.Duration(start+i)*3*time.Millisecond), "us-east-1", "drill-7", true)
		docs[i], _ = json.Marshal(e)
	}
	return docs
}

// TestConcurrentWritersAndReaders runs writers and searchers together (run it with -race):
// every search must succeed and see a count that never goes backwards.
func TestConcurrentWritersAndReaders(t *testing.T) {
	c := New(quiet())
	at := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	const writers, batches, per = 4, 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				if e := c.IndexDocs("logs", labDocs((w*batches+b)*per, per, at)); e != nil {
					errs <- fmt.Errorf("writer %d: %v", w, e[0])
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				ixs, _ := c.resolveIndices("logs", true)
				targets, release := openTargets(ixs, c.now())
				sb := &searchBody{size: 5, sort: []*sortKey{{field: "timestamp", kind: 'f', unmapped: "date"}}, track: true}
				res, err := runSearch(targets, sb, c.now(), 10000)
				release()
				if err != nil {
					errs <- err
					return
				}
				if res.total < last {
					errs <- fmt.Errorf("count went back from %d to %d", last, res.total)
					return
				}
				last = res.total
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := c.DocCount("logs"); n != writers*batches*per {
		t.Fatalf("DocCount = %d, want %d", n, writers*batches*per)
	}
}

// TestMemoryPerDocument measures the heap the store holds per typical 12-field log document.
// OPENSEARCHTWIN_MEM_DOCS raises the document count (the default keeps the test fast).
func TestMemoryPerDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates tens of MiB")
	}
	n := 200_000
	if s := os.Getenv("OPENSEARCHTWIN_MEM_DOCS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("OPENSEARCHTWIN_MEM_DOCS: %v", err)
		}
	}
	perDoc, c := measureStore(t, n)
	t.Logf("%d docs: %.1f bytes/doc on the heap; store estimate %.1f bytes/doc", n, perDoc, float64(c.Stats()[0].StoreBytes)/float64(n))
	if perDoc > 200 {
		t.Fatalf("%.1f bytes per document, budget 200", perDoc)
	}
}

func measureStore(t testing.TB, n int) (float64, *Cluster) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := New(quiet())
	at := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 10_000 {
		if errs := c.IndexDocs("application-logs", labDocs(start, min(10_000, n-start), at)); errs != nil {
			t.Fatalf("ingest: %v", errs[0])
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n), c
}
