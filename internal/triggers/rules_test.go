package triggers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

const runbookDir = "../../runbooks"

// labRules loads the environment lab and every shipped runbook, as the intake does.
func labOptions(t *testing.T) ParseOptions {
	t.Helper()
	set, _ := runbook.NewStore(runbookDir).Load(nil)
	require.NotNil(t, set)
	require.Contains(t, set.Environments, "lab")
	require.Contains(t, set.Runbooks, "failover")
	return ParseOptions{Environment: set.Environments["lab"], Runbooks: set.Runbooks, RunbookDir: runbookDir}
}

func TestShippedRulesAreValid(t *testing.T) {
	set, err := LoadDir(runbookDir)
	require.NoError(t, err)
	var envs []string
	for _, f := range set.Files {
		envs = append(envs, f.Environment)
		require.NotNil(t, f.Env, f.Path)
	}
	require.Equal(t, []string{"example", "lab"}, envs)
	lab := set.File("lab")
	require.Equal(t, 10*time.Minute, lab.CooldownOrDefault())
	require.Equal(t, "failover", lab.Rules[0].Runbook)
	require.Equal(t, []string{"arn:aws:sns:us-east-1:111122223333:production-dr-alarms", "arn:aws:sns:us-west-2:111122223333:production-dr-alarms"}, set.SNSTopics())
}

func TestRuleFileProblemsAllReportedWithPositions(t *testing.T) {
	header := "schema: switchyard/v1\nenvironment: lab\n"
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "unknown fields and bad values together",
			src: header + "cooldown: 3x\nrules:\n  - name: a\n    alarmm: x\n    alarm: lab-*\n    policy: nope\n    runbook: failover\n" +
				"    params: {target: '${peerx}'}\n",
			want: []string{
				`lab.yaml:3:11: cannot unmarshal !!str ` + "`3x`" + ` into a duration such as 30m`,
				`lab.yaml:6:5: unknown field "alarmm" in rule`,
				`lab.yaml:8:13: rule "a": policy "nope": want auto, approve or notify`,
				`lab.yaml:10:14: rule "a": param target: unknown placeholder ${peerx}: want one of ${region}, ${peer}, ${alarm}, ${alarm_arn}, ${account}, ${state}, ${environment} or ${dimension.<Name>}`,
			},
		},
		{
			name: "matchers, states, names, region sources",
			src: header + "rules:\n  - name: a\n    runbook: failover\n    params: {target: us-west-2}\n    policy: approve\n" +
				"  - name: a\n    alarm: '*'\n    alarm_arn: 'arn:*'\n    state: BAD\n    runbook: failover\n    params: {target: us-west-2}\n    policy: approve\n" +
				"  - name: c\n    alarm_regexp: '('\n    region_from: zone\n    runbook: failover\n    params: {target: us-west-2}\n    policy: approve\n" +
				"  - name: d\n    alarm_arn: lab-*\n    runbook: failover\n    params: {target: us-west-2}\n    policy: approve\n",
			want: []string{
				`lab.yaml:4:5: rule "a": give one of alarm (a glob over the alarm name), alarm_arn (a glob over its ARN) or alarm_regexp`,
				`lab.yaml:8:11: duplicate rule name "a" (first at 4:11)`,
				`lab.yaml:10:16: rule "a": give only one of alarm, alarm_arn`,
				`lab.yaml:11:12: rule "a": state "BAD": want one of ALARM, OK, INSUFFICIENT_DATA`,
				"lab.yaml:16:19: rule \"c\": alarm_regexp: error parsing regexp: missing closing ): `^(?:()$`",
				`lab.yaml:17:18: rule "c": region_from "zone": want arn, environment or dimension:<Name>`,
				`lab.yaml:22:16: rule "d": alarm_arn "lab-*": want an ARN pattern such as arn:aws:cloudwatch:*:123456789012:alarm:prod-*`,
			},
		},
		{
			name: "runbook checks through the runbook's own params",
			src: header + "rules:\n  - name: a\n    alarm: x\n    runbook: failovr\n    policy: auto\n" +
				"  - name: b\n    alarm: x\n    runbook: failover\n    params: {ungraceful: maybe, speed: 3}\n    policy: approve\n" +
				"  - name: c\n    alarm: x\n    runbook: verify-backfill\n    params: {source: '${region}', target: eu-west-1}\n    policy: auto\n" +
				"  - name: d\n    alarm: x\n    runbook: failover\n    params: {target: '${peer}', auto_approve: true}\n    policy: approve\n",
			want: []string{
				`lab.yaml:6:14: rule "a": runbook "failovr" not found in ../../runbooks (did you mean "failover"?)`,
				`lab.yaml:11:13: rule "b": runbook failover: missing required param "target" (region)`,
				`lab.yaml:11:14: rule "b": runbook failover: param "ungraceful": want a bool, got string "maybe"`,
				`lab.yaml:11:33: rule "b": runbook failover: unknown param "speed" (params: target, ungraceful, force, auto_approve, verify_window, prescale_percent)`,
				`lab.yaml:16:35: rule "c": param target: "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`,
				`lab.yaml:17:13: rule "c": policy auto needs runbook verify-backfill to declare a bool param auto_approve: the runbook grants its own approval only when its pre-flight is green`,
				`lab.yaml:21:33: rule "d": auto_approve is set by the policy (auto sets it to true); remove it and choose the policy`,
			},
		},
		{
			name: "file level",
			src:  "schema: switchyard/v2\nenvironment: prod\nsns_topics: [arn:aws:sqs:us-east-1:1:x]\nrules: []\n",
			want: []string{
				`lab.yaml:1:9: schema must be "switchyard/v1", got "switchyard/v2"`,
				`lab.yaml:2:14: environment "prod" must match the file name "lab" (one rules file per environment)`,
				`lab.yaml:2:14: environment "prod" does not match the loaded environment "lab"`,
				`lab.yaml:3:14: sns_topics[0]: "arn:aws:sqs:us-east-1:1:x" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`,
				`lab.yaml:4:8: rules: at least one rule is required`,
			},
		},
	}
	opts := labOptions(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("lab.yaml", []byte(tc.src), opts)
			var el runbook.ErrorList
			require.True(t, errors.As(err, &el), "want an ErrorList, got %v", err)
			got := strings.Split(err.Error(), "\n")
			// The third case's bool message comes from the runbook package; compare its prefix.
			require.Len(t, got, len(tc.want), err.Error())
			for i := range got {
				if strings.Contains(tc.want[i], "want a bool") {
					require.True(t, strings.HasPrefix(got[i], `lab.yaml:11:14: rule "b": runbook failover: param "ungraceful": `), got[i])
					continue
				}
				require.Equal(t, tc.want[i], got[i])
			}
		})
	}
}

func TestLoadFilesNeedsTheEnvironmentOfTheFileName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "staging.yaml")
	require.NoError(t, os.WriteFile(path, []byte("schema: switchyard/v1\nenvironment: staging\nrules:\n  - name: a\n    alarm: x\n    runbook: demo\n    policy: notify\n"), 0o644))
	_, err := LoadFiles(runbookDir, path)
	require.ErrorContains(t, err, path+`:1:1: no environment "staging"`)
}

// The intake's rules come from the store the engine reads: loading them through a store that
// already holds the folder parses nothing again, and the rules see the store's environment.
func TestLoadStoreSharesTheStoresParse(t *testing.T) {
	st := runbook.NewStore(runbookDir)
	set, err := st.Load(nil)
	require.NotNil(t, set, "%v", err)
	parses := st.Stats().Parses
	rules, err := LoadStore(st)
	require.NoError(t, err)
	require.Same(t, set.Environments["lab"], rules.File("lab").Env)
	require.Equal(t, parses, st.Stats().Parses, "trigger rules parsed runbooks or environments again")
	require.Equal(t, int64(1), st.Stats().Reloads)
}

func TestGlob(t *testing.T) {
	cases := []struct {
		glob, s string
		want    bool
	}{
		{"lab-*-pipeline-not-ingesting", "lab-us-east-1-pipeline-not-ingesting", true},
		{"lab-*-pipeline-not-ingesting", "lab-us-east-1-pipeline-not-ingesting-2", false},
		{"lab-us-?ast-1-*", "lab-us-east-1-x", true},
		{"arn:aws:cloudwatch:*:123:alarm:a.b", "arn:aws:cloudwatch:us-east-1:123:alarm:a.b", true},
		{"arn:aws:cloudwatch:*:123:alarm:a.b", "arn:aws:cloudwatch:us-east-1:123:alarm:aXb", false}, // . is literal
		{"*", "", true},
	}
	for _, tc := range cases {
		re, err := globRegexp(tc.glob)
		require.NoError(t, err)
		require.Equal(t, tc.want, re.MatchString(tc.s), "%s ~ %s", tc.glob, tc.s)
	}
}
