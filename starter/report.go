package main

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"

	runreport "github.com/switchyard-dr/switchyard/internal/report"
	"github.com/switchyard-dr/switchyard/workflows"
)

// runReport prints a run's report: steps with times and attempts, approvals, RTO and RPO
// evidence. A running run is reported as it stands (from the progress query); a closed one from
// its result, which is what its history recorded.
func runReport(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("report", cio)
	var o connFlags
	o.register(fs)
	format := fs.String("format", "md", "md, html (one self-contained page with an SVG timeline) or json")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: starter report ID [--format md|html|json]")
	}
	f, err := reportFormat(*format, o.json)
	if err != nil {
		return err
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	id := pos[0]
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("report %s: %w", id, err)
	}
	var p *workflows.Progress
	if desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		p, err = queryProgress(ctx, c, id, "")
	} else {
		var res *workflows.Result
		res, err = result(ctx, c, id, "")
		if res != nil {
			p, err = &res.Progress, nil
		}
	}
	if err != nil {
		return fmt.Errorf("report %s: %w", id, err)
	}
	r := runreport.FromProgress(id, p)
	switch f {
	case "json":
		return writeJSON(cio.stdout, r)
	case "html":
		page, err := r.HTML()
		if err != nil {
			return fmt.Errorf("report %s: %w", id, err)
		}
		_, err = cio.stdout.Write(page)
		return err
	}
	_, err = fmt.Fprint(cio.stdout, r.Markdown())
	return err
}

// reportFormat checks --format before anything is dialled, so a typo fails fast; --json wins
// because every other command treats it as "machine-readable, please".
func reportFormat(format string, asJSON bool) (string, error) {
	if asJSON {
		return "json", nil
	}
	switch format {
	case "md", "html", "json":
		return format, nil
	}
	return "", fmt.Errorf("report: --format must be md, html or json, got %q", format)
}
