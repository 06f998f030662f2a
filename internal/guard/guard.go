// Package guard bounds what the intake's public endpoints (/slack/* and /alarms/*) accept before
// any handler sees a request: a body size limit, and a per-source rate limit answered with 429
// and Retry-After.
//
// Why it is shaped this way:
//
//   - The source is who sent the request, as far as it can be known: the Slack team of a request
//     whose signature verifies, the SNS topic of a message whose signature verifies, and
//     otherwise the remote address. Keying by a claimed team or topic before verification would
//     let anyone who knows a team id spend that team's budget and lock its people out; keying
//     every Slack request by address would put every team behind Slack's few egress addresses
//     into one bucket.
//   - A refused request loses nothing: Slack shows the person the error and the CLI and the
//     Temporal UI keep working; SNS treats 429 as a failed delivery and retries it by the
//     subscription's delivery policy (https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).
//   - Buckets are token buckets on an injected clock, so tests decide time and assert exact
//     answers instead of racing a wall clock.
package guard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Refusal reasons passed to Options.OnRefuse.
const (
	RefusedTooLarge    = "too_large"
	RefusedRateLimited = "rate_limited"
)

// Limiter is a set of token buckets, one per source: each holds up to burst tokens, refills at
// rate per second, and a request takes one. It is safe for concurrent use.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	maxKeys int
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter of rate requests per second per source with bursts of burst
// (at least 1). A rate <= 0 returns nil, which allows everything. now nil means time.Now.
func NewLimiter(rate float64, burst int, now func() time.Time) *Limiter {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), now: now, buckets: map[string]*bucket{}, maxKeys: 10_000}
}

// Allow takes a token from source's bucket. When there is none it reports how long until there
// will be one.
func (l *Limiter) Allow(source string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[source]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[source] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// sweep forgets the buckets that have refilled (a new bucket starts full, so forgetting them
// changes no answer); if every source is still busy, it forgets them all rather than grow
// without bound under a flood of addresses.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}

// Options configure Wrap.
type Options struct {
	// MaxBody bounds a request's body in bytes; a larger one gets 413. <= 0 means no bound here.
	MaxBody int64
	// Limiter limits requests per source; nil allows every request.
	Limiter *Limiter
	// Source names the request's sender from its headers and body, or "" when it cannot be
	// known (the remote address is used then). Only verified identities should be returned.
	Source func(r *http.Request, body []byte) string
	// OnRefuse is told about each refused request (for counters); may be nil.
	OnRefuse func(r *http.Request, source, reason string)
	// Logger logs refusals; nil means slog.Default().
	Logger *slog.Logger
}

// Wrap returns next behind the body limit and the rate limit. The body is read (up to MaxBody)
// before next runs and handed to it unchanged.
func Wrap(next http.Handler, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var err error
		if o.MaxBody > 0 {
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBody))
		} else {
			body, err = io.ReadAll(r.Body)
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				refuse(o, r, RemoteSource(r), RefusedTooLarge)
				http.Error(w, fmt.Sprintf("request body larger than %d bytes", o.MaxBody), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "request body unreadable", http.StatusBadRequest)
			return
		}
		source := ""
		if o.Source != nil && o.Limiter != nil {
			source = o.Source(r, body)
		}
		if source == "" {
			source = RemoteSource(r)
		}
		if ok, wait := o.Limiter.Allow(source); !ok {
			refuse(o, r, source, RefusedRateLimited)
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(wait)))
			http.Error(w, "too many requests from "+source+"; retry later", http.StatusTooManyRequests)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func refuse(o Options, r *http.Request, source, reason string) {
	// A flood is refused by the thousand: counted by OnRefuse, logged at debug level only.
	level := slog.LevelWarn
	if reason == RefusedRateLimited {
		level = slog.LevelDebug
	}
	o.Logger.Log(r.Context(), level, "intake: request refused", "path", r.URL.Path, "source", source, "reason", reason)
	if o.OnRefuse != nil {
		o.OnRefuse(r, source, reason)
	}
}

// RetryAfterSeconds is the Retry-After value for a wait: whole seconds, rounded up, at least 1.
func RetryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// RemoteSource names a request's remote address (its host, without the port).
func RemoteSource(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "address " + host
}
