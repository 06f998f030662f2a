package awstwin

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

func weighted(name, setID, ip string, weight int64) r53types.Change {
	return r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeA, SetIdentifier: aws.String(setID), Weight: aws.Int64(weight),
		TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(ip)}},
	}}
}

func TestRoute53ThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Route53ChangeDelay: time.Minute})
	var getChanges atomic.Int32
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		if fc.Operation == "GetChange" {
			getChanges.Add(1)
		}
		return Fault{}
	})
	zoneID := lab.twin.CreateHostedZone("Example.com", false)
	ctx := context.Background()
	// Global service: a client in us-east-1 and one in us-west-2, each at its own Region's
	// endpoint, see one state.
	eastR53 := route53.NewFromConfig(sdkConfig(lab.urls[east], east))
	westR53 := route53.NewFromConfig(sdkConfig(lab.urls[west], west))

	hz, err := westR53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil || len(hz.HostedZones) != 1 {
		t.Fatalf("ListHostedZones = %+v, %v", hz, err)
	}
	z := hz.HostedZones[0]
	if aws.ToString(z.Id) != "/hostedzone/"+zoneID || aws.ToString(z.Name) != "example.com." || aws.ToInt64(z.ResourceRecordSetCount) != 2 ||
		z.Config.PrivateZone || hz.IsTruncated {
		t.Fatalf("HostedZone = %+v", z)
	}

	ch, err := eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: z.Id, // the SDK strips the /hostedzone/ prefix, as for IDs from ListHostedZones
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("fail over to us-west-2"), Changes: []r53types.Change{
			weighted("app.example.com", "east", "10.0.0.1", 0),
			weighted("app.example.com", "west", "10.1.0.1", 255),
			{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String("db.example.com."), Type: r53types.RRTypeCname, TTL: aws.Int64(30),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("db.us-west-2.example.internal")}}}},
		}},
	})
	if err != nil {
		t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	if ch.ChangeInfo.Status != r53types.ChangeStatusPending || !strings.HasPrefix(aws.ToString(ch.ChangeInfo.Id), "/change/C") ||
		aws.ToString(ch.ChangeInfo.Comment) != "fail over to us-west-2" || !ch.ChangeInfo.SubmittedAt.Equal(clock.Now()) {
		t.Fatalf("ChangeInfo = %+v", ch.ChangeInfo)
	}

	// PENDING until the configured delay has passed on the twin's clock; the SDK's own waiter
	// keeps polling until INSYNC.
	gc, err := westR53.GetChange(ctx, &route53.GetChangeInput{Id: ch.ChangeInfo.Id})
	if err != nil || gc.ChangeInfo.Status != r53types.ChangeStatusPending {
		t.Fatalf("GetChange = %+v, %v; want PENDING", gc, err)
	}
	waitErr := make(chan error, 1)
	go func() {
		w := route53.NewResourceRecordSetsChangedWaiter(eastR53, func(o *route53.ResourceRecordSetsChangedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 5*time.Millisecond, 20*time.Millisecond
		})
		waitErr <- w.Wait(ctx, &route53.GetChangeInput{Id: ch.ChangeInfo.Id}, 30*time.Second)
	}()
	waitFor(t, "the waiter to poll a PENDING change twice", func() bool { return getChanges.Load() >= 3 })
	select {
	case err := <-waitErr:
		t.Fatalf("waiter returned %v while the change was PENDING", err)
	default:
	}
	clock.Advance(time.Minute)
	if err := <-waitErr; err != nil {
		t.Fatalf("ResourceRecordSetsChanged waiter: %v", err)
	}

	// Page through the zone two records at a time: NS, SOA (apex), app x2, db in Route 53's
	// reversed-label order.
	var got []string
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := westR53.ListResourceRecordSets(ctx, in)
		if err != nil {
			t.Fatalf("ListResourceRecordSets: %v", err)
		}
		for _, rr := range out.ResourceRecordSets {
			got = append(got, aws.ToString(rr.Name)+"/"+string(rr.Type)+"/"+aws.ToString(rr.SetIdentifier))
		}
		if !out.IsTruncated {
			break
		}
		if pages > 5 || aws.ToInt32(out.MaxItems) != 2 {
			t.Fatalf("pagination did not converge: %+v", out)
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
	want := []string{"example.com./NS/", "example.com./SOA/", "app.example.com./A/east", "app.example.com./A/west", "db.example.com./CNAME/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("record sets = %v, want %v", got, want)
	}
	rs, err := lab.twin.RecordSets(zoneID)
	if err != nil || aws.ToInt64(rs[3].Weight) != 255 || rs[3].Values[0] != "10.1.0.1" {
		t.Fatalf("RecordSets = %+v, %v", rs, err)
	}

	// Route 53's batch validation: deleting a missing record and re-creating an existing one
	// are InvalidChangeBatch with one message each, and nothing is applied.
	_, err = eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{
			{Action: r53types.ChangeActionDelete, ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("gone.example.com"), Type: r53types.RRTypeA,
				TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.9.9.9")}}}},
			{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("db.example.com"), Type: r53types.RRTypeCname,
				TTL: aws.Int64(30), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("elsewhere")}}}},
			weighted("new.example.com", "x", "10.2.0.1", 1),
		}},
	})
	var icb *r53types.InvalidChangeBatch
	if !errors.As(err, &icb) || len(icb.Messages) != 2 ||
		icb.Messages[0] != "Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found" ||
		!strings.Contains(icb.Messages[1], "but it already exists") {
		t.Fatalf("invalid batch error = %#v", err)
	}
	if rs, _ := lab.twin.RecordSets(zoneID); len(rs) != 5 {
		t.Fatalf("a failed batch changed the zone: %d record sets", len(rs))
	}

	// Deleting with the right values works; with stale values it does not.
	_, err = eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: weighted("app.example.com", "east", "10.0.0.9", 0).ResourceRecordSet}}}})
	if !errors.As(err, &icb) || !strings.Contains(icb.Messages[0], "do not match the current values") {
		t.Fatalf("delete with stale values error = %v", err)
	}
	_, err = eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: weighted("app.example.com", "east", "10.0.0.1", 0).ResourceRecordSet}}}})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	// A record without TTL is malformed input, not a batch error.
	_, err = eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("x.example.com"), Type: r53types.RRTypeA, ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.0.1")}}}}}}})
	var ii *r53types.InvalidInput
	if !errors.As(err, &ii) {
		t.Fatalf("record without TTL error = %v, want InvalidInput", err)
	}
	_, err = eastR53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOSUCHZONE")})
	var nsz *r53types.NoSuchHostedZone
	if !errors.As(err, &nsz) {
		t.Fatalf("unknown zone error = %v, want NoSuchHostedZone", err)
	}
}

func TestRoute53ChangeLogRecordsAcceptedBatchesOnly(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now})
	zoneID := lab.twin.CreateHostedZone("example.com", false)
	other := lab.twin.CreateHostedZone("example.org", false)
	ctx := context.Background()
	r53 := route53.NewFromConfig(sdkConfig(lab.urls[west], west))

	// Seeding is not an API change: the log stays empty.
	w := int64(100)
	if err := lab.twin.UpsertRecordSet(zoneID, RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "east", Weight: &w,
		TTL: aws.Int64(60), Values: []string{"10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if got := lab.twin.Route53ChangeLog(zoneID); len(got) != 0 {
		t.Fatalf("log after seeding = %+v, want empty", got)
	}

	ch, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("fail over"), Changes: []r53types.Change{
			weighted("app.example.com", "east", "10.0.0.1", 0),
			weighted("app.example.com", "west", "10.1.0.1", 100),
		}}})
	if err != nil {
		t.Fatal(err)
	}
	// A rejected batch (CNAME beside A records) changes nothing and is not logged.
	_, err = r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionCreate,
			ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("app.example.com"), Type: r53types.RRTypeCname,
				TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("x.example.com")}}}}}}})
	if apiCode(t, err) != "InvalidChangeBatch" {
		t.Fatalf("conflicting CNAME: err = %v", err)
	}
	clock.Advance(time.Second)
	_, err = r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String("/hostedzone/" + other),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{weighted("www.example.org", "a", "10.2.0.1", 1)}}})
	if err != nil {
		t.Fatal(err)
	}

	log := lab.twin.Route53ChangeLog("/hostedzone/" + zoneID)
	if len(log) != 1 {
		t.Fatalf("log of %s = %+v, want one batch", zoneID, log)
	}
	got := log[0]
	if "/change/"+got.ID != aws.ToString(ch.ChangeInfo.Id) || got.ZoneID != zoneID || got.Comment != "fail over" ||
		!got.SubmittedAt.Equal(aws.ToTime(ch.ChangeInfo.SubmittedAt)) || len(got.Changes) != 2 {
		t.Fatalf("entry = %+v, change info %+v", got, ch.ChangeInfo)
	}
	if c := got.Changes[1]; c.Action != "UPSERT" || c.Name != "app.example.com." || c.Type != "A" || c.SetIdentifier != "west" {
		t.Fatalf("second change = %+v", c)
	}
	if ws := got.Weights(); len(ws) != 2 || ws["east"] != 0 || ws["west"] != 100 {
		t.Fatalf("weights = %v", ws)
	}
	// A copy: changing it does not change the twin's log.
	*got.Changes[1].Weight = 7
	if ws := lab.twin.Route53ChangeLog(zoneID)[0].Weights(); ws["west"] != 100 {
		t.Fatalf("the log was changed through a returned copy: %v", ws)
	}
	if o := lab.twin.Route53ChangeLog(other); len(o) != 1 || o[0].Weights()["a"] != 1 || !o[0].SubmittedAt.Equal(clock.Now()) {
		t.Fatalf("log of the other zone = %+v", o)
	}
}

func TestRoute53ChangeLogIsSafeForConcurrentUse(t *testing.T) {
	lab := startLab(t, Options{})
	zoneID := lab.twin.CreateHostedZone("example.com", false)
	ctx := context.Background()
	r53 := route53.NewFromConfig(sdkConfig(lab.urls[east], east))
	const writers, each = 4, 5
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			var err error
			for j := range each {
				if err == nil {
					_, err = r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
						ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{weighted("app.example.com", "w"+strconv.Itoa(i), "10.0.0.1", int64(j))}}})
				}
				_ = lab.twin.Route53ChangeLog(zoneID) // read while others write (go test -race)
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	log := lab.twin.Route53ChangeLog(zoneID)
	if len(log) != writers*each {
		t.Fatalf("%d batches logged, want %d", len(log), writers*each)
	}
	ids := map[string]bool{}
	for _, c := range log {
		ids[c.ID] = true
	}
	if len(ids) != writers*each {
		t.Fatalf("%d distinct change ids, want %d", len(ids), writers*each)
	}
}
