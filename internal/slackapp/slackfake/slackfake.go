// Package slackfake is the part of a fake Slack Web API that tests of the notifier's retry
// dedupe must get right: a workspace's messages and the two methods that read them back,
// conversations.history and conversations.replies, served as Slack serves them to an app that is
// not approved for the Slack Marketplace.
//
// Since 2025 such apps get both methods at Tier 1 — one request per minute — and a `limit` whose
// maximum and default are 15 objects (Slack changelog, "Rate limit changes for non-Marketplace
// apps", https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq: new apps and
// installs from 2025-05-29, existing installs later). Over the limit Slack answers HTTP 429 with
// a Retry-After header in seconds (https://api.slack.com/apis/rate-limits). Message metadata is
// returned only when the call asks for it with include_all_metadata
// (https://api.slack.com/methods/conversations.replies). A fake that answered every lookup
// generously would hide a notifier that scans a channel or retries its lookups in a loop.
//
// The clock is injectable so that tests move past the one-minute window without waiting.
package slackfake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits of a Tier 1 read method for a non-Marketplace app.
const (
	// ReadWindow is how long one call of conversations.history or conversations.replies uses up
	// the method for a token: 1 request per minute.
	ReadWindow = time.Minute
	// MaxLimit is the largest page, and the page size when limit is absent.
	MaxLimit = 15
)

// Message is a posted message as the workspace stores it.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the parent's ts for a reply; empty for a top-level message.
	ThreadTS string
	// Broadcast marks a reply also sent to the channel (reply_broadcast): it shows in history.
	Broadcast bool
	Text      string
	// Metadata is the message metadata as posted (event_type and event_payload), or nil.
	Metadata map[string]any
}

// Options configures a Workspace.
type Options struct {
	// Now is the clock for timestamps and rate-limit windows; nil means time.Now. Keep it close
	// to the wall clock (see Clock): clients compute `oldest` from their own clocks.
	Now func() time.Time
	// Channels maps channel names ("#ops") to ids; a name not listed is its own id.
	Channels map[string]string
}

// Workspace holds the messages of a fake Slack workspace.
type Workspace struct {
	opts Options

	mu     sync.Mutex
	msgs   []Message
	lastTS time.Time
	// lastRead is when each method last served each token ("method token").
	lastRead map[string]time.Time
	// reads counts the read calls served and refused, by method.
	reads, limited map[string]int
}

// New returns an empty workspace.
func New(opts Options) *Workspace {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Workspace{opts: opts, lastRead: map[string]time.Time{}, reads: map[string]int{}, limited: map[string]int{}}
}

// ChannelID resolves a channel name to its id.
func (w *Workspace) ChannelID(channel string) string {
	if id, ok := w.opts.Channels[channel]; ok {
		return id
	}
	return channel
}

// Post stores a message from chat.postMessage's parameters and returns its ts: the clock's time
// as "seconds.microseconds", unique and increasing like Slack's. metadata is the JSON the call
// carried ("" for none).
func (w *Workspace) Post(channel, threadTS, text, metadata string, broadcast bool) Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opts.Now().Truncate(time.Microsecond)
	if !now.After(w.lastTS) {
		now = w.lastTS.Add(time.Microsecond)
	}
	w.lastTS = now
	m := Message{Channel: w.ChannelID(channel), TS: formatTS(now), ThreadTS: threadTS, Broadcast: broadcast, Text: text}
	if metadata != "" {
		_ = json.Unmarshal([]byte(metadata), &m.Metadata) // Slack rejects bad metadata; tests send good
	}
	w.msgs = append(w.msgs, m)
	return m
}

// Messages returns every stored message, in post order.
func (w *Workspace) Messages() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

// Reads returns how many calls of a read method were served and how many were refused with 429.
func (w *Workspace) Reads(method string) (served, limited int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reads[method], w.limited[method]
}

func formatTS(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }

// parseTS reads a Slack timestamp ("1700000000.000100") as microseconds; ok is false for
// anything else.
func parseTS(s string) (int64, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || len(frac) > 6 {
		return 0, false
	}
	var us int64
	if frac != "" {
		if us, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil || us < 0 {
			return 0, false
		}
	}
	return n*1_000_000 + us, true
}

// ServeRead answers conversations.history or conversations.replies (method) from the stored
// messages, with the Tier 1 limits.
func (w *Workspace) ServeRead(rw http.ResponseWriter, r *http.Request, method string) {
	_ = r.ParseForm() // slack-go sends a form; GET query parameters land in r.Form as well
	q := r.Form
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = q.Get("token")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opts.Now()
	key := method + " " + token
	if last, ok := w.lastRead[key]; ok && now.Before(last.Add(ReadWindow)) {
		w.limited[method]++
		wait := int(math.Ceil(last.Add(ReadWindow).Sub(now).Seconds()))
		rw.Header().Set("Retry-After", strconv.Itoa(max(wait, 1)))
		writeJSON(rw, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	w.lastRead[key] = now
	w.reads[method]++
	resp, errCode := w.read(method, q, now)
	if errCode != "" {
		writeJSON(rw, http.StatusOK, map[string]any{"ok": false, "error": errCode})
		return
	}
	writeJSON(rw, http.StatusOK, resp)
}

// read selects a page. Callers hold w.mu.
func (w *Workspace) read(method string, q map[string][]string, now time.Time) (map[string]any, string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	channel := w.ChannelID(get("channel"))
	if channel == "" {
		return nil, "channel_not_found"
	}
	limit := MaxLimit
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, "invalid_limit"
		}
		if n > 0 && n < MaxLimit {
			limit = n
		}
	}
	oldest, latest := int64(0), now.UnixMicro()
	if s := get("oldest"); s != "" {
		v, ok := parseTS(s)
		if !ok {
			return nil, "invalid_ts_oldest"
		}
		oldest = v
	}
	if s := get("latest"); s != "" {
		v, ok := parseTS(s)
		if !ok {
			return nil, "invalid_ts_latest"
		}
		latest = v
	}
	inclusive := get("inclusive") == "1" || get("inclusive") == "true"
	withMeta := get("include_all_metadata") == "1" || get("include_all_metadata") == "true"

	var sel []Message
	replies := method == "conversations.replies"
	if replies {
		parent := get("ts")
		found := false
		for _, m := range w.msgs {
			found = found || (m.Channel == channel && m.TS == parent)
		}
		if !found {
			return nil, "thread_not_found"
		}
		for _, m := range w.msgs {
			if m.Channel == channel && (m.TS == parent || m.ThreadTS == parent) {
				sel = append(sel, m)
			}
		}
	} else {
		for _, m := range w.msgs {
			if m.Channel == channel && (m.ThreadTS == "" || m.Broadcast) {
				sel = append(sel, m)
			}
		}
	}
	sel = slices.DeleteFunc(sel, func(m Message) bool {
		v, _ := parseTS(m.TS)
		if inclusive {
			return v < oldest || v > latest
		}
		return v <= oldest || v >= latest
	})
	// A thread reads oldest first, a channel's history newest first.
	slices.SortFunc(sel, func(a, b Message) int {
		x, _ := parseTS(a.TS)
		y, _ := parseTS(b.TS)
		if !replies {
			x, y = y, x
		}
		return cmp.Compare(x, y)
	})
	if c := get("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		next, ok := strings.CutPrefix(string(raw), "next_ts:")
		if err != nil || !ok {
			return nil, "invalid_cursor"
		}
		i := slices.IndexFunc(sel, func(m Message) bool { return m.TS == next })
		if i < 0 {
			return nil, "invalid_cursor"
		}
		sel = sel[i:]
	}
	hasMore := len(sel) > limit
	out := map[string]any{"ok": true, "has_more": hasMore}
	if hasMore {
		out["response_metadata"] = map[string]any{"next_cursor": base64.StdEncoding.EncodeToString([]byte("next_ts:" + sel[limit].TS))}
		sel = sel[:limit]
	}
	msgs := make([]map[string]any, 0, len(sel))
	for _, m := range sel {
		o := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if m.ThreadTS != "" {
			o["thread_ts"] = m.ThreadTS
		}
		if withMeta && m.Metadata != nil {
			o["metadata"] = m.Metadata
		}
		msgs = append(msgs, o)
	}
	out["messages"] = msgs
	return out, ""
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// Clock is the wall clock plus an offset that tests advance: timestamps stay comparable with
// the times clients compute `oldest` from, and a test passes a rate-limit window at once.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the wall clock plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
