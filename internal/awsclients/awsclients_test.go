package awsclients

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

func TestFactoryUsesRegionEndpointAndLabCredentials(t *testing.T) {
	var hits atomic.Int64
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		require.Equal(t, "/lab-dlq", r.URL.Path, "path-style addressing with an endpoint override")
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(`<ListBucketResult><Name>lab-dlq</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`))
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	f := New(Options{LoadOptions: []func(*config.LoadOptions) error{config.WithEC2IMDSClientEnableState(imds.ClientDisabled)}})
	r := FromEnvironment("us-west-2", runbook.RegionConfig{AWSEndpoint: srv.URL})
	c, err := f.S3(context.Background(), r)
	require.NoError(t, err)
	_, err = c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lab-dlq")})
	require.NoError(t, err)
	require.Equal(t, int64(1), hits.Load())
	require.Contains(t, auth.Load().(string), "SWITCHYARDLAB/", "signed with the lab's credentials")
	require.True(t, strings.Contains(auth.Load().(string), "/us-west-2/s3/"), "signed for the Region")

	again, err := f.Config(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, srv.URL, aws.ToString(again.BaseEndpoint), "configurations are cached per Region")
	_, err = f.Config(context.Background(), Region{})
	require.Error(t, err)
}

// Every client the factory builds reaches the Region's endpoint and signs for its own service,
// which is how the lab's twin (and AWS) routes the request.
func TestFactoryClientsSignForTheirService(t *testing.T) {
	tw := awstwin.New(awstwin.Options{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(tw.Handler("us-west-2"))
	defer srv.Close()
	defer tw.Close()
	var seen []string
	tw.SetFaultHook(func(fc awstwin.FaultContext) awstwin.Fault {
		seen = append(seen, fc.Region+"/"+fc.Service+"/"+fc.Operation)
		return awstwin.Fault{}
	})
	f := New(Options{LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
	}})
	ctx := context.Background()
	r := Region{Name: "us-west-2", Endpoint: srv.URL}
	calls := []struct {
		want string
		call func() error
	}{
		{"us-west-2/osis/ListPipelines", func() error {
			c, err := f.OSIS(ctx, r)
			require.NoError(t, err)
			_, err = c.ListPipelines(ctx, &osis.ListPipelinesInput{})
			return err
		}},
		{"us-west-2/aoss/ListCollections", func() error {
			c, err := f.OpenSearchServerless(ctx, r)
			require.NoError(t, err)
			_, err = c.ListCollections(ctx, &opensearchserverless.ListCollectionsInput{})
			return err
		}},
		{"us-west-2/es/ListDomainNames", func() error {
			c, err := f.OpenSearch(ctx, r)
			require.NoError(t, err)
			_, err = c.ListDomainNames(ctx, &opensearch.ListDomainNamesInput{})
			return err
		}},
		{"us-west-2/route53/ListHostedZones", func() error {
			c, err := f.Route53(ctx, r)
			require.NoError(t, err)
			_, err = c.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
			return err
		}},
		{"us-west-2/sqs/CreateQueue", func() error {
			c, err := f.SQS(ctx, r)
			require.NoError(t, err)
			_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("switchyard-alarms")})
			return err
		}},
		{"us-west-2/ssm/PutParameter", func() error {
			c, err := f.SSM(ctx, r)
			require.NoError(t, err)
			_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/x"), Value: aws.String("y"), Type: ssmtypes.ParameterTypeString})
			return err
		}},
	}
	for _, c := range calls {
		seen = nil
		require.NoError(t, c.call(), c.want)
		require.Equal(t, []string{c.want}, seen)
	}
}

// A Region with assume_role_arn signs its calls with the role's credentials from STS, not the
// caller's.
func TestFactoryAssumesTheRegionsRole(t *testing.T) {
	var mu sync.Mutex
	var roles, keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auth := r.Header.Get("Authorization")
		if strings.Contains(auth, "/sts/") {
			require.NoError(t, r.ParseForm())
			roles = append(roles, r.Form.Get("RoleArn")+" "+r.Form.Get("RoleSessionName"))
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAASSUMED</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/dr/switchyard-us-west-2</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`))
			return
		}
		keys = append(keys, auth)
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(`<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`))
	}))
	defer srv.Close()
	f := New(Options{LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDCALLER", "secret", "")),
	}})
	role := "arn:aws:iam::123456789012:role/dr"
	c, err := f.S3(context.Background(), FromEnvironment("us-west-2", runbook.RegionConfig{AWSEndpoint: srv.URL, AssumeRoleARN: role}))
	require.NoError(t, err)
	for range 2 {
		_, err = c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("b")})
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{role + " switchyard-us-west-2"}, roles, "assumed once and cached")
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.Contains(t, k, "Credential=ASIAASSUMED/")
	}
}
