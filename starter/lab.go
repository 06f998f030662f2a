//go:build !nodev

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/logging"
)

const labUsage = `Usage:
  starter lab [--json] [--rate N] [--event-ids] [--route53-control-plane-us-east-1]
                                                    run the lab on its default ports until Ctrl-C
  starter lab fault KIND [flags]                    inject a fault (again: update it)
  starter lab heal [KIND [flags] | ID]              heal one fault; with no argument, every fault
  starter lab faults [--json]                       list the active faults

Fault kinds: %s
Fault flags: --region R, --replicator NAME, --service S (kafka, osis, aoss, es, route53,
monitoring, s3, sqs, ssm), --operation OP, --zone Z, --share 0..1, --delay D, --lost-as 500|504|drop,
--fault-api URL (default $SWITCHYARD_LAB_FAULT_API or %s).
lost-answer runs the call (its change is made) and then loses the answer, e.g.
  starter lab fault lost-answer --service route53 --operation ChangeResourceRecordSets --share 0.5
strand-change makes Route 53 accept the hosted zone's changes and lose them (stranded changes).
`

// runLab implements `starter lab`: the lab alone, or a client of a running lab's fault API.
func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "fault":
			return runLabFault(ctx, args[1:], stdout, stderr)
		case "heal":
			return runLabHeal(ctx, args[1:], stdout, stderr)
		case "faults":
			return runLabFaults(ctx, args[1:], stdout, stderr)
		case "help", "-h", "--help":
			printLabUsage(stdout)
			return nil
		}
	}
	fs := labFlags("lab", stderr)
	var out outputOptions
	out.register(fs, "print the endpoints as JSON")
	rate := fs.Float64("rate", 0, "events per second of the lab's producer (0: no producer)")
	eventIDs := fs.Bool("event-ids", false, "give every produced event a unique event_id")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	r53Home := fs.Bool("route53-control-plane-us-east-1", true,
		"host Route 53's control plane in us-east-1 as AWS does: impairing us-east-1 takes its API down (DNS answers and health checks go on); false lets every Region answer it, unlike AWS")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		printLabUsage(stderr)
		return fmt.Errorf("unknown lab command %q", pos[0])
	}
	logger, err := logging.New(stderr, "text", *logLevel)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := lab.Start(startCtx, lab.Options{ProducerRate: *rate, WithEventIDs: *eventIDs, Logger: logger,
		Route53ControlPlaneAnywhere: !*r53Home})
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		return fmt.Errorf("start the lab (is another lab or `starter dev` already running?): %w", err)
	}
	defer l.Close()
	ep := l.Endpoints()
	if err := out.print(stdout, ep, func(w io.Writer) {
		printEndpoints(w, ep, *rate)
		fmt.Fprintln(w, "Press Ctrl-C to stop.")
	}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func printLabUsage(w io.Writer) {
	kinds := make([]string, len(lab.FaultKinds))
	for i, k := range lab.FaultKinds {
		kinds[i] = string(k)
	}
	fmt.Fprintf(w, labUsage, strings.Join(kinds, ", "), lab.DefaultFaultAPI)
}

func labFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printLabUsage(stderr) }
	return fs
}

func printEndpoints(w io.Writer, ep lab.Endpoints, rate float64) {
	fmt.Fprintln(w, "Switchyard lab is up (environment: runbooks/environments/lab.yaml).")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tAWS ENDPOINT\tKAFKA BOOTSTRAP\tOPENSEARCH\tALARM QUEUE")
	regions := make([]string, 0, len(ep.Regions))
	for r := range ep.Regions {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		e := ep.Regions[r]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r, e.AWSEndpoint, e.KafkaBootstrap, e.OpenSearchURL, ep.AlarmQueues[r])
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "Zonal cluster (self-managed, %s, three zones, basic auth %s, password in SSM %s): %s\n",
		ep.Zonal.Region, ep.Zonal.User, ep.Zonal.PasswordParameter, ep.Zonal.OpenSearchURL)
	fmt.Fprintf(w, "Managed domain %s (%s, three zones, Multi-AZ with Standby, SigV4 es): %s\n", ep.Domain.Domain, ep.Domain.Region, ep.Domain.OpenSearchURL)
	fmt.Fprintf(w, "OpenSearch requests are verified as AWS does: sign with key %s / %s (SigV4 aoss for collections, es for the domain).\n",
		lab.AccessKeyID, lab.SecretAccessKey)
	arcRegions := make([]string, 0, len(ep.ARC.Endpoints))
	for r := range ep.ARC.Endpoints {
		arcRegions = append(arcRegions, r)
	}
	slices.Sort(arcRegions)
	for i, r := range arcRegions {
		arcRegions[i] = r + " " + ep.ARC.Endpoints[r]
	}
	fmt.Fprintf(w, "ARC cluster %s (the lab's traffic lever: routing controls, data plane): %s; DescribeCluster (us-west-2): %s\n",
		ep.ARC.ClusterARN, strings.Join(arcRegions, ", "), ep.ARC.ControlPlane)
	if ep.Route53ControlPlane != "" {
		fmt.Fprintf(w, "Route 53's control plane lives in %s, as on AWS; its DNS answers and health checks keep working when %[1]s is impaired.\n", ep.Route53ControlPlane)
	}
	fmt.Fprintf(w, "Fault API: %s\n", ep.FaultAPI)
	if rate > 0 {
		fmt.Fprintf(w, "Producer: %g events/s to %s, following its Route 53 weights.\n", rate, lab.RecordName)
	}
	fmt.Fprintln(w, `Try: AWS_ENDPOINT_URL=`+ep.Regions[regions[0]].AWSEndpoint+` aws kafka list-clusters-v2 --region `+regions[0]+`
     go run ./starter lab fault impair-region --region `+regions[0])
}

// faultFlags are the flags that describe a fault.
type faultFlags struct {
	f        lab.Fault
	delay    time.Duration
	faultAPI string
	outputOptions
}

func (o *faultFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.f.Region, "region", "", "Region the fault acts on")
	fs.StringVar(&o.f.Replicator, "replicator", "", "replicator name (stop-replicator, slow-replicator)")
	fs.StringVar(&o.f.Service, "service", "", "AWS service signing name (throttle, fail, timeout, deny, latency, lost-answer); empty: all")
	fs.StringVar(&o.f.Operation, "operation", "", "API operation, e.g. DescribeReplicator (throttle, fail, timeout, deny, lost-answer); empty: all")
	fs.StringVar(&o.f.Zone, "zone", "", "zone of the zonal domain (zone-outage)")
	fs.StringVar(&o.f.LostAs, "lost-as", "", "lost-answer: how the served call's answer is lost: 500 (default), 504 (after --delay) or drop")
	fs.Float64Var(&o.f.Share, "share", 0, "share of documents or calls affected, 0..1 (default 1)")
	fs.DurationVar(&o.delay, "delay", 0, "added delay (latency, slow-replicator; timeout and lost-answer --lost-as 504: hold before the 504, default 1s)")
	fs.StringVar(&o.faultAPI, "fault-api", faultAPIDefault(), "the lab's fault API")
	o.outputOptions.register(fs, "print JSON")
}

func faultAPIDefault() string {
	if v := os.Getenv("SWITCHYARD_LAB_FAULT_API"); v != "" {
		return v
	}
	return lab.DefaultFaultAPI
}

func runLabFault(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := labFlags("lab fault", stderr)
	var o faultFlags
	o.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		printLabUsage(stderr)
		return errors.New("usage: starter lab fault KIND [flags]")
	}
	o.f.Kind, o.f.Delay = lab.FaultKind(pos[0]), lab.Duration(o.delay)
	got, err := lab.NewFaultClient(o.faultAPI).Inject(ctx, o.f)
	if err != nil {
		return err
	}
	return o.print(stdout, got, func(w io.Writer) { fmt.Fprintf(w, "injected %s\n", got) })
}

func runLabHeal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := labFlags("lab heal", stderr)
	var o faultFlags
	o.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	client := lab.NewFaultClient(o.faultAPI)
	var healed []string
	switch len(pos) {
	case 0:
		if healed, err = client.HealAll(ctx); err != nil {
			return err
		}
	case 1:
		f := o.f
		f.Delay = lab.Duration(o.delay)
		if slices.Contains(lab.FaultKinds, lab.FaultKind(pos[0])) {
			f.Kind = lab.FaultKind(pos[0])
		} else {
			f.ID = pos[0] // an ID as `starter lab faults` lists it
		}
		if healed, err = client.Heal(ctx, f); err != nil {
			return err
		}
	default:
		printLabUsage(stderr)
		return errors.New("usage: starter lab heal [KIND [flags] | ID]")
	}
	return o.print(stdout, map[string][]string{"healed": nonNilList(healed)}, func(w io.Writer) {
		if len(healed) == 0 {
			fmt.Fprintln(w, "nothing to heal")
		}
		for _, id := range healed {
			fmt.Fprintf(w, "healed %s\n", id)
		}
	})
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runLabFaults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := labFlags("lab faults", stderr)
	faultAPI := fs.String("fault-api", faultAPIDefault(), "the lab's fault API")
	var out outputOptions
	out.register(fs, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	faults, err := lab.NewFaultClient(*faultAPI).List(ctx)
	if err != nil {
		return err
	}
	return out.print(stdout, map[string][]lab.Fault{"faults": faults}, func(w io.Writer) {
		if len(faults) == 0 {
			fmt.Fprintln(w, "no active faults")
		}
		for _, f := range faults {
			fmt.Fprintln(w, f)
		}
	})
}
