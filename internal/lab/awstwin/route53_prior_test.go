package awstwin

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// TestRoute53PriorRequestNotComplete: while Route 53 still processes a change request for a
// zone, the next one for that zone is refused with HTTP 400 PriorRequestNotComplete; other
// zones and later requests are not affected, and a refused request changes nothing.
func TestRoute53PriorRequestNotComplete(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Route53ProcessingTime: 10 * time.Second})
	var changeCalls atomic.Int32
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		if fc.Operation == "ChangeResourceRecordSets" {
			changeCalls.Add(1)
		}
		return Fault{}
	})
	zone := lab.twin.CreateHostedZone("example.com", false)
	other := lab.twin.CreateHostedZone("example.com", false) // Route 53 allows zones of one name
	ctx := context.Background()
	// One attempt: the test sees what Route 53 answers, not what the SDK's retryer makes of it.
	once := route53.NewFromConfig(sdkConfig(lab.urls[east], east), func(o *route53.Options) { o.RetryMaxAttempts = 1 })
	change := func(c *route53.Client, zoneID string, w int64) error {
		_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{weighted("app.example.com", "east", "10.0.0.1", w)}}})
		return err
	}
	if err := change(once, zone, 10); err != nil {
		t.Fatalf("first change: %v", err)
	}
	err := change(once, zone, 20)
	var prior *r53types.PriorRequestNotComplete
	if !errors.As(err, &prior) {
		t.Fatalf("second change while the first is processed: %v, want PriorRequestNotComplete", err)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("want HTTP 400, got %v", err)
	}
	if prior.ErrorMessage() != "The request was rejected because Route 53 was still processing a prior request." {
		t.Fatalf("message %q", prior.ErrorMessage())
	}
	recs, _ := lab.twin.RecordSets(zone)
	for _, r := range recs {
		if r.SetIdentifier == "east" && aws.ToInt64(r.Weight) != 10 {
			t.Fatalf("a refused change was applied: weight %d", aws.ToInt64(r.Weight))
		}
	}
	if n := len(lab.twin.Route53ChangeLog(zone)); n != 1 {
		t.Fatalf("change log has %d batches, want 1", n)
	}
	if err := change(once, other, 5); err != nil {
		t.Fatalf("another zone is not busy: %v", err)
	}

	// The SDK's standard retryer counts PriorRequestNotComplete among its throttle codes
	// (retry.DefaultThrottleErrorCodes): it retries on its own before the error reaches the
	// caller. Three attempts, none late enough here.
	changeCalls.Store(0)
	retrying := route53.NewFromConfig(sdkConfig(lab.urls[east], east))
	if err := change(retrying, zone, 20); !errors.As(err, &prior) {
		t.Fatalf("want PriorRequestNotComplete after the SDK's retries, got %v", err)
	}
	if n := changeCalls.Load(); n != 3 {
		t.Fatalf("the SDK sent %d requests, want 3 (its retryer retries PriorRequestNotComplete)", n)
	}

	clock.Advance(10 * time.Second)
	if err := change(once, zone, 20); err != nil {
		t.Fatalf("change after the prior request was processed: %v", err)
	}
	lab.twin.SetRoute53ProcessingTime(0)
	clock.Advance(10 * time.Second)
	for w := int64(30); w < 33; w++ {
		if err := change(once, zone, w); err != nil {
			t.Fatalf("without processing time every request is taken: %v", err)
		}
	}
}
