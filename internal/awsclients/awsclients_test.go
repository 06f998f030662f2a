package awsclients

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

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
