// differential-oracle answers, in batch, what the Go originals the plugin reimplements
// say about generated inputs, so the differential tests (issue: parsers meet random
// input) can compare the plugin with them case by case:
//
//   - cron:     github.com/robfig/cron v1.2.0 ParseStandard, as longhorn-manager's
//               RecurringJob validator calls it: accept or reject, and the next runs;
//   - duration: Go's time.ParseDuration (`@every` and the plugin's --timeout values);
//   - target:   github.com/longhorn/backupstore's GetSystemBackupURL and
//               ParseSystemBackupURL, the URL Longhorn builds for a system backup and
//               the backup-target text its cfg records, plus net/url's reading;
//   - yaml:     sigs.k8s.io/yaml JSONToYAML, what Longhorn's YAML printer and kubectl
//               -o yaml write for a JSON object.
//
// Input: one JSON object per line on stdin; output: one JSON object per line, in order.
//
//	{"kind":"cron","text":"0 3 * * *","after":"2026-01-01T00:00:00Z","count":5}
//	  -> {"ok":true,"next":["…",…]} | {"ok":false,"error":"…"}
//	{"kind":"duration","text":"1h30m"} -> {"ok":true,"nanos":5400000000000} | {"ok":false,"error":"…"}
//	{"kind":"target","target":"s3://b@r/p","version":"v1.12.0","name":"x"}
//	  -> {"ok":true,"url":"…","target":"…","version":"…","name":"…","scheme":"…","user":"…","host":"…","path":"…","query":"…"}
//	{"kind":"yaml","json":{…}} -> {"ok":true,"yaml":"…"} | {"ok":false,"error":"…"}
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/longhorn/backupstore/systembackup"
	"github.com/robfig/cron"
	"sigs.k8s.io/yaml"
)

type request struct {
	Kind    string          `json:"kind"`
	Text    string          `json:"text"`
	After   string          `json:"after"`
	Count   int             `json:"count"`
	Target  string          `json:"target"`
	Version string          `json:"version"`
	Name    string          `json:"name"`
	JSON    json.RawMessage `json:"json"`
}

type answer map[string]interface{}

func failed(err error) answer { return answer{"ok": false, "error": err.Error()} }

func answerCron(r request) answer {
	schedule, err := cron.ParseStandard(r.Text)
	if err != nil {
		return failed(err)
	}
	after, err := time.Parse(time.RFC3339, r.After)
	if err != nil {
		return failed(fmt.Errorf("bad request: after: %w", err))
	}
	after = after.UTC()
	next := []string{}
	for i := 0; i < r.Count; i++ {
		after = schedule.Next(after)
		if after.IsZero() {
			break
		}
		next = append(next, after.Format(time.RFC3339))
	}
	return answer{"ok": true, "next": next}
}

func answerDuration(r request) answer {
	d, err := time.ParseDuration(r.Text)
	if err != nil {
		return failed(err)
	}
	return answer{"ok": true, "nanos": int64(d)}
}

func answerTarget(r request) answer {
	out := answer{"ok": true}
	if u, err := url.Parse(r.Target); err == nil {
		out["scheme"] = u.Scheme
		out["user"] = u.User.String()
		out["host"] = u.Host
		out["path"] = u.Path
		out["query"] = u.RawQuery
	} else {
		out["urlError"] = err.Error()
	}
	systemBackupURL, err := systembackup.GetSystemBackupURL(r.Name, r.Version, r.Target)
	if err != nil {
		return failed(err)
	}
	out["url"] = systemBackupURL
	target, version, name, err := systembackup.ParseSystemBackupURL(systemBackupURL)
	if err != nil {
		out["parseError"] = err.Error()
		return out
	}
	out["target"], out["version"], out["name"] = target, version, name
	return out
}

func answerYAML(r request) answer {
	text, err := yaml.JSONToYAML(r.JSON)
	if err != nil {
		return failed(err)
	}
	return answer{"ok": true, "yaml": string(text)}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	for in.Scan() {
		var r request
		var a answer
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			a = failed(fmt.Errorf("bad request: %w", err))
		} else {
			switch r.Kind {
			case "cron":
				a = answerCron(r)
			case "duration":
				a = answerDuration(r)
			case "target":
				a = answerTarget(r)
			case "yaml":
				a = answerYAML(r)
			default:
				a = failed(fmt.Errorf("bad request: unknown kind %q", r.Kind))
			}
		}
		if err := encoder.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
