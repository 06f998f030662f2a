package slackapp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/switchyard-dr/switchyard/internal/slackapp/slackfake"
)

// fakeSlack is slack-go's slacktest server with the Web API methods this package calls replaced
// by recording handlers: every call is kept in arrival order, so tests can assert what was posted,
// edited and answered, and in which order. slacktest's own chat.postMessage is not used because
// its timestamps have one-second resolution, and a thread needs distinct ones. Messages live in
// a slackfake.Workspace, which reads them back with Slack's Tier 1 limits for non-Marketplace
// apps (conversations.history and conversations.replies: 1 call per minute per method and token,
// 15 messages per page, metadata only when asked for) on a clock the tests advance.
type fakeSlack struct {
	srv   *slacktest.Server
	ws    *slackfake.Workspace
	clock *slackfake.Clock

	mu    sync.Mutex
	calls []apiCall
	// groups maps user-group ids to members.
	groups map[string][]string
	// failPost, when set, makes chat.postMessage answer HTTP 500 for the calls it returns true
	// for, without posting.
	failPost func(c apiCall) bool
	// loseAnswer, when set, makes chat.postMessage post the calls it returns true for and then
	// answer HTTP 500: the message is in the channel, the client never learns its ts.
	loseAnswer func(c apiCall) bool
	// channelErrors makes chat.postMessage to a channel fail with a Web API error code.
	channelErrors map[string]string
}

// apiCall is one recorded request.
type apiCall struct {
	Method string
	Form   url.Values
	Body   map[string]any
	// TS is the timestamp of the message chat.postMessage posted (answered or not).
	TS     string
	Failed bool
	// Lost marks a post that was made but answered with an error.
	Lost bool
}

func (c apiCall) blocks(t *testing.T) []slack.Block {
	t.Helper()
	raw := c.Form.Get("blocks")
	if raw == "" {
		return nil
	}
	var b slack.Blocks
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatalf("decode blocks of %s: %v", c.Method, err)
	}
	return b.BlockSet
}

// text is what a message shows: its fallback text and its blocks, with JSON's HTML escapes undone
// so that assertions can say "<@U1>" rather than "\u003c@U1\u003e".
func (c apiCall) text() string {
	return unescapeJSON(c.Form.Get("text") + "\n" + c.Form.Get("blocks"))
}

func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\"`, `"`).Replace(s)
}

func hasActions(blocks []slack.Block) bool {
	return slices.ContainsFunc(blocks, func(b slack.Block) bool { return b.BlockType() == slack.MBTAction })
}

// buttons returns the action id and value of every button in blocks.
func buttons(blocks []slack.Block) map[string]string {
	out := map[string]string{}
	for _, b := range blocks {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn.Value
				}
			}
		}
	}
	return out
}

func newFakeSlack() *fakeSlack {
	f := &fakeSlack{groups: map[string][]string{}, channelErrors: map[string]string{}, clock: &slackfake.Clock{}}
	f.ws = slackfake.New(slackfake.Options{Now: f.clock.Now})
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.postMessage)
		c.Handle("/chat.update", f.formOK("chat.update"))
		c.Handle("/conversations.replies", f.conversation(true))
		c.Handle("/conversations.history", f.conversation(false))
		c.Handle("/chat.postEphemeral", f.formOK("chat.postEphemeral"))
		c.Handle("/usergroups.users.list", f.groupMembers)
		c.Handle("/usergroups.list", f.groupList)
		c.Handle("/views.open", f.viewsOpen)
		c.Handle("/respond/", f.respondHandler)
	})
	f.srv.Start()
	return f
}

// URL is the Web API base URL (Config.APIURL).
func (f *fakeSlack) URL() string { return f.srv.GetAPIURL() }

// responseURL returns a response_url for one test interaction.
func (f *fakeSlack) responseURL(name string) string { return f.URL() + "respond/" + name }

func (f *fakeSlack) record(c apiCall) apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return c
}

func (f *fakeSlack) snapshot() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func readForm(r *http.Request) url.Values {
	_ = r.ParseForm()
	return r.PostForm
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	c := apiCall{Method: "chat.postMessage", Form: readForm(r)}
	f.mu.Lock()
	fail := f.failPost != nil && f.failPost(c)
	lose := !fail && f.loseAnswer != nil && f.loseAnswer(c)
	code := f.channelErrors[c.Form.Get("channel")]
	f.mu.Unlock()
	channel := ""
	if !fail && code == "" {
		m := f.ws.Post(c.Form.Get("channel"), c.Form.Get("thread_ts"), c.Form.Get("text"), c.Form.Get("metadata"),
			c.Form.Get("reply_broadcast") == "true")
		c.TS, channel = m.TS, m.Channel
	}
	c.Failed, c.Lost = fail || code != "", lose
	f.record(c)
	switch {
	case fail || lose:
		http.Error(w, "upstream trouble", http.StatusInternalServerError)
	case code != "":
		writeJSON(w, map[string]any{"ok": false, "error": code})
	default:
		// Slack answers with the channel's id even when the request named the channel.
		writeJSON(w, map[string]any{"ok": true, "channel": channel, "ts": c.TS})
	}
}

// conversation records a conversations.replies or conversations.history call and answers it
// from the workspace, limits included.
func (f *fakeSlack) conversation(replies bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		method := "conversations.history"
		if replies {
			method = "conversations.replies"
		}
		_ = r.ParseForm()
		f.record(apiCall{Method: method, Form: r.Form})
		f.ws.ServeRead(w, r, method)
	}
}

// freshReadWindow moves the fake's clock past the Tier 1 window, so that the next lookup of
// each method is served whatever earlier tests read.
func (f *fakeSlack) freshReadWindow() { f.clock.Advance(slackfake.ReadWindow) }

// posts counts the messages chat.postMessage really posted (answered or not) whose fallback
// text contains text.
func (f *fakeSlack) posts(text string) int {
	n := 0
	for _, c := range f.snapshot() {
		if c.Method == "chat.postMessage" && c.TS != "" && strings.Contains(c.Form.Get("text"), text) {
			n++
		}
	}
	return n
}

func (f *fakeSlack) formOK(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := f.record(apiCall{Method: method, Form: readForm(r)})
		writeJSON(w, map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("ts")})
	}
}

func (f *fakeSlack) groupMembers(w http.ResponseWriter, r *http.Request) {
	c := f.record(apiCall{Method: "usergroups.users.list", Form: readForm(r)})
	f.mu.Lock()
	users := f.groups[c.Form.Get("usergroup")]
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "users": users})
}

func (f *fakeSlack) groupList(w http.ResponseWriter, r *http.Request) {
	f.record(apiCall{Method: "usergroups.list", Form: readForm(r)})
	f.mu.Lock()
	var list []map[string]any
	for id, users := range f.groups {
		list = append(list, map[string]any{"id": id, "users": users})
	}
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "usergroups": list})
}

func (f *fakeSlack) viewsOpen(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.record(apiCall{Method: "views.open", Body: body})
	writeJSON(w, map[string]any{"ok": true, "view": map[string]any{"id": "V123"}})
}

func (f *fakeSlack) respondHandler(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.record(apiCall{Method: "respond:" + strings.TrimPrefix(r.URL.Path, "/respond/"), Body: body})
	_, _ = w.Write([]byte("ok"))
}

// forgetResponses drops what was posted to response URLs, so that a test repeated with -count
// sees only its own answers (tests run one at a time).
func (f *fakeSlack) forgetResponses() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = slices.DeleteFunc(f.calls, func(c apiCall) bool { return strings.HasPrefix(c.Method, "respond:") })
}

// responses returns what was posted to the response_url named name.
func (f *fakeSlack) responses(name string) []map[string]any {
	var out []map[string]any
	for _, c := range f.snapshot() {
		if c.Method == "respond:"+name {
			out = append(out, c.Body)
		}
	}
	return out
}

// runCalls returns the calls that belong to one run, in order: its first message (found by the
// run's link), every reply in its thread, and every edit of a message in that thread.
func (f *fakeSlack) runCalls(workflowID string) []apiCall {
	all := f.snapshot()
	thread := ""
	for _, c := range all {
		if c.Method == "chat.postMessage" && !c.Failed && c.Form.Get("thread_ts") == "" &&
			strings.Contains(c.Form.Get("blocks"), url.PathEscape(workflowID)) {
			thread = c.TS
		}
	}
	if thread == "" {
		return nil
	}
	mine := map[string]bool{thread: true}
	var out []apiCall
	for _, c := range all {
		switch {
		case c.Method == "chat.postMessage" && (c.TS == thread || c.Form.Get("thread_ts") == thread):
			if c.TS != "" {
				mine[c.TS] = true
			}
			out = append(out, c)
		case c.Method == "chat.update" && mine[c.Form.Get("ts")]:
			out = append(out, c)
		}
	}
	return out
}
