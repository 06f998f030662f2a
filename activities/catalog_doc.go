package activities

import (
	"fmt"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// CatalogDocPath is where the catalog's reference lives, relative to the repository root. A test
// keeps it equal to CatalogMarkdown of the build's catalog.
const CatalogDocPath = "docs/catalog.md"

// CatalogMarkdown renders the catalog as the Markdown reference runbook authors read. It is
// generated from the specs, which are themselves derived from the Go argument and result
// structs, so the page cannot drift from the code.
func CatalogMarkdown(cat *catalog.Catalog) []byte {
	var b strings.Builder
	b.WriteString("# Catalog of actions and checks\n\n")
	b.WriteString("<!-- Generated from the code: go test ./activities -run TestCatalogDoc -update. Do not edit. -->\n\n")
	b.WriteString("Every `action:` and `check:` a runbook step may name, with its arguments and its result ")
	b.WriteString("(`steps.<id>.result.<field>`). Checks return `ok` and `reason`; `wait_until` polls them. ")
	b.WriteString("Read-only entries also run in plan mode. Entries that take `environment` resolve every name ")
	b.WriteString("(cluster, replicator, pipeline, collection, bucket, record) from `runbooks/environments/<environment>.yaml`; ")
	b.WriteString("explicit arguments override it. Each entry calls only the Region named in its arguments, so ")
	b.WriteString("a runbook keeps an impaired Region out of an ungraceful failover by naming the healthy one.\n\n")
	b.WriteString("Errors: throttling, 5xx, timeouts and unreachable endpoints are retried by the step's retry policy; ")
	b.WriteString("access denied, not found and invalid requests fail at once (non-retryable) with a message naming the resource and the Region.\n\n")
	b.WriteString("| Name | Kind | Read-only | Description |\n|---|---|---|---|\n")
	for _, s := range cat.Specs() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", s.Name, anchor(s.Name), s.Kind, yesNo(s.ReadOnly), cell(s.Description))
	}
	for _, s := range cat.Specs() {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Name)
		ro := ""
		if s.ReadOnly {
			ro = ", read-only"
		}
		fmt.Fprintf(&b, "*%s%s.* %s\n", s.Kind, ro, s.Description)
		if len(s.IAM) > 0 {
			fmt.Fprintf(&b, "\nIAM: `%s`\n", strings.Join(s.IAM, "`, `"))
		}
		if len(s.ZonalKinds) > 0 {
			when := ""
			if s.ZonalIf != "" {
				when = fmt.Sprintf(" (with `%s: true`)", s.ZonalIf)
			}
			fmt.Fprintf(&b, "\nZonal cluster%s: `zonal.kind: %s` only; a runbook that uses it is refused when it loads for an environment whose zonal cluster is of another kind.\n",
				when, strings.Join(s.ZonalKinds, "` or `"))
		}
		b.WriteString("\nArguments:\n\n")
		if len(s.Args) == 0 {
			b.WriteString("none\n")
		} else {
			b.WriteString("| Name | Type | Required | Description |\n|---|---|---|---|\n")
			for _, f := range s.Args {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, yesNo(f.Required), cell(f.Description))
			}
		}
		for _, line := range argNotes(s) {
			b.WriteString("\n" + line + "\n")
		}
		b.WriteString("\nResult:\n\n")
		if len(s.Result) == 0 {
			b.WriteString("none\n")
		} else {
			b.WriteString("| Name | Type | Description |\n|---|---|---|\n")
			for _, f := range s.Result {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Type, cell(f.Description))
			}
		}
	}
	return []byte(b.String())
}

// argNotes explains the arguments the loader and the interpreter treat specially: the ones that
// bound the step's run time, windows for writes steered by DNS, and weights that may not all be 0.
func argNotes(s catalog.Spec) []string {
	var out, bounds []string
	for _, f := range s.Args {
		if !f.Bounds {
			continue
		}
		note := "`" + f.Name + "`"
		switch {
		case f.Default != "" && f.BoundsIf != "":
			note += fmt.Sprintf(" (default %s; only with `%s: true`)", f.Default, f.BoundsIf)
		case f.Default != "":
			note += fmt.Sprintf(" (default %s)", f.Default)
		}
		bounds = append(bounds, note)
	}
	if len(bounds) > 0 {
		out = append(out, fmt.Sprintf("Run time: bounded by %s. A step without `timeout:` gets at least the bound + %s; a shorter `timeout:` is refused when the runbook loads (with the params' defaults) and when a run starts (with its values).",
			strings.Join(bounds, ", "), catalog.ShortDuration(catalog.BoundMargin)))
	}
	for _, f := range s.Args {
		if f.DNSWindow {
			out = append(out, fmt.Sprintf("`%s` waits for writes steered by the environment's weighted DNS record: shorter than the record's TTL + %s is a warning (resolvers answer from their cache for the TTL after Route 53 is INSYNC).",
				f.Name, catalog.ShortDuration(catalog.DNSMargin)))
		}
		if f.NotAllZero {
			out = append(out, fmt.Sprintf("`%s` may not set every record of the group to 0: Route 53 then routes to all of them with equal probability.", f.Name))
		}
	}
	return out
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return ""
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// anchor is the heading id GitHub derives from a name like msk.cluster_active.
func anchor(name string) string { return strings.ReplaceAll(strings.ToLower(name), ".", "") }
