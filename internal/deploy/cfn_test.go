package deploy

import (
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const cfnFile = "docs/iam/alarm-intake.cfn.yaml"

// cfnTemplate parses the template as plain YAML and rejects CloudFormation's short-form tags
// (!Ref, !GetAtt, ...): they make the file unreadable to ordinary YAML tools.
func cfnTemplate(t *testing.T) map[string]any {
	t.Helper()
	src := readRepoFile(t, cfnFile)
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatalf("%s: %v", cfnFile, err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			t.Errorf("%s:%d: short-form tag %s; use the long form (Fn::...)", cfnFile, n.Line, n.Tag)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	var tpl map[string]any
	if err := root.Decode(&tpl); err != nil {
		t.Fatalf("%s: %v", cfnFile, err)
	}
	return tpl
}

// get walks a decoded YAML value by map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %v", path, path[:i])
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

var subRefRe = regexp.MustCompile(`\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z]+)?\}`)

// TestAlarmIntakeTemplateReferences: every Ref, Fn::GetAtt, Fn::Sub variable and condition names
// something the template defines, and every parameter and condition is used.
func TestAlarmIntakeTemplateReferences(t *testing.T) {
	tpl := cfnTemplate(t)
	if tpl["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %v", tpl["AWSTemplateFormatVersion"])
	}
	params, _ := tpl["Parameters"].(map[string]any)
	resources, _ := tpl["Resources"].(map[string]any)
	conditions, _ := tpl["Conditions"].(map[string]any)
	if len(resources) == 0 || len(params) == 0 {
		t.Fatalf("template has %d resources and %d parameters", len(resources), len(params))
	}
	usedParams, usedConds := map[string]bool{}, map[string]bool{}
	defined := func(name string) bool {
		_, p := params[name]
		_, r := resources[name]
		return p || r || strings.HasPrefix(name, "AWS::")
	}
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "Ref":
					name, _ := x.(string)
					if !defined(name) {
						t.Errorf("%s: Ref %q names nothing the template defines", where, name)
					}
					usedParams[name] = true
				case "Fn::GetAtt":
					l, _ := x.([]any)
					if len(l) != 2 {
						t.Errorf("%s: Fn::GetAtt %v: want [Resource, Attribute]", where, x)
					} else if _, ok := resources[l[0].(string)]; !ok {
						t.Errorf("%s: Fn::GetAtt of unknown resource %v", where, l[0])
					}
				case "Fn::Sub":
					s, vars := "", map[string]any{}
					switch x := x.(type) {
					case string:
						s = x
					case []any:
						s, _ = x[0].(string)
						if len(x) > 1 {
							vars, _ = x[1].(map[string]any)
						}
					}
					for _, m := range subRefRe.FindAllStringSubmatch(s, -1) {
						if _, ok := vars[m[1]]; !ok && !defined(m[1]) {
							t.Errorf("%s: Fn::Sub variable ${%s} is not defined", where, m[1])
						}
						usedParams[m[1]] = true
					}
				case "Fn::If":
					l, _ := x.([]any)
					if len(l) != 3 {
						t.Errorf("%s: Fn::If wants [Condition, then, else], got %v", where, x)
					} else if name, _ := l[0].(string); conditions[name] == nil {
						t.Errorf("%s: Fn::If names unknown condition %q", where, name)
					} else {
						usedConds[name] = true
					}
				case "Condition":
					if name, ok := x.(string); ok {
						if conditions[name] == nil {
							t.Errorf("%s: unknown condition %q", where, name)
						}
						usedConds[name] = true
					}
				}
				walk(x, where+"."+k)
			}
		case []any:
			for _, x := range v {
				walk(x, where)
			}
		}
	}
	for _, section := range []string{"Conditions", "Resources", "Outputs"} {
		walk(tpl[section], section)
	}
	for p := range params {
		if !usedParams[p] {
			t.Errorf("parameter %s is never used", p)
		}
	}
	for c := range conditions {
		if !usedConds[c] {
			t.Errorf("condition %s is never used", c)
		}
	}
}

// resourcesOfType returns the logical ids of the template's resources of type typ.
func resourcesOfType(tpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range tpl["Resources"].(map[string]any) {
		if m, ok := r.(map[string]any); ok && m["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestAlarmIntakeTemplateWiring: the rule matches alarm state changes (filtered by the prefix
// parameter) and targets the queue; only EventBridge, and only from that rule, may send to it;
// and the starter's policy grants exactly the SQS actions its poller calls.
func TestAlarmIntakeTemplateWiring(t *testing.T) {
	tpl := cfnTemplate(t)
	one := func(typ string) string {
		ids := resourcesOfType(tpl, typ)
		if len(ids) != 1 {
			t.Fatalf("want one %s, got %v", typ, ids)
		}
		return ids[0]
	}
	queue, rule, queuePolicy, starterPolicy := one("AWS::SQS::Queue"), one("AWS::Events::Rule"), one("AWS::SQS::QueuePolicy"), one("AWS::IAM::ManagedPolicy")
	queueArn := map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}

	pattern := get(t, tpl, "Resources", rule, "Properties", "EventPattern")
	if got := get(t, pattern, "source"); !reflect.DeepEqual(got, []any{"aws.cloudwatch"}) {
		t.Errorf("rule source = %v, want [aws.cloudwatch]", got)
	}
	if got := get(t, pattern, "detail-type"); !reflect.DeepEqual(got, []any{"CloudWatch Alarm State Change"}) {
		t.Errorf("rule detail-type = %v", got)
	}
	prefix := get(t, pattern, "detail", "Fn::If", 1, "alarmName", 0, "prefix")
	if !reflect.DeepEqual(prefix, map[string]any{"Ref": "AlarmNamePrefix"}) {
		t.Errorf("alarm name filter = %v, want the AlarmNamePrefix parameter", prefix)
	}
	if got := get(t, tpl, "Resources", rule, "Properties", "Targets", 0, "Arn"); !reflect.DeepEqual(got, queueArn) {
		t.Errorf("rule target = %v, want the queue", got)
	}

	if got := get(t, tpl, "Resources", queuePolicy, "Properties", "Queues", 0); !reflect.DeepEqual(got, map[string]any{"Ref": queue}) {
		t.Errorf("queue policy applies to %v", got)
	}
	st := get(t, tpl, "Resources", queuePolicy, "Properties", "PolicyDocument", "Statement")
	if n := len(st.([]any)); n != 1 {
		t.Fatalf("queue policy has %d statements, want 1", n)
	}
	if got := get(t, st, 0, "Principal", "Service"); got != "events.amazonaws.com" {
		t.Errorf("queue policy principal = %v", got)
	}
	if got := get(t, st, 0, "Action"); got != "sqs:SendMessage" {
		t.Errorf("queue policy action = %v, want sqs:SendMessage only", got)
	}
	if got := get(t, st, 0, "Condition", "ArnEquals", "aws:SourceArn"); !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}) {
		t.Errorf("queue policy source = %v, want the rule", got)
	}

	// The starter's actions, from the SQS calls of the intake's code.
	called := sdkActions(t, filepath.Join(repoRoot, "internal", "triggers"))
	var want []string
	for a := range called {
		want = append(want, a)
	}
	sort.Strings(want)
	if len(want) == 0 || !slices.Contains(want, "sqs:ReceiveMessage") {
		t.Fatalf("SQS actions of internal/triggers = %v, want ReceiveMessage among them", want)
	}
	pst := get(t, tpl, "Resources", starterPolicy, "Properties", "PolicyDocument", "Statement")
	var granted []string
	for i := range pst.([]any) {
		for _, a := range get(t, pst, i, "Action").([]any) {
			granted = append(granted, a.(string))
		}
		if got := get(t, pst, i, "Resource"); !reflect.DeepEqual(got, queueArn) {
			t.Errorf("starter policy statement %d resource = %v, want the queue", i, got)
		}
	}
	sort.Strings(granted)
	if !slices.Equal(granted, want) {
		t.Errorf("starter policy grants %v; the intake calls %v", granted, want)
	}
	if get(t, tpl, "Outputs", "QueueUrl", "Value") == nil {
		t.Error("no QueueUrl output")
	}
}

// TestAlarmIntakeTemplateWatchesTheOtherRegion: the stack can keep an alarm about the other
// Region in the Region it is deployed to (an impaired Region's CloudWatch and EventBridge deliver
// nothing): on the canary here, named like the other Region's own alarm, only when WatchedRegion
// is set, and CloudFormation refuses WatchedRegion without the canary and the name.
func TestAlarmIntakeTemplateWatchesTheOtherRegion(t *testing.T) {
	tpl := cfnTemplate(t)
	ids := resourcesOfType(tpl, "AWS::CloudWatch::Alarm")
	if len(ids) != 1 {
		t.Fatalf("want one AWS::CloudWatch::Alarm, got %v", ids)
	}
	alarm := get(t, tpl, "Resources", ids[0])
	if got := get(t, alarm, "Condition"); got != "WatchesOtherRegion" {
		t.Errorf("alarm condition = %v, want WatchesOtherRegion", got)
	}
	cond := get(t, tpl, "Conditions", "WatchesOtherRegion", "Fn::Not", 0, "Fn::Equals", 0)
	if !reflect.DeepEqual(cond, map[string]any{"Ref": "WatchedRegion"}) {
		t.Errorf("WatchesOtherRegion tests %v, want WatchedRegion", cond)
	}
	props := get(t, alarm, "Properties")
	for key, want := range map[string]any{
		"AlarmName": map[string]any{"Ref": "WatchedRegionAlarmName"}, "Namespace": "CloudWatchSynthetics", "MetricName": "SuccessPercent",
		"ComparisonOperator": "LessThanThreshold", "TreatMissingData": "breaching",
	} {
		if got := get(t, props, key); !reflect.DeepEqual(got, want) {
			t.Errorf("alarm %s = %v, want %v", key, got, want)
		}
	}
	if got := get(t, props, "Dimensions", 0); !reflect.DeepEqual(got, map[string]any{"Name": "CanaryName", "Value": map[string]any{"Ref": "WatchedRegionCanaryName"}}) {
		t.Errorf("alarm dimension = %v, want the canary", got)
	}
	if m, n := get(t, props, "DatapointsToAlarm").(int), get(t, props, "EvaluationPeriods").(int); m < 1 || m > n {
		t.Errorf("DatapointsToAlarm %d of EvaluationPeriods %d", m, n)
	}
	rule := get(t, tpl, "Rules", "WatchedRegionNeedsItsCanaryAndName")
	if got := get(t, rule, "RuleCondition"); !reflect.DeepEqual(got, get(t, tpl, "Conditions", "WatchesOtherRegion")) {
		t.Errorf("rule condition = %v, want WatchedRegion set", got)
	}
	var asserted []any
	for i := range get(t, rule, "Assertions").([]any) {
		asserted = append(asserted, get(t, rule, "Assertions", i, "Assert", "Fn::Not", 0, "Fn::Equals", 0))
	}
	want := []any{map[string]any{"Ref": "WatchedRegionCanaryName"}, map[string]any{"Ref": "WatchedRegionAlarmName"}}
	if !reflect.DeepEqual(asserted, want) {
		t.Errorf("rule asserts %v, want %v set", asserted, want)
	}
}
