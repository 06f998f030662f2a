package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Readiness evaluates whether an environment could fail over now (issue 18), check by check,
// in the vocabulary of AWS ARC Region switch's plan evaluation: passed, actionRequired (with
// what to do) or unknown (could not be read, and why). ReadinessWorkflow runs one activity per
// group of checks, on a Temporal Schedule and on demand.
//
// The one rule holds here too: every check of a Region reads that Region's endpoints. The
// exceptions are named: IAM policy simulation is an IAM control-plane call, which lives in
// us-east-1 — when it does not answer the IAM checks are unknown, never failed; and the
// capacity and canary checks read the peer Region by design (its peak load, its collection).
type Readiness struct {
	c   *Cloud
	reg *Registry
	// store reads the runbooks whose IAM actions are simulated and the trigger rules whose
	// alarms must exist.
	store *runbook.Store
	// CanaryTimeout bounds how long the canary waits for its marker (default 60 s);
	// CanaryPoll is the pause between searches (default 250 ms).
	CanaryTimeout, CanaryPoll time.Duration
	// MaxMessageLag is the replicator lag above which readiness asks for action (default
	// ReadinessMaxMessageLag).
	MaxMessageLag int64
	// CanaryMaxLatency is the end-to-end latency above which the canary asks for action
	// (default ReadinessCanaryMaxLatency).
	CanaryMaxLatency time.Duration
}

// ReadinessCanaryMaxLatency bounds the canary's end-to-end latency: the seed's design expects a
// write to be searchable in both Regions within "one to a few seconds"; ten is well past that.
const ReadinessCanaryMaxLatency = 10 * time.Second

// NewReadiness returns the readiness activities over c's clients; reg is the catalog whose
// entries' IAM actions the IAM check simulates.
func NewReadiness(c *Cloud, reg *Registry, store *runbook.Store) *Readiness {
	return &Readiness{c: c, reg: reg, store: store}
}

// Register registers the readiness activities under their stable names.
func (r *Readiness) Register(w ActivityRegistry) {
	w.RegisterActivityWithOptions(r.Plan, activity.RegisterOptions{Name: wire.ReadinessPlanActivity})
	w.RegisterActivityWithOptions(r.Check, activity.RegisterOptions{Name: wire.ReadinessCheckActivity})
}

// Plan resolves the environment: Regions, Slack channel and the groups that apply.
func (r *Readiness) Plan(ctx context.Context, envName string) (wire.ReadinessPlan, error) {
	env, err := r.c.envs.load(ctx, envName)
	if err != nil {
		return wire.ReadinessPlan{}, err
	}
	p := wire.ReadinessPlan{Environment: envName, Regions: regionNames(env)}
	if env.Slack != nil {
		p.SlackChannel = env.Slack.Channel
	}
	for _, g := range wire.ReadinessGroups {
		if g == wire.ReadinessGroupTraffic && env.Traffic == nil {
			continue
		}
		p.Groups = append(p.Groups, g)
	}
	return p, nil
}

// Check evaluates one group of checks for every Region of the environment. A check that
// cannot read its source answers unknown with the reason; the activity itself fails only for a
// bad request (unknown environment or group).
func (r *Readiness) Check(ctx context.Context, req wire.ReadinessCheckRequest) ([]wire.ReadinessCheck, error) {
	env, err := r.c.envs.load(ctx, req.Environment)
	if err != nil {
		return nil, err
	}
	var fn func(context.Context, runbook.Environment, string) []wire.ReadinessCheck
	switch req.Group {
	case wire.ReadinessGroupReplication:
		fn = r.replication
	case wire.ReadinessGroupPipelines:
		fn = r.pipelines
	case wire.ReadinessGroupCollections:
		fn = r.collections
	case wire.ReadinessGroupAlarms:
		fn = r.alarms
	case wire.ReadinessGroupTraffic:
		fn = r.traffic
	case wire.ReadinessGroupIAM:
		fn = r.iam
	case wire.ReadinessGroupCapacity:
		fn = r.capacity
	case wire.ReadinessGroupQuotas:
		fn = r.quotas
	case wire.ReadinessGroupCanary:
		fn = r.canary
	default:
		return nil, badArgs("unknown readiness group %q (groups: %s)", req.Group, strings.Join(wire.ReadinessGroups, ", "))
	}
	var out []wire.ReadinessCheck
	for _, region := range regionNames(env) {
		for _, c := range fn(ctx, env, region) {
			c.Group, c.Region = req.Group, cmp.Or(c.Region, region)
			out = append(out, c)
		}
	}
	return out, nil
}

// The three verdicts.
func passed(name, source, detail string) wire.ReadinessCheck {
	return wire.ReadinessCheck{Name: name, State: wire.ReadinessPassed, Source: source, Detail: detail}
}

func actionRequired(name, source, detail, action string) wire.ReadinessCheck {
	return wire.ReadinessCheck{Name: name, State: wire.ReadinessActionRequired, Source: source, Detail: detail, Action: action}
}

func unknown(name, source string, err error) wire.ReadinessCheck {
	return wire.ReadinessCheck{Name: name, State: wire.ReadinessUnknown, Source: source, Reason: errText(err)}
}

// fromError judges a failed read: a resource that does not exist needs action (create it, or fix
// the environment's name for it); anything else — timeouts, throttling, an impaired Region,
// access denied to the reader — means the state could not be read.
func fromError(name, source, what string, err error) wire.ReadinessCheck {
	if isNotFound(err) {
		return actionRequired(name, source, errText(err), fmt.Sprintf("%s does not exist: create it or correct the environment", what))
	}
	return unknown(name, source, err)
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFoundException", "ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "NoSuchHealthCheck", "NoSuchHostedZone":
			return true
		}
	}
	return false
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func fptr(v float64) *float64 { return &v }

// replication: the replicator copying into the Region is RUNNING with the mode and topic naming
// the environment requires (msk.replicator_running's rules), and caught up (MessageLag within
// the readiness bound, msk.replicator_lag's rules).
func (r *Readiness) replication(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const src = "kafka:DescribeReplicator"
	var out []wire.ReadinessCheck
	rr, err := r.c.ReplicatorRunning(ctx, ReplicatorArgs{Environment: env.Name, Region: region})
	switch {
	case err != nil:
		out = append(out, fromError("replicator.running", src, "the inbound replicator", err))
	case !rr.OK:
		out = append(out, actionRequired("replicator.running", src, rr.Reason,
			fmt.Sprintf("bring replicator %s back to RUNNING with %s topic names and %s offset sync (a replicator's source, target, topic naming and sync mode cannot change: recreate it if they differ)",
				rr.Name, cmp.Or(env.Regions[region].Replication.WantTopicNameConfiguration(), "the required"), cmp.Or(env.Regions[region].Replication.WantOffsetSyncMode(), "the required"))))
	default:
		out = append(out, passed("replicator.running", src, rr.Reason))
	}
	const lagSrc = "cloudwatch:GetMetricData AWS/Kafka MessageLag"
	maxLag := cmp.Or(r.MaxMessageLag, ReadinessMaxMessageLag)
	lag, err := r.c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: env.Name, Region: region, MaxMessageLag: maxLag})
	switch {
	case err != nil:
		out = append(out, unknown("replicator.lag", lagSrc, err))
	case !lag.OK && lag.MessageLag == nil:
		c := unknown("replicator.lag", lagSrc, errors.New(lag.Reason))
		out = append(out, c)
	case !lag.OK:
		c := actionRequired("replicator.lag", lagSrc, lag.Reason,
			fmt.Sprintf("replicator %s is behind by more than %d messages: check it is not paused or throttled (ReplicatorThroughput, ThrottleTime) before relying on the copy in %s", lag.Name, maxLag, region))
		c.Value = lag.MessageLag
		out = append(out, c)
	default:
		c := passed("replicator.lag", lagSrc, lag.Reason)
		c.Value = lag.MessageLag
		out = append(out, c)
	}
	return out
}

// ReadinessMaxMessageLag is the MessageLag above which readiness asks for action: a steady
// replicator under load lags by a batch or two, an idle or paused one by everything since.
const ReadinessMaxMessageLag = 1000

// pipelines: ACTIVE (pipelineState), with a dead-letter queue in its sink and persistent
// buffering, units reported.
func (r *Readiness) pipelines(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const src = "osis:GetPipeline"
	t, err := r.c.target(ctx, env.Name, region)
	if err != nil {
		return []wire.ReadinessCheck{unknown("pipeline.active", src, err)}
	}
	name, oc, err := r.c.pipeline(ctx, t, "")
	if err != nil {
		return []wire.ReadinessCheck{unknown("pipeline.active", src, err)}
	}
	p, err := getPipeline(ctx, oc, name, region)
	if err != nil {
		c := fromError("pipeline.active", src, "pipeline "+name, err)
		return []wire.ReadinessCheck{c, {Name: "pipeline.dlq", State: c.State, Source: src, Reason: c.Reason, Action: c.Action, Detail: c.Detail},
			{Name: "pipeline.buffer", State: c.State, Source: src, Reason: c.Reason, Action: c.Action, Detail: c.Detail}}
	}
	var out []wire.ReadinessCheck
	units := fmt.Sprintf("%d-%d units", p.MinUnits, p.MaxUnits)
	if v := pipelineState(string(p.Status)); v.Serves {
		out = append(out, passed("pipeline.active", src, fmt.Sprintf("pipeline %s is %s (%s)", name, p.Status, units)))
	} else {
		out = append(out, actionRequired("pipeline.active", src, fmt.Sprintf("pipeline %s is %s (%s)", name, p.Status, units),
			fmt.Sprintf("start pipeline %s (osi.start_pipeline) or repair it: a failover to %s needs it ingesting", name, region)))
	}
	if hasDLQ(aws.ToString(p.PipelineConfigurationBody)) {
		out = append(out, passed("pipeline.dlq", src, "the sink has an S3 dead-letter queue"))
	} else {
		out = append(out, actionRequired("pipeline.dlq", src, "the pipeline configuration's opensearch sink has no dlq",
			fmt.Sprintf("add a dlq (s3 bucket %s) to pipeline %s's opensearch sink: without it documents the collection refuses are lost", cmp.Or(t.rc.DLQBucket, "of the Region"), name)))
	}
	if b := p.BufferOptions; b != nil && aws.ToBool(b.PersistentBufferEnabled) {
		out = append(out, passed("pipeline.buffer", src, "persistent buffering is enabled"))
	} else {
		out = append(out, actionRequired("pipeline.buffer", src, "persistent buffering is disabled",
			fmt.Sprintf("enable persistent buffering on pipeline %s (UpdatePipeline BufferOptions.PersistentBufferEnabled): the seed recommends it so a collection outage does not drop data in flight", name)))
	}
	return out
}

// hasDLQ tells whether a Data Prepper pipeline body configures a dead-letter queue on a sink
// (the `dlq:` key of an opensearch sink,
// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/osis-features-overview.html#osis-features-dlq).
func hasDLQ(body string) bool {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		return strings.Contains(body, "dlq:")
	}
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if k == "dlq" && x != nil {
					found = true
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(doc)
	return found
}

// collections: the Region's collection (or domain) serves.
func (r *Readiness) collections(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	rc := env.Regions[region]
	if rc.OpenSearch.ClusterKind() == runbook.ClusterManaged {
		const src = "es:DescribeDomain"
		d, err := r.c.DomainStatus(ctx, DomainArgs{Environment: env.Name, Region: region})
		switch {
		case err != nil:
			return []wire.ReadinessCheck{fromError("opensearch.serving", src, "the domain", err)}
		case !d.OK:
			return []wire.ReadinessCheck{actionRequired("opensearch.serving", src, d.Reason, "repair the domain before relying on "+region)}
		}
		return []wire.ReadinessCheck{passed("opensearch.serving", src, d.Reason)}
	}
	const src = "aoss:BatchGetCollection"
	col, err := r.c.CollectionActive(ctx, CollectionArgs{Environment: env.Name, Region: region})
	switch {
	case err != nil:
		return []wire.ReadinessCheck{fromError("opensearch.serving", src, "the collection", err)}
	case !col.OK:
		return []wire.ReadinessCheck{actionRequired("opensearch.serving", src, col.Reason,
			fmt.Sprintf("collection %s does not serve: restore it before relying on %s", col.Name, region))}
	}
	return []wire.ReadinessCheck{passed("opensearch.serving", src, col.Reason)}
}

// triggerAlarmPatterns reads the trigger rules of the environment: the alarm names (globs) and
// regular expressions their rules match. Only those fields are read; the intake validates the
// files.
func (r *Readiness) triggerAlarmPatterns(envName string) (globs []string, res []*regexp.Regexp, err error) {
	files, err := runbook.YAMLFiles(filepath.Join(r.store.Dir(), runbook.TriggersDir))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("read trigger rules: %w", err)
		}
		var doc struct {
			Environment string `yaml:"environment"`
			Rules       []struct {
				Alarm       string `yaml:"alarm"`
				AlarmRegexp string `yaml:"alarm_regexp"`
			} `yaml:"rules"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, nil, fmt.Errorf("trigger rules %s: %w", f, err)
		}
		if doc.Environment != envName {
			continue
		}
		for _, rule := range doc.Rules {
			if rule.Alarm != "" {
				globs = append(globs, rule.Alarm)
			}
			if rule.AlarmRegexp != "" {
				re, err := regexp.Compile("^(?:" + rule.AlarmRegexp + ")$")
				if err != nil {
					return nil, nil, fmt.Errorf("trigger rules %s: %w", f, err)
				}
				res = append(res, re)
			}
		}
	}
	return globs, res, nil
}

// alarms: every alarm the environment names for the Region exists there, and every trigger
// rule's pattern matches at least one alarm of the Region (a rule that matches nothing would
// never start its runbook).
func (r *Readiness) alarms(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const name, src = "alarms.exist", "cloudwatch:DescribeAlarms"
	globs, res, err := r.triggerAlarmPatterns(env.Name)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, "trigger rules", err)}
	}
	t, err := r.c.target(ctx, env.Name, region)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	cw, err := r.c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	var have []string
	pages := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return []wire.ReadinessCheck{unknown(name, src, Wrap(err, "describe alarms", "all", region))}
		}
		for _, a := range out.MetricAlarms {
			have = append(have, aws.ToString(a.AlarmName))
		}
		for _, a := range out.CompositeAlarms {
			have = append(have, aws.ToString(a.AlarmName))
		}
	}
	var missing []string
	for _, a := range t.rc.Alarms {
		if !slices.Contains(have, a) {
			missing = append(missing, a)
		}
	}
	matchesAny := func(match func(string) bool) bool {
		return slices.ContainsFunc(have, match)
	}
	for _, g := range globs {
		if !matchesAny(func(a string) bool { ok, _ := path.Match(g, a); return ok }) {
			missing = append(missing, "an alarm matching "+g)
		}
	}
	for _, re := range res {
		if !matchesAny(re.MatchString) {
			missing = append(missing, "an alarm matching /"+re.String()+"/")
		}
	}
	detail := fmt.Sprintf("%d alarms in %s; %d named by the environment, %d trigger patterns", len(have), region, len(t.rc.Alarms), len(globs)+len(res))
	if len(missing) > 0 {
		return []wire.ReadinessCheck{actionRequired(name, src, detail,
			fmt.Sprintf("create in %s: %s (the environment or its trigger rules name them; without them no alarm starts a failover)", region, strings.Join(missing, ", ")))}
	}
	return []wire.ReadinessCheck{passed(name, src, detail)}
}

// traffic: the lever can be read from this Region (records, routing controls or health checks
// exist), lets at least one Region in, and every Region DNS answers with is one the lever lets
// in.
func (r *Readiness) traffic(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const name = "traffic.lever"
	src := "traffic.state (" + env.Traffic.LeverOf() + ")"
	st, err := r.c.TrafficState(ctx, TrafficStateArgs{Environment: env.Name, Region: region})
	if err != nil {
		return []wire.ReadinessCheck{fromError(name, src, "the lever's record, health check or routing control", err)}
	}
	dnsRegions := map[string]bool{}
	for _, a := range st.DNSAnswers {
		for rg, v := range env.Traffic.Values {
			if strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(v, ".")) {
				dnsRegions[rg] = true
			}
		}
	}
	var stray []string
	for rg := range dnsRegions {
		if !slices.Contains(st.Active, rg) {
			stray = append(stray, rg)
		}
	}
	sort.Strings(stray)
	detail := st.Summary
	switch {
	case len(st.Active) == 0:
		return []wire.ReadinessCheck{actionRequired(name, src, detail,
			"the lever lets no Region in: set the active Region's routing control or weight (traffic.shift) so that a failover has a known starting point")}
	case len(stray) > 0:
		return []wire.ReadinessCheck{actionRequired(name, src, detail,
			fmt.Sprintf("DNS answers with %s, which the lever keeps out: check the records' health checks refer to the lever's routing controls or alarms", strings.Join(stray, ", ")))}
	}
	return []wire.ReadinessCheck{passed(name, src, detail)}
}

// runbookIAMActions is the IAM action list of every runbook of the folder: the IAM actions of
// each catalog entry its steps use (the same Spec.IAM the worker policy is generated from), with
// the runbooks that need each.
func (r *Readiness) runbookIAMActions() (map[string][]string, error) {
	set, err := r.store.Load(r.reg.Catalog())
	if err != nil {
		return nil, fmt.Errorf("load runbooks: %w", err)
	}
	out := map[string][]string{}
	var walk func(rb string, steps []runbook.Step)
	add := func(rb, entry string) {
		if entry == "" {
			return
		}
		spec, ok := r.reg.Catalog().Lookup(entry)
		if !ok {
			return
		}
		for _, a := range spec.IAM {
			if !slices.Contains(out[a], rb) {
				out[a] = append(out[a], rb)
			}
		}
	}
	walk = func(rb string, steps []runbook.Step) {
		for _, s := range steps {
			add(rb, s.Action)
			add(rb, s.Check)
			if s.WaitUntil != nil {
				add(rb, s.WaitUntil.Check)
			}
			walk(rb, s.Parallel)
			walk(rb, s.Steps)
			walk(rb, s.Compensate)
		}
	}
	for name, rb := range set.Runbooks {
		walk(name, rb.Steps)
	}
	return out, nil
}

// principal is the role the worker acts as in the Region: the environment's assume_role_arn,
// else the role of the caller's STS identity (an assumed-role session ARN names its role).
func (r *Readiness) principal(ctx context.Context, t target) (string, error) {
	if t.rc.AssumeRoleARN != "" {
		return t.rc.AssumeRoleARN, nil
	}
	cfg, err := r.c.opts.AWS.Config(ctx, t.aws)
	if err != nil {
		return "", err
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", Wrap(err, "get caller identity", "sts", t.region)
	}
	return roleOfSession(aws.ToString(id.Arn)), nil
}

// roleOfSession turns arn:aws:sts::A:assumed-role/R/S into arn:aws:iam::A:role/R; any other
// ARN is returned as is.
func roleOfSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/") {
		role := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], role)
	}
	return arn
}

// iam simulates every runbook's IAM actions for the worker's role in the Region
// (iam:SimulatePrincipalPolicy). IAM's control plane is in us-east-1: when it does not answer,
// the check is unknown with that reason — the Region's readiness does not depend on it.
func (r *Readiness) iam(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const name, src = "iam.runbook_actions", "iam:SimulatePrincipalPolicy"
	needs, err := r.runbookIAMActions()
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, "runbooks", err)}
	}
	actions := make([]string, 0, len(needs))
	for a := range needs {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	t, err := r.c.target(ctx, env.Name, region)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	role, err := r.principal(ctx, t)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, "sts:GetCallerIdentity", err)}
	}
	cfg, err := r.c.opts.AWS.Config(ctx, t.aws)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	cl := iam.NewFromConfig(cfg)
	var denied []string
	// The API returns one result per action; MaxItems pages long lists.
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: actions}
	pages := iam.NewSimulatePrincipalPolicyPaginator(cl, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				return []wire.ReadinessCheck{actionRequired(name, src, errText(err), fmt.Sprintf("the worker's role %s does not exist in IAM: create it or set assume_role_arn for %s", role, region))}
			}
			c := unknown(name, src, fmt.Errorf("IAM's control plane (us-east-1) did not answer the simulation for %s; kept unknown, not failed: %w", role, err))
			return []wire.ReadinessCheck{c}
		}
		for _, res := range out.EvaluationResults {
			if res.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
				a := aws.ToString(res.EvalActionName)
				denied = append(denied, fmt.Sprintf("%s (%s; needed by %s)", a, res.EvalDecision, strings.Join(sortedCopy(needs[a]), ", ")))
			}
		}
	}
	detail := fmt.Sprintf("%d actions of %d runbooks simulated for %s", len(actions), countRunbooks(needs), role)
	if len(denied) > 0 {
		return []wire.ReadinessCheck{actionRequired(name, src, detail,
			fmt.Sprintf("allow for %s in %s: %s (docs/iam/worker-policy.json has the full policy)", role, region, strings.Join(denied, "; ")))}
	}
	return []wire.ReadinessCheck{passed(name, src, detail)}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func countRunbooks(needs map[string][]string) int {
	seen := map[string]bool{}
	for _, rbs := range needs {
		for _, rb := range rbs {
			seen[rb] = true
		}
	}
	return len(seen)
}

// peaks reads both Regions' peaks over the last day (each from its own CloudWatch).
func (r *Readiness) peaks(ctx context.Context, env runbook.Environment) ([]RegionPeak, error) {
	var out []RegionPeak
	for _, rg := range regionNames(env) {
		t, err := r.c.target(ctx, env.Name, rg)
		if err != nil {
			return nil, err
		}
		p, err := r.c.readPeak(ctx, t, DefaultPeakLookback)
		if err != nil {
			return nil, fmt.Errorf("peak of %s: %w", rg, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// capacity: the Region as survivor can absorb both Regions' peak of the last 24 h: its
// pipeline's MaxUnits and its OpenSearch Serverless capacity limits against the sum of the
// peaks (SurvivorNeed with factor 1, the same rule capacity.prescale scales by).
func (r *Readiness) capacity(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const src = "osis:GetPipeline, aoss:GetAccountSettings, cloudwatch:GetMetricData (24 h peaks)"
	t, err := r.c.target(ctx, env.Name, region)
	if err != nil {
		return []wire.ReadinessCheck{unknown("capacity.pipeline", src, err)}
	}
	peaks, err := r.peaks(ctx, env)
	if err != nil {
		return []wire.ReadinessCheck{unknown("capacity.pipeline", src, err), unknown("capacity.collection", src, err)}
	}
	name, cur, err := r.c.readCapacity(ctx, t)
	if err != nil {
		return []wire.ReadinessCheck{unknown("capacity.pipeline", src, err), unknown("capacity.collection", src, err)}
	}
	need := SurvivorNeed(peaks, 1, Capacity{MinUnits: cur.MinUnits})
	var out []wire.ReadinessCheck
	pd := fmt.Sprintf("pipeline %s max %d units; both Regions' 24 h peak %d units", name, cur.MaxUnits, need.MaxUnits)
	if cur.MaxUnits >= need.MaxUnits {
		c := passed("capacity.pipeline", src, pd)
		c.Value = fptr(float64(cur.MaxUnits - need.MaxUnits))
		out = append(out, c)
	} else {
		out = append(out, actionRequired("capacity.pipeline", src, pd,
			fmt.Sprintf("raise pipeline %s's MaxUnits to at least %d (capacity.prescale does it before traffic moves; the ceiling must allow it)", name, need.MaxUnits)))
	}
	if env.Regions[region].OpenSearch.ClusterKind() != runbook.ClusterServerless {
		return out
	}
	cd := fmt.Sprintf("capacity limits %d indexing / %d search OCUs; both Regions' 24 h peak %d / %d", cur.MaxIndexingOCU, cur.MaxSearchOCU, need.MaxIndexingOCU, need.MaxSearchOCU)
	if cur.MaxIndexingOCU >= need.MaxIndexingOCU && cur.MaxSearchOCU >= need.MaxSearchOCU {
		out = append(out, passed("capacity.collection", src, cd))
	} else {
		out = append(out, actionRequired("capacity.collection", src, cd,
			fmt.Sprintf("raise OpenSearch Serverless capacity limits in %s to at least %d indexing and %d search OCUs (UpdateAccountSettings)", region, need.MaxIndexingOCU, need.MaxSearchOCU)))
	}
	return out
}

// Service Quotas names readiness looks quotas up by (ListServiceQuotas; AWS's quota codes are
// opaque). The lab serves the same names (internal/lab/awstwin/servicequotas.go).
const (
	quotaNameOSISUnits   = "Maximum Ingestion OCUs per pipeline"
	quotaNameAOSSIndexOC = "Maximum indexing capacity (OCUs) per account"
	quotaNameAOSSSearch  = "Maximum search capacity (OCUs) per account"
)

// quotas: the pre-scale the survivor would get (DefaultPrescaleFactor × the sum of the peaks)
// fits the Region's service quotas.
func (r *Readiness) quotas(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const name, src = "quotas.prescale", "servicequotas:ListServiceQuotas"
	t, err := r.c.target(ctx, env.Name, region)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	peaks, err := r.peaks(ctx, env)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	need := SurvivorNeed(peaks, DefaultPrescaleFactor, Capacity{MinUnits: 1})
	cfg, err := r.c.opts.AWS.Config(ctx, t.aws)
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	sq := servicequotas.NewFromConfig(cfg)
	values := map[string]float64{}
	for _, svc := range []string{"osis", "aoss"} {
		pages := servicequotas.NewListServiceQuotasPaginator(sq, &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(svc)})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return []wire.ReadinessCheck{unknown(name, src, Wrap(err, "list service quotas of", svc, region))}
			}
			for _, q := range out.Quotas {
				values[aws.ToString(q.QuotaName)] = aws.ToFloat64(q.Value)
			}
		}
	}
	var over, read []string
	check := func(quota string, want int) {
		v, ok := values[quota]
		if !ok {
			return
		}
		read = append(read, fmt.Sprintf("%s %g (pre-scale needs %d)", quota, v, want))
		if float64(want) > v {
			over = append(over, fmt.Sprintf("%s is %g, the pre-scale needs %d", quota, v, want))
		}
	}
	check(quotaNameOSISUnits, need.MaxUnits)
	if env.Regions[region].OpenSearch.ClusterKind() == runbook.ClusterServerless {
		check(quotaNameAOSSIndexOC, need.MaxIndexingOCU)
		check(quotaNameAOSSSearch, need.MaxSearchOCU)
	}
	if len(read) == 0 {
		return []wire.ReadinessCheck{unknown(name, src, fmt.Errorf("no service quota in %s is named %q, %q or %q", region, quotaNameOSISUnits, quotaNameAOSSIndexOC, quotaNameAOSSSearch))}
	}
	detail := strings.Join(read, "; ")
	if len(over) > 0 {
		return []wire.ReadinessCheck{actionRequired(name, src, detail, fmt.Sprintf("request quota increases in %s (Service Quotas console or RequestServiceQuotaIncrease): %s", region, strings.Join(over, "; ")))}
	}
	return []wire.ReadinessCheck{passed(name, src, detail)}
}

// canary: a marker event produced to the Region's topic becomes searchable in both Regions'
// collections (its own through its pipeline, the peer's through the replicator and the peer's
// pipeline); the latency to the slower one is the check's value.
func (r *Readiness) canary(ctx context.Context, env runbook.Environment, region string) []wire.ReadinessCheck {
	const name, src = "canary.end_to_end", "kafka produce + _count in every Region's collection"
	maxLatency := cmp.Or(r.CanaryMaxLatency, ReadinessCanaryMaxLatency)
	res, err := r.c.Canary(ctx, CanaryArgs{Environment: env.Name, Region: region, Timeout: runbook.Duration(cmp.Or(r.CanaryTimeout, 60*time.Second)),
		Interval: runbook.Duration(cmp.Or(r.CanaryPoll, 250*time.Millisecond)), MaxLatency: runbook.Duration(maxLatency)})
	if err != nil {
		return []wire.ReadinessCheck{unknown(name, src, err)}
	}
	switch {
	case !res.OK && len(res.Missing) == 0 && res.Marker != "" && res.LatencySeconds > 0:
		c := actionRequired(name, src, res.Reason, fmt.Sprintf("writes to %s take %.1fs to be searchable everywhere, more than %s (the design expects one to a few seconds): check the replicator's ReplicationLatency and the pipelines' buffers", region, res.LatencySeconds, maxLatency))
		c.Value = fptr(res.LatencySeconds)
		return []wire.ReadinessCheck{c}
	case !res.OK:
		c := actionRequired(name, src, res.Reason, fmt.Sprintf("writes to %s do not reach every Region's collection: check the pipeline, the replicator and the DLQ (%s)", region, res.Reason))
		return []wire.ReadinessCheck{c}
	}
	c := passed(name, src, res.Reason)
	c.Value = fptr(res.LatencySeconds)
	return []wire.ReadinessCheck{c}
}

// ReadinessArgs is the input of readiness.check.
type ReadinessArgs struct {
	Environment string   `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Groups      []string `json:"groups,omitempty" doc:"groups to evaluate: replication, pipelines, collections, alarms, traffic, iam, capacity, quotas, canary (default: all)"`
	Region      string   `json:"region,omitempty" catalog:"region" doc:"keep only this Region's checks (default: every Region)"`
	// AllowUnknown lets checks that could not be read pass (an IAM simulation while us-east-1
	// is impaired, say); actionRequired never passes.
	AllowUnknown bool `json:"allow_unknown,omitempty" doc:"pass when checks are only unknown (not actionRequired)"`
}

// ReadinessEntryResult is the output of readiness.check.
type ReadinessEntryResult struct {
	OK     bool                  `json:"ok"`
	Reason string                `json:"reason"`
	State  string                `json:"state" doc:"passed, actionRequired or unknown: the worst check"`
	Checks []wire.ReadinessCheck `json:"checks" doc:"each check: name, region, state, detail, action (what to do), reason (why unknown), source API"`
}

// Evaluate is readiness.check: the readiness checks as one catalog check, for runbooks (a
// failback's re-protection asks that readiness passes). It evaluates the groups one after the
// other; ReadinessWorkflow runs them in parallel instead.
func (r *Readiness) Evaluate(ctx context.Context, in ReadinessArgs) (ReadinessEntryResult, error) {
	groups := in.Groups
	if len(groups) == 0 {
		p, err := r.Plan(ctx, in.Environment)
		if err != nil {
			return ReadinessEntryResult{}, err
		}
		groups = p.Groups
	}
	var checks []wire.ReadinessCheck
	for _, g := range groups {
		got, err := r.Check(ctx, wire.ReadinessCheckRequest{Environment: in.Environment, Group: g})
		if err != nil {
			return ReadinessEntryResult{}, err
		}
		for _, c := range got {
			if in.Region == "" || c.Region == in.Region {
				checks = append(checks, c)
			}
		}
	}
	res := ReadinessEntryResult{State: wire.OverallReadiness(checks), Checks: checks}
	var bad []string
	for _, c := range checks {
		switch c.State {
		case wire.ReadinessActionRequired:
			bad = append(bad, fmt.Sprintf("%s: %s", c.Key(), c.Action))
		case wire.ReadinessUnknown:
			if !in.AllowUnknown {
				bad = append(bad, fmt.Sprintf("%s unknown: %s", c.Key(), c.Reason))
			}
		}
	}
	res.OK = len(bad) == 0
	if res.OK {
		res.Reason = fmt.Sprintf("%d readiness checks %s", len(checks), res.State)
	} else {
		res.Reason = strings.Join(bad, "; ")
	}
	return res, nil
}

// readinessIAM is every IAM action the readiness checks use.
var readinessIAM = []string{
	"kafka:DescribeReplicator", "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "osis:GetPipeline",
	"aoss:BatchGetCollection", "aoss:GetAccountSettings", "es:DescribeDomain", "es:DescribeDomainHealth", "es:DescribeDomainNodes",
	"route53:ListResourceRecordSets", "route53:GetHealthCheck", "route53-recovery-cluster:GetRoutingControlState",
	"iam:SimulatePrincipalPolicy", "sts:GetCallerIdentity", "servicequotas:ListServiceQuotas",
	// The pre-scale record in SSM, so peaks skip the minutes a drill raised the survivor.
	"ssm:GetParameter",
	"kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "aoss:APIAccessAll", "es:ESHttpPost",
}

// canaryIAM is what opensearch.canary needs: produce to the topic (MSK IAM auth) and count in
// the collections.
var canaryIAM = []string{"kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "aoss:APIAccessAll", "es:ESHttpPost"}

// RegisterReadinessChecks adds readiness.check and opensearch.canary to the catalog.
func RegisterReadinessChecks(reg *Registry, r *Readiness) {
	check := func(name, desc string, iam ...string) catalog.Spec {
		return catalog.Spec{Name: name, Kind: catalog.KindCheck, ReadOnly: true, Description: desc, IAM: iam}
	}
	Register(reg, check("readiness.check", "Evaluate the environment's readiness (ARC's passed / actionRequired / unknown per check): replicators RUNNING in the required mode and caught up, pipelines ACTIVE with a DLQ and persistent buffering, collections serving, the trigger rules' alarms, the traffic lever, every runbook's IAM actions simulated for the worker's role, survivor capacity against both Regions' 24 h peak, service quotas, and the end-to-end canary; ok when nothing needs action.",
		readinessIAM...), r.Evaluate)
	Register(reg, check("opensearch.canary", "Produce a marker event to the Region's topic and wait until every target Region's collection finds it (pipeline, replicator, peer pipeline): proves writes land end to end; the latency is in the result.",
		canaryIAM...), r.c.Canary)
}
