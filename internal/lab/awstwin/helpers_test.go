package awstwin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
)

const (
	east = "us-east-1"
	west = "us-west-2"
)

// fakeClock is a manually advanced clock for the twin's delayed transitions.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testLab is a Twin served on one httptest server per Region.
type testLab struct {
	twin *Twin
	urls map[string]string
}

func startLab(t *testing.T, opts Options) *testLab {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tw := New(opts)
	l := &testLab{twin: tw, urls: map[string]string{}}
	for _, r := range []string{east, west} {
		srv := httptest.NewServer(tw.Handler(r))
		t.Cleanup(srv.Close)
		l.urls[r] = srv.URL
	}
	// Registered last so it runs first: releases held requests before the servers close.
	t.Cleanup(tw.Close)
	return l
}

// noBackoff retries at once, so retry tests take no wall time.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// sdkConfig is what a runbook activity would build: static credentials, the lab URL as
// BaseEndpoint, a Region, and a standard retryer with up to three attempts. The checksum
// settings are config.LoadDefaultConfig's defaults, so S3 sends and validates CRC32s.
func sdkConfig(url, region string) aws.Config {
	return aws.Config{
		Region:                     region,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDLABTWIN", "lab-secret", ""),
		BaseEndpoint:               aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = noBackoff{}
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// signedRequest builds a request signed with SigV4 the way the AWS CLI signs it.
func signedRequest(t *testing.T, method, url, service, region string, body []byte, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" {
		payloadHash = h // e.g. STREAMING-UNSIGNED-PAYLOAD-TRAILER for aws-chunked uploads
	}
	creds := aws.Credentials{AccessKeyID: "AKIDCLI", SecretAccessKey: "cli-secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, region, time.Now()); err != nil {
		t.Fatalf("sign request: %v", err)
	}
	return req
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// apiCode returns the AWS error code of err, failing the test if err is not an API error.
func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("expected an AWS API error, got %v", err)
	}
	return ae.ErrorCode()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func form(pairs ...string) []byte {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pairs[i] + "=" + url.QueryEscape(pairs[i+1]))
	}
	return []byte(b.String())
}
