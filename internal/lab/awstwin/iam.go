package awstwin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
)

// IAM speaks awsQuery (https://iam.amazonaws.com/doc/2010-05-08/). It is a global service whose
// control plane is in us-east-1 ("the IAM control plane is in us-east-1"; Global services,
// https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html),
// so the fault hook sees every IAM call as a call into us-east-1 (faultRegion), whichever endpoint
// received it: impairing us-east-1 drops iam:SimulatePrincipalPolicy everywhere, while the data
// plane (authorization with existing policies) goes on in every Region.
//
// The twin answers SimulatePrincipalPolicy from the policies attached to each role, which the
// lab loads from a policy file per Region (one worker role per Region, as environments that
// assume a role per Region have). Evaluation follows IAM's logic for identity policies: an
// explicit Deny wins, else an Allow, else the implicit deny
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
// Action and Resource match with the * and ? wildcards, actions case-insensitively
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).

// ServiceIAM is IAM's signing name.
const ServiceIAM = "iam"

// IAMHome is the Region of IAM's control plane.
const IAMHome = "us-east-1"

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// IAMPolicy is an identity-based policy document (the parts the twin evaluates).
type IAMPolicy struct {
	Version   string               `json:"Version"`
	Statement []IAMPolicyStatement `json:"Statement"`
}

// IAMPolicyStatement is one statement; Action and Resource take a string or a list.
type IAMPolicyStatement struct {
	Sid       string      `json:"Sid,omitempty"`
	Effect    string      `json:"Effect"`
	Action    stringOrSet `json:"Action,omitempty"`
	NotAction stringOrSet `json:"NotAction,omitempty"`
	Resource  stringOrSet `json:"Resource,omitempty"`
}

// stringOrSet is a policy element that is a string or a list of strings.
type stringOrSet []string

func (s *stringOrSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("policy element must be a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// ParseIAMPolicy parses a policy document as IAM's policy validation would refuse it: valid
// JSON, Version 2012-10-17 or 2008-10-17, every statement Allow or Deny with Action or NotAction.
func ParseIAMPolicy(doc []byte) (IAMPolicy, error) {
	var p IAMPolicy
	if err := json.Unmarshal(doc, &p); err != nil {
		return IAMPolicy{}, fmt.Errorf("policy document: %w", err)
	}
	if p.Version != "2012-10-17" && p.Version != "2008-10-17" {
		return IAMPolicy{}, fmt.Errorf("policy document: Version %q is not 2012-10-17", p.Version)
	}
	for i, st := range p.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return IAMPolicy{}, fmt.Errorf("policy document: statement %d: Effect %q is not Allow or Deny", i, st.Effect)
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return IAMPolicy{}, fmt.Errorf("policy document: statement %d has no Action", i)
		}
	}
	return p, nil
}

type iamRolePolicy struct {
	name string
	doc  IAMPolicy
}

type iamState struct {
	mu    sync.Mutex
	roles map[string][]iamRolePolicy // by role ARN
	calls int
	// enforce: calls are authorized against the caller's policies (iam_enforce.go).
	enforce bool
}

func newIAMState() *iamState { return &iamState{roles: map[string][]iamRolePolicy{}} }

// PutRolePolicy attaches (or replaces, by name) an inline policy of the role roleARN, creating
// the role when needed, as iam:PutRolePolicy would.
func (t *Twin) PutRolePolicy(roleARN, name string, doc []byte) error {
	p, err := ParseIAMPolicy(doc)
	if err != nil {
		return err
	}
	t.iam.mu.Lock()
	defer t.iam.mu.Unlock()
	ps := t.iam.roles[roleARN]
	for i := range ps {
		if ps[i].name == name {
			ps[i].doc = p
			return nil
		}
	}
	t.iam.roles[roleARN] = append(ps, iamRolePolicy{name: name, doc: p})
	return nil
}

// DeleteRolePolicy removes an inline policy of a role (no error when absent).
func (t *Twin) DeleteRolePolicy(roleARN, name string) {
	t.iam.mu.Lock()
	defer t.iam.mu.Unlock()
	ps := t.iam.roles[roleARN]
	for i := range ps {
		if ps[i].name == name {
			t.iam.roles[roleARN] = append(ps[:i:i], ps[i+1:]...)
			return
		}
	}
}

// IAMSimulations counts the SimulatePrincipalPolicy calls served.
func (t *Twin) IAMSimulations() int {
	t.iam.mu.Lock()
	defer t.iam.mu.Unlock()
	return t.iam.calls
}

func iamService() *service {
	s := &service{
		name:         ServiceIAM,
		namespace:    "com.amazonaws.iam",
		xmlns:        iamNS,
		global:       true,
		defaultProto: protoQuery,
		ops: map[string]func(*call) error{
			"SimulatePrincipalPolicy": iamSimulatePrincipalPolicy,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "ServiceFailure", Receiver: true},
	}
	s.resolve = func(c *call) *apiError { return resolveRPC(c, protoQuery) }
	return s
}

// wildcardMatch matches s against a policy pattern with * and ?.
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// path.Match treats / specially; ARNs contain it, so escape it away.
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func matchesAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// evalIAM decides one action on one resource against a role's policies, and names the
// statements that decided it.
func evalIAM(policies []iamRolePolicy, action, resource string) (decision string, matched []object) {
	allowed := false
	var allows, denies []object
	for _, p := range policies {
		for i, st := range p.doc.Statement {
			actionOK := (len(st.Action) > 0 && matchesAny(st.Action, action, true)) ||
				(len(st.NotAction) > 0 && !matchesAny(st.NotAction, action, true))
			resOK := len(st.Resource) == 0 || matchesAny(st.Resource, resource, false)
			if !actionOK || !resOK {
				continue
			}
			ms := obj("SourcePolicyId", fmt.Sprintf("%s#%d", p.name, i), "SourcePolicyType", "IAM Policy")
			if st.Effect == "Deny" {
				denies = append(denies, ms)
			} else {
				allowed = true
				allows = append(allows, ms)
			}
		}
	}
	switch {
	case len(denies) > 0:
		return "explicitDeny", denies
	case allowed:
		return "allowed", allows
	}
	return "implicitDeny", nil
}

// iamSimulatePrincipalPolicy serves SimulatePrincipalPolicy
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html): one
// EvaluationResult per action and resource (resource "*" when none is given), EvalDecision
// allowed, explicitDeny or implicitDeny; a PolicySourceArn that names no known role is
// NoSuchEntity (404); ActionNames is required (InvalidInput otherwise).
func iamSimulatePrincipalPolicy(c *call) error {
	var in struct {
		PolicySourceArn string
		ActionNames     []string
		ResourceArns    []string
	}
	if err := c.decodeInput(&in); err != nil {
		return err
	}
	if in.PolicySourceArn == "" || len(in.ActionNames) == 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInputException", Query: "InvalidInput",
			Message: "PolicySourceArn and ActionNames are required."}
	}
	c.t.iam.mu.Lock()
	c.t.iam.calls++
	policies, ok := c.t.iam.roles[in.PolicySourceArn]
	policies = append([]iamRolePolicy(nil), policies...)
	c.t.iam.mu.Unlock()
	if !ok {
		return &apiError{Status: http.StatusNotFound, Code: "NoSuchEntityException", Query: "NoSuchEntity",
			Message: fmt.Sprintf("The principal %s cannot be found.", in.PolicySourceArn)}
	}
	resources := in.ResourceArns
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	actions := append([]string(nil), in.ActionNames...)
	sort.Strings(actions)
	var results []any
	for _, a := range actions {
		for _, r := range resources {
			d, matched := evalIAM(policies, a, r)
			ms := make([]any, 0, len(matched))
			for _, m := range matched {
				ms = append(ms, m)
			}
			results = append(results, obj("EvalActionName", a, "EvalResourceName", r, "EvalDecision", d,
				"MatchedStatements", list{items: ms}, "MissingContextValues", list{}))
		}
	}
	return c.reply(obj("EvaluationResults", list{items: results}, "IsTruncated", false))
}
