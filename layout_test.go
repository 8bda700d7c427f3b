package cdc_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// allowed lists, for each package of the module, the module packages it may import: imports
// flow one way, dataflow <- {arrangements, sqlplan, sources, sinks, modules} <- engine <- {shell, slt,
// server} <- cmd, and the packages inside a brace do not import each other.
var allowed = map[string][]string{
	"sqlerr":              {},
	"proto/changelogpb":   {},
	"proto":               {},
	"proto/enginepb":      {"proto/changelogpb"},
	"modules":             {"dataflow", "sqlerr"},
	"dataflow":            {"sqlerr"},
	"arrangements":        {"dataflow", "sqlerr"},
	"sqlplan":             {"dataflow", "sqlerr"},
	"sources":             {"dataflow", "sqlerr", "proto/changelogpb"},
	"sinks":               {"dataflow", "sqlerr"},
	"engine":              {"dataflow", "sqlerr", "arrangements", "sqlplan", "sources", "sinks", "modules", "proto/changelogpb"},
	"shell":               {"engine", "dataflow", "sqlerr", "sqlplan"},
	"slt":                 {"engine", "dataflow", "sqlerr"},
	"server":              {"engine", "dataflow", "sqlerr", "sqlplan", "shell", "modules", "proto/changelogpb", "proto/enginepb"},
	"cmd/cdc":             {"engine", "shell", "slt", "server", "dataflow", "sqlerr", "proto/enginepb"},
	"bench":               {"*"},
	"":                    {"*"},
	"internal/testengine": {"*"},
	// Test support: a real MinIO server for the tests of any package; it imports no project
	// package, so that sources, sinks and engine tests can all use it.
	"miniotest": {},
}

func TestImportsFlowOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/cdc-dev/cdc"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		ok, known := allowed[rel]
		if !known {
			t.Errorf("package %s is not in the layout table of layout_test.go: add it with the packages it may import", rel)
			continue
		}
		if len(ok) == 1 && ok[0] == "*" {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			permitted := false
			for _, a := range ok {
				if a == dep {
					permitted = true
				}
			}
			if !permitted {
				t.Errorf("%s imports %s, against the one-way order of ARCHITECTURE.md", rel, dep)
			}
		}
	}
}
