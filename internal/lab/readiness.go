package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// What the lab provides for readiness evaluation (issue 18): the worker's role per Region with
// the policy IAM simulation answers from, the pipelines' units, buffering and log publishing,
// the collections' account capacity limits, service quotas, the usage metrics capacity is
// judged against, and one fault per readiness check.

// WorkerRoleARN is the role the worker runs as in region: one role per Region, as an
// environment with a per-Region assume_role_arn has. STS GetCallerIdentity in the Region
// answers a session of it, and IAM simulates its policies.
func WorkerRoleARN(region string) string {
	return "arn:aws:iam::" + AccountID + ":role/switchyard-worker-" + region
}

// WorkerPolicyName is the name of the inline policy the lab attaches to each worker role.
const WorkerPolicyName = "switchyard-worker"

// DefaultWorkerPolicy is the policy each worker role has unless Options.IAMPolicyFiles names a
// file for its Region: every action of the services the runbooks and readiness call, on any
// resource. docs/iam/worker-policy.json is the least-privilege production policy; the lab's is
// wider so that a runbook that gains an activity still passes until a test narrows it.
const DefaultWorkerPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "LabWorker",
    "Effect": "Allow",
    "Action": ["kafka:*", "kafka-cluster:*", "osis:*", "aoss:*", "es:*", "route53:*", "route53-recovery-cluster:*",
               "cloudwatch:*", "s3:*", "ssm:*", "sqs:*", "sts:*", "iam:SimulatePrincipalPolicy", "servicequotas:*"],
    "Resource": "*"
  }]
}`

// Readiness faults: each makes one readiness check turn actionRequired, through the same API
// state AWS would show after the equivalent console change, and heals back.
const (
	// FaultNoPersistentBuffer turns the Region's pipeline's persistent buffering off
	// (BufferOptions.PersistentBufferEnabled false).
	FaultNoPersistentBuffer FaultKind = "no-persistent-buffer"
	// FaultNoDLQ replaces the Region's pipeline body with one whose sink has no dlq.
	FaultNoDLQ FaultKind = "no-dlq"
	// FaultCapPipeline sets the Region's pipeline to MinUnits 1, MaxUnits 1: it cannot absorb
	// the other Region's load.
	FaultCapPipeline FaultKind = "cap-pipeline"
	// FaultCapCollection sets the Region's OpenSearch Serverless capacity limits to 2 OCUs
	// (the minimum) for indexing and search.
	FaultCapCollection FaultKind = "cap-collection"
	// FaultLowQuota lowers the Region's "Maximum Ingestion OCUs per pipeline" quota to 1.
	FaultLowQuota FaultKind = "low-quota"
	// FaultIAMDeny adds an explicit Deny of Operation (an IAM action such as
	// osis:StartPipeline; default osis:*) to the Region's worker role.
	FaultIAMDeny FaultKind = "iam-deny"
	// FaultDeleteAlarm deletes the Region's pipeline-not-ingesting alarm (healing puts it back).
	FaultDeleteAlarm FaultKind = "delete-alarm"
	// FaultTrafficDrift sets every routing control Off: the lever lets no Region in while
	// Route 53 fails open and DNS still answers, so lever and answers disagree.
	FaultTrafficDrift FaultKind = "traffic-drift"
)

// readinessFaultKinds are the kinds readiness.go handles; faults.go asks isReadinessFault.
var readinessFaultKinds = []FaultKind{FaultNoPersistentBuffer, FaultNoDLQ, FaultCapPipeline, FaultCapCollection,
	FaultLowQuota, FaultIAMDeny, FaultDeleteAlarm, FaultTrafficDrift}

func isReadinessFault(k FaultKind) bool {
	for _, r := range readinessFaultKinds {
		if r == k {
			return true
		}
	}
	return false
}

// normalizeReadinessFault validates and names a readiness fault.
func (l *Lab) normalizeReadinessFault(f Fault) (Fault, error) {
	if f.Kind == FaultTrafficDrift {
		f.ID = string(f.Kind)
		return f, nil
	}
	if _, err := l.region(f.Region); err != nil {
		return Fault{}, fmt.Errorf("%w: %s needs --region %s or %s", ErrInvalidFault, f.Kind, l.opts.Primary, l.opts.Secondary)
	}
	f.ID = string(f.Kind) + ":" + f.Region
	if f.Kind == FaultIAMDeny {
		if f.Operation == "" {
			f.Operation = "osis:*"
		}
		if !strings.Contains(f.Operation, ":") {
			return Fault{}, fmt.Errorf("%w: iam-deny --operation wants an IAM action such as osis:StartPipeline, not %q", ErrInvalidFault, f.Operation)
		}
		f.ID += ":" + f.Operation
	}
	return f, nil
}

// applyReadinessFault sets (on) or clears a readiness fault; each is a desired state.
func (l *Lab) applyReadinessFault(f Fault, on bool) error {
	t := l.twin
	switch f.Kind {
	case FaultNoPersistentBuffer:
		v := !on
		t.SetPipelineSettings(f.Region, l.regions[f.Region].pipeline.Name(), awstwin.PipelineUpdate{PersistentBufferEnabled: &v})
	case FaultNoDLQ:
		o := &osisBackend{l: l, rg: l.regions[f.Region]}
		body := o.configurationBody()
		if on {
			body = withoutDLQ(body)
		}
		t.SetPipelineSettings(f.Region, l.regions[f.Region].pipeline.Name(), awstwin.PipelineUpdate{PipelineConfigurationBody: &body})
	case FaultCapPipeline:
		lo, hi := 1, labMaxUnits
		if on {
			hi = 1
		} else {
			lo = labMinUnits
		}
		t.SetPipelineSettings(f.Region, l.regions[f.Region].pipeline.Name(), awstwin.PipelineUpdate{MinUnits: &lo, MaxUnits: &hi})
	case FaultCapCollection:
		lim := awstwin.AOSSCapacityLimits{MaxIndexingCapacityInOCU: awstwin.DefaultAOSSCapacityOCU, MaxSearchCapacityInOCU: awstwin.DefaultAOSSCapacityOCU}
		if on {
			lim = awstwin.AOSSCapacityLimits{MaxIndexingCapacityInOCU: 2, MaxSearchCapacityInOCU: 2}
		}
		t.SetAOSSCapacity(f.Region, lim)
	case FaultLowQuota:
		v := 96.0
		if on {
			v = 1
		}
		return t.SetServiceQuota(f.Region, awstwin.QuotaServiceOSIS, awstwin.QuotaOSISMaxUnitsPerPipeline, v)
	case FaultIAMDeny:
		name := "lab-fault-deny-" + strings.NewReplacer(":", "-", "*", "all").Replace(f.Operation)
		if !on {
			t.DeleteRolePolicy(WorkerRoleARN(f.Region), name)
			return nil
		}
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Sid": "LabFault", "Effect": "Deny", "Action": []string{f.Operation}, "Resource": "*"}}})
		if err != nil {
			return fmt.Errorf("iam-deny policy: %w", err)
		}
		return t.PutRolePolicy(WorkerRoleARN(f.Region), name, doc)
	case FaultDeleteAlarm:
		name := alarmNotIngesting(f.Region)
		l.fmu.Lock()
		defer l.fmu.Unlock()
		if l.deletedAlarms == nil {
			l.deletedAlarms = map[string]awstwin.Alarm{}
		}
		if on {
			if a, ok := t.DeleteAlarm(f.Region, name); ok {
				l.deletedAlarms[f.Region] = a
			}
			return nil
		}
		if a, ok := l.deletedAlarms[f.Region]; ok {
			t.RestoreAlarm(f.Region, a)
			delete(l.deletedAlarms, f.Region)
		}
	case FaultTrafficDrift:
		if !on {
			return l.ResetRoutingControls()
		}
		var errs []error
		for _, arn := range l.arcControls {
			errs = append(errs, l.arc.SetRoutingControlState(arn, false))
		}
		return errors.Join(errs...)
	}
	return nil
}

// withoutDLQ drops the dlq block of the lab's pipeline body (its last three lines).
func withoutDLQ(body string) string {
	i := strings.Index(body, "        dlq:")
	if i < 0 {
		return body
	}
	return body[:i]
}

// The lab pipeline's capacity: MinUnits and MaxUnits as it starts.
const (
	labMinUnits = 1
	labMaxUnits = 4
)

// seedIdentity gives each Region its worker role, with its policy from Options.IAMPolicyFiles
// (or DefaultWorkerPolicy), and makes STS answer a session of it in that Region.
func (l *Lab) seedIdentity() error {
	for _, name := range l.order {
		doc := []byte(DefaultWorkerPolicy)
		if path := l.opts.IAMPolicyFiles[name]; path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("lab: IAM policy file of %s: %w", name, err)
			}
			doc = b
		}
		if err := l.twin.PutRolePolicy(WorkerRoleARN(name), WorkerPolicyName, doc); err != nil {
			return fmt.Errorf("lab: IAM policy of %s: %w", name, err)
		}
		l.twin.SetCallerIdentity(name, "arn:aws:sts::"+AccountID+":assumed-role/switchyard-worker-"+name+"/switchyard-"+name)
	}
	// Calls meet the policies the simulation answers from.
	l.twin.EnforceIAM(true)
	return nil
}

// publishUsage publishes what capacity is judged against: the pipeline's computeUnits (AWS/OSIS,
// PipelineName; https://docs.aws.amazon.com/opensearch-service/latest/developerguide/monitoring-pipeline-metrics.html)
// — the lab's pipelines run at their MinUnits — and the account's OpenSearch Serverless
// IndexingOCU and SearchOCU (AWS/AOSS, ClientId; "This metric applies at the account level",
// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/monitoring-cloudwatch.html),
// 2 each, OpenSearch Serverless's minimum for a collection with standby replicas.
func (l *Lab) publishUsage(ctx context.Context, rg *region, put func(ns, name string, dims map[string]string, v float64)) {
	units := float64(labMinUnits)
	if p, err := l.twin.Pipeline(ctx, rg.name, rg.pipeline.Name()); err == nil {
		units = float64(p.MinUnits)
	}
	put(nsOSIS, "computeUnits", map[string]string{"PipelineName": rg.pipeline.Name()}, units)
	put("AWS/AOSS", "IndexingOCU", map[string]string{"ClientId": AccountID}, 2)
	put("AWS/AOSS", "SearchOCU", map[string]string{"ClientId": AccountID}, 2)
}

// ResetCapacity puts every Region's capacity back as the lab starts: the pipelines' units, the
// account's capacity limits, no pre-scale record in SSM (/switchyard/<environment>/prescale) and
// no usage history. Tests sharing one lab call it between tests: a pre-scale left by a test in
// another environment name is not in the lab environment's record, so its raised minutes would
// count as load and every later pre-scale would raise further (CI saw 48 units).
func (l *Lab) ResetCapacity() {
	for name, rg := range l.regions {
		l.twin.ResetPipelineSettings(name, rg.pipeline.Name())
		l.twin.SetAOSSCapacity(name, awstwin.AOSSCapacityLimits{MaxIndexingCapacityInOCU: awstwin.DefaultAOSSCapacityOCU, MaxSearchCapacityInOCU: awstwin.DefaultAOSSCapacityOCU})
		l.twin.DeleteParameters(name, "/switchyard/*/prescale")
		l.twin.DeleteMetric(name, nsOSIS, "computeUnits")
		l.twin.DeleteMetric(name, "AWS/AOSS", "IndexingOCU")
		l.twin.DeleteMetric(name, "AWS/AOSS", "SearchOCU")
	}
}
