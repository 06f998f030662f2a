package guard

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLimiterBucketsPerSource(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	l := NewLimiter(2, 3, c.now)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: %v, wait %s; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another source shares a's bucket")
	}
	c.add(400 * time.Millisecond)
	if ok, wait := l.Allow("a"); ok || wait != 100*time.Millisecond {
		t.Fatalf("after 400ms: %v, wait %s; want refused, 100ms", ok, wait)
	}
	c.add(100 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("after the refill a request was refused")
	}
	c.add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after an hour, request %d refused: the bucket holds at most the burst", i+1)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("the bucket refilled beyond its burst")
	}
	var off *Limiter = NewLimiter(0, 10, c.now)
	if ok, _ := off.Allow("a"); !ok || off != nil {
		t.Fatal("a zero rate must allow everything")
	}
}

func TestLimiterForgetsRefilledSourcesOnly(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	l := NewLimiter(1, 1, c.now)
	l.maxKeys = 3
	l.Allow("busy")
	c.add(2 * time.Second)
	l.Allow("x")
	l.Allow("y") // 3 sources: the next new one sweeps "busy"'s refilled bucket... and x, y are empty
	l.Allow("z")
	if _, ok := l.buckets["busy"]; ok {
		t.Fatal("a refilled bucket was kept")
	}
	if ok, _ := l.Allow("x"); ok {
		t.Fatal("the sweep forgot a source that had spent its budget")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for wait, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 90 * time.Second: 90} {
		if got := RetryAfterSeconds(wait); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", wait, got, want)
		}
	}
}

// The guard refuses a body over the limit with 413 and a source over its rate with 429 and
// Retry-After; everything else reaches the handler with its body intact. A verified source has a
// bucket of its own; unverified requests share their address's.
func TestWrap(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	var got []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
	})
	var refused []string
	h := Wrap(next, Options{MaxBody: 16, Limiter: NewLimiter(1, 2, c.now), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// A request "verified" for a team says so in a header (the real sources check signatures).
		Source:   func(r *http.Request, _ []byte) string { return r.Header.Get("X-Verified-Team") },
		OnRefuse: func(_ *http.Request, source, reason string) { refused = append(refused, source+" "+reason) },
	})
	post := func(body, team, addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		r.RemoteAddr = addr
		if team != "" {
			r.Header.Set("X-Verified-Team", team)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	if w := post(strings.Repeat("x", 17), "", "192.0.2.1:1000"); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("17 bytes: %d, want 413", w.Code)
	}
	if w := post("exactly 16 bytes", "", "192.0.2.1:1001"); w.Code != http.StatusOK {
		t.Fatalf("16 bytes: %d, want 200", w.Code)
	}
	post("two", "", "192.0.2.1:1002")
	w := post("three", "", "192.0.2.1:1003")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("3rd unverified request from one address: %d, Retry-After %q; want 429, 1", w.Code, w.Header().Get("Retry-After"))
	}
	// The same address's verified team, and another address, have budgets of their own.
	if w := post("team", "team T1", "192.0.2.1:1004"); w.Code != http.StatusOK {
		t.Fatalf("verified team behind a limited address: %d", w.Code)
	}
	if w := post("other", "", "192.0.2.2:1000"); w.Code != http.StatusOK {
		t.Fatalf("another address: %d", w.Code)
	}
	post("team 2", "team T1", "192.0.2.9:1")
	if w := post("team 3", "team T1", "192.0.2.10:1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a team over its rate from new addresses: %d, want 429", w.Code)
	}
	c.add(time.Second)
	if w := post("later", "team T1", "192.0.2.10:1"); w.Code != http.StatusOK {
		t.Fatalf("after Retry-After: %d", w.Code)
	}
	want := []string{"exactly 16 bytes", "two", "team", "other", "team 2", "later"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("handler saw %q, want %q", got, want)
	}
	wantRefused := []string{"address 192.0.2.1 too_large", "address 192.0.2.1 rate_limited", "team T1 rate_limited"}
	if strings.Join(refused, "|") != strings.Join(wantRefused, "|") {
		t.Fatalf("refusals %q, want %q", refused, wantRefused)
	}
}
