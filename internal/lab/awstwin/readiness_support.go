package awstwin

import (
	"context"
	"fmt"
)

// Helpers the lab's readiness faults and its monitor use: reading a pipeline as GetPipeline
// answers it, and removing an alarm as DeleteAlarms would
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DeleteAlarms.html).

// Pipeline returns region's pipeline name as GetPipeline reports it (backend state with the
// settings UpdatePipeline changed).
func (t *Twin) Pipeline(ctx context.Context, region, name string) (Pipeline, error) {
	rs := t.region(region)
	t.mu.Lock()
	b := rs.backends.OSIS
	t.mu.Unlock()
	all, err := b.Pipelines(ctx)
	if err != nil {
		return Pipeline{}, fmt.Errorf("list OSI pipelines in %s: %w", region, err)
	}
	for _, p := range all {
		if p.Name == name {
			return rs.osis.overlay(p, t.now()), nil
		}
	}
	return Pipeline{}, fmt.Errorf("pipeline %s in %s: %w", name, region, ErrNotFound)
}

// DeleteAlarm removes an alarm and returns it as it was, so that it can be put back.
func (t *Twin) DeleteAlarm(region, name string) (Alarm, bool) {
	cw := t.region(region).cw
	cw.mu.Lock()
	defer cw.mu.Unlock()
	a, ok := cw.alarms[name]
	if !ok {
		return Alarm{}, false
	}
	delete(cw.alarms, name)
	return *a, true
}

// RestoreAlarm puts back an alarm DeleteAlarm returned, with its state.
func (t *Twin) RestoreAlarm(region string, a Alarm) {
	cw := t.region(region).cw
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cp := a
	cw.alarms[a.Name] = &cp
}
