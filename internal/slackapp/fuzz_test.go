package slackapp

// Fuzz targets for the HTTP endpoints Slack posts to, which anyone who finds the URL can reach.
// The seed corpora in testdata/fuzz are the interaction payloads (approve, reject, confirm
// clicks, the reject modal's submission) and slash commands the tests send, plus bodies that are
// not Slack's at all.
//
// The handler under fuzz talks to nothing: its Temporal client and its HTTP client (Web API and
// response_url) refuse every call and count them. Random bodies must not start plans on the
// package's shared Temporal server, and a fuzzed response_url must never make the test post to
// hooks.slack.com. What the handler does with a refusal is the same code that runs when Temporal
// or Slack is down.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// offlineTemporal fails every call the handler makes as an unreachable server would, counting
// them. Calls the handler is not known to make hit the nil embedded client and panic, which the
// targets report.
type offlineTemporal struct {
	client.Client
	calls atomic.Int64
}

func (o *offlineTemporal) fail() error {
	o.calls.Add(1)
	return serviceerror.NewUnavailable("temporal offline (fuzz)")
}

func (o *offlineTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, o.fail()
}

func (o *offlineTemporal) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	_ = o.fail()
	return offlineRun{id: id, runID: runID}
}

func (o *offlineTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return o.fail()
}

func (o *offlineTemporal) CancelWorkflow(context.Context, string, string) error { return o.fail() }

func (o *offlineTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, o.fail()
}

func (o *offlineTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, o.fail()
}

func (o *offlineTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, o.fail()
}

func (o *offlineTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, o.fail()
}

type offlineRun struct{ id, runID string }

func (r offlineRun) GetID() string    { return r.id }
func (r offlineRun) GetRunID() string { return r.runID }
func (r offlineRun) Get(context.Context, any) error {
	return serviceerror.NewUnavailable("temporal offline (fuzz)")
}
func (r offlineRun) GetWithOptions(context.Context, any, client.WorkflowRunGetOptions) error {
	return serviceerror.NewUnavailable("temporal offline (fuzz)")
}

// offlineTransport refuses every HTTP request, counting them.
type offlineTransport struct{ calls atomic.Int64 }

func (o *offlineTransport) RoundTrip(*http.Request) (*http.Response, error) {
	o.calls.Add(1)
	return nil, errors.New("network offline (fuzz)")
}

// logRecords is a slog.Handler that keeps every record, so a target can see what the handler
// logged, including panics its background work recovered from.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// take returns the records so far and forgets them.
func (l *logRecords) take() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recs
	l.recs = nil
	return r
}

func describe(recs []slog.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %s %s", r.Level, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
	}
	return b.String()
}

type offlineHandler struct {
	h    *Handler
	tc   *offlineTemporal
	net  *offlineTransport
	logs *logRecords
}

func newOfflineHandler(tb testing.TB) offlineHandler {
	tb.Helper()
	o := offlineHandler{tc: &offlineTemporal{}, net: &offlineTransport{}, logs: &logRecords{}}
	cfg := Config{SigningSecret: testSecret, BotToken: "xoxb-fuzz", UIBaseURL: uiBase, APIURL: "https://slack.invalid/api/"}
	h, err := NewHandler(HandlerOptions{Config: cfg, Temporal: o.tc, Logger: slog.New(o.logs),
		HTTPClient: &http.Client{Transport: o.net}, TemporalTimeout: 2 * time.Second, PlanTimeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	o.h = h
	return o
}

func fuzzPath(commands bool) string {
	if commands {
		return CommandsPath
	}
	return InteractionsPath
}

// slackSignature is what Slack would send for body at ts: v0=HMAC-SHA256(secret, "v0:ts:body").
func slackSignature(ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// FuzzSlackUnsigned posts random bodies with a random signature, at a timestamp up to nine hours
// either side of now (the window is five minutes, so both the clock check and the HMAC check are
// reached). Every one must get 401 and have no effect at all: no Temporal call, no HTTP call,
// nothing logged but the refusal, and no panic.
func FuzzSlackUnsigned(f *testing.F) {
	o := newOfflineHandler(f)
	f.Fuzz(func(t *testing.T, commands bool, body []byte, skewSeconds int16, signature string) {
		o.logs.take()
		ts := strconv.FormatInt(time.Now().Add(time.Duration(skewSeconds)*time.Second).Unix(), 10)
		if hmac.Equal([]byte(signature), []byte(slackSignature(ts, body))) {
			t.Skip("the fuzzer found the real signature")
		}
		r := httptest.NewRequest(http.MethodPost, fuzzPath(commands), strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", signature)
		w := serve(o.h, r)
		o.h.Wait()
		want := http.StatusUnauthorized
		if len(body) > maxBody {
			want = http.StatusRequestEntityTooLarge
		}
		if w.Code != want {
			t.Fatalf("status %d, want %d, for an unsigned %s body %q", w.Code, want, fuzzPath(commands), body)
		}
		if n, m := o.tc.calls.Load(), o.net.calls.Load(); n != 0 || m != 0 {
			t.Fatalf("an unsigned request made %d Temporal and %d HTTP calls: %q", n, m, body)
		}
		recs := o.logs.take()
		if want == http.StatusUnauthorized && (len(recs) != 1 || recs[0].Message != "rejected unauthenticated request") {
			t.Fatalf("logged, for an unsigned request: %s", describe(recs))
		}
	})
}

// FuzzSlackSigned posts random bodies correctly signed, so they reach slack-go's parsers and the
// handler's dispatch. Nothing may panic, in the request or in the background work it starts;
// the answer is 200 (with an empty or JSON body) or 400.
func FuzzSlackSigned(f *testing.F) {
	o := newOfflineHandler(f)
	f.Fuzz(func(t *testing.T, commands bool, body []byte) {
		o.logs.take()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		r := httptest.NewRequest(http.MethodPost, fuzzPath(commands), strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", slackSignature(ts, body))
		w := serve(o.h, r)
		o.h.Wait()
		switch w.Code {
		case http.StatusOK:
			if b := w.Body.Bytes(); len(b) > 0 && !json.Valid(b) {
				t.Fatalf("200 with a body that is not JSON: %q", b)
			}
		case http.StatusBadRequest:
		case http.StatusRequestEntityTooLarge:
			if len(body) <= maxBody {
				t.Fatalf("413 for %d bytes", len(body))
			}
		default:
			t.Fatalf("status %d for a signed %s body %q: %s", w.Code, fuzzPath(commands), body, w.Body)
		}
		for _, rec := range o.logs.take() {
			if rec.Level >= slog.LevelError {
				t.Fatalf("signed %s body %q logged an error: %s", fuzzPath(commands), body, describe([]slog.Record{rec}))
			}
		}
	})
}
