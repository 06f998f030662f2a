package runbook

import (
	"os"
	"strings"
	"testing"
)

// TestEveryLeverLoads: each lever with its section loads, and LeverOf reads it; an environment
// without traffic.lever keeps route53_weights (files written before levers existed).
func TestEveryLeverLoads(t *testing.T) {
	src, err := os.ReadFile("testdata/good/environments/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(src)
	const at = "zonal:\n"
	for lever, section := range map[string]string{
		"":                  "",
		LeverRoute53Weights: "  lever: route53_weights\n  resolver: 127.0.0.1:53\n",
		LeverARCRoutingControl: `  lever: arc_routing_control
  arc:
    cluster_arn: arn:aws:route53-recovery-control::111122223333:cluster/a1b2c3d4-0000-1111-2222-333344445555
    endpoints:
      us-west-2: https://host-dddddd.us-west-2.example.com/v1
      eu-west-1: https://host-eeeeee.eu-west-1.example.com/v1
    routing_controls:
      us-east-1: arn:aws:route53-recovery-control::111122223333:controlpanel/abc123/routingcontrol/east1
      us-west-2: arn:aws:route53-recovery-control::111122223333:controlpanel/abc123/routingcontrol/west1
`,
		LeverHealthCheckMetric: `  lever: health_check_metric
  resolver: system
  health_check_metric:
    namespace: Switchyard/Traffic
    metric_name: TakesTraffic
    checks:
      us-east-1: {health_check_id: hc-east, alarm_region: us-west-2, alarm_name: east-takes-traffic, dimensions: {Region: us-east-1}}
      us-west-2: {health_check_id: hc-west, alarm_region: us-east-1, alarm_name: west-takes-traffic, dimensions: {Region: us-west-2}}
`,
	} {
		env, err := ParseEnvironment("lab.yaml", []byte(strings.Replace(base, at, section+at, 1)))
		if err != nil {
			t.Fatalf("lever %q: %v", lever, err)
		}
		want := lever
		if want == "" {
			want = LeverRoute53Weights
		}
		if got := env.Traffic.LeverOf(); got != want {
			t.Errorf("lever %q: LeverOf = %q", lever, got)
		}
	}
	if got := (*Traffic)(nil).LeverOf(); got != LeverRoute53Weights {
		t.Errorf("no traffic section: LeverOf = %q", got)
	}
}
