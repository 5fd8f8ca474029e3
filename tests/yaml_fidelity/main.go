// yaml-fidelity prints, for every .yaml entry of a zip, the JSON that Kubernetes'
// decoder sees: sigs.k8s.io/yaml.YAMLToJSON, the conversion the UniversalDeserializer
// of a SystemRestore applies to each bundle file (go-yaml v2, YAML 1.1 rules). The
// end-to-end tests compare it with what the API server holds, so a value YAML 1.1
// would read differently (an unquoted "on", "0x1F", "1:20") shows up as a difference.
//
// usage: yaml-fidelity BUNDLE.zip  ->  one JSON object per line: {"path": …, "json": …}
package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: yaml-fidelity BUNDLE.zip")
		os.Exit(2)
	}
	archive, err := zip.OpenReader(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer archive.Close()
	out := json.NewEncoder(os.Stdout)
	for _, entry := range archive.File {
		if !strings.HasSuffix(entry.Name, ".yaml") {
			continue
		}
		reader, err := entry.Open()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		data, err := io.ReadAll(reader)
		reader.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		converted, err := yaml.YAMLToJSON(data)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", entry.Name, err)
			os.Exit(1)
		}
		if err := out.Encode(map[string]any{"path": entry.Name, "json": json.RawMessage(converted)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
