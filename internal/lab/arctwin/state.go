package arctwin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Routing control states as ARC spells them on the wire (route53recoverycluster types/enums.go:
// "On" / "Off").
const (
	On  = "On"
	Off = "Off"
)

// Rule types of a safety rule's RuleConfig
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html: "ATLEAST",
// "AND", "OR").
const (
	AtLeast = "ATLEAST"
	And     = "AND"
	Or      = "OR"
)

type controlPanel struct {
	arn, name string
}

type routingControl struct {
	arn, name string
	panel     *controlPanel
	on        bool
}

// RuleConfig is a safety rule's criterion over a set of routing controls
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html, "RuleConfig"):
// ATLEAST Threshold of them On, AND all On, OR at least one On; Inverted negates the result.
type RuleConfig struct {
	Type      string
	Threshold int
	Inverted  bool
}

// AssertionRule: whenever an update changes one of AssertedControls, the state after the update
// must satisfy RuleConfig (e.g. ATLEAST 1: at least one Region stays On, so traffic never fails
// open), or ARC refuses the whole update
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html,
// "Assertion rule").
type AssertionRule struct {
	Name             string
	ControlPanelARN  string
	AssertedControls []string
	// WaitPeriodMs: after a change to the asserted controls, further changes to them are
	// refused for this long ("an evaluation period ... during which any request against the
	// target routing controls will fail. This helps prevent flapping of state", CloudFormation
	// AWS::Route53RecoveryControl::SafetyRule AssertionRule). 0 disables it in the lab; AWS's
	// default is 5000.
	WaitPeriodMs int
	RuleConfig   RuleConfig
}

// GatingRule: TargetControls can change only while GatingControls satisfy RuleConfig — e.g. one
// gating control as an on/off switch (OR) over a group of targets
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html,
// "Gating rule").
type GatingRule struct {
	Name            string
	ControlPanelARN string
	GatingControls  []string
	TargetControls  []string
	WaitPeriodMs    int
	RuleConfig      RuleConfig
}

type safetyRule struct {
	arn, name string
	gating    bool
	asserted  []string // assertion rule: the controls checked after the update
	gates     []string // gating rule: the controls checked before it
	targets   []string // gating rule: the controls it guards
	wait      time.Duration
	cfg       RuleConfig
}

// Update is one update call the cluster accepted.
type Update struct {
	// Op is UpdateRoutingControlStates or UpdateRoutingControlState.
	Op string
	// Region is the endpoint's Region that took it.
	Region string
	// Entries are the requested states, routing control ARN → On|Off.
	Entries map[string]string
	// Overridden are the SafetyRulesToOverride the call carried.
	Overridden []string
	At         time.Time
}

// id derives an n-digit hex id from parts, or a UUID-shaped one for n == 36 (cluster ids are
// UUIDs).
func id(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:])
	if n == 36 {
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	return h[:n]
}

// ClusterARN is the ARN of the cluster named name in account, as [New] makes it: IDs derive
// from names, so an environment file can name a lab's cluster and controls before it starts.
func ClusterARN(account, name string) string {
	return fmt.Sprintf("arn:aws:route53-recovery-control::%s:cluster/%s", account, id(36, "cluster", name))
}

// ControlPanelARN is the ARN [Cluster.AddControlPanel] gives the control panel name.
func ControlPanelARN(account, name string) string {
	return fmt.Sprintf("arn:aws:route53-recovery-control::%s:controlpanel/%s", account, id(32, "panel", name))
}

// RoutingControlARN is the ARN [Cluster.AddRoutingControl] gives the control name in panelARN.
func RoutingControlARN(panelARN, name string) string {
	return panelARN + "/routingcontrol/" + id(16, "control", panelARN, name)
}

// AddControlPanel creates a control panel and returns its ARN,
// arn:aws:route53-recovery-control::ACCOUNT:controlpanel/ID (IDs are derived from the names, so
// a lab built the same way has the same ARNs).
func (c *Cluster) AddControlPanel(name string) string {
	arn := ControlPanelARN(c.account, name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.panels[arn]; !ok {
		c.panels[arn] = &controlPanel{arn: arn, name: name}
	}
	return arn
}

// AddRoutingControl creates a routing control in a control panel, On or Off, and returns its
// ARN, arn:aws:route53-recovery-control::ACCOUNT:controlpanel/ID/routingcontrol/ID.
func (c *Cluster) AddRoutingControl(panelARN, name string, on bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.panels[panelARN]
	if !ok {
		return "", fmt.Errorf("arctwin: no control panel %s", panelARN)
	}
	arn := RoutingControlARN(panelARN, name)
	if _, dup := c.controls[arn]; dup {
		return "", fmt.Errorf("arctwin: control panel %s already has a routing control named %q", p.name, name)
	}
	c.controls[arn] = &routingControl{arn: arn, name: name, panel: p, on: on}
	c.order = append(c.order, arn)
	return arn, nil
}

// AddAssertionRule creates an assertion rule and returns its ARN,
// arn:aws:route53-recovery-control::ACCOUNT:controlpanel/ID/safetyrule/ID.
func (c *Cluster) AddAssertionRule(r AssertionRule) (string, error) {
	return c.addRule(r.ControlPanelARN, r.Name, &safetyRule{asserted: slices.Clone(r.AssertedControls),
		wait: time.Duration(r.WaitPeriodMs) * time.Millisecond, cfg: r.RuleConfig}, r.AssertedControls)
}

// AddGatingRule creates a gating rule and returns its ARN.
func (c *Cluster) AddGatingRule(r GatingRule) (string, error) {
	if len(r.TargetControls) == 0 {
		return "", fmt.Errorf("arctwin: gating rule %q has no target controls", r.Name)
	}
	return c.addRule(r.ControlPanelARN, r.Name, &safetyRule{gating: true, gates: slices.Clone(r.GatingControls),
		targets: slices.Clone(r.TargetControls), wait: time.Duration(r.WaitPeriodMs) * time.Millisecond, cfg: r.RuleConfig},
		append(slices.Clone(r.GatingControls), r.TargetControls...))
}

func (c *Cluster) addRule(panelARN, name string, rule *safetyRule, controls []string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.panels[panelARN]; !ok {
		return "", fmt.Errorf("arctwin: safety rule %q: no control panel %s", name, panelARN)
	}
	switch rule.cfg.Type {
	case AtLeast:
		if rule.cfg.Threshold < 1 {
			return "", fmt.Errorf("arctwin: safety rule %q: ATLEAST needs a threshold of at least 1", name)
		}
	case And, Or:
	default:
		return "", fmt.Errorf("arctwin: safety rule %q: rule type %q is not ATLEAST, AND or OR", name, rule.cfg.Type)
	}
	checked := rule.asserted
	if rule.gating {
		checked = rule.gates
	}
	if len(checked) == 0 {
		return "", fmt.Errorf("arctwin: safety rule %q has no controls to evaluate", name)
	}
	for _, arn := range controls {
		rc, ok := c.controls[arn]
		if !ok {
			return "", fmt.Errorf("arctwin: safety rule %q: no routing control %s", name, arn)
		}
		// "The routing controls in a safety rule must be in the same control panel as the rule."
		if rc.panel.arn != panelARN {
			return "", fmt.Errorf("arctwin: safety rule %q: routing control %s is in another control panel", name, arn)
		}
	}
	rule.name = name
	rule.arn = panelARN + "/safetyrule/" + id(16, "rule", panelARN, name)
	for _, r := range c.rules {
		if r.arn == rule.arn {
			return "", fmt.Errorf("arctwin: control panel %s already has a safety rule named %q", panelARN, name)
		}
	}
	c.rules = append(c.rules, rule)
	return rule.arn, nil
}

// RoutingControlState is the state a RECOVERY_CONTROL health check sees: on is true when the
// control is On; known is false for an ARN the cluster does not have.
func (c *Cluster) RoutingControlState(arn string) (on, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc, ok := c.controls[arn]
	if !ok {
		return false, false
	}
	return rc.on, true
}

// SetRoutingControlState sets a control's state directly, past the safety rules (the lab's
// setup, like an operator at the console overriding every rule).
func (c *Cluster) SetRoutingControlState(arn string, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc, ok := c.controls[arn]
	if !ok {
		return fmt.Errorf("arctwin: no routing control %s", arn)
	}
	rc.on = on
	return nil
}

// Updates returns the update calls the cluster accepted, oldest first.
func (c *Cluster) Updates() []Update {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.updates)
}

// satisfied evaluates cfg over controls with the states in on.
func satisfied(cfg RuleConfig, controls []string, on map[string]bool) bool {
	n := 0
	for _, arn := range controls {
		if on[arn] {
			n++
		}
	}
	var ok bool
	switch cfg.Type {
	case AtLeast:
		ok = n >= cfg.Threshold
	case And:
		ok = n == len(controls)
	case Or:
		ok = n >= 1
	}
	if cfg.Inverted {
		ok = !ok
	}
	return ok
}

// violation is a safety rule an update would break, and why (for the twin's log).
type violation struct {
	arn, why string
}

// apply checks and applies an update. It returns the rules the update would violate (and then
// changes nothing), or an *apiError for bad input. Called with c.mu held.
func (c *Cluster) apply(op, region string, entries map[string]string, override []string) ([]violation, *apiError) {
	if len(entries) == 0 {
		return nil, validationError("UpdateRoutingControlStateEntries must not be empty")
	}
	before := map[string]bool{}
	for arn, rc := range c.controls {
		before[arn] = rc.on
	}
	after := maps.Clone(before)
	changed := map[string]bool{}
	for arn, state := range entries {
		if _, ok := c.controls[arn]; !ok {
			return nil, notFound(arn)
		}
		if state != On && state != Off {
			return nil, validationError(fmt.Sprintf("Value '%s' at 'routingControlState' failed to satisfy constraint: Member must satisfy enum value set: [On, Off]", state))
		}
		after[arn] = state == On
		if after[arn] != before[arn] {
			changed[arn] = true
		}
	}
	now := c.opts.Now()
	var bad []violation
	for _, r := range c.rules {
		if slices.Contains(override, r.arn) {
			continue
		}
		watched := r.asserted
		if r.gating {
			watched = r.targets
		}
		touched := false
		for _, arn := range watched {
			if changed[arn] {
				touched = true
			}
		}
		if !touched {
			continue
		}
		if r.wait > 0 {
			for _, arn := range watched {
				if t, ok := c.lastChange[arn]; ok && now.Sub(t) < r.wait {
					bad = append(bad, violation{r.arn, fmt.Sprintf("%s changed %s ago, within the rule's wait period of %s", arn, now.Sub(t), r.wait)})
					break
				}
			}
		}
		if r.gating {
			// The gating controls are read as they are when the update arrives: a target changes
			// only while the switch is already set.
			if !satisfied(r.cfg, r.gates, before) {
				bad = append(bad, violation{r.arn, fmt.Sprintf("gating rule %q: its gating controls do not satisfy %s", r.name, describe(r.cfg))})
			}
			continue
		}
		if !satisfied(r.cfg, r.asserted, after) {
			bad = append(bad, violation{r.arn, fmt.Sprintf("assertion rule %q: the resulting state would not satisfy %s", r.name, describe(r.cfg))})
		}
	}
	if len(bad) > 0 {
		return bad, nil
	}
	for arn := range changed {
		c.controls[arn].on = after[arn]
		c.lastChange[arn] = now
	}
	c.updates = append(c.updates, Update{Op: op, Region: region, Entries: entries, Overridden: slices.Clone(override), At: now})
	return nil, nil
}

func describe(cfg RuleConfig) string {
	s := cfg.Type
	if cfg.Type == AtLeast {
		s = fmt.Sprintf("ATLEAST %d", cfg.Threshold)
	}
	if cfg.Inverted {
		s = "NOT " + s
	}
	return s
}

// CellControlName is the name [Cluster.AddCellControls] gives a Region's routing control.
func CellControlName(region string) string { return "cell-" + region }

// AddCellControls builds what an environment with ARC routing controls usually has, in one
// call: a control panel named panel, a routing control "cell-<Region>" per Region in cells (On
// for the Regions in on), and the assertion rule "at-least-one-cell-on" (ATLEAST 1 over them),
// the rule AWS recommends so that traffic never fails open
// (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.safety-rules.html, "at
// least one routing control On"). The rule's wait period is 0 so that the lab can fail over
// and back at once; AWS's default is 5 s. It returns Region → routing control ARN and the rule's
// ARN.
func (c *Cluster) AddCellControls(panel string, cells, on []string) (controls map[string]string, rule string, err error) {
	p := c.AddControlPanel(panel)
	controls = map[string]string{}
	asserted := make([]string, 0, len(cells))
	for _, region := range cells {
		arn, err := c.AddRoutingControl(p, CellControlName(region), slices.Contains(on, region))
		if err != nil {
			return nil, "", err
		}
		controls[region] = arn
		asserted = append(asserted, arn)
	}
	rule, err = c.AddAssertionRule(AssertionRule{Name: "at-least-one-cell-on", ControlPanelARN: p, AssertedControls: asserted,
		RuleConfig: RuleConfig{Type: AtLeast, Threshold: 1}})
	if err != nil {
		return nil, "", err
	}
	return controls, rule, nil
}
