package runbook

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// zonalCatalog declares, as the real catalog does, that moving zones needs a self-managed
// cluster and that describing the zonal domain needs a managed one.
func zonalCatalog() *catalog.Catalog {
	env := catalog.Field{Name: "environment", Type: catalog.TypeString, Required: true}
	return catalog.New(
		catalog.Spec{Name: "opensearch.set_zone_weights", Kind: catalog.KindAction, ZonalKinds: []string{ClusterSelfManaged},
			Args: []catalog.Field{env, {Name: "weights", Type: catalog.TypeWeights, Required: true}}},
		catalog.Spec{Name: "opensearch.decommission_status", Kind: catalog.KindCheck, ReadOnly: true, ZonalKinds: []string{ClusterSelfManaged},
			Args: []catalog.Field{env, {Name: "want", Type: catalog.TypeString}}},
		catalog.Spec{Name: "opensearch.domain_status", Kind: catalog.KindCheck, ReadOnly: true, ZonalKinds: []string{ClusterManaged}, ZonalIf: "zonal",
			Args: []catalog.Field{env, {Name: "zonal", Type: catalog.TypeBool}, {Name: "region", Type: catalog.TypeRegion}}},
	)
}

const zonalRunbook = `schema: switchyard/v1
name: zones
steps:
  - id: domain
    check: opensearch.domain_status
    with: {environment: "${{ run.environment }}", region: us-east-1}
  - id: weigh_away
    action: opensearch.set_zone_weights
    with:
      environment: "${{ run.environment }}"
      weights: {us-east-1a: 0, us-east-1b: 1, us-east-1c: 1}
  - id: gone
    parallel:
      - id: decommissioned
        wait_until:
          check: opensearch.decommission_status
          with: {environment: "${{ run.environment }}", want: SUCCESSFUL}
          timeout: 5m
  - id: zonal_domain
    check: opensearch.domain_status
    with: {environment: "${{ run.environment }}", zonal: true}
`

func zonalEnv(t *testing.T, zonal string) *Environment {
	t.Helper()
	src := `schema: switchyard/v1
name: prod
primary: us-east-1
secondary: us-west-2
topic: logs
index_pattern: logs-*
timestamp_field: ts
regions:
  us-east-1:
    role: primary
    msk_cluster_arn: arn:east
    inbound_replicator_arn: arn:repl-east
    consumer_group: osis
    pipeline: logs-east
    opensearch: {kind: serverless, endpoint: "https://east"}
  us-west-2:
    role: secondary
    msk_cluster_arn: arn:west
    inbound_replicator_arn: arn:repl-west
    consumer_group: osis
    pipeline: logs-west
    opensearch: {endpoint: "https://west"}
` + zonal
	env, err := ParseEnvironment("environments/prod.yaml", []byte(src))
	if err != nil {
		t.Fatalf("environment: %v", err)
	}
	return env
}

// TestCheckUseRefusesZoneMovesOnAManagedDomain: the zonal runbooks are refused at load, each
// offending step at its position, for an environment whose zonal cluster is a managed domain —
// and for one without kind, which means managed — and accepted for a self-managed one.
func TestCheckUseRefusesZoneMovesOnAManagedDomain(t *testing.T) {
	cat := zonalCatalog()
	rb, err := Parse("runbooks/zones.yaml", []byte(zonalRunbook), cat)
	if err != nil {
		t.Fatal(err)
	}
	managed := zonalEnv(t, `zonal:
  endpoint: https://search-lab.us-east-1.es.amazonaws.com
  region: us-east-1
  kind: managed
  domain: lab-multiaz
  zones: [us-east-1a, us-east-1b, us-east-1c]
`)
	err = CheckUse(rb, managed, cat)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want the two zone-moving steps refused, got %v", err)
	}
	for i, want := range []string{
		`runbooks/zones.yaml:7:5: step weigh_away: opensearch.set_zone_weights needs a self_managed zonal cluster, but environment "prod" has zonal.kind managed (environments/prod.yaml:26:9): Amazon OpenSearch Service runs Multi-AZ with Standby itself`,
		`runbooks/zones.yaml:14:9: step decommissioned: opensearch.decommission_status needs a self_managed zonal cluster`,
	} {
		if !strings.HasPrefix(list[i].Error(), want) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, list[i].Error(), want)
		}
	}

	noKind := zonalEnv(t, `zonal:
  endpoint: https://search-lab.us-east-1.es.amazonaws.com
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
`)
	err = CheckUse(rb, noKind, cat)
	if err == nil || !strings.Contains(err.Error(), `has a zonal cluster without kind, which means managed (environments/prod.yaml:24:3)`) {
		t.Errorf("a zonal cluster without kind: %v", err)
	}

	self := zonalEnv(t, `zonal:
  kind: self_managed
  endpoint: https://opensearch.internal:9200
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
  auth:
    basic: {username: switchyard, password: "ssm:/switchyard/opensearch-password"}
`)
	err = CheckUse(rb, self, cat)
	if !errors.As(err, &list) || len(list) != 1 ||
		!strings.HasPrefix(list[0].Error(), `runbooks/zones.yaml:19:5: step zonal_domain: opensearch.domain_status needs a managed zonal cluster, but environment "prod" has zonal.kind self_managed (environments/prod.yaml:24:9): a self-managed cluster has no Amazon OpenSearch Service domain`) {
		t.Errorf("self-managed: only the zonal domain_status is refused, got %v", err)
	}

	none := zonalEnv(t, "")
	err = CheckUse(rb, none, cat)
	if err == nil || !strings.Contains(err.Error(), `step weigh_away: opensearch.set_zone_weights acts on the environment's zonal cluster (kind self_managed), but environment "prod" (environments/prod.yaml:1:1) has none`) {
		t.Errorf("no zonal cluster: %v", err)
	}
}

// TestOneDefaultForTheCollectionKind: a Region's OpenSearch without kind is a collection, signed
// for aoss, everywhere that asks.
func TestOneDefaultForTheCollectionKind(t *testing.T) {
	env := zonalEnv(t, "")
	west := env.Regions["us-west-2"].OpenSearch
	if west.Kind != "" || west.ClusterKind() != ClusterServerless || SigningService(west.ClusterKind()) != "aoss" {
		t.Errorf("no kind: ClusterKind %q, signing %q", west.ClusterKind(), SigningService(west.ClusterKind()))
	}
	if got := SigningService(OpenSearch{Kind: ClusterManaged}.ClusterKind()); got != "es" {
		t.Errorf("managed signs for %q", got)
	}
	if got := SigningService(ClusterSelfManaged); got != "" {
		t.Errorf("self-managed signs for %q", got)
	}
}

func TestSecretRefs(t *testing.T) {
	for in, want := range map[string]SecretRef{
		"env:OS_PASSWORD":                {SecretEnv, "OS_PASSWORD"},
		"file:/run/secrets/os":           {SecretFile, "/run/secrets/os"},
		"ssm:/switchyard/lab/os-pass":    {SecretSSM, "/switchyard/lab/os-pass"},
		"ssm:switchyard-os-password-two": {SecretSSM, "switchyard-os-password-two"},
	} {
		got, err := ParseSecretRef(in)
		if err != nil || got != want {
			t.Errorf("ParseSecretRef(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"hunter2", "vault:x", "env:", "file:rel/path", "env: X"} {
		if _, err := ParseSecretRef(in); err == nil {
			t.Errorf("ParseSecretRef(%q) succeeded", in)
		} else if in == "hunter2" && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the message repeats what may be a password: %v", err)
		}
	}
}
