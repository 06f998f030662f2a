package runbook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// BindParams checks the params a run was started with against the declarations and returns the
// bound map: given values, then defaults; params neither given nor defaulted are absent (they
// evaluate to null). Values arrive from JSON, so numbers are float64 and durations strings;
// int params are returned as int, everything else as given. A null value counts as not given.
//
// Every problem (missing required param, unknown param, type or enum mismatch) is reported, joined,
// so that whoever starts a failover fixes the request in one go.
func (r *Runbook) BindParams(given map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var errs []error
	declared := map[string]bool{}
	var names []string
	for _, p := range r.Params {
		declared[p.Name] = true
		names = append(names, p.Name)
		v, ok := given[p.Name]
		if !ok || v == nil {
			switch {
			case p.Required:
				errs = append(errs, fmt.Errorf("missing required param %q (%s)", p.Name, p.Type))
			case p.Default != nil:
				out[p.Name] = p.Default
			}
			continue
		}
		bound, err := bindParam(p, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("param %q: %w", p.Name, err))
			continue
		}
		out[p.Name] = bound
	}
	for _, k := range sortedKeys(given) {
		if !declared[k] {
			errs = append(errs, fmt.Errorf("unknown param %q%s", k, hint(k, names, "params")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func bindParam(p Param, v any) (any, error) {
	t, ok := paramCatalogType(p.Type)
	if !ok {
		return nil, fmt.Errorf("declared with unknown type %q", p.Type)
	}
	if err := catalog.CheckLiteral(t, v); err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
		return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
	}
	if p.Type == TypeInt {
		switch n := v.(type) {
		case float64:
			return int(n), nil
		case int64:
			return int(n), nil
		case uint64:
			return int(n), nil
		}
	}
	return v, nil
}
