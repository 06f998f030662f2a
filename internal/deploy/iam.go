package deploy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement of a Policy.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// resourceKind is the set of resources a group of actions is granted on. The ARNs are wildcards
// over Region, account and name but keep the resource type, so a grant meant for a replicator
// never covers a cluster; a deployment narrows them to its own names (docs/iam/README.md).
type resourceKind struct {
	sid  string
	arns []string
}

var (
	mskClusters    = resourceKind{"MSKClusters", []string{"arn:aws:kafka:*:*:cluster/*"}}
	mskReplicators = resourceKind{"MSKReplicators", []string{"arn:aws:kafka:*:*:replicator/*"}}
	// MSK IAM authentication: Connect is checked on the cluster, DescribeTopic on topics and
	// DescribeGroup on consumer groups.
	kafkaData      = resourceKind{"KafkaIAMAuth", []string{"arn:aws:kafka:*:*:cluster/*", "arn:aws:kafka:*:*:group/*", "arn:aws:kafka:*:*:topic/*"}}
	osisPipelines  = resourceKind{"OSIPipelines", []string{"arn:aws:osis:*:*:pipeline/*"}}
	aossControl    = resourceKind{"OpenSearchServerlessControl", []string{"*"}}
	aossData       = resourceKind{"OpenSearchServerlessData", []string{"arn:aws:aoss:*:*:collection/*"}}
	esDomains      = resourceKind{"OpenSearchDomains", []string{"arn:aws:es:*:*:domain/*"}}
	route53Zones   = resourceKind{"Route53Records", []string{"arn:aws:route53:::hostedzone/*"}}
	route53Changes = resourceKind{"Route53Changes", []string{"arn:aws:route53:::change/*"}}
	// GetHealthCheck is authorized on the health check
	// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html).
	route53HealthChecks = resourceKind{"Route53HealthChecks", []string{"arn:aws:route53:::healthcheck/*"}}
	ssmParameters       = resourceKind{"SSMParameters", []string{"arn:aws:ssm:*:*:parameter/*"}}
	// GetMetricData does not support resource-level permissions; DescribeAlarms is granted with it
	// so that one statement covers the monitoring reads.
	cloudWatch = resourceKind{"CloudWatchReads", []string{"*"}}
	// PutMetricData (lever health_check_metric) has no resource-level permissions either; a
	// deployment may narrow it with the cloudwatch:namespace condition key.
	cloudWatchWrites = resourceKind{"CloudWatchMetricWrites", []string{"*"}}
	// ARC routing controls (lever arc_routing_control), read and set on the cluster's data plane.
	arcRoutingControls = resourceKind{"ARCRoutingControls", []string{"arn:aws:route53-recovery-control::*:controlpanel/*/routingcontrol/*"}}
	dlqBuckets         = resourceKind{"DeadLetterBuckets", []string{"arn:aws:s3:::*"}}
	regionRoles        = resourceKind{"AssumePerRegionRoles", []string{"arn:aws:iam::*:role/*"}}
	// Readiness: the worker's own role is simulated (a deployment narrows it to that role);
	// GetCallerIdentity needs no permission and ListServiceQuotas has no resource-level
	// permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_servicequotas.html).
	iamSimulation = resourceKind{"SimulateWorkerRole", []string{"arn:aws:iam::*:role/*"}}
	callerID      = resourceKind{"CallerIdentity", []string{"*"}}
	quotaReads    = resourceKind{"ServiceQuotasReads", []string{"*"}}
)

// actionResources says what each IAM action the worker may need is granted on. An action the
// catalog names that is missing here makes WorkerPolicy fail: granting it on "*" by default
// would defeat the point of the policy.
var actionResources = map[string]resourceKind{
	"kafka:DescribeClusterV2":     mskClusters,
	"kafka:DescribeReplicator":    mskReplicators,
	"kafka-cluster:Connect":       kafkaData,
	"kafka-cluster:DescribeGroup": kafkaData,
	"kafka-cluster:DescribeTopic": kafkaData,
	"osis:GetPipeline":            osisPipelines,
	"osis:StartPipeline":          osisPipelines,
	"osis:StopPipeline":           osisPipelines,
	"osis:UpdatePipeline":         osisPipelines,
	"aoss:BatchGetCollection":     aossControl,
	// Account settings (capacity limits) are account-level in a Region: no resource ARN.
	"aoss:GetAccountSettings":                             aossControl,
	"aoss:UpdateAccountSettings":                          aossControl,
	"aoss:APIAccessAll":                                   aossData,
	"es:DescribeDomain":                                   esDomains,
	"es:DescribeDomainHealth":                             esDomains,
	"es:DescribeDomainNodes":                              esDomains,
	"es:ESHttpGet":                                        esDomains,
	"es:ESHttpPost":                                       esDomains,
	"es:ESHttpPut":                                        esDomains,
	"es:ESHttpDelete":                                     esDomains,
	"route53:ListResourceRecordSets":                      route53Zones,
	"route53:ChangeResourceRecordSets":                    route53Zones,
	"route53:GetChange":                                   route53Changes,
	"route53:GetHealthCheck":                              route53HealthChecks,
	"ssm:GetParameter":                                    ssmParameters,
	"ssm:PutParameter":                                    ssmParameters,
	"cloudwatch:GetMetricData":                            cloudWatch,
	"cloudwatch:DescribeAlarms":                           cloudWatch,
	"cloudwatch:PutMetricData":                            cloudWatchWrites,
	"route53-recovery-cluster:GetRoutingControlState":     arcRoutingControls,
	"route53-recovery-cluster:UpdateRoutingControlState":  arcRoutingControls,
	"route53-recovery-cluster:UpdateRoutingControlStates": arcRoutingControls,
	"s3:ListBucket":                                       dlqBuckets,
	"sts:AssumeRole":                                      regionRoles,
	// Readiness (activities/readiness.go): the worker simulates its own role's policy, reads
	// the Regions' quotas and produces the canary's marker.
	"iam:SimulatePrincipalPolicy":     iamSimulation,
	"sts:GetCallerIdentity":           callerID,
	"servicequotas:ListServiceQuotas": quotaReads,
	"kafka-cluster:WriteData":         kafkaData,
}

// Need is one user of IAM actions: a catalog entry, or a part of the worker outside the catalog.
type Need struct {
	// By names the user: a catalog entry name, or a description of the code.
	By      string
	Actions []string
}

// WorkerNeeds lists who needs which actions: every catalog entry with IAM actions, plus the
// per-Region clients' role assumption (internal/awsclients: an environment's assume_role_arn).
// The backfill verification workflow (`starter verify`) runs the activities behind the
// backfill.verify check, so that entry's actions cover it.
func WorkerNeeds(cat *catalog.Catalog) []Need {
	var needs []Need
	for _, name := range cat.Names() {
		spec, _ := cat.Lookup(name)
		if len(spec.IAM) == 0 {
			continue
		}
		actions := slices.Clone(spec.IAM)
		sort.Strings(actions)
		needs = append(needs, Need{By: name, Actions: slices.Compact(actions)})
	}
	needs = append(needs, Need{By: "per-Region AWS clients (assume_role_arn of an environment's Region)", Actions: []string{"sts:AssumeRole"}})
	return needs
}

// WorkerPolicy returns the worker's least-privilege policy for needs: exactly the actions they
// name, one statement per kind of resource, in a stable order so the generated file diffs well.
func WorkerPolicy(needs []Need) (Policy, error) {
	bySid := map[string]*Statement{}
	var missing []string
	for _, n := range needs {
		for _, a := range n.Actions {
			kind, ok := actionResources[a]
			if !ok {
				missing = append(missing, fmt.Sprintf("%s (needed by %s)", a, n.By))
				continue
			}
			st := bySid[kind.sid]
			if st == nil {
				st = &Statement{Sid: kind.sid, Effect: "Allow", Resource: slices.Clone(kind.arns)}
				bySid[kind.sid] = st
			}
			if !slices.Contains(st.Action, a) {
				st.Action = append(st.Action, a)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Policy{}, fmt.Errorf("deploy: no resource kind for IAM actions %s: add them to actionResources", strings.Join(missing, ", "))
	}
	p := Policy{Version: "2012-10-17"}
	for _, st := range bySid {
		sort.Strings(st.Action)
		p.Statement = append(p.Statement, *st)
	}
	sort.Slice(p.Statement, func(i, j int) bool { return p.Statement[i].Sid < p.Statement[j].Sid })
	return p, nil
}

// Actions returns every action the policy grants, sorted.
func (p Policy) Actions() []string {
	var out []string
	for _, st := range p.Statement {
		out = append(out, st.Action...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}
