//go:build nodev

package main

import (
	"context"
	"fmt"
)

// devCommands, in a starter built with -tags=nodev (the production image's), names the commands
// left out, so that `starter dev` there says why it cannot run instead of "unknown command".
func devCommands() map[string]command {
	out := map[string]command{}
	for _, name := range []string{"dev", "bench", "demo", "lab"} {
		out[name] = command{"not in this build (-tags=nodev leaves out the embedded Temporal server and the lab)",
			func(context.Context, []string, cmdIO) error {
				return fmt.Errorf("starter %s is not in this build: it was built with -tags=nodev, without the embedded Temporal server and the lab; build the starter without that tag (go run ./starter %s)", name, name)
			}}
	}
	return out
}
