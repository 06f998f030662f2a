package slackapp

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchyard-dr/switchyard/workflows"
)

type recordingAcker struct {
	mu   sync.Mutex
	acks map[string][]any
}

func (a *recordingAcker) Ack(req socketmode.Request, payload ...any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acks[req.EnvelopeID] = payload
	return nil
}

func (a *recordingAcker) get(id string) ([]any, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.acks[id]
	return p, ok
}

// Socket Mode envelopes reach the same code as HTTP requests and are acknowledged with the same
// immediate answers.
func TestSocketModeDispatchesToTheSameHandlers(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	ack := &recordingAcker{acks: map[string][]any{}}
	events := make(chan socketmode.Event)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.serveSocket(ctx, events, ack, nil) }()

	var cb slack.InteractionCallback
	raw := click{user: "U_ALICE", action: actionApprove, value: buttons(msg.blocks(t))[actionApprove], messageTS: msg.TS,
		responseURL: env.slack.responseURL("socket"), actionTS: "2.000001"}
	if err := json.Unmarshal([]byte(socketPayload(t, raw)), &cb); err != nil {
		t.Fatal(err)
	}
	events <- socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb, Request: &socketmode.Request{EnvelopeID: "env-1"}}
	events <- socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: slack.SlashCommand{Command: "/switchyard", Text: "help", UserID: "U_ALICE"},
		Request: &socketmode.Request{EnvelopeID: "env-2"}}
	cancel()
	if err := <-served; err != context.Canceled {
		t.Fatalf("serveSocket returned %v", err)
	}
	h.Wait()

	if p, ok := ack.get("env-1"); !ok || len(p) != 0 {
		t.Fatalf("interaction ack %v %v (want an empty ack)", p, ok)
	}
	p, ok := ack.get("env-2")
	if !ok || len(p) != 1 {
		t.Fatalf("slash command ack %v", p)
	}
	if b, _ := json.Marshal(p[0]); !json.Valid(b) || !strings.Contains(string(b), "Usage") {
		t.Fatalf("slash command ack %s", b)
	}
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalApproved || st.Votes[0].By != "U_ALICE" {
		t.Fatalf("approval %+v", st)
	}
}

// socketPayload is the JSON Slack puts in a Socket Mode envelope: the same object as the HTTP
// form's payload field.
func socketPayload(t *testing.T, c click) string {
	t.Helper()
	v, err := url.ParseQuery(c.form())
	if err != nil {
		t.Fatal(err)
	}
	return v.Get("payload")
}
