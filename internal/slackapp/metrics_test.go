package slackapp

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

// countingMetrics records what the handler counted.
type countingMetrics struct {
	mu     sync.Mutex
	counts map[string]int
}

func (m *countingMetrics) add(k string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[k]++
}

func (m *countingMetrics) SlackAccepted(kind, transport string) {
	m.add("accepted/" + kind + "/" + transport)
}
func (m *countingMetrics) SlackRefused(reason, transport string) {
	m.add("refused/" + reason + "/" + transport)
}

func TestRequestsAreCountedByOutcomeAndReason(t *testing.T) {
	m := &countingMetrics{counts: map[string]int{}}
	h, err := NewHandler(HandlerOptions{Config: testConfig(), Temporal: env.tc, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Wait)
	help := "command=%2Fswitchyard&text=help&user_id=U_ALICE"
	for _, r := range []*http.Request{
		signedRequest(CommandsPath, help, testSecret, time.Now()),
		signedRequest(CommandsPath, help, testSecret, time.Now()),
		signedRequest(CommandsPath, help, "not-the-secret", time.Now()),
		httptest.NewRequest(http.MethodPost, InteractionsPath, strings.NewReader("payload=%7B%7D")),
		httptest.NewRequest(http.MethodGet, CommandsPath, nil),
		signedRequest("/slack/other", help, testSecret, time.Now()),
		signedRequest(InteractionsPath, "payload=not-json", testSecret, time.Now()),
	} {
		serve(h, r)
	}
	want := map[string]int{
		"accepted/command/http":           2,
		"refused/bad_signature/http":      2,
		"refused/method_not_allowed/http": 1,
		"refused/not_found/http":          1,
		"refused/bad_payload/http":        1,
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.counts) != len(want) {
		t.Errorf("counted %v, want %v", m.counts, want)
	}
	for k, v := range want {
		if m.counts[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, m.counts[k], v, m.counts)
		}
	}
}
