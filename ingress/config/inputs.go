package config

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"inlet.dev/inlet/api/v1alpha1"
)

// Add sorts one object, typed or unstructured, into the inputs. Objects of other kinds
// are ignored and reported with ok false.
func (in *Inputs) Add(obj runtime.Object) (ok bool, err error) {
	if u, isU := obj.(*unstructured.Unstructured); isU {
		typed, err := typedObject(u)
		if err != nil || typed == nil {
			return false, err
		}
		obj = typed
	}
	switch o := obj.(type) {
	case *v1alpha1.Source:
		in.Sources = append(in.Sources, *o)
	case *v1alpha1.SourceEnvironment:
		in.SourceEnvironments = append(in.SourceEnvironments, *o)
	case *v1alpha1.EventMapping:
		in.EventMappings = append(in.EventMappings, *o)
	case *corev1.Secret:
		in.Secrets = append(in.Secrets, *o)
	default:
		return false, nil
	}
	return true, nil
}

func typedObject(u *unstructured.Unstructured) (runtime.Object, error) {
	var obj runtime.Object
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Group == v1alpha1.GroupVersion.Group && gvk.Kind == "Source":
		obj = &v1alpha1.Source{}
	case gvk.Group == v1alpha1.GroupVersion.Group && gvk.Kind == "SourceEnvironment":
		obj = &v1alpha1.SourceEnvironment{}
	case gvk.Group == v1alpha1.GroupVersion.Group && gvk.Kind == "EventMapping":
		obj = &v1alpha1.EventMapping{}
	case gvk.Group == "" && gvk.Kind == "Secret":
		obj = &corev1.Secret{}
	default:
		return nil, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, u.GetName(), err)
	}
	return obj, nil
}
