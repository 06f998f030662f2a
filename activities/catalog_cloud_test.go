package activities

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

var update = flag.Bool("update", false, "rewrite docs/catalog.md from the catalog")

// TestCatalogDoc fails when docs/catalog.md is stale. Regenerate it with
// go test ./activities -run TestCatalogDoc -update.
func TestCatalogDoc(t *testing.T) {
	got := CatalogMarkdown(NewCatalogRegistry(Options{RunbookDir: "../runbooks"}).Catalog())
	path := filepath.Join("..", CatalogDocPath)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "regenerate with: go test ./activities -run TestCatalogDoc -update")
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: regenerate it with go test ./activities -run TestCatalogDoc -update", CatalogDocPath)
	}
	require.Contains(t, string(got), "## route53.set_weights")
	require.Contains(t, string(got), "| `weights` | weights | yes |")
}

func TestCatalogEntries(t *testing.T) {
	cat := NewCatalogRegistry(Options{RunbookDir: "../runbooks"}).Catalog()
	want := map[string]struct {
		kind     catalog.Kind
		readOnly bool
	}{
		"msk.cluster_active": {catalog.KindCheck, true}, "msk.replicator_running": {catalog.KindCheck, true},
		"msk.replicator_lag": {catalog.KindCheck, true}, "msk.consumer_lag": {catalog.KindCheck, true}, "msk.group_idle": {catalog.KindCheck, true},
		"osi.pipeline_status": {catalog.KindCheck, true}, "osi.start_pipeline": {catalog.KindAction, false},
		"osi.stop_pipeline": {catalog.KindAction, false}, "osi.pipeline_metrics": {catalog.KindCheck, true},
		"opensearch.collection_active": {catalog.KindCheck, true}, "opensearch.domain_status": {catalog.KindCheck, true},
		"opensearch.count": {catalog.KindAction, true}, "opensearch.ingesting": {catalog.KindCheck, true},
		"opensearch.cluster_health": {catalog.KindCheck, true}, "opensearch.zone_weights": {catalog.KindAction, true},
		"opensearch.set_zone_weights": {catalog.KindAction, false}, "opensearch.decommission_zone": {catalog.KindAction, false},
		"opensearch.decommission_status": {catalog.KindCheck, true}, "opensearch.recommission_zone": {catalog.KindAction, false},
		"route53.weights": {catalog.KindAction, true}, "route53.set_weights": {catalog.KindAction, false},
		"route53.wait_insync": {catalog.KindAction, true}, "ssm.get_parameter": {catalog.KindAction, true},
		"ssm.put_parameter": {catalog.KindAction, false}, "cloudwatch.alarm_state": {catalog.KindCheck, true},
		"s3.dlq_objects": {catalog.KindCheck, true}, "backfill.verify": {catalog.KindCheck, true},
		"http.webhook": {catalog.KindAction, false}, "capacity.prescale": {catalog.KindAction, false}, "capacity.restore": {catalog.KindAction, false},
	}
	for name, w := range want {
		s, ok := cat.Lookup(name)
		require.True(t, ok, name)
		require.Equal(t, w.kind, s.Kind, name)
		require.Equal(t, w.readOnly, s.ReadOnly, name)
		if slices.Contains([]string{"http.webhook", "backfill.verify"}, name) {
			continue
		}
		env, ok := s.Arg("environment")
		require.True(t, ok && env.Required, "%s takes a required environment", name)
		region, ok := s.Arg("region")
		require.True(t, ok, "%s names its Region", name)
		require.Equal(t, catalog.TypeRegion, region.Type, name)
		require.NotEmpty(t, s.IAM, "%s lists its IAM actions", name)
	}
}

// A runbook using the new entries validates against the worker's catalog, and a mistake in one
// is reported with the entry's name.
func TestRunbookUsingCloudEntriesValidates(t *testing.T) {
	cat := NewCatalogRegistry(Options{RunbookDir: "../runbooks"}).Catalog()
	src := `schema: switchyard/v1
name: shift
description: Pre-flight the target, move traffic, verify.
target_region: params.target
params:
  - name: target
    type: region
    default: us-west-2
steps:
  - id: preflight
    parallel:
      - id: cluster
        check: msk.cluster_active
        with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
      - id: replicator
        check: msk.replicator_lag
        with: {environment: "${{ run.environment }}", region: "${{ params.target }}", max_message_lag: 0, lookback: 10m}
      - id: pipeline
        check: osi.pipeline_status
        with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
      - id: collection
        check: opensearch.collection_active
        with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
      - id: alarms
        check: cloudwatch.alarm_state
        with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
  - id: start
    action: osi.start_pipeline
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}", wait: true, timeout: 20m}
  - id: before
    action: route53.weights
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
  - id: shift
    action: route53.set_weights
    with:
      environment: "${{ run.environment }}"
      region: "${{ params.target }}"
      weights: {us-east-1: 0, us-west-2: 100}
  - id: insync
    action: route53.wait_insync
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}", change_id: "${{ steps.shift.result.change_id }}"}
  - id: flowing
    wait_until:
      check: opensearch.ingesting
      with: {environment: "${{ run.environment }}", region: "${{ params.target }}", window: 90s}
      interval: 10s
      timeout: 10m
  - id: zones
    action: opensearch.set_zone_weights
    with: {environment: "${{ run.environment }}", weights: {us-east-1a: 0, us-east-1b: 1, us-east-1c: 1}}
  - id: flag
    action: ssm.put_parameter
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}", name: /app/active-region, value: "${{ params.target }}"}
`
	_, err := runbook.Parse("shift.yaml", []byte(src), cat)
	require.NoError(t, err)

	bad := bytes.Replace([]byte(src), []byte("max_message_lag: 0"), []byte("max_message_lagg: 0"), 1)
	_, err = runbook.Parse("shift.yaml", bad, cat)
	require.ErrorContains(t, err, "max_message_lagg")
	bad = bytes.Replace([]byte(src), []byte("us-west-2: 100}"), []byte("us-west-2: lots}"), 1)
	_, err = runbook.Parse("shift.yaml", bad, cat)
	require.ErrorContains(t, err, "weights")
}

type recordingRegistry struct{ names []string }

func (r *recordingRegistry) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

func TestRegisterAllRegistersCloudAndBackfill(t *testing.T) {
	var rec recordingRegistry
	reg := RegisterAll(&rec, Options{RunbookDir: "../runbooks"})
	for _, n := range []string{"route53.set_weights", "msk.consumer_lag", "backfill.verify", wire.LoadRunbookActivity,
		wire.BackfillEnvironmentActivity, wire.BackfillGatesActivity, wire.BackfillCompareActivity,
		wire.ReadinessPlanActivity, wire.ReadinessCheckActivity} {
		require.Contains(t, rec.names, n)
	}
	require.Len(t, rec.names, len(reg.Names())+8, "the catalog, three engine, three backfill and two readiness activities, each once")
}
