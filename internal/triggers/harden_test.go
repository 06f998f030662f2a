package triggers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A certificate is used only when its chain ends at a trusted root: one served from an allowed
// host but issued by nobody the roots know (here self-signed) is refused, and so is the twin's
// genuine chain under the system's roots, which do not hold the twin's CA.
func TestVerifyChecksTheChain(t *testing.T) {
	tw := newSNSTwin(t)
	signedWith := func(certPath string) SNSMessage {
		m := notification(snsPayload)
		m.SigningCertURL = tw.srv.URL + certPath
		tw.sign(t, &m, "2", tw.key)
		return m
	}

	// The genuine chain: the leaf from the file, the intermediate from its AIA URL, the root.
	m := signedWith(tw.certPath)
	require.NoError(t, tw.verifier().Verify(context.Background(), &m))

	// A self-signed certificate on an allowed host, whose key signed the message: refused.
	v := tw.verifier()
	m = notification(snsPayload)
	m.SigningCertURL = tw.srv.URL + "/SimpleNotificationService-5e1f.pem"
	tw.sign(t, &m, "2", tw.selfKey)
	err := v.Verify(context.Background(), &m)
	require.ErrorIs(t, err, ErrUnverified)
	require.ErrorContains(t, err, "chain not verified against the system's roots")

	// The twin's chain under the system's roots (production): refused.
	v = tw.verifier()
	v.roots = nil
	m = signedWith(tw.certPath)
	err = v.Verify(context.Background(), &m)
	require.ErrorIs(t, err, ErrUnverified)
	require.ErrorContains(t, err, "chain not verified against the system's roots")

	// An AIA URL off Amazon Trust Services' hosts is not fetched.
	v = tw.verifier()
	v.allowIssuerURL = amazonTrustURL
	m = signedWith(tw.certPath)
	err = v.Verify(context.Background(), &m)
	require.ErrorIs(t, err, ErrUnverified)
	require.ErrorContains(t, err, "no issuer URL on Amazon Trust Services' hosts")
}

func TestAmazonTrustURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://crt.r2m02.amazontrust.com/r2m02.cer":   true,
		"https://www.amazontrust.com/repository/x.pem": true,
		"http://amazontrust.com/x.cer":                 true,
		"http://amazontrust.com.example.org/x.cer":     false,
		"http://evilamazontrust.com/x.cer":             false,
		"http://crt.r2m02.amazontrust.com:8080/x.cer":  false,
		"http://user@crt.r2m02.amazontrust.com/x.cer":  false,
		"ftp://crt.r2m02.amazontrust.com/x.cer":        false,
		"http://169.254.169.254/latest/meta-data/":     false,
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, want, amazonTrustURL(u), raw)
	}
}

// An alarm event older than the max age is recorded (stats, log, recent decisions, with what the
// rules would have done) and not acted on; a fresh one is acted on; the age is configurable.
func TestStaleAlarmIsRecordedNotActedOn(t *testing.T) {
	tc := newFakeTemporal()
	clock := &fakeClock{t: changeAt.Add(16 * time.Minute)}
	in := newTestIntake(t, tc, clock, nil)
	ctx := context.Background()

	ds, err := in.HandleMessage(ctx, labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, ActionIgnore, ds[0].Action)
	require.Equal(t, "stale: alarm lab-us-east-1-pipeline-not-ingesting changed state at 2026-11-22T10:04:40Z, 16m0s ago, longer than "+
		"the intake's max age 15m0s; recorded, not acted on; the rules say: rule pipeline-not-ingesting (auto): alarm "+
		"lab-us-east-1-pipeline-not-ingesting is ALARM", ds[0].Reason)
	require.Equal(t, "lab", ds[0].Environment)
	require.Empty(t, tc.starts)
	require.Empty(t, tc.signals)
	st := in.Stats()
	require.Equal(t, Stats{Received: 1, Ignored: 1, Stale: 1}, st)
	require.Len(t, in.Recent(), 1)
	require.Contains(t, in.Recent()[0].Reason, "stale:")

	// Within the max age: started.
	ds, err = in.HandleMessage(ctx, labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt.Add(2*time.Minute)))
	require.NoError(t, err)
	require.Equal(t, ActionStart, ds[0].Action, ds[0].Reason)
	require.Len(t, tc.starts, 1)

	// A longer max age acts on the 16-minute-old event.
	tc2 := newFakeTemporal()
	in2, err := New(Options{Rules: labSet(t), Temporal: tc2, Logger: quietLogger(), Now: clock.Now, MaxAge: time.Hour})
	require.NoError(t, err)
	ds, err = in2.HandleMessage(ctx, labEvent("us-east-1", "lab-us-east-1-pipeline-not-ingesting", "ALARM", changeAt))
	require.NoError(t, err)
	require.Equal(t, ActionStart, ds[0].Action, ds[0].Reason)
	require.Zero(t, in2.Stats().Stale)
}

// Over SNS, the message's Timestamp counts too: a notification SNS published 20 minutes ago is
// stale even though the alarm's own time is recent; it is acknowledged (200: retrying cannot
// make it fresh) and starts nothing.
func TestSNSStaleByPublishTime(t *testing.T) {
	tw := newSNSTwin(t)
	tc := newFakeTemporal()
	in := newTestIntake(t, tc, &fakeClock{t: changeAt.Add(20 * time.Minute)}, nil)
	h, err := NewSNSHandler(SNSHandlerOptions{Intake: in, Verifier: tw.verifier(), Logger: quietLogger()})
	require.NoError(t, err)
	// The alarm changed state 1 minute ago; SNS's Timestamp (notification) is changeAt.
	m := notification(strings.Replace(snsPayload, "10:04:40.989", "10:23:40.989", 1))
	tw.sign(t, &m, "2", tw.key)
	body, err := json.Marshal(m)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/alarms/sns", bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "was published at 2026-11-22T10:04:41Z, 20m0s ago")
	require.Empty(t, tc.starts)
	require.Equal(t, int64(1), in.Stats().Stale)
}

// Only a verified message of an accepted topic names its topic for the rate limit; anything
// else names nobody and is limited by its address.
func TestSNSRequestSourceIsTheVerifiedTopic(t *testing.T) {
	tw := newSNSTwin(t)
	in := newTestIntake(t, newFakeTemporal(), &fakeClock{t: changeAt}, nil)
	h, err := NewSNSHandler(SNSHandlerOptions{Intake: in, Verifier: tw.verifier(), Logger: quietLogger()})
	require.NoError(t, err)
	body := func(m SNSMessage) []byte {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	m := notification(snsPayload)
	tw.sign(t, &m, "2", tw.key)
	require.Equal(t, "sns topic "+testTopic, h.RequestSource(context.Background(), body(m)))
	forged := m
	forged.Message = strings.Replace(forged.Message, "ALARM", "OK", 1)
	require.Empty(t, h.RequestSource(context.Background(), body(forged)))
	other := notification(snsPayload)
	other.TopicArn = "arn:aws:sns:us-east-1:999999999999:other"
	tw.sign(t, &other, "2", tw.key)
	require.Empty(t, h.RequestSource(context.Background(), body(other)))
	require.Empty(t, h.RequestSource(context.Background(), []byte("{not json")))
}
