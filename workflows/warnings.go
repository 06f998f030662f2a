package workflows

import "strings"

// ResultKeyWarnings is the key of a step result's warnings: things an operator should know
// although the step passed, such as a cluster that serves while AWS reports it HEALING. Any
// catalog entry may set it to a list of strings; the interpreter carries them to the step's
// summary (and so to `starter status` and the UI), the Slack thread and the report.
const ResultKeyWarnings = "warnings"

// ResultWarnings returns the warnings of a step result: the non-empty strings of its
// "warnings" list, in order. A result that came through a payload holds the list as []any.
func ResultWarnings(result map[string]any) []string {
	var out []string
	switch ws := result[ResultKeyWarnings].(type) {
	case []string:
		for _, w := range ws {
			if w != "" {
				out = append(out, w)
			}
		}
	case []any:
		for _, w := range ws {
			if s, ok := w.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// WithWarnings is a step summary that carries its warnings: each one the summary does not
// already say is appended, marked as a warning, so whoever reads only summaries still sees it.
func WithWarnings(summary string, warnings []string) string {
	for _, w := range warnings {
		if strings.Contains(summary, w) {
			continue
		}
		if summary == "" {
			summary = "warning: " + w
		} else {
			summary += " — warning: " + w
		}
	}
	return summary
}
