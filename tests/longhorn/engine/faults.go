package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// FaultsEnv names a JSON file the ground rewrites while a test runs: what a command does
// instead of its work, keyed by the command ("system-backup upload", "backup ls", "zip", ...)
// or "*" for every command of the engine binary (not the archive tools):
//
//	{"system-backup upload": {"fail": "connection reset by peer"}, "*": {"hang": true}}
//
// A failing command prints the text on stderr and exits 1, as a store error does; a hanging
// one waits until the fault is gone (or longhorn-manager's timeout kills it).
const FaultsEnv = "LONGHORN_GROUND_FAULTS"

type fault struct {
	Fail string `json:"fail,omitempty"`
	Hang bool   `json:"hang,omitempty"`
}

// commandKey is the command without flags and arguments: "system-backup upload".
func commandKey(args []string) string {
	words := []string{}
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			continue
		}
		words = append(words, arg)
		if len(words) == 2 {
			break
		}
	}
	return strings.Join(words, " ")
}

func currentFault(path, key string, everyCommand bool) (fault, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fault{}, false
	}
	faults := map[string]fault{}
	if err := json.Unmarshal(data, &faults); err != nil {
		return fault{}, false
	}
	if f, ok := faults[key]; ok || !everyCommand {
		return f, ok
	}
	f, ok := faults["*"]
	return f, ok
}

// applyFault fails or blocks before the command runs, if the ground says so; everyCommand:
// the "*" entry (an unreachable store) applies too.
func applyFault(key string, everyCommand bool) {
	path := os.Getenv(FaultsEnv)
	if path == "" {
		return
	}
	for {
		f, ok := currentFault(path, key, everyCommand)
		switch {
		case !ok:
			return
		case f.Fail != "":
			fmt.Fprintln(os.Stderr, f.Fail)
			os.Exit(1)
		case f.Hang:
			time.Sleep(100 * time.Millisecond)
		default:
			return
		}
	}
}

// runTool stands in front of Debian's zip or unzip (the ground links this binary under
// those names ahead of /usr/bin on longhorn-manager's PATH): it applies the fault for "zip"
// or "unzip", then becomes the real tool.
func runTool(tool string, args []string) {
	applyFault(tool, false)
	path := "/usr/bin/" + tool
	if err := syscall.Exec(path, append([]string{tool}, args...), os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(127)
	}
}
