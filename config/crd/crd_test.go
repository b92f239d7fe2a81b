package crd

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

func TestCustomResourceDefinitions(t *testing.T) {
	crds, err := CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]string, 0, len(crds))
	for _, c := range crds {
		kinds = append(kinds, c.Spec.Names.Kind)
		if c.Spec.Group != "inlet.dev" {
			t.Errorf("%s: group %q, want inlet.dev", c.Name, c.Spec.Group)
		}
		if c.Spec.Conversion == nil || c.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
			t.Errorf("%s: conversion was not defaulted to None: %+v", c.Name, c.Spec.Conversion)
		}
		for _, v := range c.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("%s %s: no schema", c.Name, v.Name)
			}
		}
	}
	slices.Sort(kinds)
	if want := []string{"EventMapping", "Source", "SourceEnvironment"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds = %q, want %q", kinds, want)
	}
}
