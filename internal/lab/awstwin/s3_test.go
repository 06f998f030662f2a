package awstwin

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // ETag check
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const dlqBucket = "production-opensearch-dlq-us-west-2"

func TestS3ThroughSDK(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	client := s3.NewFromConfig(sdkConfig(lab.urls[west], west))

	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dlqBucket)})
	if code := apiCode(t, err); code != "IllegalLocationConstraintException" {
		t.Fatalf("CreateBucket without LocationConstraint outside us-east-1: code %s", code)
	}
	cfg := &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintUsWest2}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dlqBucket), CreateBucketConfiguration: cfg}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dlqBucket), CreateBucketConfiguration: cfg})
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Fatalf("CreateBucket twice error = %v, want BucketAlreadyOwnedByYou", err)
	}

	// The OSI twin writes DLQ files from Go; a client uploads one more through the SDK.
	for i := range 5 {
		key := fmt.Sprintf("dlq/dlq-v2-production-osi-secondary-opensearch-2026-11-22T10:0%d:00Z-%d.json", i, i)
		if err := lab.twin.PutObject(west, dlqBucket, key, []byte(`{"dlqObjects":[]}`)); err != nil {
			t.Fatalf("PutObject(Go): %v", err)
		}
	}
	if err := lab.twin.PutObject(west, "no-such-bucket", "k", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutObject into a missing bucket = %v, want ErrNotFound", err)
	}
	body := []byte(`{"dlqObjects":[{"pluginId":"opensearch","failedData":{"message":"x"}}]}`)
	put, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(dlqBucket), Key: aws.String("manual/note.json"),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"), Metadata: map[string]string{"drill": "7"}})
	if err != nil {
		t.Fatalf("PutObject(SDK): %v", err)
	}
	sum := md5.Sum(body) //nolint:gosec // ETag
	if aws.ToString(put.ETag) != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("ETag = %s", aws.ToString(put.ETag))
	}

	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(dlqBucket), Key: aws.String("manual/note.json")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	gotBody, _ := io.ReadAll(got.Body)
	_ = got.Body.Close()
	// The SDK asks for checksum mode and validates the CRC32 the twin returns.
	if !bytes.Equal(gotBody, body) || aws.ToString(got.ContentType) != "application/json" || got.Metadata["drill"] != "7" ||
		aws.ToString(got.ChecksumCRC32) == "" || aws.ToInt64(got.ContentLength) != int64(len(body)) {
		t.Fatalf("GetObject = %+v body %q", got, gotBody)
	}
	rng, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(dlqBucket), Key: aws.String("manual/note.json"), Range: aws.String("bytes=2-11")})
	if err != nil {
		t.Fatalf("GetObject(range): %v", err)
	}
	part, _ := io.ReadAll(rng.Body)
	_ = rng.Body.Close()
	if string(part) != string(body[2:12]) || aws.ToString(rng.ContentRange) != fmt.Sprintf("bytes 2-11/%d", len(body)) {
		t.Fatalf("GetObject(range) = %q %s", part, aws.ToString(rng.ContentRange))
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(dlqBucket), Key: aws.String("nope")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("GetObject(missing) error = %v, want NoSuchKey", err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(dlqBucket), Key: aws.String("manual/note.json")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}

	// ListObjectsV2 pages of two through the SDK paginator (continuation tokens).
	var keys []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(dlqBucket), Prefix: aws.String("dlq/dlq-v2-"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		pages++
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
			if aws.ToInt64(o.Size) != int64(len(`{"dlqObjects":[]}`)) || o.LastModified == nil || aws.ToString(o.ETag) == "" {
				t.Fatalf("object = %+v", o)
			}
		}
	}
	if pages != 3 || len(keys) != 5 || !strings.Contains(keys[0], "10:00:00Z") || !strings.Contains(keys[4], "10:04:00Z") {
		t.Fatalf("paginated keys (%d pages) = %v", pages, keys)
	}
	after, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(dlqBucket), Prefix: aws.String("dlq/"), StartAfter: aws.String(keys[2])})
	if err != nil || aws.ToInt32(after.KeyCount) != 2 || aws.ToString(after.Contents[0].Key) != keys[3] {
		t.Fatalf("ListObjectsV2(StartAfter) = %+v, %v", after, err)
	}
	dirs, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(dlqBucket), Delimiter: aws.String("/")})
	if err != nil || len(dirs.Contents) != 0 || len(dirs.CommonPrefixes) != 2 || aws.ToString(dirs.CommonPrefixes[0].Prefix) != "dlq/" {
		t.Fatalf("ListObjectsV2(Delimiter) = %+v, %v", dirs, err)
	}
	_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("missing-bucket")})
	var nsb *s3types.NoSuchBucket
	if !errors.As(err, &nsb) {
		t.Fatalf("ListObjectsV2(missing bucket) error = %v, want NoSuchBucket", err)
	}
}

func TestS3VirtualHostedStyle(t *testing.T) {
	tw := New(Options{})
	t.Cleanup(tw.Close)
	if err := tw.CreateBucket(east, "lab-vhost"); err != nil {
		t.Fatal(err)
	}
	if err := tw.PutObject(east, "lab-vhost", "a/b.txt", []byte("virtual")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hosts []string
	h := tw.Handler(east)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// A DNS name endpoint makes the SDK address the bucket in the Host; every name dials the
	// test server.
	cfg := sdkConfig("http://s3.lab.internal:"+port, east)
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}
	})
	client := s3.NewFromConfig(cfg)
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lab-vhost"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatalf("GetObject(virtual-hosted): %v", err)
	}
	b, _ := io.ReadAll(out.Body)
	_ = out.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if string(b) != "virtual" || len(hosts) != 1 || hosts[0] != "lab-vhost.s3.lab.internal:"+port {
		t.Fatalf("body %q via hosts %v", b, hosts)
	}
}

func TestS3AWSChunkedUpload(t *testing.T) {
	lab := startLab(t, Options{})
	if err := lab.twin.CreateBucket(east, "lab-chunked"); err != nil {
		t.Fatal(err)
	}
	put := func(crc string) (*http.Response, []byte) {
		body := []byte("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n")
		return do(t, signedRequest(t, http.MethodPut, lab.urls[east]+"/lab-chunked/greeting.txt", "s3", east, body, map[string]string{
			"Content-Encoding": "aws-chunked", "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Decoded-Content-Length": "11"}))
	}
	if resp, raw := put(checksumOf("crc32", []byte("hello world"))); resp.StatusCode != http.StatusOK {
		t.Fatalf("aws-chunked PutObject: HTTP %d\n%s", resp.StatusCode, raw)
	}
	if got, err := lab.twin.GetObject(east, "lab-chunked", "greeting.txt"); err != nil || string(got) != "hello world" {
		t.Fatalf("stored object = %q, %v", got, err)
	}
	if resp, raw := put("AAAAAA=="); resp.StatusCode != http.StatusBadRequest || !bytes.Contains(raw, []byte("<Code>BadDigest</Code>")) {
		t.Fatalf("bad trailing checksum: HTTP %d\n%s", resp.StatusCode, raw)
	}
}
