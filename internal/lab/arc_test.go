package lab

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/arc"
	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
)

// The lab's records follow its ARC routing controls through RECOVERY_CONTROL health checks: with
// us-east-1 impaired (its ARC endpoint and Route 53's control plane with it), turning its control
// Off through another Region's endpoint takes it out of the DNS answers; turning it On again and
// ResetRoutingControls bring the weights back in charge.
func TestRoutingControlsMoveDNSWithoutTheControlPlane(t *testing.T) {
	l := startTestLab(t, func(o *Options) {
		o.InitialWeights = map[string]int64{east: 100, west: 0}
	})
	ctx := context.Background()
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20), "every control On: the weights decide")

	_, err := l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	controls := l.RoutingControls()
	require.Len(t, controls, 2)
	endpoints := l.ARC().Endpoints()
	require.Len(t, endpoints, len(arctwin.DefaultRegions))
	client, err := arc.New(arc.Options{Endpoints: endpoints, Config: labARCConfig})
	require.NoError(t, err)
	changed, err := client.Set(ctx, map[string]string{controls[east]: "Off", controls[west]: "On"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{controls[east]}, changed)
	require.Zero(t, l.ARC().Requests(east), "the impaired Region's endpoint answered nothing")
	require.Equal(t, map[string]int{west: 20}, answeredRegions(t, l, 20), "us-east-1's record is unhealthy: the weight-0 record answers")

	require.NoError(t, l.ResetRoutingControls())
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
}

// labARCConfig signs each ARC endpoint's calls for its own Region with the lab's key pair.
func labARCConfig(_ context.Context, region, endpoint string) (aws.Config, error) {
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint)}, nil
}
