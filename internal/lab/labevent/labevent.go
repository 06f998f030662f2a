// Package labevent defines the events the lab's producers write: the seed sample's log record
// plus an optional unique event_id. It is a leaf package so that the twins' own tests and
// benchmarks (opensearchtwin) can generate the same events without importing the lab that
// assembles them.
package labevent

import (
	"fmt"
	"time"
)

// Event is one log record as the seed sample's producer writes it (scripts/lambda/msk_producer.py),
// plus an optional unique event_id: with it, backfill verification can name missing documents
// instead of only counting them.
type Event struct {
	Timestamp     string `json:"timestamp"`
	Level         string `json:"level"`
	Service       string `json:"service"`
	Message       string `json:"message"`
	RequestID     string `json:"request_id"`
	UserID        string `json:"user_id"`
	DurationMS    int    `json:"duration_ms"`
	StatusCode    int    `json:"status_code"`
	SourceRegion  string `json:"source_region"`
	TestID        string `json:"test_id"`
	TestTimestamp string `json:"test_timestamp"`
	EventID       string `json:"event_id,omitempty"`
}

var (
	levels   = []string{"INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"}
	services = []string{"checkout", "search", "auth", "inventory", "payments"}
	messages = []string{"request completed", "cache miss", "upstream slow", "retrying call", "user signed in"}
	statuses = []int{200, 200, 200, 201, 204, 400, 404, 500, 503}
)

// New builds the n-th event of a producer. It is a pure function of its inputs so tests and
// benchmarks can regenerate exactly the events a run produced.
func New(n uint64, at time.Time, region, testID string, withID bool) Event {
	h := Mix(n)
	e := Event{
		Timestamp:     at.UTC().Format(time.RFC3339Nano),
		Level:         levels[h%uint64(len(levels))],
		Service:       services[(h>>8)%uint64(len(services))],
		Message:       messages[(h>>16)%uint64(len(messages))],
		RequestID:     fmt.Sprintf("req-%06d", (h>>24)%1000000),
		UserID:        fmt.Sprintf("user-%04d", (h>>44)%10000),
		DurationMS:    int((h >> 32) % 2000),
		StatusCode:    statuses[(h>>40)%uint64(len(statuses))],
		SourceRegion:  region,
		TestID:        testID,
		TestTimestamp: at.UTC().Format(time.RFC3339),
	}
	if withID {
		e.EventID = fmt.Sprintf("%s-%s-%012d", testID, region, n)
	}
	return e
}

// Mix is splitmix64: cheap, well distributed, deterministic. Producers also use it to spread
// writes by weight reproducibly.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
