package runbook

//go:generate go test -run TestJSONSchemaFile -update .

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// SchemaPath is where the generated schema is kept, relative to the repository root. Editors use
// it through the YAML language server, with this first line in a runbook:
//
//	# yaml-language-server: $schema=../docs/runbook.schema.json
const SchemaPath = "docs/runbook.schema.json"

// schemaDescriptions document fields for editors' hover text, keyed "Type.field".
var schemaDescriptions = map[string]string{
	"Runbook":                  "A Switchyard runbook: typed params and ordered steps, run as a durable Temporal workflow.",
	"Runbook.schema":           "Schema identifier; must be " + SchemaV1 + ".",
	"Runbook.name":             "The runbook's name; must equal the file name without .yaml.",
	"Runbook.lock":             DefaultLock + " (default): a DR operation that never overlaps another on the same environment. none: read-only runbooks that may run beside one.",
	"Runbook.target_region":    "Expression naming the Region the run moves traffic to (for example ${{ params.target_region }}); shown as a search attribute.",
	"Runbook.params":           "Typed inputs, referenced as ${{ params.<name> }}.",
	"Runbook.steps":            "Steps run in order.",
	"Param.name":               "Param name, referenced as params.<name>.",
	"Param.type":               "Param type.",
	"Param.default":            "Value used when the caller gives none; must have the param's type.",
	"Param.enum":               "Allowed values (string and region params only).",
	"Step":                     "One step. Exactly one of action, check, wait_until, approval, parallel, steps, runbook, notify, workflow.",
	"Step.id":                  "Unique id in the runbook, referenced as steps.<id>.",
	"Step.if":                  "Expression; when false the step is skipped.",
	"Step.timeout":             "Go duration like 30s or 5m.",
	"Step.on_failure":          fmt.Sprintf("What a failure does: %s (default), continue, rollback (run compensations, newest first), or pause (wait for an operator to retry, skip or abort).", DefaultOnFailure),
	"Step.skippable":           "false marks an interlock: an operator's skip control is refused (retry and abort stay possible). Default true.",
	"Step.compensate":          "Steps that undo this one during rollback.",
	"Step.local":               "Run this action or check as a local activity (~1 ms overhead) or not; default: the catalog's choice (short single calls run locally). On wait_until: check once as a local activity first, and wait (a scheduled, heartbeating activity) only when the condition is not yet met.",
	"Step.milestone":           "Marks a moment the run report measures: traffic_shifted, traffic_verified (RTO ends when this step succeeds), backfill_verified, or reprotected (protection is back; its failure ends the run succeeded_unprotected instead of failing it).",
	"Step.action":              "Catalog action to run.",
	"Step.check":               "Catalog check to run once; not ok fails the step.",
	"Step.with":                "Arguments of the action or check, params of the nested runbook, or input of the workflow. Strings may contain ${{ expression }}.",
	"Step.wait_until":          "Poll a catalog check until it is ok or the timeout passes.",
	"Step.approval":            "Wait for people to approve.",
	"Step.parallel":            "Run each listed step as a concurrent branch.",
	"Step.steps":               "Run the listed steps in order (a sequence inside a parallel branch).",
	"Step.runbook":             "Run another runbook of the folder as a child workflow, with `with` as its params.",
	"Step.notify":              "Post a message to the run's thread.",
	"Step.workflow":            "Run a built-in workflow as a child workflow, with `with` as its input (backfill-verification: prove the recovered Region holds every document). Plan mode runs its read-only check once instead.",
	"Retry.attempts":           "Total tries including the first.",
	"WaitUntil.interval":       "Poll interval; default " + catalog.ShortDuration(DefaultWaitInterval) + ".",
	"Approval.quorum":          fmt.Sprintf("Distinct approvers needed; default %d.", DefaultQuorum),
	"Approval.on_timeout":      fmt.Sprintf("%s (default) or %s.", DefaultOnTimeout, TimeoutProceed),
	"Approval.auto_approve_if": "Expression; when true the approval is granted by policy without waiting.",
}

// schemaEnums constrain string fields, keyed "Type.field" or by Go type name.
var schemaEnums = map[string][]string{
	"Runbook.lock":  {LockEnvironment, LockNone},
	"Step.workflow": {WorkflowBackfillVerification},
	"ParamType":     {string(TypeString), string(TypeRegion), string(TypeDuration), string(TypeInt), string(TypeBool)},
	"FailurePolicy": {string(OnFailureAbort), string(OnFailureContinue), string(OnFailureRollback), string(OnFailurePause)},
	"Milestone":     {string(MilestoneTrafficShifted), string(MilestoneTrafficVerified), string(MilestoneBackfillVerified), string(MilestoneReprotected)},
	"TimeoutAction": {string(TimeoutAbort), string(TimeoutProceed)},
}

// durationPattern matches what time.ParseDuration accepts (without a sign: durations in runbooks
// are never negative).
const durationPattern = `^(0|([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$`

// JSONSchema returns the JSON Schema (draft 2020-12) of runbook files, derived from the Go model by
// reflection so it cannot drift from what the loader accepts: the same field names, required
// fields (no omitempty), closed objects, and one kind per step (oneOf). It is catalog-independent:
// action and check names and their arguments are checked by the loader, not by editors.
func JSONSchema() []byte {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Runbook]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["title"] = "Switchyard runbook"
	root["$defs"] = g.defs
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "params.<name>" readable in the file
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic(fmt.Sprintf("runbook: marshal JSON schema: %v", err)) // plain maps and strings
	}
	return b.Bytes()
}

type schemaGen struct {
	defs map[string]any
}

// object describes a model struct inline (the root) or returns a $ref to its $defs entry.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fieldsOf(t) {
		key := t.Name() + "." + f.Name
		var s map[string]any
		switch {
		case exprFields[key]:
			s = map[string]any{"type": []string{"string", "boolean"}}
		default:
			s = g.schemaOf(f.Type)
		}
		switch key {
		case "Runbook.schema":
			s = map[string]any{"const": SchemaV1}
		case "Step.id", "Param.name":
			s["pattern"] = idRE.String()
		case "Retry.attempts", "Approval.quorum":
			s["minimum"] = 1
		case "Step.parallel", "Step.steps", "Runbook.steps":
			s["minItems"] = 1
		}
		if e, ok := schemaEnums[key]; ok {
			s["enum"] = e
		}
		if d, ok := schemaDescriptions[key]; ok {
			s["description"] = d
		}
		props[f.Name] = s
		if f.Required {
			required = append(required, f.Name)
		}
	}
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	if d, ok := schemaDescriptions[t.Name()]; ok {
		o["description"] = d
	}
	if t == reflect.TypeFor[Step]() {
		var kinds []any
		for _, k := range kindKeys {
			kinds = append(kinds, map[string]any{"required": []string{k}})
		}
		o["oneOf"] = kinds
	}
	return o
}

func (g *schemaGen) schemaOf(t reflect.Type) map[string]any {
	if e, ok := schemaEnums[t.Name()]; ok && t.Kind() == reflect.String {
		return map[string]any{"type": "string", "enum": e}
	}
	switch {
	case t == durationType:
		return map[string]any{"type": "string", "pattern": durationPattern}
	case t == anyType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schemaOf(t.Elem())
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // mark first, for recursive types (Step)
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	}
	panic("runbook: no JSON schema for " + t.String())
}
