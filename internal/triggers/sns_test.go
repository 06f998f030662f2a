package triggers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testTopic = "arn:aws:sns:us-east-1:111122223333:production-dr-alarms"

// snsTwin serves a signing certificate and a SubscribeURL over TLS, the two things SNS hosts,
// and signs messages with the certificate's key. Like AWS's, the certificate is a leaf issued by
// an intermediate CA that the file leaves out and the leaf's AIA URL names (served by the twin
// too); the intermediate is issued by the twin's root, which the twin's verifiers trust in
// place of the system's roots.
type snsTwin struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	certPath  string
	certHits  atomic.Int64
	confirmed atomic.Int64
	pki       *testPKI
	selfKey   *rsa.PrivateKey // the key of the self-signed certificate at /SimpleNotificationService-5e1f.pem
}

func selfSigned(t *testing.T, notBefore, notAfter time.Time) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newSNSTwin(t *testing.T) *snsTwin {
	t.Helper()
	tw := &snsTwin{certPath: "/SimpleNotificationService-0123456789abcdef.pem"}
	var certPEM, expiredPEM, selfPEM []byte
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+tw.certPath, func(w http.ResponseWriter, _ *http.Request) {
		tw.certHits.Add(1)
		_, _ = w.Write(certPEM)
	})
	mux.HandleFunc("GET /SimpleNotificationService-00ff.pem", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(expiredPEM) })
	mux.HandleFunc("GET /SimpleNotificationService-5e1f.pem", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(selfPEM) })
	mux.HandleFunc("GET /other.pem", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(certPEM) })
	mux.HandleFunc("GET "+issuerPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tw.pki.inter.Raw) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "ConfirmSubscription" && r.URL.Query().Get("Token") == "tok" {
			tw.confirmed.Add(1)
			return
		}
		http.NotFound(w, r)
	})
	tw.srv = httptest.NewTLSServer(mux)
	t.Cleanup(tw.srv.Close)
	tw.pki = newTestPKI(t, tw.srv.URL+issuerPath)
	tw.key, certPEM = tw.pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	_, expiredPEM = tw.pki.leaf(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	tw.selfKey, selfPEM = selfSigned(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	return tw
}

func (tw *snsTwin) host() string { return strings.TrimPrefix(tw.srv.URL, "https://") }

// verifier trusts the twin's TLS certificate, host and root CA; production code cannot do this.
func (tw *snsTwin) verifier() *Verifier {
	v := NewVerifier(tw.srv.Client())
	v.allowHost = func(h string) bool { return h == tw.host() }
	v.allowIssuerURL = func(u *url.URL) bool { return u.Host == tw.host() }
	v.roots = tw.pki.roots()
	return v
}

func (tw *snsTwin) sign(t *testing.T, m *SNSMessage, version string, key *rsa.PrivateKey) {
	t.Helper()
	m.SignatureVersion = version
	if m.SigningCertURL == "" {
		m.SigningCertURL = tw.srv.URL + tw.certPath
	}
	text, err := m.StringToSign()
	require.NoError(t, err)
	var sig []byte
	if version == "1" {
		d := sha1.Sum([]byte(text)) //nolint:gosec // SignatureVersion 1
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, d[:])
	} else {
		d := sha256.Sum256([]byte(text))
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	require.NoError(t, err)
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

func notification(message string) SNSMessage {
	subject := "ALARM: lab"
	return SNSMessage{Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicArn: testTopic,
		Subject: &subject, Message: message, Timestamp: "2026-11-22T10:04:41.000Z"}
}

func TestVerify(t *testing.T) {
	tw := newSNSTwin(t)
	otherKey, _ := selfSigned(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	foreign := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(foreign.Close)

	cases := []struct {
		name    string
		build   func() SNSMessage
		v       func() *Verifier
		wantErr string // "" means verified
		fetches bool   // whether the certificate may be fetched
	}{
		{name: "SignatureVersion 1 (SHA1)", build: func() SNSMessage { m := notification(snsPayload); tw.sign(t, &m, "1", tw.key); return m }, fetches: true},
		{name: "SignatureVersion 2 (SHA256)", build: func() SNSMessage { m := notification(snsPayload); tw.sign(t, &m, "2", tw.key); return m }, fetches: true},
		{name: "no subject", build: func() SNSMessage {
			m := notification(snsPayload)
			m.Subject = nil
			tw.sign(t, &m, "2", tw.key)
			return m
		}, fetches: true},
		{name: "subscription confirmation", build: func() SNSMessage {
			m := SNSMessage{Type: "SubscriptionConfirmation", MessageID: "1", Token: "tok", TopicArn: testTopic, Message: "confirm",
				SubscribeURL: tw.srv.URL + "/?Action=ConfirmSubscription&Token=tok", Timestamp: "2026-11-22T10:04:41.000Z"}
			tw.sign(t, &m, "2", tw.key)
			return m
		}, fetches: true},
		{name: "message changed after signing", build: func() SNSMessage {
			m := notification(snsPayload)
			tw.sign(t, &m, "2", tw.key)
			m.Message = strings.Replace(m.Message, "us-west-2", "us-east-1", 1)
			return m
		}, wantErr: "bad signature (SignatureVersion 2)", fetches: true},
		{name: "subject dropped after signing", build: func() SNSMessage {
			m := notification(snsPayload)
			tw.sign(t, &m, "1", tw.key)
			m.Subject = nil
			return m
		}, wantErr: "bad signature (SignatureVersion 1)", fetches: true},
		{name: "signed by another key", build: func() SNSMessage { m := notification(snsPayload); tw.sign(t, &m, "2", otherKey); return m },
			wantErr: "bad signature", fetches: true},
		{name: "unknown SignatureVersion", build: func() SNSMessage {
			m := notification(snsPayload)
			tw.sign(t, &m, "2", tw.key)
			m.SignatureVersion = "3"
			return m
		},
			wantErr: `SignatureVersion "3" (want 1 or 2)`},
		{name: "certificate over http", build: func() SNSMessage {
			m := notification(snsPayload)
			m.SigningCertURL = "http://" + tw.host() + tw.certPath
			tw.sign(t, &m, "2", tw.key)
			return m
		}, wantErr: "is not https"},
		{name: "certificate on a foreign host", build: func() SNSMessage {
			m := notification(snsPayload)
			m.SigningCertURL = foreign.URL + tw.certPath
			tw.sign(t, &m, "2", tw.key)
			return m
		}, wantErr: "is not on an SNS host of AWS"},
		{name: "certificate at a path SNS does not use", build: func() SNSMessage {
			m := notification(snsPayload)
			m.SigningCertURL = tw.srv.URL + "/other.pem"
			tw.sign(t, &m, "2", tw.key)
			return m
		}, wantErr: "is not an SNS certificate path"},
		{name: "expired certificate", build: func() SNSMessage {
			m := notification(snsPayload)
			m.SigningCertURL = tw.srv.URL + "/SimpleNotificationService-00ff.pem"
			tw.sign(t, &m, "2", tw.key)
			return m
		}, wantErr: "is not valid now", fetches: true},
		{name: "signature not base64", build: func() SNSMessage {
			m := notification(snsPayload)
			tw.sign(t, &m, "2", tw.key)
			m.Signature = "%%%"
			return m
		},
			wantErr: "Signature is not base64"},
		{name: "production rule refuses the test host even with a valid signature", build: func() SNSMessage {
			m := notification(snsPayload)
			tw.sign(t, &m, "2", tw.key)
			return m
		}, v: func() *Verifier { return NewVerifier(tw.srv.Client()) }, wantErr: "is not on an SNS host of AWS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tw.verifier()
			if tc.v != nil {
				v = tc.v()
			}
			m := tc.build()
			before := tw.certHits.Load()
			err := v.Verify(context.Background(), &m)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrUnverified)
				require.ErrorContains(t, err, tc.wantErr)
			}
			if !tc.fetches {
				require.Equal(t, before, tw.certHits.Load(), "no certificate may be fetched")
			}
		})
	}
}

func TestCertificatesAreCached(t *testing.T) {
	tw := newSNSTwin(t)
	v := tw.verifier()
	for range 3 {
		m := notification(snsPayload)
		tw.sign(t, &m, "2", tw.key)
		require.NoError(t, v.Verify(context.Background(), &m))
	}
	require.Equal(t, int64(1), tw.certHits.Load())
}

func TestIsSNSHost(t *testing.T) {
	for host, want := range map[string]bool{
		"sns.us-east-1.amazonaws.com":          true,
		"sns.us-gov-west-1.amazonaws.com":      true,
		"sns.cn-north-1.amazonaws.com.cn":      true,
		"sns.us-east-1.amazonaws.com.evil.com": false,
		"evilsns.us-east-1.amazonaws.com":      false,
		"sns.us-east-1.amazonaws.com.cn":       false,
		"sqs.us-east-1.amazonaws.com":          false,
		"sns..amazonaws.com":                   false,
	} {
		require.Equal(t, want, IsSNSHost(host), host)
	}
	require.False(t, awsHost("sns.us-east-1.amazonaws.com:8443"), "a port is refused")
	require.True(t, awsHost("sns.us-east-1.amazonaws.com"))
}

func TestSNSHandler(t *testing.T) {
	tw := newSNSTwin(t)
	tc := newFakeTemporal()
	in := newTestIntake(t, tc, &fakeClock{t: changeAt}, nil)
	h, err := NewSNSHandler(SNSHandlerOptions{Intake: in, Verifier: tw.verifier(), Logger: quietLogger()})
	require.NoError(t, err)
	post := func(m any) *httptest.ResponseRecorder {
		var body []byte
		if b, ok := m.([]byte); ok {
			body = b
		} else {
			body, err = json.Marshal(m)
			require.NoError(t, err)
		}
		req := httptest.NewRequest(http.MethodPost, "/alarms/sns", bytes.NewReader(body))
		if sm, ok := m.(SNSMessage); ok {
			req.Header.Set("x-amz-sns-message-type", sm.Type)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	signed := func(m SNSMessage) SNSMessage { tw.sign(t, &m, "2", tw.key); return m }
	confirmation := func(topic string) SNSMessage {
		return signed(SNSMessage{Type: "SubscriptionConfirmation", MessageID: "c1", Token: "tok", TopicArn: topic, Message: "You have chosen to subscribe",
			SubscribeURL: tw.srv.URL + "/?Action=ConfirmSubscription&Token=tok&TopicArn=" + url.QueryEscape(topic), Timestamp: "2026-11-22T10:00:00.000Z"})
	}

	// A forged notification: refused, nothing reaches Temporal.
	forged := signed(notification(snsPayload))
	forged.Message = strings.Replace(forged.Message, "ALARM", "OK", 1)
	require.Equal(t, http.StatusForbidden, post(forged).Code)
	require.Empty(t, tc.signals)

	// An unknown topic: refused before any certificate is fetched, subscription never confirmed.
	hits := tw.certHits.Load()
	require.Equal(t, http.StatusForbidden, post(confirmation("arn:aws:sns:us-east-1:999999999999:other")).Code)
	require.Equal(t, hits, tw.certHits.Load())
	require.Equal(t, int64(0), tw.confirmed.Load())

	// The configured topic's subscription is confirmed by visiting SubscribeURL.
	require.Equal(t, http.StatusOK, post(confirmation(testTopic)).Code)
	require.Equal(t, int64(1), tw.confirmed.Load())

	// Malformed bodies: 400.
	require.Equal(t, http.StatusBadRequest, post([]byte("{not json")).Code)
	require.Equal(t, http.StatusBadRequest, post([]byte(`{"TopicArn":"`+testTopic+`"}`)).Code)

	// A verified notification that is not an alarm: acknowledged, ignored.
	require.Equal(t, http.StatusOK, post(signed(notification(`{"notificationType":"Bounce"}`))).Code)
	require.Empty(t, tc.signals)

	// The genuine alarm: a run starts.
	rec := post(signed(notification(snsPayload)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, tc.starts, 1)
	require.Equal(t, "us-east-1", tc.starts[0].Params["target"])
	var resp struct{ Decisions []Decision }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Equal(t, ActionStart, resp.Decisions[0].Action)

	// Temporal down: 500 so that SNS delivers again.
	tc.setErr(errors.New("unavailable"))
	m := notification(strings.Replace(snsPayload, "10:04:40.989", "10:09:40.989", 1))
	require.Equal(t, http.StatusInternalServerError, post(signed(m)).Code)

	st := in.Stats()
	require.Equal(t, int64(4), st.Invalid) // forged, unknown topic, not JSON, no message type
	require.Equal(t, int64(1), st.Started)
	require.Equal(t, int64(1), st.Failed)
}
