// Package scheme builds the one runtime.Scheme inlet's programs use: client-go's kinds
// and inlet's own.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"inlet.dev/inlet/api/v1alpha1"
)

// New returns a scheme with client-go's kinds and inlet's.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // registering the built-in kinds cannot fail
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
