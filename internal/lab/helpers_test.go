package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
)

const (
	east = "us-east-1"
	west = "us-west-2"
)

// testLogger discards logs unless LAB_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("LAB_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testOptions are fast settings on random ports; tune may change them.
func testOptions() Options {
	return Options{
		RandomPorts:           true,
		PipelineStartDelay:    100 * time.Millisecond,
		PipelineStopDelay:     100 * time.Millisecond,
		Route53ChangeDelay:    200 * time.Millisecond,
		ReplicatorCreateDelay: -1,
		ReplicatorUpdateDelay: 100 * time.Millisecond,
		ReplicatorFailAfter:   time.Second,
		MetricsInterval:       100 * time.Millisecond,
		AlarmWindow:           500 * time.Millisecond,
		Logger:                testLogger(),
	}
}

func startTestLab(t testing.TB, tune func(*Options)) *Lab {
	t.Helper()
	o := testOptions()
	if tune != nil {
		tune(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Start(ctx, o)
	require.NoError(t, err)
	for r, e := range l.Endpoints().Regions {
		collectionRegions.Store(strings.TrimPrefix(e.OpenSearchURL, "http://"), r)
	}
	t.Cleanup(l.Close)
	return l
}

// sdkConfig is what an activity builds for a Region of the lab: any key pair, the Region's
// endpoint, and few fast retries.
func sdkConfig(l *Lab, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", ""),
		BaseEndpoint: aws.String(l.Endpoints().Regions[region].AWSEndpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 1
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// eventually polls cond until it holds or the deadline passes; the message explains the last
// failed check.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// search posts a query to an OpenSearch URL and decodes the answer.
func search(t testing.TB, url, path string, body any) map[string]any {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	signAOSS(t, req, b)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// perMinute returns, per minute of event time, the number of distinct event ids and of
// documents in a collection, read with a date_histogram through the HTTP API.
func perMinute(t testing.TB, url string) (distinct, docs map[string]int64) {
	t.Helper()
	out := search(t, url, "/"+IndexPattern+"/_search", map[string]any{
		"size": 0,
		"aggs": map[string]any{"per_minute": map[string]any{
			"date_histogram": map[string]any{"field": "timestamp", "fixed_interval": "1m"},
			"aggs":           map[string]any{"ids": map[string]any{"cardinality": map[string]any{"field": "event_id.keyword"}}},
		}},
	})
	distinct, docs = map[string]int64{}, map[string]int64{}
	aggs, _ := out["aggregations"].(map[string]any)
	pm, _ := aggs["per_minute"].(map[string]any)
	buckets, _ := pm["buckets"].([]any)
	for _, b := range buckets {
		m := b.(map[string]any)
		key := fmt.Sprint(m["key_as_string"])
		docs[key] = int64(m["doc_count"].(float64))
		distinct[key] = int64(m["ids"].(map[string]any)["value"].(float64))
	}
	return distinct, docs
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// signAOSS signs req for a lab collection as an AOSS client must: SigV4 for aoss with the lab's
// key, and the payload's hash in x-amz-content-sha256. The Region is read from the collection's
// port, which is the only thing that tells the lab's two collections apart.
func signAOSS(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(req.Context(), creds, req, hash, "aoss", signRegion(req), time.Now()))
}

// signRegion is the Region of the collection req goes to, by its host (startTestLab records
// them).
func signRegion(req *http.Request) string {
	if r, ok := collectionRegions.Load(req.URL.Host); ok {
		return r.(string)
	}
	return east
}

// collectionRegions maps a collection's host:port to its Region, for signRegion.
var collectionRegions sync.Map
