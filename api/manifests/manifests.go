// Package manifests reads Kubernetes manifests (multi-document YAML or JSON) from files
// and folders, keeping where each object came from so errors can name the file.
package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Object is one manifest and where it was read.
type Object struct {
	*unstructured.Unstructured
	// File is the path the object was read from.
	File string
	// Index is the object's position among the documents of its file, from 0.
	Index int
}

// Origin names the object for people: "config/samples/stripe.yaml#2 (Source stripe)".
func (o Object) Origin() string {
	return fmt.Sprintf("%s#%d (%s %s)", o.File, o.Index, o.GetKind(), o.GetName())
}

// LoadPaths reads every .yaml, .yml and .json file in the given files and folders (not
// recursing into sub-folders), in name order. A document that is empty or a comment is
// skipped; one without apiVersion or kind is an error naming the file.
func LoadPaths(paths ...string) ([]Object, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
	}
	slices.Sort(files)
	var objs []Object
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, err := Decode(f, data)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return objs, errors.Join(errs...)
}

// Decode reads the documents in data, naming file in errors. It returns the objects it
// could read along with an error for the ones it could not.
func Decode(file string, data []byte) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []Object
	var errs []error
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s#%d: %w", file, index, err))
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			index--
			continue
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			errs = append(errs, fmt.Errorf("%s#%d: %w", file, index, err))
			continue
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			errs = append(errs, fmt.Errorf("%s#%d: apiVersion and kind are required", file, index))
			continue
		}
		objs = append(objs, Object{Unstructured: u, File: file, Index: index})
	}
	return objs, errors.Join(errs...)
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
		}
	}
	return out
}
