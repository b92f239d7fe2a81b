package scheme_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/internal/scheme"
)

func TestNewKnowsInletAndBuiltInKinds(t *testing.T) {
	s := scheme.New()
	for _, obj := range []runtime.Object{&v1alpha1.Source{}, &v1alpha1.SourceEnvironment{}, &v1alpha1.EventMapping{}, &corev1.Secret{}, &appsv1.Deployment{}} {
		if _, _, err := s.ObjectKinds(obj); err != nil {
			t.Errorf("%T: %v", obj, err)
		}
	}
}
