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

// RegionError decides whether value may be given for a region param of a run in env: it must be
// one of the environment's Regions, because every step resolves its clusters, pipelines,
// collections and records from the environment's entry for that Region. A Region that merely
// looks right (us-east-9) would otherwise start a run that fails half-way, or moves nothing. The
// starter CLI, schedules, trigger rules and the workflow's loader (runs started from the UI,
// Slack and alarms) all decide with this function.
func RegionError(env *Environment, value string) error {
	if env == nil {
		return nil
	}
	if _, ok := env.Regions[value]; ok {
		return nil
	}
	return fmt.Errorf("%q is not a Region of environment %s (its Regions: %s)", value, env.Name, strings.Join(sortedKeys(env.Regions), ", "))
}

// BindParamsIn binds like BindParams and also checks every region param against env with
// RegionError, reporting every problem at once. A nil env skips the Region check (a starter
// without the environment file leaves it to the worker).
func (r *Runbook) BindParamsIn(given map[string]any, env *Environment) (map[string]any, error) {
	bound, err := r.BindParams(given)
	if env == nil {
		return bound, err
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range r.Params {
		v, ok := bound[p.Name]
		if err != nil {
			// The other params have problems too: still report this one, unless its value
			// already has a problem of its own (shape, enum), which BindParams reported.
			if v, ok = given[p.Name]; !ok || v == nil {
				v, ok = p.Default, p.Default != nil
			}
			if _, bad := bindParam(p, v); bad != nil {
				continue
			}
		}
		s, isString := v.(string)
		if p.Type != TypeRegion || !ok || !isString {
			continue
		}
		if rerr := RegionError(env, s); rerr != nil {
			errs = append(errs, fmt.Errorf("param %q: %w", p.Name, rerr))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bound, nil
}
