package slackapp

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

// A request that Slack did not sign must be refused before anything in it is acted on: each case
// carries a valid-looking approval click for a waiting run, and afterwards the run must be exactly
// as it was and nothing may have been sent to Slack.
func TestUnauthenticatedRequestsAreRefusedAndChangeNothing(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	value := buttons(msg.blocks(t))[actionApprove]
	body := click{user: "U_ALICE", action: actionApprove, value: value, messageTS: msg.TS,
		responseURL: env.slack.responseURL("forged"), actionTS: "1.000001"}.form()

	cases := map[string]*http.Request{
		"signed with another secret": signedRequest(InteractionsPath, body, "not-the-secret", time.Now()),
		"stale timestamp":            signedRequest(InteractionsPath, body, testSecret, time.Now().Add(-10*time.Minute)),
		"timestamp from the future":  signedRequest(InteractionsPath, body, testSecret, time.Now().Add(10*time.Minute)),
		"body changed after signing": func() *http.Request {
			r := signedRequest(InteractionsPath, strings.Replace(body, "U_ALICE", "U_BOB", 1), testSecret, time.Now())
			r.Header.Set("X-Slack-Signature", signedRequest(InteractionsPath, body, testSecret, time.Now()).Header.Get("X-Slack-Signature"))
			return r
		}(),
		"no signature headers": httptest.NewRequest(http.MethodPost, InteractionsPath, strings.NewReader(body)),
		"slash command signed with another secret": signedRequest(CommandsPath,
			"command=%2Fswitchyard&text=approve+"+id+"+approve&user_id=U_ALICE&response_url="+env.slack.responseURL("forged"), "nope", time.Now()),
	}
	before, beforeAll := len(env.slack.runCalls(id)), len(env.slack.snapshot())
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			w := serve(h, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
		})
	}
	h.Wait()
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalWaiting || len(st.Votes) != 0 {
		t.Fatalf("the run changed: %+v", st)
	}
	if after := env.slack.runCalls(id)[before:]; len(after) != 0 {
		t.Fatalf("Slack calls for the run after forged requests: %+v", after)
	}
	for _, c := range env.slack.snapshot()[beforeAll:] {
		if c.Method == "views.open" || c.Method == "chat.postEphemeral" || strings.HasPrefix(c.Method, "respond:") {
			t.Fatalf("forged request reached Slack: %+v", c)
		}
	}
	if got := env.slack.responses("forged"); len(got) != 0 {
		t.Fatalf("a forged request was answered: %v", got)
	}

	// The same click, correctly signed, does approve: the refusals above were about the signature.
	w := serve(h, signedRequest(InteractionsPath, body, testSecret, time.Now()))
	h.Wait()
	if w.Code != http.StatusOK {
		t.Fatalf("signed click: status %d", w.Code)
	}
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalApproved {
		t.Fatalf("signed click did not approve: %+v", st)
	}
}

func TestHandlerWithoutSigningSecretRefusesEverything(t *testing.T) {
	cfg := testConfig()
	cfg.SigningSecret = ""
	h, err := NewHandler(HandlerOptions{Config: cfg, Temporal: env.tc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := serve(h, signedRequest(CommandsPath, "command=%2Fswitchyard&text=help", "", time.Now()))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", w.Code)
	}
}

func TestOnlyPostToKnownPaths(t *testing.T) {
	h := newTestHandler(t, time.Second)
	if w := serve(h, httptest.NewRequest(http.MethodGet, InteractionsPath, nil)); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d", w.Code)
	}
	if w := serve(h, signedRequest("/slack/other", "x=1", testSecret, time.Now())); w.Code != http.StatusNotFound {
		t.Fatalf("unknown path: status %d", w.Code)
	}
}

func TestResponseURLsOutsideSlackAreNotCalled(t *testing.T) {
	h := newTestHandler(t, time.Second)
	for raw, want := range map[string]bool{
		"https://hooks.slack.com/actions/T1/2/abc": true,
		"http://hooks.slack.com/actions/T1/2/abc":  false,
		"https://hooks.slack.com.evil.test/x":      false,
		"https://169.254.169.254/latest/meta-data": false,
		env.slack.responseURL("x"):                 true, // the configured API URL, as in tests
	} {
		if got := h.allowedResponseURL(raw); got != want {
			t.Errorf("allowedResponseURL(%q) = %v, want %v", raw, got, want)
		}
	}
}
