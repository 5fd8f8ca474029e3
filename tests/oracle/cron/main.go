// cron-oracle runs Longhorn's real cron parser, github.com/robfig/cron v1.2.0
// ParseStandard (what longhorn-manager's ValidateRecurringJob calls), over the
// expressions in a cases file and writes the fixture the Rust table test checks
// against (tests/fixtures/cron-cases.json).
//
// usage: cron-oracle CASES.json > FIXTURE.json
//
// CASES.json: {"after": RFC 3339 instant, "count": N, "cases": [CASE...]} where a
// CASE is an expression string, or {"expr", "zone"?, "after"?, "note"?} to compute
// the next runs in an IANA time zone or after another instant.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // the same zone rules whatever the host has installed

	"github.com/robfig/cron"
)

const robfigVersion = "v1.2.0"

type input struct {
	After string            `json:"after"`
	Count int               `json:"count"`
	Cases []json.RawMessage `json:"cases"`
}

type inputCase struct {
	Expr  string `json:"expr"`
	Zone  string `json:"zone"`
	After string `json:"after"`
	Note  string `json:"note"`
}

type outputCase struct {
	Expr  string   `json:"expr"`
	Note  string   `json:"note,omitempty"`
	Zone  string   `json:"zone"`
	After string   `json:"after"`
	Valid bool     `json:"valid"`
	Error *string  `json:"error"`
	Next  []string `json:"next"`
}

type output struct {
	Generator string       `json:"generator"`
	Count     int          `json:"count"`
	Cases     []outputCase `json:"cases"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cron-oracle CASES.json > FIXTURE.json")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "cron-oracle:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out := output{
		Generator: "tests/oracle/cron: github.com/robfig/cron " + robfigVersion + " ParseStandard",
		Count:     in.Count,
		Cases:     []outputCase{},
	}
	for i, rawCase := range in.Cases {
		c := inputCase{Zone: "UTC", After: in.After}
		if err := json.Unmarshal(rawCase, &c.Expr); err != nil {
			if err := json.Unmarshal(rawCase, &c); err != nil {
				return fmt.Errorf("case %d: %w", i, err)
			}
			if c.Zone == "" {
				c.Zone = "UTC"
			}
			if c.After == "" {
				c.After = in.After
			}
		}
		oc, err := evaluate(c, in.Count)
		if err != nil {
			return fmt.Errorf("case %d (%q): %w", i, c.Expr, err)
		}
		out.Cases = append(out.Cases, oc)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err = os.Stdout.Write(buf.Bytes())
	return err
}

func evaluate(c inputCase, count int) (outputCase, error) {
	oc := outputCase{Expr: c.Expr, Note: c.Note, Zone: c.Zone, After: c.After, Next: []string{}}
	loc, err := time.LoadLocation(c.Zone)
	if err != nil {
		return oc, err
	}
	after, err := time.Parse(time.RFC3339Nano, c.After)
	if err != nil {
		return oc, err
	}
	schedule, err := cron.ParseStandard(c.Expr)
	if err != nil {
		msg := err.Error()
		oc.Error = &msg
		return oc, nil
	}
	oc.Valid = true
	t := after.In(loc)
	for range count {
		t = schedule.Next(t)
		if t.IsZero() {
			// robfig's "no time found within five years".
			break
		}
		oc.Next = append(oc.Next, t.Format(time.RFC3339))
	}
	return oc, nil
}
