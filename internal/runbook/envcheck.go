package runbook

import (
	"path/filepath"
	"slices"
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
	if pos.has(env, "on_failure") && env.OnFailure != OnFailurePause {
		errs.add(pos.val(env, "on_failure"), "on_failure must be pause (or left out, so that each step's own on_failure applies), got %q%s",
			env.OnFailure, didYouMean(string(env.OnFailure), []string{string(OnFailurePause)}))
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
		checkReplication(rc.Replication, where, pos, errs)
		osKey := entryKey{owner, "opensearch"}
		if pos.has(osKey, "kind") && rc.OpenSearch.Kind != ClusterServerless && rc.OpenSearch.Kind != ClusterManaged {
			errs.add(pos.val(osKey, "kind"), "%s.opensearch.kind must be serverless or managed, got %q%s", where, rc.OpenSearch.Kind,
				didYouMean(rc.OpenSearch.Kind, []string{ClusterServerless, ClusterManaged}))
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
		checkLever(env, t, regions, pos, errs)
	}
	if z := env.Zonal; z != nil {
		if pos.has(z, "region") && !catalog.LooksLikeRegion(z.Region) {
			errs.add(pos.val(z, "region"), "zonal.region %q is not an AWS Region name (like us-east-1)", z.Region)
		}
		if pos.has(z, "zones") && len(z.Zones) < 2 {
			errs.add(pos.val(z, "zones"), "zonal.zones must list at least two zones to fail over between, got %d", len(z.Zones))
		}
		checkZonal(z, pos, errs)
	}
}

// checkZonal validates the zonal cluster's kind and how it is reached: a self-managed cluster
// needs basic auth or a client certificate (it is not reached with SigV4), with secrets given
// as references; a managed domain is reached with SigV4 and takes neither.
func checkZonal(z *Zonal, pos posTable, errs *ErrorList) {
	z.KindPos = pos.val(z, "kind")
	kinds := []string{ClusterSelfManaged, ClusterManaged}
	if pos.has(z, "kind") && !slices.Contains(kinds, z.Kind) {
		why := ""
		if z.Kind == ClusterServerless {
			why = " (OpenSearch Serverless has no zones to fail over between)"
		}
		errs.add(pos.val(z, "kind"), "zonal.kind must be self_managed or managed, got %q%s%s", z.Kind, why, didYouMean(z.Kind, kinds))
		return
	}
	if z.ClusterKind() == ClusterManaged {
		for _, f := range []string{"auth", "tls"} {
			if pos.has(z, f) {
				errs.add(pos.key(z, f), "zonal.%s is for kind self_managed: a managed domain is reached with SigV4 and the worker's AWS credentials", f)
			}
		}
		return
	}
	if pos.has(z, "domain") {
		errs.add(pos.key(z, "domain"), "zonal.domain names an Amazon OpenSearch Service domain; a self_managed cluster has none")
	}
	basic := z.Auth != nil && z.Auth.Basic != nil
	if !basic && !z.TLS.ClientCertificate() {
		errs.add(pos.val(z, "kind"), "zonal.kind self_managed needs auth.basic or a client certificate (tls.cert_file and tls.key_file): a self-managed cluster is not reached with SigV4")
	}
	if a := z.Auth; a != nil && pos.has(z, "auth") && a.Basic == nil {
		errs.add(pos.val(z, "auth"), "zonal.auth needs basic (username and password)")
	}
	if basic {
		b := z.Auth.Basic
		if pos.has(b, "username") {
			if b.Username == "" {
				errs.add(pos.val(b, "username"), "zonal.auth.basic.username must not be empty")
			} else if IsSecretRef(b.Username) {
				if _, err := ParseSecretRef(b.Username); err != nil {
					errs.add(pos.val(b, "username"), "zonal.auth.basic.username: %v", err)
				}
			}
		}
		if pos.has(b, "password") {
			if _, err := ParseSecretRef(b.Password); err != nil {
				errs.add(pos.val(b, "password"), "zonal.auth.basic.password must be a secret reference, not the password: %v (environment files are committed; the worker reads the secret when it connects)", err)
			}
		}
	}
	if t := z.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs.add(pos.val(z, "tls"), "zonal.tls needs cert_file and key_file together (a client certificate and its key)")
		}
		for _, f := range []struct{ key, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
			if pos.has(t, f.key) && !filepath.IsAbs(f.path) {
				errs.add(pos.val(t, f.key), "zonal.tls.%s must be an absolute path on the worker, got %q", f.key, f.path)
			}
		}
	}
	if pos.has(z, "endpoint") && !strings.HasPrefix(z.Endpoint, "https://") && !strings.HasPrefix(z.Endpoint, "http://") {
		errs.add(pos.val(z, "endpoint"), "zonal.endpoint must be an http:// or https:// URL, got %q", z.Endpoint)
	}
}

// CheckUse checks what a runbook asks of the environment it is about to run with, which neither
// file can check alone: a catalog entry that acts on a certain kind of zonal cluster (its spec's
// ZonalKinds) is refused, at the step that names it, when the environment has no zonal cluster
// or one of another kind — so a zonal failover against a managed domain stops at load with
// path:line:col instead of meeting AWS's 401 halfway through. Steps are checked whether or not
// their `if` would skip them: a runbook either fits an environment or it does not. cat is the
// catalog rb was loaded with; nil checks nothing.
func CheckUse(rb *Runbook, env *Environment, cat *catalog.Catalog) error {
	if rb == nil || env == nil || cat == nil {
		return nil
	}
	var errs ErrorList
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			s := &steps[i]
			checkZonalUse(s, s.Action, s.With, env, cat, &errs)
			checkZonalUse(s, s.Check, s.With, env, cat, &errs)
			if s.WaitUntil != nil {
				checkZonalUse(s, s.WaitUntil.Check, s.WaitUntil.With, env, cat, &errs)
			}
			walk(s.Parallel)
			walk(s.Steps)
			walk(s.Compensate)
		}
	}
	walk(rb.Steps)
	errs.sort()
	return errs.Err()
}

func checkZonalUse(s *Step, entry string, with map[string]any, env *Environment, cat *catalog.Catalog, errs *ErrorList) {
	if entry == "" {
		return
	}
	spec, ok := cat.Lookup(entry)
	if !ok || len(spec.ZonalKinds) == 0 {
		return
	}
	if spec.ZonalIf != "" {
		// Only a literal true counts: an expression is decided at run time, where the
		// activity's own checks apply.
		if on, _ := with[spec.ZonalIf].(bool); !on {
			return
		}
	}
	want := strings.Join(spec.ZonalKinds, " or ")
	z := env.Zonal
	if z == nil {
		errs.add(s.Pos, "step %s: %s acts on the environment's zonal cluster (kind %s), but environment %q (%s) has none",
			s.ID, entry, want, env.Name, env.Pos)
		return
	}
	kind := z.ClusterKind()
	if slices.Contains(spec.ZonalKinds, kind) {
		return
	}
	written := "zonal.kind " + kind
	if z.Kind == "" {
		written = "a zonal cluster without kind, which means " + kind
	}
	errs.add(s.Pos, "step %s: %s needs a %s zonal cluster, but environment %q has %s (%s)%s",
		s.ID, entry, want, env.Name, written, z.KindPos, zonalKindWhy(spec.ZonalKinds, kind))
}

// zonalKindWhy explains a refused kind in the terms an operator can act on.
func zonalKindWhy(want []string, have string) string {
	switch {
	case slices.Contains(want, ClusterSelfManaged) && have == ClusterManaged:
		return ": Amazon OpenSearch Service runs Multi-AZ with Standby itself and refuses weighted routing and zonal decommission to customers " +
			"(401 \"Your request: '…' is not allowed.\"); watch a managed domain's zones with opensearch.domain_status"
	case slices.Contains(want, ClusterManaged) && have == ClusterSelfManaged:
		return ": a self-managed cluster has no Amazon OpenSearch Service domain to describe; check it with opensearch.cluster_health"
	}
	return ""
}
