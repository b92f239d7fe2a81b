package wire_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"inlet.dev/inlet/ingress/wire"
)

// The contracts are decoded by consumers and the CLI without the server: the package
// imports the standard library alone.
func TestWireImportsTheStandardLibraryAlone(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}

// The action message shown in docs/actions.md decodes into ActionMessage with every
// field the table there describes.
func TestDocumentedActionMessageDecodes(t *testing.T) {
	data, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## Message\n\n```json\n")
	sample, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/actions.md has no JSON sample under ## Message")
	}
	dec := json.NewDecoder(strings.NewReader(sample))
	dec.DisallowUnknownFields()
	var m wire.ActionMessage
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the documented message does not decode: %v", err)
	}
	if m.ID == "" || m.Action == "" || m.Params == nil || m.Environment == "" || m.Source.SourceEnvironment == "" ||
		m.Mapping == "" || m.Event.ID == "" || m.Event.Type == "" || m.Event.ReceivedAt.IsZero() {
		t.Errorf("the documented message leaves fields empty: %+v", m)
	}
}
