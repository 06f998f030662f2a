//go:build !nodev

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/internal/slackapp"
)

// benchIntakeOptions are the flags of `starter bench intake`.
type benchIntakeOptions struct {
	outputOptions
	runbooksOptions
	rate     float64
	duration time.Duration
	warmup   time.Duration
	kind     string
	// forgedEvery makes every Nth request a forged one (0: none).
	forgedEvery int
}

// BenchIntakeResult is what `starter bench intake --json` prints. Latencies are of the correctly
// signed requests sent after the warm-up, each measured from the moment the schedule said it
// was due (not when a busy sender got round to it), to the end of the response.
type BenchIntakeResult struct {
	Kind       string  `json:"kind"`
	TargetRPS  float64 `json:"target_rps"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	P50MS      float64 `json:"p50_ms"`
	P90MS      float64 `json:"p90_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
	SenderLate float64 `json:"sender_late_ms_p99"`
	// Forged requests (wrong secret, stale timestamp, body changed after signing, no signature)
	// are interleaved with the signed ones; every one must be refused with 401 and must never be
	// answered on its response_url.
	Forged         int   `json:"forged"`
	ForgedRefused  int   `json:"forged_401"`
	ForgedAnswered int64 `json:"forged_answered"`
	// Answered is how many response_url posts the fake Slack received for the signed requests:
	// each one is the background work of a request (a Temporal call, then the answer) done. The
	// warm-up's requests are included.
	Answered int64 `json:"answered"`
	GoalMet  bool  `json:"goal_met"`
}

// Goal of issue 6: p99 of the intake's acknowledgement at most 25 ms at 500 requests per second.
const (
	intakeGoalRPS   = 500
	intakeGoalP99MS = 25
)

func runBenchIntake(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench intake", cio)
	var o benchIntakeOptions
	o.outputOptions.register(fs, "print the figures as JSON")
	o.runbooksOptions.register(fs, cio, "runbook folder (for the embedded worker)")
	fs.Float64Var(&o.rate, "rate", intakeGoalRPS, "signed requests per second, sent on a fixed schedule")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before measuring, at the same rate (not counted)")
	fs.StringVar(&o.kind, "kind", "approve", "request: approve (block_actions click on a run that does not exist) or status (/switchyard status)")
	fs.IntVar(&o.forgedEvery, "forged-every", 50, "send a forged request after every N signed ones (0: none)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.rate <= 0 || o.duration <= 0 || o.warmup < 0 || o.forgedEvery < 0 {
		return errors.New("bench intake: want --rate > 0, --duration > 0, --warmup >= 0, --forged-every >= 0")
	}
	if o.kind != "approve" && o.kind != "status" {
		return fmt.Errorf("bench intake: --kind %q: want approve or status", o.kind)
	}
	quiet := slog.New(slog.DiscardHandler)
	port, err := devserver.FreePort()
	if err != nil {
		return err
	}
	env, err := startDev(ctx, devOptions{ip: "127.0.0.1", port: port, uiPort: -1, namespace: "default", runbooks: o.runbooks}, quiet)
	if err != nil {
		return err
	}
	defer env.stop()
	res, err := benchIntake(ctx, o, env.client, quiet)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	fmt.Fprintf(cio.stdout, "Slack intake (%s) over loopback HTTP, %.0f signed requests/s for %.1fs:\n", res.Kind, res.TargetRPS, res.Seconds)
	fmt.Fprintf(cio.stdout, "  %d requests, %d errors, %.1f rps answered\n", res.Requests, res.Errors, res.RPS)
	fmt.Fprintf(cio.stdout, "  latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (goal: p99 <= %d ms at %d rps)\n",
		res.P50MS, res.P90MS, res.P99MS, res.MaxMS, intakeGoalP99MS, intakeGoalRPS)
	fmt.Fprintf(cio.stdout, "  forged: %d sent, %d refused with 401, %d answered\n", res.Forged, res.ForgedRefused, res.ForgedAnswered)
	fmt.Fprintf(cio.stdout, "  background answers posted: %d\n", res.Answered)
	verdict := "met"
	if !res.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(cio.stdout, "goal %s\n", verdict)
	return nil
}

// benchIntake serves slackapp's handler as `starter serve` does (newIntakeServer) on a loopback
// port, with Slack's Web API and response_url pointed at a local fake, and drives it open-loop.
func benchIntake(ctx context.Context, o benchIntakeOptions, tc client.Client, logger *slog.Logger) (*BenchIntakeResult, error) {
	fake, err := startFakeSlackAPI()
	if err != nil {
		return nil, err
	}
	defer fake.close()
	const secret = "bench-signing-secret"
	h, err := slackapp.NewHandler(slackapp.HandlerOptions{Config: slackapp.Config{SigningSecret: secret, BotToken: "xoxb-bench",
		APIURL: fake.apiURL}, Temporal: tc, Logger: logger})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the intake: %w", err)
	}
	// The per-source rate limit is off: the bench drives one source far above it on purpose, to
	// measure the handler (serve's other limits apply).
	limits := defaultIntakeLimits
	limits.rate = 0
	srv := newIntakeServer(h, nil, logger, limits, nil)
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	base := "http://" + ln.Addr().String()

	// Enough idle connections that an open-loop burst never waits for one; Slack itself opens
	// as many as it needs.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096,
		IdleConnTimeout: time.Minute, DisableCompression: true}}
	defer hc.CloseIdleConnections()

	type sample struct {
		latency, late time.Duration
		status        int
		forged, warm  bool
		err           error
	}
	interval := time.Duration(float64(time.Second) / o.rate)
	total := int((o.warmup + o.duration).Seconds() * o.rate)
	warmN := int(o.warmup.Seconds() * o.rate)
	samples := make([]sample, 0, total+total/max(o.forgedEvery, 1)+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var seq atomic.Int64
	send := func(due time.Time, forged, warm bool, variant int) {
		defer wg.Done()
		n := seq.Add(1)
		req, err := intakeRequest(ctx, base, o.kind, secret, fake, n, forged, variant)
		s := sample{forged: forged, warm: warm}
		if err == nil {
			s.late = time.Since(due)
			var resp *http.Response
			resp, err = hc.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				s.status = resp.StatusCode
			}
			s.latency = time.Since(due)
		}
		s.err = err
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}

	start := time.Now().Add(20 * time.Millisecond)
	measureFrom := start.Add(time.Duration(warmN) * interval)
	forgedN := 0
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		wg.Add(1)
		go send(due, false, i < warmN, 0)
		if o.forgedEvery > 0 && i >= warmN && (i-warmN)%o.forgedEvery == o.forgedEvery-1 {
			wg.Add(1)
			go send(due, true, false, forgedN)
			forgedN++
		}
	}
	wg.Wait()
	end := time.Now()
	// Let the background work of the last requests finish, then count what reached the fake.
	drained := make(chan struct{})
	go func() { h.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(time.Minute):
	}

	res := &BenchIntakeResult{Kind: o.kind, TargetRPS: o.rate, Seconds: end.Sub(measureFrom).Seconds()}
	var lat, late []float64
	for _, s := range samples {
		if s.warm {
			continue
		}
		if s.forged {
			res.Forged++
			if s.err == nil && s.status == http.StatusUnauthorized {
				res.ForgedRefused++
			} else {
				res.Errors++
			}
			continue
		}
		res.Requests++
		if s.err != nil || s.status != http.StatusOK {
			res.Errors++
			continue
		}
		lat = append(lat, float64(s.latency.Microseconds())/1000)
		late = append(late, float64(s.late.Microseconds())/1000)
	}
	sort.Float64s(lat)
	sort.Float64s(late)
	res.P50MS, res.P90MS, res.P99MS = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
	res.SenderLate = percentile(late, 99)
	if len(lat) > 0 {
		res.MaxMS = lat[len(lat)-1]
	}
	if res.Seconds > 0 {
		res.RPS = float64(len(lat)) / res.Seconds
	}
	res.Answered = fake.answered.Load()
	res.ForgedAnswered = fake.forgedAnswered.Load()
	res.GoalMet = res.Errors == 0 && res.ForgedRefused == res.Forged && res.ForgedAnswered == 0 &&
		res.TargetRPS >= intakeGoalRPS && res.RPS >= 0.98*res.TargetRPS && res.P99MS <= intakeGoalP99MS
	return res, nil
}

// percentile is the nearest-rank percentile of sorted xs (0 when empty).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// intakeRequest builds request n as Slack sends it, signed with secret: v0=HMAC-SHA256 of
// "v0:timestamp:body". A forged one is wrong in one of four ways, chosen by variant.
func intakeRequest(ctx context.Context, base, kind, secret string, fake *fakeSlackAPI, n int64, forged bool, variant int) (*http.Request, error) {
	respond := fake.apiURL + "respond/bench"
	if forged {
		respond = fake.apiURL + "respond/forged"
	}
	var path, body string
	switch kind {
	case "status":
		path = slackapp.CommandsPath
		body = url.Values{"command": {"/switchyard"}, "text": {"status"}, "user_id": {"U_BENCH"}, "channel_id": {"C_BENCH"},
			"response_url": {respond}, "trigger_id": {fmt.Sprintf("trigger-%d", n)}}.Encode()
	default:
		path = slackapp.InteractionsPath
		// The approve button of a run that does not exist: the click is verified and answered at
		// once; in the background the run's progress is queried, found missing, and the clicker
		// told so on the response_url.
		value, err := json.Marshal(map[string]string{"workflow_id": fmt.Sprintf("switchyard/bench/none-%d", n), "run_id": "", "step": "approve"})
		if err != nil {
			return nil, err
		}
		actionTS := fmt.Sprintf("%d.%06d", time.Now().Unix(), n%1_000_000)
		payload, err := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": "U_BENCH", "username": "bench"},
			"trigger_id": fmt.Sprintf("trigger-%d", n), "response_url": respond,
			"container": map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C_BENCH"},
			"channel":   map[string]any{"id": "C_BENCH"}, "message": map[string]any{"ts": "1700000000.000100"},
			"actions": []map[string]any{{"action_id": "switchyard_approve", "block_id": "switchyard_approval", "type": "button",
				"value": string(value), "action_ts": actionTS}},
		})
		if err != nil {
			return nil, err
		}
		body = url.Values{"payload": {string(payload)}}.Encode()
	}
	at, key, signed := time.Now(), secret, body
	if forged {
		switch variant % 4 {
		case 0:
			key = "not-the-secret"
		case 1:
			at = at.Add(-10 * time.Minute)
		case 2:
			body = strings.Replace(body, "U_BENCH", "U_MALLORY", 1)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !forged || variant%4 != 3 {
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(key))
		fmt.Fprintf(mac, "v0:%s:%s", ts, signed)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	}
	return req, nil
}

// fakeSlackAPI answers every Web API method with ok and counts the response_url posts, so that
// nothing the handler sends leaves the machine.
type fakeSlackAPI struct {
	srv                      *http.Server
	apiURL                   string
	answered, forgedAnswered atomic.Int64
}

func startFakeSlackAPI() (*fakeSlackAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the fake Slack API: %w", err)
	}
	f := &fakeSlackAPI{apiURL: "http://" + ln.Addr().String() + "/api/"}
	f.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/api/respond/bench":
			f.answered.Add(1)
		case "/api/respond/forged":
			f.forgedAnswered.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeSlackAPI) close() { _ = f.srv.Close() }
