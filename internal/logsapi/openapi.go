package logsapi

import (
	"k8s.io/apimachinery/pkg/runtime"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kube-openapi/pkg/common"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
)

// openAPIDefinitions are the schemas of the API's kinds and of the meta kinds they
// use (ObjectMeta, ListMeta, RawExtension, ...), generated from their Go types by
// `make generate`, so `kubectl explain sourceevent` reads the field docs.
func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	return logsv1alpha1.GetOpenAPIDefinitions(ref)
}

// setOpenAPI serves /openapi/v2 and /openapi/v3, which the kube-apiserver aggregates
// and kubectl reads.
func setOpenAPI(config *genericapiserver.Config, scheme *runtime.Scheme) {
	namer := openapinamer.NewDefinitionNamer(scheme)
	config.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	config.OpenAPIConfig.Info.Title = "inlet event log"
	config.OpenAPIConfig.Info.Version = logsv1alpha1.SchemeGroupVersion.Version
	config.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	config.OpenAPIV3Config.Info.Title = "inlet event log"
	config.OpenAPIV3Config.Info.Version = logsv1alpha1.SchemeGroupVersion.Version
}
