// Package apitest holds test fixtures about the API that several test suites share:
// the table of manifests the API server must refuse, which both the envtest suite
// (against a real kube-apiserver) and the offline validator's tests check, so that the
// two cannot drift apart.
package apitest

import (
	"os"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/yaml"
)

// InvalidManifest is a manifest the API server refuses, and substrings its message
// must contain.
type InvalidManifest struct {
	Name     string   `json:"name"`
	Manifest string   `json:"manifest"`
	Want     []string `json:"want"`
}

// InvalidManifests reads api/testdata/invalid-manifests.yaml.
func InvalidManifests() ([]InvalidManifest, error) {
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", "invalid-manifests.yaml"))
	if err != nil {
		return nil, err
	}
	var cases []InvalidManifest
	return cases, yaml.UnmarshalStrict(data, &cases)
}
