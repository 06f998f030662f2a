package runbook

import (
	"flag"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// update rewrites golden files (testdata/broken/**/*.errors) and docs/runbook.schema.json.
var update = flag.Bool("update", false, "rewrite golden files and the generated JSON schema")

// testCatalog is a small catalog shaped like the real one: the loader only needs names, kinds,
// read-only flags and typed arguments.
func testCatalog() *catalog.Catalog {
	region := catalog.Field{Name: "region", Type: catalog.TypeRegion, Required: true}
	return catalog.New(
		catalog.Spec{Name: "route53.set_weights", Kind: catalog.KindAction, Args: []catalog.Field{
			{Name: "weights", Type: catalog.TypeWeights, Required: true},
			{Name: "comment", Type: catalog.TypeString},
		}},
		catalog.Spec{Name: "route53.get_weights", Kind: catalog.KindAction, ReadOnly: true},
		catalog.Spec{Name: "msk.replication_lag", Kind: catalog.KindCheck, ReadOnly: true, Args: []catalog.Field{
			region,
			{Name: "max_lag", Type: catalog.TypeInt},
		}},
		catalog.Spec{Name: "cloudwatch.alarms_ok", Kind: catalog.KindCheck, ReadOnly: true, Args: []catalog.Field{
			region,
			{Name: "alarms", Type: catalog.TypeList},
		}},
		catalog.Spec{Name: "osis.stop_pipeline", Kind: catalog.KindAction, Args: []catalog.Field{
			region,
			{Name: "pipeline", Type: catalog.TypeString, Required: true},
		}},
		catalog.Spec{Name: "osis.start_pipeline", Kind: catalog.KindAction, Args: []catalog.Field{
			region,
			{Name: "pipeline", Type: catalog.TypeString, Required: true},
		}},
		catalog.Spec{Name: "opensearch.doc_count", Kind: catalog.KindAction, ReadOnly: true, Args: []catalog.Field{
			region,
			{Name: "index", Type: catalog.TypeString},
			{Name: "since", Type: catalog.TypeTime},
		}},
		catalog.Spec{Name: "kafka.drain", Kind: catalog.KindAction, Args: []catalog.Field{
			region,
			{Name: "for", Type: catalog.TypeDuration},
			{Name: "strict", Type: catalog.TypeBool},
		}},
	)
}
