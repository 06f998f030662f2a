package awstwin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	estypes "github.com/aws/aws-sdk-go-v2/service/opensearch/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func multiAZDomain(standbyStatus string) Domain {
	return Domain{
		Name: "lab-multiaz", Endpoint: "127.0.0.1:9210", EngineVersion: "OpenSearch_2.19",
		InstanceType: "r6g.large.search", InstanceCount: 6, DedicatedMasterCount: 3, DedicatedMasterType: "m6g.large.search",
		MultiAZWithStandby: true, AvailabilityZoneCount: 3,
		Health: DomainHealth{DomainState: "Active", ClusterHealth: "Yellow", MasterNode: "Available", MasterEligibleNodeCount: 3,
			DataNodeCount: 4, TotalShards: 9, TotalUnAssignedShards: 3,
			Zones: []ZoneHealth{
				{Name: "us-east-1a", Status: "Active", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2, TotalShards: 3},
				{Name: "us-east-1b", Status: "NotAvailable", ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 0, TotalShards: 3, TotalUnAssignedShards: 3},
				{Name: "us-east-1c", Status: standbyStatus, ConfiguredDataNodeCount: 2, AvailableDataNodeCount: 2, TotalShards: 3},
			}},
	}
}

func TestOpenSearchServiceDomainsThroughSDK(t *testing.T) {
	domains := NewInMemoryOpenSearch()
	domains.PutDomain(multiAZDomain("StandBy"))
	lab := startLab(t, Options{AccountID: "000000000000", Regions: map[string]Backends{east: {OpenSearch: domains}}})
	ctx := context.Background()
	client := opensearch.NewFromConfig(sdkConfig(lab.urls[east], east))

	names, err := client.ListDomainNames(ctx, &opensearch.ListDomainNamesInput{})
	if err != nil || len(names.DomainNames) != 1 || aws.ToString(names.DomainNames[0].DomainName) != "lab-multiaz" ||
		names.DomainNames[0].EngineType != estypes.EngineTypeOpenSearch {
		t.Fatalf("ListDomainNames = %+v, %v", names, err)
	}

	dd, err := client.DescribeDomain(ctx, &opensearch.DescribeDomainInput{DomainName: aws.String("lab-multiaz")})
	if err != nil {
		t.Fatalf("DescribeDomain: %v", err)
	}
	st := dd.DomainStatus
	cc := st.ClusterConfig
	if aws.ToString(st.ARN) != "arn:aws:es:us-east-1:000000000000:domain/lab-multiaz" || aws.ToString(st.DomainId) != "000000000000/lab-multiaz" ||
		aws.ToString(st.Endpoint) != "127.0.0.1:9210" || aws.ToString(st.EngineVersion) != "OpenSearch_2.19" || aws.ToBool(st.Processing) ||
		!aws.ToBool(cc.MultiAZWithStandbyEnabled) || !aws.ToBool(cc.ZoneAwarenessEnabled) || aws.ToInt32(cc.ZoneAwarenessConfig.AvailabilityZoneCount) != 3 ||
		aws.ToInt32(cc.InstanceCount) != 6 || cc.InstanceType != "r6g.large.search" || !aws.ToBool(cc.DedicatedMasterEnabled) || aws.ToInt32(cc.DedicatedMasterCount) != 3 {
		t.Fatalf("DescribeDomain = %+v / %+v", st, cc)
	}

	h, err := client.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String("lab-multiaz")})
	if err != nil {
		t.Fatalf("DescribeDomainHealth: %v", err)
	}
	if h.ClusterHealth != estypes.DomainHealthYellow || h.DomainState != estypes.DomainStateActive || h.MasterNode != estypes.MasterNodeStatusAvailable ||
		aws.ToString(h.AvailabilityZoneCount) != "3" || aws.ToString(h.ActiveAvailabilityZoneCount) != "1" || aws.ToString(h.StandByAvailabilityZoneCount) != "1" ||
		aws.ToString(h.DataNodeCount) != "4" || aws.ToString(h.TotalUnAssignedShards) != "3" || !aws.ToBool(h.DedicatedMaster) || len(h.EnvironmentInformation) != 1 {
		t.Fatalf("DescribeDomainHealth = %+v", h)
	}
	zones := h.EnvironmentInformation[0].AvailabilityZoneInformation
	if len(zones) != 3 || aws.ToString(zones[1].AvailabilityZoneName) != "us-east-1b" || zones[1].ZoneStatus != estypes.ZoneStatusNotAvailable ||
		aws.ToString(zones[1].AvailableDataNodeCount) != "0" || zones[2].ZoneStatus != estypes.ZoneStatusStandBy || zones[0].ZoneStatus != estypes.ZoneStatusActive {
		t.Fatalf("AvailabilityZoneInformation = %+v", zones)
	}

	// The backend's state is read per request: a promoted standby shows at once.
	domains.PutDomain(multiAZDomain("Active"))
	h, err = client.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String("lab-multiaz")})
	if err != nil || aws.ToString(h.ActiveAvailabilityZoneCount) != "2" || aws.ToString(h.StandByAvailabilityZoneCount) != "0" {
		t.Fatalf("DescribeDomainHealth after promotion = %+v, %v", h, err)
	}

	_, err = client.DescribeDomain(ctx, &opensearch.DescribeDomainInput{DomainName: aws.String("missing")})
	var nf *estypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeDomain(missing) error = %v, want ResourceNotFoundException", err)
	}
	// The domain lives in us-east-1 only.
	west := opensearch.NewFromConfig(sdkConfig(lab.urls[west], west))
	if _, err := west.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String("lab-multiaz")}); !errors.As(err, &nf) {
		t.Fatalf("DescribeDomainHealth in us-west-2 error = %v, want ResourceNotFoundException", err)
	}
}

func TestSSMParametersThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now})
	ctx := context.Background()
	client := ssm.NewFromConfig(sdkConfig(lab.urls[east], east))

	_, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/switchyard/lab/active-region")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("GetParameter(missing) error = %v, want ParameterNotFound", err)
	}
	_, err = client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/switchyard/lab/active-region"), Value: aws.String("us-east-1")})
	if apiCode(t, err) != "ValidationException" {
		t.Fatalf("PutParameter without a type on create: %v", err)
	}
	put, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/switchyard/lab/active-region"), Value: aws.String("us-east-1"),
		Type: ssmtypes.ParameterTypeString})
	if err != nil || put.Version != 1 || put.Tier != ssmtypes.ParameterTierStandard {
		t.Fatalf("PutParameter = %+v, %v", put, err)
	}
	_, err = client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/switchyard/lab/active-region"), Value: aws.String("us-west-2")})
	var exists *ssmtypes.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("PutParameter without Overwrite error = %v, want ParameterAlreadyExists", err)
	}
	clock.Advance(time.Minute)
	put, err = client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/switchyard/lab/active-region"), Value: aws.String("us-west-2"),
		Overwrite: aws.Bool(true)})
	if err != nil || put.Version != 2 {
		t.Fatalf("PutParameter(Overwrite) = %+v, %v", put, err)
	}
	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/switchyard/lab/active-region")})
	if err != nil {
		t.Fatalf("GetParameter: %v", err)
	}
	p := got.Parameter
	if aws.ToString(p.Value) != "us-west-2" || p.Version != 2 || p.Type != ssmtypes.ParameterTypeString ||
		aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/switchyard/lab/active-region" ||
		!p.LastModifiedDate.Equal(clock.Now()) || aws.ToString(p.DataType) != "text" {
		t.Fatalf("Parameter = %+v", p)
	}

	// SecureString values need WithDecryption, as in AWS.
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/switchyard/lab/token"), Value: aws.String("s3cret"),
		Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatalf("PutParameter(SecureString): %v", err)
	}
	enc, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/switchyard/lab/token")})
	if err != nil || aws.ToString(enc.Parameter.Value) == "s3cret" {
		t.Fatalf("GetParameter without decryption = %+v, %v", enc.Parameter, err)
	}
	dec, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/switchyard/lab/token"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(dec.Parameter.Value) != "s3cret" {
		t.Fatalf("GetParameter with decryption = %+v, %v", dec.Parameter, err)
	}

	// Parameters are Regional, and the Go API sees the same state.
	if _, err := ssm.NewFromConfig(sdkConfig(lab.urls[west], west)).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/switchyard/lab/active-region")}); !errors.As(err, &nf) {
		t.Fatalf("GetParameter in us-west-2 error = %v, want ParameterNotFound", err)
	}
	if gp, err := lab.twin.GetParameter(east, "/switchyard/lab/active-region"); err != nil || gp.Value != "us-west-2" {
		t.Fatalf("Twin.GetParameter = %+v, %v", gp, err)
	}
}

func TestSSMAndESRefuseUnsignedRequests(t *testing.T) {
	lab := startLab(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, lab.urls[east]+"/", strings.NewReader(`{"Name":"/x"}`))
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "MissingAuthenticationToken") ||
		resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Fatalf("unsigned ssm: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	req, _ = http.NewRequest(http.MethodGet, lab.urls[east]+"/2021-01-01/opensearch/domain/lab-multiaz/health", nil)
	resp, body = do(t, req)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned es: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}
