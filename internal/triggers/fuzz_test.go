package triggers

// Fuzz targets for what reaches the alarm intake from outside: SQS message bodies and SNS
// messages (ParseEventBridge, ParseSNSAlarm, ParseMessage) and the SNS endpoint itself, which
// anyone who finds the URL can POST to. The seed corpora in testdata/fuzz are the EventBridge and
// SNS examples of the tests (AWS's documentation event, the lab's own event, a CloudWatch SNS
// payload, envelopes) and the malformed shapes the tests refuse.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// checkParse asserts the parsers' contract: an alarm has a name and a state and came by a known
// path; a failure is exactly one of ErrMalformed (delete, no retry can fix it) or ErrNotAlarm
// (acknowledge and ignore), because the SQS poller and the SNS endpoint act on that distinction.
func checkParse(t *testing.T, what string, body []byte, a Alarm, err error) {
	t.Helper()
	if err != nil {
		malformed, notAlarm := errors.Is(err, ErrMalformed), errors.Is(err, ErrNotAlarm)
		if malformed == notAlarm {
			t.Fatalf("%s(%q): error is neither or both of ErrMalformed and ErrNotAlarm: %v", what, body, err)
		}
		if a.Name != "" || a.State != "" || !a.At.IsZero() {
			t.Fatalf("%s(%q): an error came with an alarm: %+v", what, body, a)
		}
		return
	}
	if a.Name == "" || a.State == "" {
		t.Fatalf("%s(%q): alarm without a name or state: %+v", what, body, a)
	}
	if a.Source != SourceEventBridge && a.Source != SourceSNS {
		t.Fatalf("%s(%q): unknown source %q", what, body, a.Source)
	}
	if a.At.Location() != time.UTC {
		t.Fatalf("%s(%q): time %v is not in UTC: keys of one change would differ by path", what, body, a.At)
	}
	if !strings.HasPrefix(a.Key(), firstNonEmpty(a.ARN, a.Name)+"|"+a.State+"|") {
		t.Fatalf("%s(%q): key %q does not name the alarm and state", what, body, a.Key())
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func FuzzParseEventBridge(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseEventBridge(body)
		checkParse(t, "ParseEventBridge", body, a, err)
		if err == nil && a.Source != SourceEventBridge {
			t.Fatalf("ParseEventBridge gave source %q", a.Source)
		}
	})
}

func FuzzParseSNSAlarm(f *testing.F) {
	f.Fuzz(func(t *testing.T, message []byte) {
		a, err := ParseSNSAlarm(message)
		checkParse(t, "ParseSNSAlarm", message, a, err)
	})
}

// FuzzParseMessage also checks that surrounding white space, which SQS keeps, changes nothing.
func FuzzParseMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseMessage(body)
		checkParse(t, "ParseMessage", body, a, err)
		padded := append(append([]byte(" \n"), body...), '\n')
		b, perr := ParseMessage(padded)
		if (err == nil) != (perr == nil) || a.Key() != b.Key() || a.EventID != b.EventID {
			t.Fatalf("ParseMessage(%q) = %+v, %v but with white space around it %+v, %v", body, a, err, b, perr)
		}
	})
}

// twinHost stands in the seed corpus for the address of the test's SNS twin, which changes on
// every run: seeds name certificate and subscribe URLs on it, so that mutations reach the
// signature check and the certificate fetch instead of stopping at the host check.
const twinHost = "sns-twin.test"

// FuzzSNSHandler posts random bodies (and a random x-amz-sns-message-type header) to the SNS
// endpoint, configured like production except that it trusts the twin's host for certificates.
// Nobody but SNS holds the signing key, so no input may be accepted: never a 2xx, never a run
// started or an alarm signalled, never a subscription confirmed, and never a panic.
func FuzzSNSHandler(f *testing.F) {
	// One twin and handler serve every input: RSA keys take too long to make per input.
	tw := fuzzSNSTwin(f)
	tc := newFakeTemporal()
	rules, err := LoadDir(runbookDir)
	if err != nil {
		f.Fatal(err)
	}
	in, err := New(Options{Rules: rules, Temporal: tc, Logger: quietLogger(), Now: (&fakeClock{t: changeAt}).Now})
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewSNSHandler(SNSHandlerOptions{Intake: in, Verifier: tw.verifier(), Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, msgType string) {
		body = bytes.ReplaceAll(body, []byte(twinHost), []byte(tw.host()))
		req := httptest.NewRequest(http.MethodPost, "/alarms/sns", bytes.NewReader(body))
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		req = req.WithContext(ctx)
		if msgType != "" && !strings.ContainsAny(msgType, "\r\n\x00") {
			req.Header.Set("x-amz-sns-message-type", msgType)
		}
		invalid := in.Stats().Invalid
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d for an unsigned body %q: %s", rec.Code, body, rec.Body)
		}
		if n := tc.startCount(); n != 0 {
			t.Fatalf("an unsigned body started %d runs: %q", n, body)
		}
		if n := tw.confirmed.Load(); n != 0 {
			t.Fatalf("an unsigned body confirmed a subscription: %q", body)
		}
		st := in.Stats()
		if st.Started != 0 || st.Attached != 0 || st.Notified != 0 {
			t.Fatalf("an unsigned body was handled as an alarm: %+v", st)
		}
		if st.Invalid != invalid+1 {
			t.Fatalf("a refused body counted %d times as invalid, want once: %q", st.Invalid-invalid, body)
		}
	})
}

// fuzzSNSTwin is newSNSTwin for a fuzz target: the same certificate paths (valid, expired), a
// SubscribeURL that counts confirmations, served over TLS.
func fuzzSNSTwin(tb testing.TB) *snsTwin {
	tb.Helper()
	tw := &snsTwin{certPath: "/SimpleNotificationService-0123456789abcdef.pem"}
	var certPEM, expiredPEM []byte
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+tw.certPath, func(w http.ResponseWriter, _ *http.Request) {
		tw.certHits.Add(1)
		_, _ = w.Write(certPEM)
	})
	mux.HandleFunc("GET /SimpleNotificationService-00ff.pem", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(expiredPEM) })
	mux.HandleFunc("GET "+issuerPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tw.pki.inter.Raw) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "ConfirmSubscription" {
			tw.confirmed.Add(1)
			return
		}
		http.NotFound(w, r)
	})
	tw.srv = httptest.NewTLSServer(mux)
	tb.Cleanup(tw.srv.Close)
	tw.pki = newTestPKI(tb, tw.srv.URL+issuerPath)
	tw.key, certPEM = tw.pki.leaf(tb, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	_, expiredPEM = tw.pki.leaf(tb, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	return tw
}
