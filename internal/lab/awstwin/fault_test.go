package awstwin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/encoding/cbor"
)

// attemptCounter counts hook calls per operation: one per HTTP attempt that reached the twin.
type attemptCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *attemptCounter) add(op string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int{}
	}
	a.n[op]++
	return a.n[op]
}

func (a *attemptCounter) get(op string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[op]
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestThrottleIsEachServicesOwnAndRetried(t *testing.T) {
	lab := startLab(t, Options{})
	var attempts attemptCounter
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		attempts.add(fc.Service)
		return Fault{Kind: FaultThrottle}
	})
	ctx := context.Background()
	cfg := sdkConfig(lab.urls[east], east)
	cases := []struct {
		service, code string
		status        int
		call          func() error
	}{
		{ServiceKafka, "TooManyRequestsException", 429, func() error {
			_, err := kafka.NewFromConfig(cfg).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
			return err
		}},
		{ServiceOSIS, "ThrottlingException", 429, func() error {
			_, err := osis.NewFromConfig(cfg).ListPipelines(ctx, &osis.ListPipelinesInput{})
			return err
		}},
		{ServiceAOSS, "ThrottlingException", 400, func() error {
			_, err := opensearchserverless.NewFromConfig(cfg).ListCollections(ctx, &opensearchserverless.ListCollectionsInput{})
			return err
		}},
		{ServiceRoute53, "Throttling", 400, func() error {
			_, err := route53.NewFromConfig(cfg).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
			return err
		}},
		{ServiceCloudWatch, "Throttling", 400, func() error {
			_, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
			return err
		}},
		{ServiceS3, "SlowDown", 503, func() error {
			_, err := s3.NewFromConfig(cfg).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("any-bucket")})
			return err
		}},
		{ServiceSQS, "RequestThrottled", 403, func() error {
			_, err := sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			err := tc.call()
			if code := apiCode(t, err); code != tc.code || httpStatus(err) != tc.status {
				t.Fatalf("error %s HTTP %d, want %s HTTP %d (%v)", code, httpStatus(err), tc.code, tc.status, err)
			}
			// The standard retryer classifies it as throttling and uses all three attempts.
			if n := attempts.get(tc.service); n != 3 {
				t.Fatalf("%d attempts reached the twin, want 3", n)
			}
		})
	}
}

func TestTransientFaultsAreRetriedToSuccess(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	var attempts attemptCounter
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		n := attempts.add(fc.Operation)
		switch {
		case fc.Operation == "ListClustersV2" && n <= 2:
			return Fault{Kind: FaultThrottle}
		case fc.Operation == "GetPipeline" && n == 1:
			return Fault{Kind: FaultTimeout, Delay: 5 * time.Millisecond}
		case fc.Operation == "ListPipelines":
			return Fault{Kind: FaultLatency, Delay: 5 * time.Millisecond}
		}
		return Fault{}
	})
	ctx := context.Background()
	cfg := sdkConfig(lab.urls[west], west)
	out, err := kafka.NewFromConfig(cfg).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	if err != nil || len(out.ClusterInfoList) != 2 || attempts.get("ListClustersV2") != 3 {
		t.Fatalf("ListClustersV2 after two throttles: %d clusters, err %v, %d attempts", len(out.ClusterInfoList), err, attempts.get("ListClustersV2"))
	}
	// A 504 after a hang is retried like any gateway timeout.
	if _, err := osis.NewFromConfig(cfg).GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String("production-osi-secondary")}); err != nil || attempts.get("GetPipeline") != 2 {
		t.Fatalf("GetPipeline after a timeout fault: %v, %d attempts", err, attempts.get("GetPipeline"))
	}
	if lp, err := osis.NewFromConfig(cfg).ListPipelines(ctx, &osis.ListPipelinesInput{}); err != nil || len(lp.Pipelines) != 2 {
		t.Fatalf("ListPipelines with added latency: %v", err)
	}
}

func TestInternalErrorIs500AndRetried(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	var attempts attemptCounter
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		attempts.add(fc.Operation)
		if fc.Operation == "DescribeReplicator" || fc.Operation == "GetMetricData" {
			return Fault{Kind: FaultInternalError}
		}
		return Fault{}
	})
	ctx := context.Background()
	cfg := sdkConfig(lab.urls[west], west)
	_, err := kafka.NewFromConfig(cfg).DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(replicatorWest)})
	if code := apiCode(t, err); code != "InternalServerErrorException" || httpStatus(err) != http.StatusInternalServerError || attempts.get("DescribeReplicator") != 3 {
		t.Fatalf("DescribeReplicator: %s HTTP %d after %d attempts", code, httpStatus(err), attempts.get("DescribeReplicator"))
	}
	_, err = cloudwatch.NewFromConfig(cfg).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{metricQuery("m", "Sum")}})
	if code := apiCode(t, err); code != "InternalServiceError" || httpStatus(err) != http.StatusInternalServerError {
		t.Fatalf("GetMetricData: %s HTTP %d", code, httpStatus(err))
	}
}

func TestRegionImpairedDropsConnections(t *testing.T) {
	lab := startLab(t, Options{})
	var attempts atomic.Int32
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		if fc.Region == west {
			attempts.Add(1)
			return Fault{Kind: FaultRegionImpaired}
		}
		return Fault{}
	})
	ctx := context.Background()
	_, err := sqs.NewFromConfig(sdkConfig(lab.urls[west], west)).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
	if err == nil {
		t.Fatal("a call to an impaired Region succeeded")
	}
	if status := httpStatus(err); status != 0 || attempts.Load() == 0 {
		t.Fatalf("impaired Region answered HTTP %d (%d attempts); want a transport error: %v", status, attempts.Load(), err)
	}
	// A raw client sees the connection close with no response at all.
	req := signedRequest(t, http.MethodPost, lab.urls[west]+"/", "sqs", west, []byte(`{"QueueName":"q"}`),
		map[string]string{"X-Amz-Target": "AmazonSQS.GetQueueUrl", "Content-Type": "application/x-amz-json-1.0"})
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("raw request to an impaired Region got HTTP %d", resp.StatusCode)
	}
	// The other Region is unaffected.
	if err := lab.twin.CreateQueue(east, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := sqs.NewFromConfig(sdkConfig(lab.urls[east], east)).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q")}); err != nil {
		t.Fatalf("us-east-1 during a us-west-2 impairment: %v", err)
	}
}

func TestTimeoutHangsUntilClientGivesUp(t *testing.T) {
	lab := startLab(t, Options{})
	lab.twin.SetFaultHook(func(FaultContext) Fault { return Fault{Kind: FaultTimeout} })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := kafka.NewFromConfig(sdkConfig(lab.urls[east], east)).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListClustersV2 against a hung service: %v, want context deadline exceeded", err)
	}
}

func TestUnsignedAndMisSignedRequestsAreRefused(t *testing.T) {
	lab := startLab(t, Options{})
	url := lab.urls[east]

	// restJson1 (kafka), through the SDK with anonymous credentials.
	anon := sdkConfig(url, east)
	anon.Credentials = aws.AnonymousCredentials{}
	_, err := kafka.NewFromConfig(anon).ListClustersV2(context.Background(), &kafka.ListClustersV2Input{})
	if code := apiCode(t, err); code != "MissingAuthenticationTokenException" || httpStatus(err) != http.StatusForbidden {
		t.Fatalf("unsigned kafka: %s HTTP %d", code, httpStatus(err))
	}

	unsigned := func(method, path, body string, headers map[string]string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return do(t, req)
	}
	// awsQuery (CloudWatch as the CLI calls it).
	resp, raw := unsigned(http.MethodPost, "/", "Action=DescribeAlarms&Version=2010-08-01", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned awsQuery: HTTP %d\n%s", resp.StatusCode, raw)
	}
	// awsJson1_0 (SQS): query-compatible header too.
	resp, raw = unsigned(http.MethodPost, "/", `{"QueueName":"q"}`, map[string]string{"X-Amz-Target": "AmazonSQS.GetQueueUrl", "Content-Type": "application/x-amz-json-1.0"})
	var jerr struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(raw, &jerr); err != nil || resp.StatusCode != http.StatusForbidden || !strings.HasSuffix(jerr.Type, "#MissingAuthenticationTokenException") ||
		resp.Header.Get("X-Amzn-Query-Error") != "MissingAuthenticationToken;Sender" {
		t.Fatalf("unsigned JSON: HTTP %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-Query-Error"), raw)
	}
	// RPCv2 CBOR (CloudWatch as the Go SDK calls it).
	resp, raw = unsigned(http.MethodPost, "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", "",
		map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Accept": "application/cbor"})
	v, err := cbor.Decode(raw)
	if err != nil || resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/cbor" {
		t.Fatalf("unsigned CBOR: HTTP %d %v", resp.StatusCode, err)
	}
	if typ, _ := v.(cbor.Map)["__type"].(cbor.String); !strings.HasSuffix(string(typ), "#MissingAuthenticationTokenException") {
		t.Fatalf("unsigned CBOR __type = %v", v)
	}
	// S3.
	resp, raw = unsigned(http.MethodGet, "/some-bucket?list-type=2", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "<Code>AccessDenied</Code>") {
		t.Fatalf("unsigned S3: HTTP %d\n%s", resp.StatusCode, raw)
	}
	// restXml (Route 53).
	resp, raw = unsigned(http.MethodGet, "/2013-04-01/hostedzone", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned route53: HTTP %d\n%s", resp.StatusCode, raw)
	}

	// Signed for the other Region: refused, except Route 53, which is global.
	_, err = kafka.NewFromConfig(sdkConfig(url, west)).ListClustersV2(context.Background(), &kafka.ListClustersV2Input{})
	if code := apiCode(t, err); code != "InvalidSignatureException" || httpStatus(err) != http.StatusForbidden {
		t.Fatalf("kafka signed for us-west-2 at us-east-1: %s HTTP %d", code, httpStatus(err))
	}
	if _, err := route53.NewFromConfig(sdkConfig(url, west)).ListHostedZones(context.Background(), &route53.ListHostedZonesInput{}); err != nil {
		t.Fatalf("route53 signed for us-west-2 at us-east-1: %v", err)
	}
	// A malformed signature and an unserved service.
	resp, raw = unsigned(http.MethodGet, "/api/v2/clusters", "", map[string]string{
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/kafka/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		"X-Amz-Date":    "20261122T100000Z"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "IncompleteSignatureException" {
		t.Fatalf("malformed signature: HTTP %d %s\n%s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), raw)
	}
	resp, raw = do(t, signedRequest(t, http.MethodPost, url+"/", "ec2", east, []byte("Action=DescribeInstances"), nil))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "does not serve service") {
		t.Fatalf("unserved service: HTTP %d\n%s", resp.StatusCode, raw)
	}
}

// TestAWSEndpointURL configures clients the way any SDK or the CLI would be pointed at the
// lab: one AWS_ENDPOINT_URL for every service.
func TestAWSEndpointURL(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	if err := lab.twin.CreateQueue(west, "dr-alarm-events"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", lab.urls[west])
	t.Setenv("AWS_REGION", west)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	if aws.ToString(cfg.BaseEndpoint) != lab.urls[west] {
		t.Fatalf("BaseEndpoint = %q", aws.ToString(cfg.BaseEndpoint))
	}
	lr, err := kafka.NewFromConfig(cfg).ListReplicators(ctx, &kafka.ListReplicatorsInput{})
	if err != nil || len(lr.Replicators) != 1 {
		t.Fatalf("kafka via AWS_ENDPOINT_URL: %+v, %v", lr, err)
	}
	gp, err := osis.NewFromConfig(cfg).GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	if err != nil || aws.ToString(gp.Pipeline.PipelineName) != "production-osi-secondary" {
		t.Fatalf("osis via AWS_ENDPOINT_URL: %+v, %v", gp, err)
	}
	bg, err := opensearchserverless.NewFromConfig(cfg).BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{"production-opensearch-secondary"}})
	if err != nil || len(bg.CollectionDetails) != 1 {
		t.Fatalf("aoss via AWS_ENDPOINT_URL: %+v, %v", bg, err)
	}
	if _, err := sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("dr-alarm-events")}); err != nil {
		t.Fatalf("sqs via AWS_ENDPOINT_URL: %v", err)
	}
	if _, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil {
		t.Fatalf("cloudwatch via AWS_ENDPOINT_URL: %v", err)
	}
}
