package awstwin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"
)

// verifyServer answers 204 to a request VerifySigV4 accepts and 403 with the problem's number
// otherwise, so the tests drive the verifier through a real HTTP server (Host moved out of the
// header map, Content-Length as Go's server leaves it, the path as it came off the wire).
func verifyServer(t *testing.T, now func() time.Time) *httptest.Server {
	t.Helper()
	secrets := map[string]string{"AKIDLAB": "lab-secret"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := VerifySigV4(r, body, func(k string) (string, bool) { s, ok := secrets[k]; return s, ok }, now())
		var se *SigV4Error
		if errors.As(err, &se) {
			w.Header().Set("X-Problem", string(rune('0'+se.Problem)))
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, se.Detail)
			return
		}
		w.Header().Set("X-Service", id.Service)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sigRequest(t *testing.T, method, url string, body []byte, secret string, service string, at time.Time, withContentHash bool) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	hash := sha256Hex(body)
	if withContentHash {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	creds := aws.Credentials{AccessKeyID: "AKIDLAB", SecretAccessKey: secret}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", at))
	return req
}

func sendSigned(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Problem") + " " + string(b)
}

// The verifier recomputes what the AWS SDK's signer computed: requests it signed pass, with
// wildcards and escapes in the path, a query, a body and a Content-Length; anything changed
// after signing fails.
func TestVerifySigV4AcceptsWhatTheSDKSignsAndNothingElse(t *testing.T) {
	now := time.Now().UTC()
	srv := verifyServer(t, func() time.Time { return now })
	body := []byte(`{"query":{"match_all":{}}}`)

	for _, path := range []string{"/", "/_cat/indices", "/application-logs-*/_count", "/idx/_doc/a%2Fb%20c", "/_search/point_in_time/_all"} {
		req := sigRequest(t, http.MethodPost, srv.URL+path+"?ignore_unavailable=true&q=a+b&expand_wildcards=open,hidden", body, "lab-secret", "aoss", now, true)
		code, msg := sendSigned(t, req)
		require.Equal(t, http.StatusNoContent, code, "%s: %s", path, msg)
	}
	req := sigRequest(t, http.MethodGet, srv.URL+"/_cluster/health", nil, "lab-secret", "es", now, false)
	code, msg := sendSigned(t, req)
	require.Equal(t, http.StatusNoContent, code, msg)

	cases := []struct {
		name    string
		req     func() *http.Request
		problem SigV4Problem
	}{
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/_cat/indices", nil)
			return r
		}, SigV4Missing},
		{"wrong secret", func() *http.Request {
			return sigRequest(t, http.MethodGet, srv.URL+"/_cat/indices", nil, "not-the-secret", "aoss", now, true)
		}, SigV4Mismatch},
		{"body changed after signing", func() *http.Request {
			r := sigRequest(t, http.MethodPost, srv.URL+"/_count", body, "lab-secret", "aoss", now, false)
			r.Body = io.NopCloser(strings.NewReader(`{"query":{"term":{"a":1}}}`))
			r.ContentLength = int64(len(`{"query":{"term":{"a":1}}}`))
			return r
		}, SigV4Mismatch},
		{"body does not match x-amz-content-sha256", func() *http.Request {
			r := sigRequest(t, http.MethodPost, srv.URL+"/_count", body, "lab-secret", "aoss", now, true)
			r.Body = io.NopCloser(strings.NewReader(`{"query":{"term":{"a":1}}}`))
			r.ContentLength = int64(len(`{"query":{"term":{"a":1}}}`))
			return r
		}, SigV4PayloadMismatch},
		{"path changed after signing", func() *http.Request {
			r := sigRequest(t, http.MethodGet, srv.URL+"/a/_count", nil, "lab-secret", "aoss", now, true)
			r.URL.Path = "/b/_count"
			return r
		}, SigV4Mismatch},
		{"query changed after signing", func() *http.Request {
			r := sigRequest(t, http.MethodGet, srv.URL+"/_count?size=1", nil, "lab-secret", "aoss", now, true)
			r.URL.RawQuery = "size=2"
			return r
		}, SigV4Mismatch},
		{"signed header changed", func() *http.Request {
			r := sigRequest(t, http.MethodGet, srv.URL+"/_count", nil, "lab-secret", "aoss", now, true)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, SigV4Mismatch},
		{"unknown key", func() *http.Request {
			r := sigRequest(t, http.MethodGet, srv.URL+"/_count", nil, "lab-secret", "aoss", now, true)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDLAB", "AKIDOTHER", 1))
			return r
		}, SigV4UnknownKey},
		{"signed 20 minutes ago", func() *http.Request {
			return sigRequest(t, http.MethodGet, srv.URL+"/_count", nil, "lab-secret", "aoss", now.Add(-20*time.Minute), true)
		}, SigV4Expired},
	}
	for _, tc := range cases {
		code, msg := sendSigned(t, tc.req())
		require.Equal(t, http.StatusForbidden, code, tc.name)
		require.True(t, strings.HasPrefix(msg, string(rune('0'+tc.problem))+" "), "%s: got %q", tc.name, msg)
	}
}

// A presigned URL (signature in the query, unsigned payload) verifies too.
func TestVerifySigV4AcceptsPresignedURLs(t *testing.T) {
	now := time.Now().UTC()
	srv := verifyServer(t, func() time.Time { return now })
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/_cat/indices?format=json", nil)
	require.NoError(t, err)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDLAB", SecretAccessKey: "lab-secret"},
		req, "UNSIGNED-PAYLOAD", "es", "us-east-1", now)
	require.NoError(t, err)
	pre, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	code, msg := sendSigned(t, pre)
	require.Equal(t, http.StatusNoContent, code, msg)
}
