package runbook

import (
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// checkEnvironment validates a decoded environment; name is the name it must declare ("" skips
// that check).
func checkEnvironment(env *Environment, name string, pos posTable, errs *ErrorList) {
	if pos.has(env, "schema") && env.Schema != SchemaV1 {
		errs.add(pos.val(env, "schema"), "schema must be %q, got %q", SchemaV1, env.Schema)
	}
	if pos.has(env, "name") {
		switch {
		case env.Name == "":
			errs.add(pos.val(env, "name"), "name must not be empty")
		case name != "" && env.Name != name:
			errs.add(pos.val(env, "name"), "name %q must equal the file name %q: environments are referred to by file name", env.Name, name)
		}
	}
	regions := sortedKeys(env.Regions)
	for _, r := range regions {
		if !catalog.LooksLikeRegion(r) {
			errs.add(pos.key(env, "regions."+r), "regions: %q is not an AWS Region name (like us-east-1)", r)
		}
	}
	if pos.has(env, "regions") && len(env.Regions) != 2 {
		errs.add(pos.val(env, "regions"), "regions must list exactly two Regions, the primary and the secondary, got %d", len(env.Regions))
	}
	for _, role := range []struct{ field, region string }{{"primary", env.Primary}, {"secondary", env.Secondary}} {
		if !pos.has(env, role.field) {
			continue
		}
		if _, ok := env.Regions[role.region]; !ok && len(regions) > 0 {
			errs.add(pos.val(env, role.field), "%s %q is not one of the regions (%s)", role.field, role.region, strings.Join(regions, ", "))
		}
	}
	if env.Primary != "" && env.Primary == env.Secondary {
		errs.add(pos.val(env, "secondary"), "secondary must differ from primary (both are %q)", env.Primary)
	}

	for _, r := range regions {
		rc := env.Regions[r]
		owner := entryKey{env, "regions." + r}
		where := "regions." + r
		want := ""
		switch r {
		case env.Primary:
			want = "primary"
		case env.Secondary:
			want = "secondary"
		}
		switch {
		case !pos.has(owner, "role"):
		case rc.Role != "primary" && rc.Role != "secondary":
			errs.add(pos.val(owner, "role"), "%s.role must be primary or secondary, got %q", where, rc.Role)
		case want != "" && rc.Role != want:
			errs.add(pos.val(owner, "role"), "%s.role is %q, but %s is the %s", where, rc.Role, r, want)
		}
		switch rc.KafkaAuth {
		case "", "iam", "none":
		default:
			errs.add(pos.val(owner, "kafka_auth"), "%s.kafka_auth must be iam or none, got %q", where, rc.KafkaAuth)
		}
		osKey := entryKey{owner, "opensearch"}
		if pos.has(osKey, "kind") && rc.OpenSearch.Kind != "serverless" && rc.OpenSearch.Kind != "managed" {
			errs.add(pos.val(osKey, "kind"), "%s.opensearch.kind must be serverless or managed, got %q%s", where, rc.OpenSearch.Kind,
				didYouMean(rc.OpenSearch.Kind, []string{"serverless", "managed"}))
		}
	}

	if t := env.Traffic; t != nil {
		for _, r := range sortedKeys(t.SetIdentifiers) {
			if _, ok := env.Regions[r]; !ok {
				errs.add(pos.key(t, "set_identifiers."+r), "traffic.set_identifiers: %q is not one of the regions (%s)", r, strings.Join(regions, ", "))
			}
		}
		for _, r := range regions {
			if _, ok := t.SetIdentifiers[r]; !ok && pos.has(t, "set_identifiers") {
				errs.add(pos.val(t, "set_identifiers"), "traffic.set_identifiers has no entry for region %q", r)
			}
		}
		for _, r := range sortedKeys(t.Values) {
			if _, ok := env.Regions[r]; !ok {
				errs.add(pos.key(t, "values."+r), "traffic.values: %q is not one of the regions (%s)", r, strings.Join(regions, ", "))
			}
		}
		if t.TTL < 0 {
			errs.add(pos.val(t, "ttl"), "traffic.ttl must not be negative, got %d", t.TTL)
		}
	}
	if z := env.Zonal; z != nil {
		if pos.has(z, "region") && !catalog.LooksLikeRegion(z.Region) {
			errs.add(pos.val(z, "region"), "zonal.region %q is not an AWS Region name (like us-east-1)", z.Region)
		}
		if pos.has(z, "zones") && len(z.Zones) < 2 {
			errs.add(pos.val(z, "zones"), "zonal.zones must list at least two zones to fail over between, got %d", len(z.Zones))
		}
		if z.Kind != "" && z.Kind != "serverless" && z.Kind != "managed" {
			errs.add(pos.val(z, "kind"), "zonal.kind must be serverless or managed, got %q", z.Kind)
		}
	}
}
