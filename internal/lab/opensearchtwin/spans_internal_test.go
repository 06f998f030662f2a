package opensearchtwin

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the time zone cases must not depend on the host's zoneinfo
)

// Span set operations against a brute force over a small domain, edges of int64 included.
func TestSpanSetOperations(t *testing.T) {
	const lo, hi = -20, 20
	rnd := rand.New(rand.NewPCG(1, 2))
	randSet := func() []tsSpan {
		var s []tsSpan
		for range rnd.IntN(5) {
			a := int64(rnd.IntN(hi-lo+1) + lo)
			s = append(s, tsSpan{a, a + int64(rnd.IntN(6)) - 1}) // some empty
		}
		return normSpans(s)
	}
	member := func(s []tsSpan, x int64) bool {
		for _, sp := range s {
			if sp.lo <= x && x <= sp.hi {
				return true
			}
		}
		return false
	}
	wellFormed := func(s []tsSpan) bool {
		for i, sp := range s {
			if sp.lo > sp.hi || (i > 0 && sp.lo <= s[i-1].hi+1) {
				return false
			}
		}
		return true
	}
	for range 2000 {
		a, b := randSet(), randSet()
		inter, comp := intersectSpans(a, b), complementSpans(a)
		if !wellFormed(a) || !wellFormed(inter) || !wellFormed(comp) {
			t.Fatalf("not normalised: a=%v a∩b=%v ¬a=%v", a, inter, comp)
		}
		for x := int64(lo - 2); x <= hi+2; x++ {
			if member(inter, x) != (member(a, x) && member(b, x)) || member(comp, x) == member(a, x) || spansContain(a, x) != member(a, x) {
				t.Fatalf("x=%d a=%v b=%v a∩b=%v ¬a=%v", x, a, b, inter, comp)
			}
		}
		if len(a) > 0 && (!member(comp, math.MinInt64) || !member(comp, math.MaxInt64)) {
			t.Fatalf("complement of %v = %v misses the ends of int64", a, comp)
		}
	}
	if c := complementSpans(allTimestamps); len(c) != 0 {
		t.Errorf("complement of everything = %v", c)
	}
	if c := complementSpans(nil); !slices.Equal(c, allTimestamps) {
		t.Errorf("complement of nothing = %v", c)
	}
	if n := normSpans([]tsSpan{{5, math.MaxInt64}, {math.MinInt64, 4}}); !slices.Equal(n, allTimestamps) {
		t.Errorf("touching halves normalise to %v", n)
	}
}

// appendJSON must write exactly what encoding/json writes for the same value.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, 0, -7, int64(math.MaxInt64), int64(math.MinInt64), jfloat(1), jfloat(1.5e300), jfloat(math.NaN()),
		1.25, float64(1e21), uint32(7), "plain", "", `quote " and \ back`, "<a href=x>&</a>", "tab\tnew\nline\x01", "héllo ✓", "bad \xff utf8",
		"line\u2028sep", []any{}, []any(nil), []any{1, "x", nil, jobj{}}, jobj(nil),
		jobj{{"k", 1}, {"<k>", []any{jobj{{"n", jfloat(2)}}}}, {"m", map[string]any{"b": 1, "a": []string{"x"}}}},
		jobj{{"raw", rawJSON(`{"a":[1,2]}`)}}, json.RawMessage(`{"b":true}`),
	}
	for _, v := range values {
		got, err := appendJSON(nil, v)
		if err != nil {
			t.Errorf("appendJSON(%#v): %v", v, err)
			continue
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		if string(got) != string(want) {
			t.Errorf("appendJSON(%#v) = %s, encoding/json %s", v, got, want)
		}
	}
}

// The default date format's fast path must agree with the layout it replaces.
func TestAppendISOMillisUTC(t *testing.T) {
	df, err := newDateFormat("")
	if err != nil {
		t.Fatal(err)
	}
	check := func(ms int64) {
		t.Helper()
		want := time.UnixMilli(ms).UTC().Format(defaultDateLayout)
		if got := string(df.appendFormat(nil, ms, time.UTC)); got != want {
			t.Fatalf("%d: got %s, want %s", ms, got, want)
		}
	}
	for _, s := range []string{"1970-01-01T00:00:00Z", "2000-02-29T23:59:59.999Z", "2100-03-01T00:00:00Z", "2026-11-21T10:00:00.5Z", "9999-12-31T23:59:59.999Z"} {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		check(ts.UnixMilli())
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		check(rnd.Int64N(253402300800000))
	}
	check(-1) // outside the fast path
	ny, _ := time.LoadLocation("America/New_York")
	if got, want := string(df.appendFormat(nil, 1795132800000, ny)), df.format(1795132800000, ny); got != want {
		t.Errorf("New York: got %s, want %s", got, want)
	}
}
