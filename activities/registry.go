// Package activities implements Switchyard's catalog of actions and checks, and the interpreter's
// own activities (loading runbooks, polling checks, notifying). Activities are methods on structs
// whose fields are their clients, so tests inject fakes or the lab and the worker injects AWS.
package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// ErrBadArguments is the error type of a catalog call whose arguments do not fit its spec; it is
// never retried because no retry can fix it.
const ErrBadArguments = wire.ErrBadArguments

// Func is a catalog entry adapted to untyped JSON-style maps, the form runbook arguments take
// after expression rendering.
type Func func(ctx context.Context, args map[string]any) (map[string]any, error)

// Registry holds the catalog entries a worker offers: their specs and implementations.
type Registry struct {
	catalog *catalog.Catalog
	funcs   map[string]Func
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{catalog: catalog.New(), funcs: map[string]Func{}}
}

// Catalog returns the specs of every registered entry, for the runbook loader.
func (r *Registry) Catalog() *catalog.Catalog { return r.catalog }

// Func returns the implementation of name.
func (r *Registry) Func(name string) (Func, bool) {
	f, ok := r.funcs[name]
	return f, ok
}

// Names lists the registered entries in sorted order.
func (r *Registry) Names() []string { return r.catalog.Names() }

// Register adds a typed implementation. The spec's Args and Result are derived from In and Out,
// so the catalog always matches the code. A check's Out must have Ok and Reason fields.
func Register[In, Out any](r *Registry, spec catalog.Spec, fn func(context.Context, In) (Out, error)) {
	spec.Args = catalog.FieldsOf(reflect.TypeFor[In]())
	spec.Result = catalog.FieldsOf(reflect.TypeFor[Out]())
	if spec.Kind == catalog.KindCheck {
		if _, ok := spec.Arg("ok"); ok {
			panic(fmt.Sprintf("activities: check %s must not take an argument named ok", spec.Name))
		}
		var hasOK bool
		for _, f := range spec.Result {
			hasOK = hasOK || (f.Name == "ok" && f.Type == catalog.TypeBool)
		}
		if !hasOK {
			panic(fmt.Sprintf("activities: check %s must return a bool field \"ok\"", spec.Name))
		}
	}
	r.catalog.Add(spec)
	name := spec.Name
	r.funcs[name] = func(ctx context.Context, args map[string]any) (map[string]any, error) {
		if plan, ok := args[catalog.PlanArg]; ok {
			args = maps.Clone(args)
			delete(args, catalog.PlanArg)
			if on, _ := plan.(bool); on {
				ctx = context.WithValue(ctx, planKey{}, true)
			}
		}
		if rec, ok := args[catalog.EnvArg]; ok {
			args = maps.Clone(args)
			delete(args, catalog.EnvArg)
			ctx = withRecordedEnv(ctx, rec)
		}
		in, err := decodeArgs[In](name, args)
		if err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return toMap(out)
	}
}

type planKey struct{}

// InPlan reports whether the call is part of a plan-mode run (the interpreter passed
// catalog.PlanArg). Entries that watch for a while read once then and report what they would
// watch: a plan must show in seconds whether a run could proceed, not sleep through its soaks.
func InPlan(ctx context.Context) bool {
	on, _ := ctx.Value(planKey{}).(bool)
	return on
}

func decodeArgs[In any](name string, args map[string]any) (In, error) {
	var in In
	b, err := json.Marshal(args)
	if err != nil {
		return in, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: encode arguments: %v", name, err), ErrBadArguments, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: arguments do not fit the catalog: %v", name, err), ErrBadArguments, nil)
	}
	return in, nil
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("result is not an object: %w", err)
	}
	return m, nil
}

// ActivityRegistry is the part of worker.Worker that registers activities.
type ActivityRegistry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// RegisterActivities registers every catalog entry as an activity named after it.
func (r *Registry) RegisterActivities(w ActivityRegistry) {
	for _, name := range r.Names() {
		w.RegisterActivityWithOptions(r.funcs[name], activity.RegisterOptions{Name: name})
	}
}
